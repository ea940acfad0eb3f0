//! One story, once, in any order: the labelled fixture set (20 wire stories carried four
//! ways, 10 same-event pairs written twice) stored in every order of its outlets and
//! concurrently through the binary gives the same clusters, with precision 1 and recall at
//! least 0.95; a wrong merge can be explained and split, and the split lasts.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use common::clusters::{self, Copy, OWN_OUTLETS, WIRE_OUTLETS};
use common::*;
use newswire::article::FeedMeta;
use newswire::store::{FeedUpdate, Split, Store};

const FIXTURES: &str = include_str!("fixtures/clusters/wire.json");

fn outlets() -> Vec<&'static str> {
    WIRE_OUTLETS.iter().chain(&OWN_OUTLETS).copied().collect()
}

fn check_scores(copies: &[Copy], found: &BTreeMap<String, i64>, what: &str) {
    assert_eq!(found.len(), copies.len(), "{what}: every copy is stored");
    let s = clusters::score(copies, found);
    assert_eq!(s.false_merges, 0, "{what}: different stories merged: {s:?}");
    assert!(
        s.recall() >= 0.95,
        "{what}: recall {:.3}: {s:?}",
        s.recall()
    );
}

#[test]
fn every_order_of_the_outlets_gives_the_same_clusters() {
    let copies = clusters::copies(FIXTURES);
    assert!(copies.len() >= 20 * 4 + 10 * 2);
    let mut expected: Option<BTreeSet<BTreeSet<String>>> = None;
    for (n, wire_order) in clusters::permutations(&WIRE_OUTLETS).iter().enumerate() {
        // the own outlets first, last, or in the middle
        let mut order = wire_order.clone();
        order.insert(n % 5, OWN_OUTLETS[0]);
        order.insert((n * 3) % 6, OWN_OUTLETS[1]);
        let found = clusters::store_in_order(&copies, &order, n as u64 + 1);
        check_scores(&copies, &found, &format!("{order:?}"));
        let got = clusters::clusters(&found);
        match &expected {
            None => expected = Some(got),
            Some(e) => assert_eq!(&got, e, "order {order:?} gives other clusters"),
        }
    }
    // every wire story is one cluster of four copies
    let expected = expected.unwrap();
    assert_eq!(
        expected.iter().filter(|c| c.len() == 4).count(),
        20,
        "{expected:?}"
    );
}

