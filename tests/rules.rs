//! `[[rule]]`s, per-feed request options and fair shares, through the real pipeline: fixture
//! feeds served over HTTP, a SQLite file in a temporary folder, the real binary for the CLI.

mod common;

use std::process::Command;

use common::{BIN, FixtureServer, Route, TestEnv, fixture, rss_document, rss_item, titles};
use newswire::publish::View;

const RULES: &str = r#"
[[rule]]
name = "no-sponsored"
when = 'title ~ "(?i)^sponsored" or category = "Advertorial"'
action = "drop"

[[rule]]
name = "short"
when = "words < 6"
action = "hide"
feeds = ["gazette"]

[[rule]]
name = "ai"
when = 'title ~ "\bAI\b" or content contains "machine learning"'
action = "tag:ai"
"#;

fn feeds(server: &FixtureServer) -> String {
    format!(
        "[[feed]]\nname = \"gazette\"\nurl = \"{}\"\ntitle = \"Harbour Gazette (print)\"\n\n\
         [[feed]]\nname = \"ledger\"\nurl = \"{}\"\n",
        server.url("/gazette.xml"),
        server.url("/ledger.xml")
    )
}

async fn serve() -> FixtureServer {
    let server = FixtureServer::start().await;
    server.set("/gazette.xml", Route::rss(fixture("rules-gazette.rss.xml")));
    server.set("/ledger.xml", Route::rss(fixture("ledger-world.rss.xml")));
    server
}

fn merged_titles(env: &TestEnv, view: &View) -> Vec<String> {
    env.merged(view)
        .entries
        .into_iter()
        .map(|e| e.title)
        .collect()
}

