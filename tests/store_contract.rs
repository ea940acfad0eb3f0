//! The store's contract: what newswire relies on from any store, written against the
//! `Storage` trait alone, so that each implementation runs the same suite. SQLite runs it
//! here on a real file; another store adds one `#[test]` that calls [`contract`] with its
//! own opener.

use std::path::Path;

use chrono::{DateTime, Duration, TimeZone, Utc};
use newswire::article::{Article, FeedMeta};
use newswire::dedup;
use newswire::health::LastOutcome;
use newswire::store::{FeedSpec, FeedUpdate, Split, Storage, Store, StoryQuery};

fn at(h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 10, h, 0, 0).unwrap()
}

fn article(guid: &str, link: &str, title: &str, body: &str, published: DateTime<Utc>) -> Article {
    let url = url::Url::parse(link).unwrap();
    let canonical = dedup::canonical_url(&url);
    Article {
        key: dedup::identity(Some(guid), canonical.as_deref(), title, body),
        guid: Some(guid.into()),
        title: title.into(),
        link: Some(link.into()),
        canonical_url: canonical,
        authors: vec![],
        published: Some(published),
        updated: None,
        summary: None,
        content: Some(format!("<p>{body}</p>")),
        categories: vec![],
        image: None,
        image_credit: None,
        language: None,
    }
}

fn ok(at: DateTime<Utc>) -> FeedUpdate {
    FeedUpdate {
        at,
        status: 200,
        ..Default::default()
    }
}

fn spec(name: &str) -> FeedSpec {
    FeedSpec {
        name: name.into(),
        url: format!("https://{name}.example/feed.xml"),
    }
}

fn all(s: &dyn Storage) -> Vec<newswire::store::Story> {
    s.stories(&StoryQuery {
        limit: 100,
        ..Default::default()
    })
    .unwrap()
}

/// The whole contract, run on the store `open` makes in `dir`.
pub fn contract<S: Storage>(dir: &Path, open: impl Fn(&Path) -> S) {
    let store = open(dir);
    let s: &dyn Storage = &store;
    feeds_and_their_state(s);
    polls_become_stories(s);
    queries_and_generations(s);
    a_wrong_merge_can_be_split(s);
    removed_feeds_take_their_entries(s);
    // what was stored is there for the next process too
    drop(store);
    let again = open(dir);
    assert_eq!(again.counts().unwrap().1, all(&again).len() as u64);
    assert!(again.feed_state("a").unwrap().is_some());
}

fn feeds_and_their_state(s: &dyn Storage) {
    assert!(
        s.sync_feeds(&[spec("a"), spec("b"), spec("c")])
            .unwrap()
            .is_empty()
    );
    let a = s
        .feed_state("a")
        .unwrap()
        .expect("a feed in the config is stored");
    assert_eq!(a.last_outcome, None, "not polled yet");
    assert_eq!(s.feed_states().unwrap().len(), 3);
    assert_eq!(s.feed_state("nope").unwrap(), None);

    s.record_failure(
        "c",
        at(1),
        Some(500),
        "500 Internal Server Error",
        Some(at(2)),
    )
    .unwrap();
    s.record_failure("c", at(2), None, "timed out", None)
        .unwrap();
    let c = s.feed_state("c").unwrap().unwrap();
    assert_eq!(c.last_outcome, Some(LastOutcome::Error));
    assert_eq!(c.consecutive_failures, 2);
    assert_eq!(c.last_error.as_deref(), Some("timed out"));
    assert_eq!(c.last_success, None);
    s.record_unchanged(
        "c",
        &FeedUpdate {
            status: 304,
            ..ok(at(3))
        },
    )
    .unwrap();
    let c = s.feed_state("c").unwrap().unwrap();
    assert_eq!(c.last_outcome, Some(LastOutcome::NotModified));
    assert_eq!(
        c.consecutive_failures, 0,
        "a success ends the run of failures"
    );
    assert_eq!(c.last_success, Some(at(3)));

    s.record_paused("c", at(4), 429, "c.example", at(6), "Retry-After: 7200")
        .unwrap();
    assert_eq!(
        s.feed_state("c").unwrap().unwrap().last_outcome,
        Some(LastOutcome::Paused)
    );
    assert_eq!(
        s.host_pause("c.example", at(5)).unwrap().map(|p| p.0),
        Some(at(6))
    );
    assert_eq!(s.host_pause("c.example", at(7)).unwrap(), None, "over");
    assert!(s.host_pauses(at(5)).unwrap().contains_key("c.example"));

    s.record_gone("c", at(8), "410 Gone").unwrap();
    let c = s.feed_state("c").unwrap().unwrap();
    assert!(c.gone);
    assert_eq!(c.last_outcome, Some(LastOutcome::Gone));
}

