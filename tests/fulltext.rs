//! Full text end to end: the real daemon against a fixture site on 127.0.0.1 whose feed
//! carries only a sentence per story, with article pages, a broken page, a slow page, a
//! page that redirects to another host, and one that answers 429 with Retry-After.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

fn item(guid: &str, title: &str, link: &str, body: &str, date: &str) -> String {
    format!(
        "<item><guid>{guid}</guid><title>{title}</title><link>{link}</link>\
         <description>{body}</description><pubDate>{date}</pubDate></item>"
    )
}

fn page(html: &[u8]) -> Route {
    Route::feed("text/html; charset=utf-8", html.to_vec())
}

async fn get_json(url: &str) -> Value {
    reqwest::get(url)
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
        .json()
        .await
        .unwrap()
}

/// Waits until `/status` says `ok` of the feed's full text; returns the feed's status.
async fn wait_for_status(d: &Daemon, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let status = get_json(&d.url("/status")).await;
        let feed = status["feeds"]
            .as_array()
            .and_then(|a| a.iter().find(|f| f["name"] == "coast"))
            .cloned()
            .unwrap_or(Value::Null);
        if ok(&feed) {
            return feed;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; status {feed:#}; log:\n{}",
            d.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn story<'a>(feed: &'a Value, title: &str) -> &'a Value {
    feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["title"] == title)
        .unwrap_or_else(|| panic!("no story {title:?} in {feed:#}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn summary_only_feed_gets_its_articles_politely() {
    let srv = FixtureServer::start().await;
    let port = srv.addr.port();
    // another host name for the same server: a redirect to "elsewhere", and a rate limit
    // that pauses that host only
    let other = |path: &str| format!("http://localhost:{port}{path}");
    let long_body = "word ".repeat(150);
    let feed = |harbour_summary: &str| {
        rss_document(
            "Coast Post",
            "",
            &[
                item(
                    "harbour",
                    "Harbour reopens after the storm",
                    &srv.url("/news/harbour.html"),
                    harbour_summary,
                    "Tue, 10 Mar 2026 10:00:00 +0000",
                ),
                item(
                    "lifeboat",
                    "Lifeboat crew honoured",
                    &srv.url("/news/lifeboat.html"),
                    "Six fishermen brought home.",
                    "Tue, 10 Mar 2026 09:00:00 +0000",
                ),
                item(
                    "broken",
                    "Council meets",
                    &srv.url("/news/broken.html"),
                    "The council met.",
                    "Tue, 10 Mar 2026 08:00:00 +0000",
                ),
                item(
                    "slow",
                    "Ferry delayed",
                    &srv.url("/news/slow.html"),
                    "The ferry is late.",
                    "Tue, 10 Mar 2026 07:00:00 +0000",
                ),
                item(
                    "long",
                    "Full story in the feed",
                    &srv.url("/news/long.html"),
                    &format!("&lt;p&gt;{long_body}&lt;/p&gt;"),
                    "Tue, 10 Mar 2026 06:00:00 +0000",
                ),
                item(
                    "limited",
                    "Weather warning",
                    &other("/news/limited.html"),
                    "Gales expected.",
                    "Tue, 10 Mar 2026 05:00:00 +0000",
                ),
            ],
        )
    };
    srv.set(
        "/feed.xml",
        Route::rss(feed("The harbour reopened on Tuesday.")),
    );
    srv.set(
        "/news/harbour.html",
        page(&fixture("fulltext/harbour.html")),
    );
    srv.set(
        "/news/lifeboat.html",
        Route::status(301).header("location", &other("/2026/03/lifeboat-crew.html")),
    );
    srv.set(
        "/2026/03/lifeboat-crew.html",
        page(&fixture("fulltext/moved.html")),
    );
    srv.set("/news/broken.html", Route::status(500));
    let mut slow = page(&fixture("fulltext/harbour.html"));
    slow.delay_ms = 8_000; // past the 5 s timeout
    srv.set("/news/slow.html", slow);
    srv.set("/news/long.html", page(&fixture("fulltext/harbour.html")));
    srv.set(
        "/news/limited.html",
        Route::status(429).header("retry-after", "3600"),
    );
    let env = TestEnv::new(&format!(
        "[[feed]]\nname = \"coast\"\nurl = \"{}\"\nschedule = \"*/2 * * * * *\"\nfull_text = \"auto\"\n",
        srv.url("/feed.xml")
    ));
    let d = Daemon::start(&env.config_path);

    // the poll is done (its entries are served) long before the slow page gives up
    let first = wait_for_status(&d, "the first poll", |f| f["article_count"] == 6).await;
    assert_eq!(first["article_count"], 6, "{first:#}");
    let all = wait_for_status(&d, "every page's outcome", |f| {
        let ft = &f["full_text"];
        ft["ok"] == 2
            && ft["http_error"] == 1
            && ft["fetch_failed"] == 1
            && ft["rate_limited"] == 1
            && ft["not_needed"] == 1
    })
    .await;
    let log = d.log();
    let polled = log.find("polled").expect("a poll line");
    let slow_failed = log
        .find("slow.html")
        .expect("the slow page is named in the log");
    assert!(
        polled < slow_failed,
        "the poll waited for an article page:\n{log}"
    );
    // the 429 paused its own host only: the feed's host goes on being polled
    assert!(
        all["state"] == "ok" || all["state"] == "not_modified",
        "{all:#}"
    );
    assert!(all["paused_until"].is_null(), "{all:#}");

    let merged = get_json(&d.url("/feed.json")).await;
    let harbour = story(&merged, "Harbour reopens after the storm");
    let html = harbour["content_html"].as_str().unwrap();
    assert!(html.contains("four days after the storm"), "{html}");
    assert!(html.contains("surveyed the sea wall"), "{html}");
    assert_eq!(harbour["summary"], "The harbour reopened on Tuesday.");
    for clutter in [
        "Share on X",
        "newsletter",
        "Copyright",
        "Related stories",
        "Ferry timetable",
        "Photo: Coast Post",
        "Advertisement",
        "analytics",
    ] {
        assert!(!html.contains(clutter), "{clutter} kept in {html}");
    }
    // relative URLs against the page; the lead image from og:image
    assert!(
        html.contains(&format!(
            "href=\"{}\"",
            srv.url("/reports/storm-damage.html")
        )),
        "{html}"
    );
    assert!(
        html.contains(&format!("src=\"{}\"", srv.url("/images/pontoon.jpg"))),
        "{html}"
    );
    assert_eq!(harbour["image"], srv.url("/images/harbour-lead.jpg"));

    // the redirect was followed to the other host; its links resolve against where it ended
    let lifeboat = story(&merged, "Lifeboat crew honoured");
    let html = lifeboat["content_html"].as_str().unwrap();
    assert!(html.contains("six fishermen home"), "{html}");
    assert!(
        html.contains(&format!(
            "href=\"{}\"",
            other("/2026/03/photos/rescue.html")
        )),
        "{html}"
    );
    assert_eq!(
        lifeboat["image"],
        "https://cdn.coastpost.example/lifeboat.jpg"
    );

    // the failures keep what the feed gave
    for (title, text) in [
        ("Council meets", "The council met."),
        ("Ferry delayed", "The ferry is late."),
        ("Weather warning", "Gales expected."),
    ] {
        let s = story(&merged, title);
        let body = s["content_html"]
            .as_str()
            .or(s["content_text"].as_str())
            .unwrap();
        assert!(body.contains(text), "{title}: {s:#}");
    }
    let full = story(&merged, "Full story in the feed");
    assert!(full["content_html"].as_str().unwrap().contains("word word"));
    assert_eq!(
        srv.hits("/news/long.html"),
        0,
        "a full entry's page was fetched"
    );

    // metrics by outcome
    let metrics = reqwest::get(d.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("newswire_full_text_pages_total{outcome=\"ok\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("newswire_full_text_pages_total{outcome=\"rate_limited\"} 1"),
        "{metrics}"
    );

    // `newswire feeds` says it too
    let out = std::process::Command::new(BIN)
        .args(["feeds", "--config"])
        .arg(&env.config_path)
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("FULL TEXT"), "{table}");
    assert!(
        table.contains("2 ok, 1 fetch_failed, 1 http_error, 1 not_needed, 1 rate_limited"),
        "{table}"
    );

    // once per version: more polls (304s) fetch no page again...
    let polls_before = srv.hits("/feed.xml");
    let deadline = Instant::now() + Duration::from_secs(20);
    while srv.hits("/feed.xml") < polls_before + 2 {
        assert!(
            Instant::now() < deadline,
            "no more polls; log:\n{}",
            d.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(srv.hits("/news/harbour.html"), 1);
    assert_eq!(srv.hits("/2026/03/lifeboat-crew.html"), 1);
    assert_eq!(
        srv.hits("/news/broken.html"),
        1,
        "a 500 is retried later, not at once"
    );
    assert_eq!(
        srv.hits("/news/limited.html"),
        1,
        "the paused host was asked again"
    );
    // ...and a new version of an entry is fetched again
    srv.set(
        "/feed.xml",
        Route::rss(feed("The harbour reopened on Tuesday, with a new quote.")),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while srv.hits("/news/harbour.html") < 2 {
        assert!(
            Instant::now() < deadline,
            "the new version's page was not fetched; log:\n{}",
            d.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let merged = wait_for_feed_json(&d, |m| {
        story(m, "Harbour reopens after the storm")["summary"]
            == "The harbour reopened on Tuesday, with a new quote."
            && story(m, "Harbour reopens after the storm")["content_html"]
                .as_str()
                .is_some_and(|h| h.contains("surveyed the sea wall"))
    })
    .await;
    assert!(merged["items"].as_array().unwrap().len() == 6);
    d.stop();
}

async fn wait_for_feed_json(d: &Daemon, ok: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let feed = get_json(&d.url("/feed.json")).await;
        if ok(&feed) {
            return feed;
        }
        assert!(
            Instant::now() < deadline,
            "timed out; feed {feed:#}; log:\n{}",
            d.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[test]
fn extract_command_prints_text_or_html_with_site_rules() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("moved.html");
    std::fs::write(&page, fixture("fulltext/moved.html")).unwrap();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(BIN)
            .arg("extract")
            .args(args)
            .arg(&page)
            .env_remove("NEWSWIRE_CONFIG")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let text = run(&["--url", "https://coastpost.example/2026/lifeboat.html"]);
    assert!(text.contains("six fishermen home"), "{text}");
    assert!(!text.contains('<'), "{text}");
    let html = run(&[
        "--url",
        "https://coastpost.example/2026/lifeboat.html",
        "--html",
    ]);
    assert!(
        html.contains("href=\"https://coastpost.example/2026/photos/rescue.html\""),
        "{html}"
    );
    // a [[site]] rule for the page's host: only the first paragraph, the coxswain's removed
    let config = dir.path().join("newswire.toml");
    std::fs::write(
        &config,
        "[[site]]\nhost = \"www.coastpost.example\"\ncontent_selector = \"div.story-body\"\n\
         remove_selector = \"p:nth-of-type(2)\"\n",
    )
    .unwrap();
    let text = run(&[
        "--config",
        config.to_str().unwrap(),
        "--url",
        "https://coastpost.example/2026/lifeboat.html",
    ]);
    assert!(text.contains("six fishermen home"), "{text}");
    assert!(!text.contains("Coxswain"), "{text}");
    // a bad selector in the config is a config error that names the key
    std::fs::write(
        &config,
        "[[site]]\nhost = \"a.example\"\ncontent_selector = \"div[\"\n",
    )
    .unwrap();
    let out = std::process::Command::new(BIN)
        .args(["extract", "--config"])
        .arg(&config)
        .arg(&page)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("site.content_selector"), "{err}");
}

/// A teaser whose article page turns out to carry another outlet's story joins that story
/// once its page is extracted: its text is compared again, not only its teaser.
#[tokio::test(flavor = "multi_thread")]
async fn an_extracted_teaser_joins_another_outlets_copy() {
    let srv = FixtureServer::start().await;
    // the article as the other outlet carries it: the page's text, paragraph by paragraph
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("harbour.html");
    std::fs::write(&file, fixture("fulltext/harbour.html")).unwrap();
    let out = std::process::Command::new(BIN)
        .args([
            "extract",
            "--url",
            "https://coastpost.example/news/harbour.html",
        ])
        .arg(&file)
        .env_remove("NEWSWIRE_CONFIG")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let paragraphs: String = text
        .split("\n\n")
        .filter(|p| !p.trim().is_empty())
        .map(|p| format!("&lt;p&gt;{}&lt;/p&gt;", p.trim()))
        .collect();
    assert!(paragraphs.len() > 500, "{text}");
    srv.set(
        "/wire.xml",
        Route::rss(rss_document(
            "Wire",
            "",
            &[item(
                "wire-harbour",
                "Storm-hit harbour opens again to the fishing fleet",
                &srv.url("/wire/harbour-opens"),
                &paragraphs,
                "Tue, 10 Mar 2026 10:30:00 +0000",
            )],
        )),
    );
    srv.set(
        "/coast.xml",
        Route::rss(rss_document(
            "Coast Post",
            "",
            &[item(
                "harbour",
                "Harbour reopens after the storm",
                &srv.url("/news/harbour.html"),
                "The harbour reopened on Tuesday.",
                "Tue, 10 Mar 2026 10:00:00 +0000",
            )],
        )),
    );
    // the page comes late enough for the teaser to be seen alone first
    let mut slow = page(&fixture("fulltext/harbour.html"));
    slow.delay_ms = 2_000;
    srv.set("/news/harbour.html", slow);
    let env = TestEnv::new(&format!(
        "[[feed]]\nname = \"wire\"\nurl = \"{}\"\n\n\
         [[feed]]\nname = \"coast\"\nurl = \"{}\"\nfull_text = \"auto\"\n",
        srv.url("/wire.xml"),
        srv.url("/coast.xml")
    ));
    let d = Daemon::start(&env.config_path);
    let alone =
        wait_for_feed_json(&d, |m| m["items"].as_array().is_some_and(|a| a.len() == 2)).await;
    assert!(
        !story(&alone, "Harbour reopens after the storm")["content_html"]
            .as_str()
            .is_some_and(|h| h.contains("surveyed the sea wall")),
        "extracted before the teaser was seen alone: {alone:#}"
    );
    let merged =
        wait_for_feed_json(&d, |m| m["items"].as_array().is_some_and(|a| a.len() == 1)).await;
    let item = &merged["items"][0];
    let sources = item["_newswire"]["sources"].to_string();
    assert!(
        sources.contains("coast") && sources.contains("wire"),
        "{item:#}"
    );
    d.stop();
}