/// Polls the outlets through the binary (concurrently, as the daemon does), several times
/// over fresh databases, and compares with the clusters of a sequential run.
#[tokio::test(flavor = "multi_thread")]
async fn concurrent_polls_through_the_binary_give_the_same_clusters() {
    let copies = clusters::copies(FIXTURES);
    let expected = clusters::clusters(&clusters::store_in_order(&copies, &outlets(), 1));
    let srv = FixtureServer::start().await;
    let mut feeds = String::new();
    for feed in outlets() {
        let mine: Vec<&Copy> = copies.iter().filter(|c| c.feed == feed).collect();
        srv.set(
            &format!("/{feed}.xml"),
            Route::rss(clusters::rss(feed, &mine)),
        );
        feeds.push_str(&format!(
            "[[feed]]\nname = \"{feed}\"\nurl = \"{}\"\n\n",
            srv.url(&format!("/{feed}.xml"))
        ));
    }
    for round in 0..3 {
        let env = TestEnv::new(&format!("[storage]\nmax_age = \"off\"\n\n{feeds}"));
        let config = env.config_path.clone();
        let out = tokio::task::spawn_blocking(move || {
            Command::new(BIN)
                .args(["--config"])
                .arg(&config)
                .arg("poll")
                .env("RUST_LOG", "warn")
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let found = clusters::stored_clusters(&env.store());
        check_scores(&copies, &found, &format!("round {round}"));
        assert_eq!(clusters::clusters(&found), expected, "round {round}");
    }
}

#[test]
fn a_story_says_why_each_copy_joined_and_a_split_lasts() {
    let copies = clusters::copies(FIXTURES);
    let dir = tempfile::tempdir().unwrap();
    let store = clusters::open_store(dir.path());
    let poll = |store: &Store, feed: &str, at| clusters::poll_copies(store, &copies, feed, at, 1);
    let now = chrono::Utc::now();
    for feed in outlets() {
        poll(&store, feed, now);
    }
    let found = clusters::stored_clusters(&store);
    let story = found["https://digest.example/news/rates.html"];
    let s = store.story_copies(story).unwrap().unwrap();
    let feeds: Vec<&str> = s.copies.iter().map(|c| c.feed.as_str()).collect();
    assert_eq!(feeds.len(), 4, "{s:?}");
    let teaser = s.copies.iter().find(|c| c.feed == "digest").unwrap();
    let joined = serde_json::to_value(teaser.joined.as_ref().unwrap()).unwrap();
    let first = s.copies.iter().filter(|c| c.joined.is_some()).count();
    assert_eq!(first, 4);
    // the first copy started it; a later one says which rule and copy attached it
    assert!(
        s.copies
            .iter()
            .any(|c| c.joined == Some(newswire::plan::Joined::First)),
        "{s:?}"
    );
    if joined["by"] == "near_duplicate" {
        assert!(joined["score"].as_f64().unwrap() >= 0.8, "{joined}");
    }

    // split the regional copy out; polled again (even changed), it stays apart
    let Split::Done { story: alone, .. } = store.split(story, "courier").unwrap() else {
        panic!("split")
    };
    assert_eq!(store.story_copies(story).unwrap().unwrap().copies.len(), 3);
    assert_eq!(store.split(alone, "courier").unwrap(), Split::Alone);
    assert_eq!(store.split(story, "nobody").unwrap(), Split::NoSuchCopy);
    poll(&store, "courier", now + chrono::Duration::hours(1));
    let mut changed: Vec<_> = copies
        .iter()
        .filter(|c| c.feed == "courier")
        .map(|c| c.article.clone())
        .collect();
    for a in &mut changed {
        a.title.push_str(" (updated)");
    }
    let update = FeedUpdate {
        at: now + chrono::Duration::hours(2),
        status: 200,
        ..Default::default()
    };
    let stats = store
        .apply_poll("courier", &update, &FeedMeta::default(), &changed)
        .unwrap();
    assert_eq!(stats.updated, 20);
    let after = clusters::stored_clusters(&store);
    assert_eq!(after["https://courier.example/news/rates.html"], alone);
    assert_eq!(after["https://herald.example/news/rates.html"], story);
    let s = store.story_copies(alone).unwrap().unwrap();
    assert_eq!(s.copies.len(), 1);
    assert_eq!(s.copies[0].joined, Some(newswire::plan::Joined::Split));
    // the other stories were not touched
    check_scores(
        &copies
            .iter()
            .filter(|c| c.label != "wire:rates")
            .cloned()
            .collect::<Vec<_>>(),
        &after
            .into_iter()
            .filter(|(l, _)| !l.contains("/rates.html"))
            .collect(),
        "after the split",
    );
}

fn run(config: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(BIN)
        .arg("--config")
        .arg(config)
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// What a user does: polls, asks why a story holds its copies (CLI and `/stories/ID`),
/// splits one out, polls again; and a feed with `near_duplicates = false` joins by URL only.
#[tokio::test(flavor = "multi_thread")]
async fn story_and_split_commands_and_the_per_feed_switch() {
    let copies = clusters::copies(FIXTURES);
    let srv = FixtureServer::start().await;
    let mut feeds = String::new();
    for feed in outlets() {
        let mine: Vec<&Copy> = copies.iter().filter(|c| c.feed == feed).collect();
        srv.set(
            &format!("/{feed}.xml"),
            Route::rss(clusters::rss(feed, &mine)),
        );
        let switch = if feed == "digest" {
            "near_duplicates = false\n"
        } else {
            ""
        };
        feeds.push_str(&format!(
            "[[feed]]\nname = \"{feed}\"\nurl = \"{}\"\n{switch}\n",
            srv.url(&format!("/{feed}.xml"))
        ));
    }
    let env = TestEnv::new(&format!("[storage]\nmax_age = \"off\"\n\n{feeds}"));
    let config = env.config_path.clone();
    let poll = {
        let config = config.clone();
        move || run(&config, &["poll"])
    };
    let (ok, _, err) = tokio::task::spawn_blocking(poll.clone()).await.unwrap();
    assert!(ok, "{err}");
    let found = clusters::stored_clusters(&env.store());
    // the digest's teasers stay alone: 20 of them, plus 20 stories of three, plus 20 own
    assert_eq!(clusters::clusters(&found).len(), 60);
    let story = found["https://herald.example/news/rates.html"];
    assert_ne!(found["https://digest.example/news/rates.html"], story);

    // why: by a copy's link, as text and JSON
    let c = config.clone();
    let (ok, text, err) = tokio::task::spawn_blocking(move || {
        run(&c, &["story", "https://courier.example/news/rates.html"])
    })
    .await
    .unwrap();
    assert!(ok, "{err}");
    assert!(text.contains(&format!("story {story}:")), "{text}");
    assert!(
        text.contains("from courier") && text.contains("from herald"),
        "{text}"
    );
    assert!(text.contains("near-duplicate of copy"), "{text}");
    let c = config.clone();
    let (ok, json, _) =
        tokio::task::spawn_blocking(move || run(&c, &["story", &story.to_string(), "--json"]))
            .await
            .unwrap();
    assert!(ok);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["copies"].as_array().unwrap().len(), 3, "{v}");
    let c = config.clone();
    let (ok, _, err) = tokio::task::spawn_blocking(move || run(&c, &["story", "99999"]))
        .await
        .unwrap();
    assert!(!ok && err.contains("no story 99999"), "{err}");

    // the same over HTTP
    let d = Daemon::start(&config);
    let body: serde_json::Value = reqwest::get(d.url(&format!("/stories/{story}")))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["copies"], v["copies"]);
    let missing = reqwest::get(d.url("/stories/99999")).await.unwrap();
    assert_eq!(missing.status(), 404);
    drop(d);

    // split the regional copy out; it stays out after another poll
    let c = config.clone();
    let (ok, out, err) =
        tokio::task::spawn_blocking(move || run(&c, &["split", &story.to_string(), "courier"]))
            .await
            .unwrap();
    assert!(ok && out.contains("split 1 copy of courier"), "{out}{err}");
    let (ok, _, err) = tokio::task::spawn_blocking(poll).await.unwrap();
    assert!(ok, "{err}");
    let after = clusters::stored_clusters(&env.store());
    assert_ne!(after["https://courier.example/news/rates.html"], story);
    assert_eq!(
        after["https://wire.example/news/rates.html?utm_source=feed&utm_medium=rss"],
        story
    );
    let c = config.clone();
    let (ok, _, err) =
        tokio::task::spawn_blocking(move || run(&c, &["split", &story.to_string(), "courier"]))
            .await
            .unwrap();
    assert!(!ok && err.contains("no copy from feed courier"), "{err}");
}