fn polls_become_stories(s: &dyn Storage) {
    let wire = "The central bank left its benchmark rate unchanged on Wednesday";
    let one = article(
        "a-1",
        "https://a.example/rates?utm_source=rss",
        "Rates held",
        wire,
        at(9),
    );
    let two = article(
        "a-2",
        "https://a.example/harbour",
        "Harbour reopens",
        "The harbour reopened",
        at(8),
    );
    let stats = s
        .apply_poll(
            "a",
            &ok(at(10)),
            &FeedMeta::default(),
            &[one.clone(), two.clone()],
        )
        .unwrap();
    assert_eq!((stats.new, stats.merged), (2, 0));
    let a = s.feed_state("a").unwrap().unwrap();
    assert_eq!(a.last_outcome, Some(LastOutcome::Ok));
    assert_eq!(a.article_count, 2);

    // the same document again: nothing new
    let stats = s
        .apply_poll(
            "a",
            &ok(at(11)),
            &FeedMeta::default(),
            &[one.clone(), two.clone()],
        )
        .unwrap();
    assert_eq!((stats.new, stats.updated, stats.unchanged), (0, 0, 2));

    // another feed's copy at the same address (without tracking parameters): one story
    let copy = article("b-9", "https://a.example/rates", "Rates held", wire, at(9));
    let stats = s
        .apply_poll("b", &ok(at(11)), &FeedMeta::default(), &[copy])
        .unwrap();
    assert_eq!((stats.new, stats.merged), (0, 1));
    let stories = all(s);
    assert_eq!(stories.len(), 2);
    let rates = stories
        .iter()
        .find(|x| x.fields.title == "Rates held")
        .unwrap();
    let mut feeds: Vec<&str> = rates.sources.iter().map(|x| x.feed.as_str()).collect();
    feeds.sort();
    assert_eq!(feeds, ["a", "b"]);

    // an edit is an update in place, not a new story
    let mut edited = two.clone();
    edited.content = Some("<p>The harbour reopened on Tuesday.</p>".into());
    let stats = s
        .apply_poll("a", &ok(at(12)), &FeedMeta::default(), &[one, edited])
        .unwrap();
    assert_eq!((stats.new, stats.updated), (0, 1));
    let harbour = all(s)
        .into_iter()
        .find(|x| x.fields.title == "Harbour reopens")
        .unwrap();
    assert!(
        harbour
            .fields
            .content
            .as_deref()
            .is_some_and(|c| c.contains("on Tuesday"))
    );
}