/// Runs the binary with `args` on `env`'s config; returns (success, stdout + stderr).
async fn cli(env: &TestEnv, args: &[&str]) -> (bool, String) {
    let config = env.config_path.clone();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let out = Command::new(BIN)
            .args(&args)
            .arg("--config")
            .arg(&config)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn rules_drop_hide_and_tag_at_poll_time() {
    let server = serve().await;
    let env = TestEnv::new(&format!("{}{RULES}", feeds(&server)));
    env.poll().await;
    let shown = merged_titles(&env, &View::default());
    for gone in [
        "Sponsored: The best mattress of 2025",
        "Ten reasons to visit Lisbon",
        "Tide table",
    ] {
        assert!(!shown.iter().any(|t| t == gone), "{gone} shown: {shown:?}");
    }
    for kept in [
        "AI model reads harbour charts",
        "Port cranes learn new tricks",
        "Council approves new ferry route",
        "Heatwave grips southern Spain",
    ] {
        assert!(shown.iter().any(|t| t == kept), "{kept} missing: {shown:?}");
    }
    // the tag a rule gave: a ?tag= view and a category
    let ai = env.merged(&View {
        tag: Some("ai".into()),
        ..View::default()
    });
    let ai_titles: Vec<&str> = ai.entries.iter().map(|e| e.title.as_str()).collect();
    assert_eq!(
        ai_titles,
        [
            "AI model reads harbour charts",
            "Port cranes learn new tricks"
        ]
    );
    assert!(ai.entries[0].categories.iter().any(|c| c == "ai"));
    // the display title replaces the feed's own
    assert_eq!(ai.entries[0].sources[0].title, "Harbour Gazette (print)");
    // hidden is stored; dropped is not
    let store = env.store();
    let gazette: Vec<String> = store
        .rule_entries(None, Some("gazette"))
        .unwrap()
        .into_iter()
        .map(|e| e.article.title)
        .collect();
    assert_eq!(gazette.len(), 4, "{gazette:?}");
    assert!(gazette.iter().any(|t| t == "Tide table"));
    assert_eq!(store.dropped_counts().unwrap().get("gazette"), Some(&2));

    // the feed edits its sponsored item so that no rule matches any more: it stays dropped
    let edited = String::from_utf8(fixture("rules-gazette.rss.xml"))
        .unwrap()
        .replace("Sponsored: The best", "The best");
    server.set("/gazette.xml", Route::rss(edited));
    env.poll().await;
    let shown = merged_titles(&env, &View::default());
    assert!(
        !shown.iter().any(|t| t.contains("mattress")),
        "a dropped entry came back: {shown:?}"
    );
    assert_eq!(
        env.store().dropped_counts().unwrap().get("gazette"),
        Some(&2)
    );
}

#[tokio::test]
async fn keep_is_an_allowlist_for_its_feeds_and_drop_beats_it() {
    let server = serve().await;
    let rules = r#"
[[rule]]
name = "harbour-only"
when = 'title ~ "(?i)harbour|ferry|sponsored"'
action = "keep"
feeds = ["gaz*"]

[[rule]]
name = "no-sponsored"
when = 'title ~ "(?i)^sponsored"'
action = "drop"
"#;
    let env = TestEnv::new(&format!("{}{rules}", feeds(&server)));
    env.poll().await;
    let gazette = env.merged(&View {
        feed: Some("gazette".into()),
        ..View::default()
    });
    assert_eq!(
        gazette
            .entries
            .iter()
            .map(|e| e.title.as_str())
            .collect::<Vec<_>>(),
        [
            "AI model reads harbour charts",
            "Council approves new ferry route"
        ]
    );
    // the keep rule's scope is the gazette: the ledger keeps everything
    let ledger = env.merged(&View {
        feed: Some("ledger".into()),
        ..View::default()
    });
    assert_eq!(ledger.entries.len(), 2);
}

#[tokio::test]
async fn rules_test_is_a_dry_run_and_apply_reapplies() {
    let server = serve().await;
    // first without rules: everything stored and shown
    let env = TestEnv::new(&feeds(&server));
    env.poll().await;
    let before = env.store().counts().unwrap();
    assert_eq!(merged_titles(&env, &View::default()).len(), 8);

    env.write(&format!("{}{RULES}", feeds(&server)));
    let (ok, out) = cli(&env, &["rules", "test", "--feed", "gazette"]).await;
    assert!(ok, "{out}");
    let line = |rule: &str| {
        out.lines()
            .find(|l| l.starts_with(rule))
            .unwrap_or_else(|| panic!("no line for {rule}:\n{out}"))
            .split_whitespace()
            .collect::<Vec<_>>()
    };
    assert_eq!(line("no-sponsored"), ["no-sponsored", "drop", "2"]);
    assert_eq!(line("short"), ["short", "hide", "1"]);
    assert_eq!(line("ai"), ["ai", "tag:ai", "2"]);
    assert!(out.contains("gazette: Tide table"), "{out}");
    assert!(
        out.contains("6 entries judged: 2 dropped, 1 hidden, 2 tags"),
        "{out}"
    );
    // a dry run changes nothing
    assert_eq!(env.store().counts().unwrap(), before);
    assert_eq!(merged_titles(&env, &View::default()).len(), 8);
    let (ok, out) = cli(&env, &["rules", "test", "--since", "1h"]).await;
    assert!(ok && out.contains("8 entries judged"), "{out}");

    let (ok, out) = cli(&env, &["rules", "apply"]).await;
    assert!(ok, "{out}");
    assert!(
        out.contains("applied: 2 removed (dropped), 1 hidden, 2 tags given"),
        "{out}"
    );
    let shown = merged_titles(&env, &View::default());
    assert_eq!(shown.len(), 5, "{shown:?}");
    assert!(!shown.iter().any(|t| t == "Tide table"));
    let (ok, out) = cli(&env, &["feeds"]).await;
    assert!(ok, "{out}");
    let gazette_row: Vec<&str> = out
        .lines()
        .find(|l| l.starts_with("gazette"))
        .unwrap()
        .split_whitespace()
        .collect();
    assert!(out.lines().next().unwrap().contains("DROPPED"), "{out}");
    assert!(gazette_row.contains(&"2"), "{out}");

    // hide is reversible: without the rule, apply shows the entry again
    env.write(&format!(
        "{}{}",
        feeds(&server),
        RULES.replace("action = \"hide\"", "action = \"tag:short\"")
    ));
    let (ok, out) = cli(&env, &["rules", "apply"]).await;
    assert!(ok, "{out}");
    let shown = merged_titles(&env, &View::default());
    assert!(shown.iter().any(|t| t == "Tide table"), "{shown:?}");
    let short = merged_titles(
        &env,
        &View {
            tag: Some("short".into()),
            ..View::default()
        },
    );
    assert_eq!(short, ["Tide table"]);
}

#[tokio::test]
async fn a_bad_rule_is_a_located_config_error() {
    let env = TestEnv::new(
        "[[feed]]\nname = \"a\"\nurl = \"https://a.example/feed\"\n\n[[rule]]\nname = \"bad\"\nwhen = 'titel ~ \"x\"'\naction = \"drop\"\n",
    );
    let (ok, out) = cli(&env, &["check"]).await;
    assert!(!ok);
    // the header TestEnv writes takes 6 lines; `when` is on line 13, `titel` at column 9
    assert!(
        out.contains("newswire.toml:13:9: `rule.when`: unknown field `titel`"),
        "{out}"
    );
    assert!(out.contains("expected one of title, link"), "{out}");
}

#[tokio::test]
async fn per_feed_headers_user_agent_and_basic_auth_are_sent_to_the_feed_only() {
    let server = serve().await;
    server.set(
        "/moved.xml",
        Route::status(301).header("location", &server.url("/gazette.xml")),
    );
    let env = TestEnv::new(&format!(
        "[[feed]]\nname = \"private\"\nurl = \"{}\"\nuser_agent = \"Mozilla/5.0 (newswire test)\"\n\
         username = \"reader\"\npassword = \"s3cret-pw\"\nheaders = {{ Cookie = \"session=abc\", \"X-Api-Key\" = \"k-123\" }}\n\n\
         [[feed]]\nname = \"plain\"\nurl = \"{}\"\n",
        server.url("/ledger.xml"),
        server.url("/moved.xml"),
    ));
    env.poll().await;
    let seen = server.seen("/ledger.xml");
    let h = &seen[0].headers;
    assert_eq!(h["user-agent"], "Mozilla/5.0 (newswire test)");
    assert_eq!(h["cookie"], "session=abc");
    assert_eq!(h["x-api-key"], "k-123");
    // base64("reader:s3cret-pw")
    assert_eq!(h["authorization"], "Basic cmVhZGVyOnMzY3JldC1wdw==");
    // the other feed gets none of it
    let plain = &server.seen("/moved.xml")[0].headers;
    assert!(plain.get("authorization").is_none() && plain.get("cookie").is_none());
    assert!(
        plain["user-agent"]
            .to_str()
            .unwrap()
            .starts_with("newswire/")
    );
    // never shown: not in /status, nor in the OPML export, nor in `feeds`
    let status = serde_json::to_string(
        &newswire::publish::feed_statuses(&env.store(), &env.config(), chrono::Utc::now()).unwrap(),
    )
    .unwrap();
    assert!(!status.contains("s3cret"), "{status}");
    for args in [&["opml", "export"][..], &["feeds"][..]] {
        let (ok, out) = cli(&env, args).await;
        assert!(ok, "{out}");
        assert!(!out.contains("s3cret") && !out.contains("k-123"), "{out}");
    }
}

/// An RSS document of `n` items without dates.
fn flood(n: usize) -> String {
    let items: Vec<String> = (0..n)
        .map(|i| {
            format!(
                "<item><guid>flood-{i}</guid><title>Listing {i}</title>\
                 <link>https://flood.example/{i}</link><description>Item {i}</description></item>"
            )
        })
        .collect();
    rss_document("Flood", "", &items)
}

#[tokio::test]
async fn a_flood_of_undated_items_does_not_push_the_other_feeds_out() {
    let server = serve().await;
    server.set("/flood.xml", Route::rss(flood(10_000)));
    let now = chrono::Utc::now();
    let dated: Vec<String> = (0..30)
        .map(|i| {
            rss_item(
                &format!("d{i}"),
                &format!("Dated story {i}"),
                "body",
                &(now - chrono::Duration::hours(i + 1)).to_rfc2822(),
            )
        })
        .collect();
    server.set("/dated.xml", Route::rss(rss_document("Dated", "", &dated)));
    // the ledger (stories of June 2025) is polled first, then the flood, then recent stories
    let feeds = format!(
        "[[feed]]\nname = \"ledger\"\nurl = \"{}\"\n\n[[feed]]\nname = \"flood\"\nurl = \"{}\"\n\n\
         [[feed]]\nname = \"dated\"\nurl = \"{}\"\n\n[storage]\nmax_per_feed = 20000\n",
        server.url("/ledger.xml"),
        server.url("/flood.xml"),
        server.url("/dated.xml"),
    );
    let env = TestEnv::new(&feeds);
    env.poll().await;
    let merged = env.merged(&View::default());
    let from = |feed: &str| {
        merged
            .entries
            .iter()
            .filter(|e| e.sources[0].name == feed)
            .count()
    };
    assert_eq!(merged.entries.len(), 82, "200 asked: 50 + 30 + 2 exist");
    assert_eq!(from("flood"), 50);
    assert_eq!((from("dated"), from("ledger")), (30, 2));
    // dated stories of other feeds come first: the backlog has no date to outrank them
    let first_flood = merged
        .entries
        .iter()
        .position(|e| e.sources[0].name == "flood")
        .unwrap();
    assert_eq!(first_flood, 32);
    // the feed's own order is kept
    assert_eq!(merged.entries[32].title, "Listing 0");
    assert_eq!(merged.entries[33].title, "Listing 1");

    // without the cap the flood fills the rest, still below the dated stories
    env.write(&format!("{feeds}\n[output]\nper_feed = 0\n"));
    let all = env.merged(&View::default());
    assert_eq!(all.entries.len(), 200);
    assert!(
        all.entries[..32]
            .iter()
            .all(|e| e.sources[0].name != "flood")
    );
    assert_eq!(all.entries[32].sources[0].name, "flood");

    // items the flood adds later are new: they take the time they were first seen
    let mut more = flood(10_000);
    more = more.replace(
        "<item><guid>flood-0</guid>",
        "<item><guid>fresh</guid><title>Fresh listing</title><link>https://flood.example/fresh</link>\
         <description>new</description></item><item><guid>flood-0</guid>",
    );
    server.set("/flood.xml", Route::rss(more));
    env.poll().await;
    assert_eq!(titles(&env.merged_atom_parsed())[0], "Fresh listing");
}

/// GETs `path` of the daemon until `ok` holds for the body (the first poll runs at start).
async fn wait_body(d: &common::Daemon, path: &str, ok: impl Fn(&str) -> bool) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let body = reqwest::get(d.url(path))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if ok(&body) {
            return body;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out on {path}: {body}\nlog:\n{}",
            d.log()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_daemon_applies_rules_and_keeps_its_last_good_ones() {
    let server = serve().await;
    let feeds = feeds(&server).replace(
        "title = \"Harbour Gazette (print)\"\n",
        "title = \"Harbour Gazette (print)\"\nusername = \"reader\"\npassword = \"s3cret-pw\"\n",
    );
    let env = TestEnv::new(&format!("{feeds}{RULES}"));
    let d = common::Daemon::start(&env.config_path);
    let atom = wait_body(&d, "/feed.atom", |b| b.contains("Council approves")).await;
    let feed = feed_rs::parser::parse(atom.as_bytes()).unwrap();
    let shown = titles(&feed);
    assert!(
        !shown
            .iter()
            .any(|t| t.contains("mattress") || t == "Tide table"),
        "{shown:?}"
    );
    let ai = wait_body(&d, "/feed.json?tag=ai", |b| b.contains("harbour charts")).await;
    assert!(
        ai.contains("Port cranes") && !ai.contains("ferry route"),
        "{ai}"
    );
    let metrics = wait_body(&d, "/metrics", |b| b.contains("rule_matches")).await;
    assert!(
        metrics.contains("newswire_rule_matches_total{rule=\"no-sponsored\",action=\"drop\"} 2"),
        "{metrics}"
    );
    let status = wait_body(&d, "/status", |b| b.contains("gazette")).await;
    assert!(!status.contains("s3cret"), "{status}");
    // the display title is the feed's title on the page and in /status
    assert!(status.contains("Harbour Gazette (print)"), "{status}");
    let page = wait_body(&d, "/", |b| b.contains("Council approves")).await;
    assert!(page.contains("Harbour Gazette (print)"), "{page}");

    // a broken rule: located in the log, and the daemon goes on with the rules it had
    env.write(&format!(
        "{feeds}{RULES}\n[[rule]]\nname = \"bad\"\nwhen = 'age > 3'\naction = \"hide\"\n"
    ));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !d.log().contains("keeping the last good config") {
        assert!(
            std::time::Instant::now() < deadline,
            "not reported:\n{}",
            d.log()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        d.log()
            .contains("`rule.when`: `age` is compared with a duration"),
        "{}",
        d.log()
    );
    wait_body(&d, "/feed.atom?tag=ai", |b| b.contains("harbour charts")).await;
    assert!(
        !d.log().contains("s3cret"),
        "the password was logged:\n{}",
        d.log()
    );
}
