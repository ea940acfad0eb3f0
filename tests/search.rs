//! Search as a reader types it, against the real binary: the strings that used to answer a
//! bare 400 with SQLite's words (`covid-19`, `don't`, `U.S.`, `AT&T`, `C++`, `budget:`, an
//! unclosed quote) find their stories in the feeds and on the page; the documented extras
//! (phrases, `OR`, `-word`, `prefix*`) do what the README says.

mod common;

use common::*;

fn with_q(base: &str, q: &str) -> String {
    format!(
        "{base}?{}",
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("q", q)
            .finish()
    )
}

async fn atom_titles(url: &str) -> Vec<String> {
    let r = reqwest::get(url).await.unwrap();
    assert_eq!(r.status(), 200, "GET {url}");
    let body = r.text().await.unwrap();
    let feed = feed_rs::parser::parse(body.as_bytes()).unwrap_or_else(|e| panic!("{e}: {body}"));
    feed.entries
        .into_iter()
        .map(|e| e.title.map(|t| t.content).unwrap_or_default())
        .collect()
}

async fn site() -> (FixtureServer, TestEnv) {
    let srv = FixtureServer::start().await;
    srv.set("/desk.xml", Route::rss(fixture("search-words.rss.xml")));
    let env = TestEnv::new(&format!(
        "[[feed]]\nname = \"desk\"\nurl = \"{}\"\ntags = [\"local\"]\n",
        srv.url("/desk.xml")
    ));
    env.poll().await;
    (srv, env)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_readers_type_finds_the_story_in_every_output() {
    let (_srv, env) = site().await;
    let d = Daemon::start(&env.config_path);
    let cases: &[(&str, &[&str])] = &[
        ("covid-19", &["COVID-19 cases fall in the spring"]),
        ("don't", &["Why voters don't trust the polls"]),
        ("U.S.", &["U.S. and Canada sign a fisheries pact"]),
        ("AT&T", &["AT&T raises prices"]),
        ("C++", &["C++ committee adopts contracts"]),
        (
            "budget:",
            &[
                "City budget: parks win, roads lose",
                "Truce declared in the budget standoff",
            ],
        ),
        // an unclosed quote: the phrase runs to the end
        (
            "\"fisheries pact",
            &["U.S. and Canada sign a fisheries pact"],
        ),
        // the documented extras
        (
            "ceasefire OR truce",
            &[
                "Ceasefire talks resume in Geneva",
                "Truce declared in the budget standoff",
            ],
        ),
        ("truce -opinion", &["Truce declared in the budget standoff"]),
        ("\"parks win\"", &["City budget: parks win, roads lose"]),
        ("\"win parks\"", &[]),
        ("commit*", &["C++ committee adopts contracts"]),
        ("xylophone", &[]),
    ];
    for (q, want) in cases {
        let got = atom_titles(&with_q(&d.url("/feed.atom"), q)).await;
        assert_eq!(&got, want, "/feed.atom?q={q}");
        // the page: 200, the same stories, the query back in the box, no SQLite words
        let r = reqwest::get(with_q(&d.url("/"), q)).await.unwrap();
        assert_eq!(r.status(), 200, "/?q={q}");
        let html = r.text().await.unwrap();
        for w in want.iter() {
            let escaped = html_escape::encode_text(w).replace('\'', "&#x27;");
            assert!(html.contains(&escaped), "/?q={q}: {w} missing");
        }
        assert!(
            !html.contains("fts5") && !html.contains("no such column"),
            "{html}"
        );
    }
    // JSON Feed and RSS take the same words
    let r = reqwest::get(with_q(&d.url("/feed.json"), "AT&T"))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["items"].as_array().unwrap().len(), 1, "{v}");
    let r = reqwest::get(with_q(&d.url("/feed.rss"), "covid-19"))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    d.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_says_what_it_ignored_and_how_to_leave_a_filter() {
    let (_srv, env) = site().await;
    let d = Daemon::start(&env.config_path);
    // only punctuation: nothing to look for, said on the page, every story shown
    let r = reqwest::get(with_q(&d.url("/"), "+++")).await.unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("no letters or digits to look for"), "{html}");
    assert_eq!(html.matches("<article class=\"story\">").count(), 8);

    // a search inside a tag shows both filters, each with a way to drop it
    let url = format!("{}?tag=local&q=truce", d.url("/"));
    let html = reqwest::get(&url).await.unwrap().text().await.unwrap();
    let html = html.replace("&#x2f;", "/");
    assert!(html.contains("tag: local"), "{html}");
    assert!(html.contains("search: truce"), "{html}");
    assert!(html.contains("Search in #local"), "{html}");
    assert!(html.contains("href=\"/?q=truce\""), "drop the tag: {html}");
    assert!(
        html.contains("href=\"/?tag=local\""),
        "drop the search: {html}"
    );
    // the tag list, and relative times beside the absolute ones
    assert!(html.contains("href=\"/?tag=local\">#local</a>"), "{html}");
    assert!(html.contains(" ago)"), "{html}");

    // an unknown tag: the page, 404, saying why
    let r = reqwest::get(format!("{}?tag=nope", d.url("/")))
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let html = r.text().await.unwrap();
    assert!(html.contains("no feed has the tag"), "{html}");
    assert!(
        html.contains("#local"),
        "the way out is on the page: {html}"
    );
    // ... while a feed says it plainly
    let r = reqwest::get(format!("{}?tag=nope", d.url("/feed.atom")))
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.text().await.unwrap().contains("no feed has the tag"));
    d.stop();
}