fn queries_and_generations(s: &dyn Storage) {
    let before = s.generation().unwrap();
    let stats = s
        .apply_poll(
            "b",
            &ok(at(13)),
            &FeedMeta::default(),
            &[article(
                "b-10",
                "https://b.example/storm",
                "Storm warning",
                "Gales expected tonight",
                at(12),
            )],
        )
        .unwrap();
    assert_eq!(stats.new, 1);
    assert!(
        s.generation().unwrap() > before,
        "a change moves the generation"
    );
    assert!(s.changed_at().unwrap().is_some());
    let unchanged = s.generation().unwrap();
    s.record_unchanged(
        "b",
        &FeedUpdate {
            status: 304,
            ..ok(at(14))
        },
    )
    .unwrap();
    assert_eq!(s.generation().unwrap(), unchanged, "a 304 changes no story");

    // newest first, limited, by feed
    let newest = s
        .stories(&StoryQuery {
            limit: 2,
            ..Default::default()
        })
        .unwrap();
    let titles: Vec<&str> = newest.iter().map(|x| x.fields.title.as_str()).collect();
    assert_eq!(titles, ["Storm warning", "Rates held"]);
    let only_a = s
        .stories(&StoryQuery {
            limit: 100,
            feeds: Some(vec!["a".into()]),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(only_a.len(), 2);
    let (entries, stories) = s.counts().unwrap();
    assert_eq!((stories, entries), (3, 4));
    // at most one story of a feed where fairness asks for it
    let fair = s
        .stories_fair(
            &StoryQuery {
                limit: 100,
                ..Default::default()
            },
            Some(1),
        )
        .unwrap();
    assert!(fair.len() < 3, "{}", fair.len());
}

fn a_wrong_merge_can_be_split(s: &dyn Storage) {
    let rates = all(s)
        .into_iter()
        .find(|x| x.fields.title == "Rates held")
        .unwrap();
    let copies = s.story_copies(rates.id).unwrap().unwrap();
    assert_eq!(copies.copies.len(), 2);
    assert_eq!(s.find_story(&rates.id.to_string()).unwrap(), Some(rates.id));
    let Split::Done { story, .. } = s.split(rates.id, "b").unwrap() else {
        panic!("b's copy is split out");
    };
    assert_ne!(story, rates.id);
    assert_eq!(all(s).len(), 4);
    assert!(matches!(s.split(rates.id, "b").unwrap(), Split::NoSuchCopy));
    // the next poll of the same copy keeps it apart
    let wire = "The central bank left its benchmark rate unchanged on Wednesday";
    s.apply_poll(
        "b",
        &ok(at(15)),
        &FeedMeta::default(),
        &[article(
            "b-9",
            "https://a.example/rates",
            "Rates held",
            wire,
            at(9),
        )],
    )
    .unwrap();
    assert_eq!(all(s).len(), 4);
}

fn removed_feeds_take_their_entries(s: &dyn Storage) {
    let removed = s.sync_feeds(&[spec("a"), spec("c")]).unwrap();
    assert_eq!(removed, ["b"]);
    assert_eq!(s.feed_state("b").unwrap(), None);
    let left = all(s);
    assert!(
        left.iter()
            .all(|x| x.sources.iter().all(|src| src.feed != "b")),
        "no story keeps a removed feed as a source"
    );
    assert_eq!(left.len(), 2, "stories carried only by b leave");
    assert!(s.changed_at().unwrap().unwrap() >= at(15) - Duration::hours(1));
}

#[test]
fn sqlite_keeps_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    contract(dir.path(), |d| Store::open(&d.join("newswire.db")).unwrap());
}

/// The URL of a PostgreSQL server the tests may create databases on (`NEWSWIRE_TEST_PG`, as
/// `scripts/pg-throwaway start` prints it); None, with a note, when there is none, unless
/// `NEWSWIRE_REQUIRE_PG` is set (CI), where its absence fails.
pub fn pg_server() -> Option<String> {
    match std::env::var("NEWSWIRE_TEST_PG") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("NEWSWIRE_REQUIRE_PG").is_some() => {
            panic!("NEWSWIRE_REQUIRE_PG is set but NEWSWIRE_TEST_PG names no server")
        }
        _ => {
            eprintln!("skipped: no PostgreSQL (set NEWSWIRE_TEST_PG; see scripts/pg-throwaway)");
            None
        }
    }
}

#[test]
fn postgres_keeps_the_contract() {
    let Some(server) = pg_server() else { return };
    let url = newswire::store::pg::scratch_database(&server, "nw_contract").unwrap();
    let dir = tempfile::tempdir().unwrap();
    contract(dir.path(), |_| {
        newswire::store::pg::PgStore::open(&url).unwrap()
    });
}
