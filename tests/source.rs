//! A source on every story, in every reader: readers ignore Atom `<source>`, so the feeds
//! carry the outlet in the body's last line and in the author field, for single- and
//! multi-source stories, as `[output] source_in` says; "Carried by" links lose tracking.

mod common;

use common::*;

const SINGLE: &str = "<?xml version=\"1.0\"?><rss version=\"2.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><channel>\
<title>Ledger World</title><link>https://ledger.example/</link><description>d</description>\
<item><guid>l1</guid><title>Harbour reopens</title><link>https://ledger.example/l1.html?utm_source=rss&amp;id=1</link>\
<dc:creator>Jane Doe</dc:creator><description>The harbour is open.</description>\
<pubDate>Mon, 02 Jun 2025 10:00:00 +0000</pubDate></item>\
<item><guid>l2</guid><title>Shared wire story</title><link>https://wire.example/w.html</link>\
<description>Wire text.</description><pubDate>Mon, 02 Jun 2025 09:00:00 +0000</pubDate></item>\
</channel></rss>";

const OTHER: &str = "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel>\
<title>Metro Wire</title><link>https://metro.example/</link><description>d</description>\
<item><guid>m1</guid><title>Shared wire story</title><link>https://wire.example/w.html?fbclid=abc</link>\
<description>Wire text.</description><pubDate>Mon, 02 Jun 2025 09:05:00 +0000</pubDate></item>\
</channel></rss>";

async fn setup(output: &str) -> (FixtureServer, TestEnv) {
    let srv = FixtureServer::start().await;
    srv.set("/ledger.xml", Route::rss(SINGLE));
    srv.set("/metro.xml", Route::rss(OTHER));
    let env = TestEnv::new(&format!(
        "{output}[[feed]]\nname = \"ledger\"\nurl = \"{}\"\n\n[[feed]]\nname = \"metro\"\nurl = \"{}\"\n",
        srv.url("/ledger.xml"),
        srv.url("/metro.xml")
    ));
    env.poll().await;
    (srv, env)
}

async fn get(url: &str) -> String {
    let r = reqwest::get(url).await.unwrap();
    assert_eq!(r.status(), 200, "{url}");
    r.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_story_names_its_source_in_content_and_author() {
    let (_srv, env) = setup("").await;
    let d = Daemon::start(&env.config_path);
    let atom = get(&d.url("/feed.atom")).await;
    let feed = feed_rs::parser::parse(atom.as_bytes()).unwrap();
    let entry = |t: &str| {
        feed.entries
            .iter()
            .find(|e| e.title.as_ref().unwrap().content == t)
            .unwrap_or_else(|| panic!("{t}: {atom}"))
    };
    let single = entry("Harbour reopens");
    let authors: Vec<&str> = single
        .authors
        .iter()
        .map(|p| p.name.as_deref().unwrap_or_default())
        .collect();
    assert_eq!(authors, ["Jane Doe (Ledger World)"]);
    let body = single.content.as_ref().unwrap().body.as_deref().unwrap();
    assert!(
        body.contains("Source: <a href=\"https://ledger.example/l1.html?id=1\""),
        "{body}"
    );
    let shared = entry("Shared wire story");
    let authors: Vec<&str> = shared
        .authors
        .iter()
        .map(|p| p.name.as_deref().unwrap_or_default())
        .collect();
    assert_eq!(authors, ["Ledger World"], "no author: the source alone");
    let body = shared.content.as_ref().unwrap().body.as_deref().unwrap();
    assert!(body.contains("Carried by: "), "{body}");
    assert!(!body.contains("fbclid"), "tracking left in: {body}");
    assert!(body.contains("Metro Wire"), "{body}");

    // RSS: dc:creator, and the same last line
    let rss = get(&d.url("/feed.rss")).await;
    let channel = rss::Channel::read_from(rss.as_bytes()).unwrap();
    let item = channel
        .items()
        .iter()
        .find(|i| i.title() == Some("Harbour reopens"))
        .unwrap();
    let dc = item.dublin_core_ext().unwrap();
    assert_eq!(dc.creators(), ["Jane Doe (Ledger World)"]);
    // JSON Feed
    let json: serde_json::Value = serde_json::from_str(&get(&d.url("/feed.json")).await).unwrap();
    assert_eq!(
        json["items"][0]["authors"][0]["name"],
        "Jane Doe (Ledger World)"
    );
    // the page keeps authors and sources apart
    let page = get(&d.url("/")).await;
    assert!(!page.contains("Jane Doe (Ledger World)"), "{page}");
    assert!(page.contains("Jane Doe"));
    d.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_in_can_leave_the_author_alone() {
    let (_srv, env) = setup("[output]\nsource_in = [\"content\"]\n\n").await;
    let d = Daemon::start(&env.config_path);
    let json: serde_json::Value = serde_json::from_str(&get(&d.url("/feed.json")).await).unwrap();
    let first = &json["items"][0];
    assert_eq!(first["authors"][0]["name"], "Jane Doe");
    assert!(
        first["content_html"].as_str().unwrap().contains("Source: "),
        "{first}"
    );
    d.stop();

    env.write(&format!(
        "[output]\nsource_in = [\"author\", \"byline\"]\n\n{}",
        std::fs::read_to_string(&env.config_path)
            .unwrap()
            .split("[[feed]]")
            .skip(1)
            .map(|f| format!("[[feed]]{f}"))
            .collect::<String>()
    ));
    let out = std::process::Command::new(BIN)
        .args(["check", "--config"])
        .arg(&env.config_path)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("output.source_in") && err.contains("\"content\" or \"author\""),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feeds_display_name_in_the_config_is_its_source_name() {
    let srv = FixtureServer::start().await;
    srv.set("/ledger.xml", Route::rss(SINGLE));
    srv.set("/metro.xml", Route::rss(OTHER));
    // `title` in [[feed]] names the ledger; metro keeps the title it gives itself
    let env = TestEnv::new(&format!(
        "[[feed]]\nname = \"ledger\"\nurl = \"{}\"\ntitle = \"The Daily Ledger\"\n\n\
         [[feed]]\nname = \"metro\"\nurl = \"{}\"\n",
        srv.url("/ledger.xml"),
        srv.url("/metro.xml")
    ));
    env.poll().await;
    let d = Daemon::start(&env.config_path);
    let json: serde_json::Value = serde_json::from_str(&get(&d.url("/feed.json")).await).unwrap();
    let item = |t: &str| {
        json["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["title"] == t)
            .unwrap_or_else(|| panic!("{t}: {json}"))
            .clone()
    };
    let single = item("Harbour reopens");
    assert_eq!(single["authors"][0]["name"], "Jane Doe (The Daily Ledger)");
    let body = single["content_html"].as_str().unwrap();
    assert!(body.contains(">The Daily Ledger</a></p>"), "{body}");
    assert!(!body.contains("Ledger World"), "{body}");
    let shared = item("Shared wire story");
    assert_eq!(shared["authors"][0]["name"], "The Daily Ledger");
    let body = shared["content_html"].as_str().unwrap();
    assert!(
        body.contains("Carried by: ") && body.contains(">The Daily Ledger</a>, "),
        "{body}"
    );
    assert!(body.contains(">Metro Wire</a>"), "{body}");
}
