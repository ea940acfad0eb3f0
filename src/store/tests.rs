use super::*;
use crate::article::{Article, FeedMeta};
use crate::dedup;
use crate::dedup::Prepared;
use crate::fetch::Validators;
use crate::health::LastOutcome;
use chrono::{DateTime, Utc};
use rusqlite::Connection;
use std::sync::{Arc, Mutex};

fn article(guid: Option<&str>, link: &str, title: &str, content: &str) -> Article {
    let url = url::Url::parse(link).unwrap();
    let canonical = dedup::canonical_url(&url);
    Article {
        key: dedup::identity(guid, canonical.as_deref(), title, content),
        guid: guid.map(str::to_string),
        title: title.into(),
        link: Some(link.into()),
        canonical_url: canonical,
        authors: vec![],
        published: DateTime::from_timestamp(1_700_000_000, 0),
        updated: None,
        summary: None,
        content: Some(content.into()),
        categories: vec![],
        image: None,
        image_credit: None,
        language: None,
    }
}

fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db/newswire.db")).unwrap();
    // these tests date their entries years apart: no retention unless a test asks for it
    store.configure(StoreSettings {
        max_age: None,
        ..Default::default()
    });
    store
        .sync_feeds(&FeedList::lone(&specs(&["a", "b"])))
        .unwrap();
    (dir, store)
}

/// Feeds named `names`, at http://NAME/.
fn specs(names: &[&str]) -> Vec<FeedSpec> {
    names
        .iter()
        .map(|n| FeedSpec {
            name: n.to_string(),
            url: format!("http://{n}/"),
        })
        .collect()
}

fn apply(store: &Store, feed: &str, articles: &[Article]) -> ApplyStats {
    let u = FeedUpdate {
        at: DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
        status: 200,
        ..Default::default()
    };
    store
        .apply_poll(feed, &u, &FeedMeta::default(), articles)
        .unwrap()
}

fn all(store: &Store) -> Vec<Story> {
    store
        .stories(&StoryQuery {
            feeds: None,
            limit: 100,
            ..Default::default()
        })
        .unwrap()
}

#[test]
fn migrations_apply_once_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("n.db");
    drop(Store::open(&path).unwrap());
    let s = Store::open(&path).unwrap();
    assert_eq!(s.counts().unwrap(), (0, 0));
    // the search index merges eight segments a level, not FTS5's four (migration 11)
    let automerge: i64 = Connection::open(&path)
        .unwrap()
        .query_row(
            "SELECT v FROM stories_fts_config WHERE k = 'automerge'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(automerge, 8);
}

#[test]
fn a_new_file_has_8_kib_pages_and_an_older_one_keeps_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let page_size = |path: &std::path::Path| -> i64 {
        Connection::open(path)
            .unwrap()
            .query_row("PRAGMA page_size", [], |r| r.get(0))
            .unwrap()
    };
    let new = dir.path().join("new.db");
    drop(Store::open(&new).unwrap());
    assert_eq!(page_size(&new), 8192);
    // a file made with SQLite's default pages (as every store before) opens and is kept so
    let old = dir.path().join("old.db");
    Connection::open(&old)
        .unwrap()
        .execute_batch("PRAGMA page_size = 4096; CREATE TABLE t (x); DROP TABLE t;")
        .unwrap();
    let s = Store::open(&old).unwrap();
    s.sync_feeds(&FeedList::lone(&specs(&["a"]))).unwrap();
    apply(
        &s,
        "a",
        &[article(Some("g"), "https://e.com/1", "T", "body")],
    );
    assert_eq!(all(&s).len(), 1);
    drop(s);
    assert_eq!(page_size(&old), 4096);
}

#[test]
fn same_entry_twice_is_stored_once_and_changes_update_in_place() {
    let (_d, s) = open();
    let a = article(Some("g1"), "https://e.com/1", "Title", "body");
    assert_eq!(apply(&s, "a", std::slice::from_ref(&a)).new, 1);
    assert_eq!(apply(&s, "a", std::slice::from_ref(&a)).unchanged, 1);
    let mut edited = a.clone();
    edited.title = "Title (updated)".into();
    assert_eq!(apply(&s, "a", &[edited]).updated, 1);
    let stories = all(&s);
    assert_eq!(stories.len(), 1);
    assert_eq!(stories[0].fields.title, "Title (updated)");
    assert_eq!(s.counts().unwrap(), (1, 1));
}

#[test]
fn guid_churn_with_same_link_does_not_duplicate() {
    let (_d, s) = open();
    apply(
        &s,
        "a",
        &[article(Some("old-cms-1"), "https://e.com/1", "T", "b")],
    );
    let st = apply(
        &s,
        "a",
        &[article(Some("new-cms-1"), "https://e.com/1", "T", "b")],
    );
    assert_eq!(st.new + st.merged, 0, "{st:?}");
    assert_eq!(s.counts().unwrap(), (1, 1));
}

#[test]
fn new_guids_on_a_shared_link_are_new_entries_not_churn() {
    // a live blog: every update links to the same page
    let (_d, s) = open();
    apply(
        &s,
        "a",
        &[
            article(Some("g1"), "https://e.com/live", "First update", "1"),
            article(Some("g2"), "https://e.com/live", "Second update", "2"),
        ],
    );
    let st = apply(
        &s,
        "a",
        &[
            article(Some("g3"), "https://e.com/live", "Third update", "3"),
            article(Some("g2"), "https://e.com/live", "Second update", "2"),
        ],
    );
    assert_eq!(st.new, 1, "{st:?}");
    assert_eq!(
        sorted_titles(&s),
        ["First update", "Second update", "Third update"]
    );
    // and a single item whose guid churns while two stored entries share its link is new too
    let st = apply(
        &s,
        "a",
        &[article(Some("g4"), "https://e.com/live", "Fourth", "4")],
    );
    assert_eq!(st.new, 1, "{st:?}");
}

#[test]
fn same_canonical_url_across_feeds_is_one_story_with_both_sources() {
    let (_d, s) = open();
    apply(
        &s,
        "a",
        &[article(
            Some("a1"),
            "https://e.com/1?utm_source=a",
            "T",
            "short",
        )],
    );
    let st = apply(
        &s,
        "b",
        &[article(
            Some("b1"),
            "https://e.com/1#x",
            "T",
            "the much fuller body",
        )],
    );
    assert_eq!(st.merged, 1);
    let stories = all(&s);
    assert_eq!(stories.len(), 1);
    assert_eq!(stories[0].sources.len(), 2);
    assert_eq!(
        stories[0].fields.content.as_deref(),
        Some("the much fuller body")
    );
    // removing one feed keeps the story with the other source
    s.sync_feeds(&FeedList::lone(&[FeedSpec {
        name: "b".into(),
        url: "http://b/".into(),
    }]))
    .unwrap();
    let stories = all(&s);
    assert_eq!(stories.len(), 1);
    assert_eq!(stories[0].sources.len(), 1);
    s.sync_feeds(&FeedList::lone(&[])).unwrap();
    assert_eq!(s.counts().unwrap(), (0, 0));
}

#[test]
fn items_sharing_one_link_within_a_feed_stay_apart() {
    let (_d, s) = open();
    let st = apply(
        &s,
        "a",
        &[
            article(Some("1"), "https://e.com/", "One", "x"),
            article(Some("2"), "https://e.com/", "Two", "y"),
        ],
    );
    assert_eq!(st.new, 2);
    assert_eq!(all(&s).len(), 2);
}

#[test]
fn failures_and_not_modified_update_state_only() {
    let (_d, s) = open();
    let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    s.record_failure("a", at, Some(500), "HTTP 500", None)
        .unwrap();
    s.record_failure("a", at, None, "timeout", None).unwrap();
    let st = s.feed_state("a").unwrap().unwrap();
    assert_eq!(st.consecutive_failures, 2);
    assert_eq!(st.last_error.as_deref(), Some("timeout"));
    let v = Validators {
        etag: Some("\"e\"".into()),
        last_modified: None,
    };
    let u = FeedUpdate {
        at,
        status: 304,
        validators: v.clone(),
        ..Default::default()
    };
    s.record_unchanged("a", &u).unwrap();
    let st = s.feed_state("a").unwrap().unwrap();
    assert_eq!(st.consecutive_failures, 0);
    assert_eq!(st.validators, v);
    assert_eq!(st.last_outcome, Some(LastOutcome::NotModified));
}

#[test]
fn host_pauses_gone_and_url_changes() {
    let (_d, s) = open();
    let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    let until = at + chrono::Duration::hours(1);
    s.record_paused(
        "a",
        at,
        429,
        "news.example.com",
        until,
        "HTTP 429: retry after 3600 s",
    )
    .unwrap();
    assert_eq!(
        s.host_pause("news.example.com", at).unwrap().unwrap().0,
        until
    );
    assert!(
        s.host_pause("news.example.com", until).unwrap().is_none(),
        "the pause ends"
    );
    assert!(s.host_pause("other.example.com", at).unwrap().is_none());
    let st = s.feed_state("a").unwrap().unwrap();
    assert_eq!(st.last_outcome, Some(LastOutcome::Paused));
    assert_eq!(st.next_attempt, Some(until));

    s.record_gone("b", at, "HTTP 410 Gone").unwrap();
    assert!(s.feed_state("b").unwrap().unwrap().gone);
    // forced, it answered after all: no longer gone
    apply(&s, "b", &[]);
    assert!(!s.feed_state("b").unwrap().unwrap().gone);
    s.record_gone("b", at, "HTTP 410 Gone").unwrap();
    // a new URL in the config is a fresh start
    s.sync_feeds(&FeedList::lone(&[
        FeedSpec {
            name: "a".into(),
            url: "http://a/".into(),
        },
        FeedSpec {
            name: "b".into(),
            url: "http://b/new".into(),
        },
    ]))
    .unwrap();
    let b = s.feed_state("b").unwrap().unwrap();
    assert!(!b.gone);
    assert_eq!(b.url, "http://b/new");
}

/// A store with `feeds`, whose writer fails any entry titled "poison".
fn poisoned(feeds: &[&str]) -> (tempfile::TempDir, Store) {
    let (dir, store) = open();
    store.sync_feeds(&FeedList::lone(&specs(feeds))).unwrap();
    lock(&store.writer)
        .execute_batch(
            "CREATE TEMP TRIGGER poison BEFORE INSERT ON entries WHEN NEW.title = 'poison'
             BEGIN SELECT RAISE(ABORT, 'poisoned'); END;",
        )
        .unwrap();
    (dir, store)
}

/// The headlines of every stored story, sorted.
fn sorted_titles(store: &Store) -> Vec<String> {
    let mut titles: Vec<String> = all(store).into_iter().map(|s| s.fields.title).collect();
    titles.sort();
    titles
}

/// A poll of `feed` listing one new article under each title.
fn titled_poll(feed: &str, titles: &[&str]) -> PendingPoll {
    let articles = titles
        .iter()
        .map(|t| {
            article(
                Some(t),
                &format!("http://{feed}/{t}"),
                t,
                &format!("{t} body"),
            )
        })
        .map(Prepared::new)
        .collect();
    PendingPoll::of(feed, articles)
}

#[test]
fn a_failing_poll_in_a_group_commit_loses_only_itself() {
    // a write that fails halfway through feed b's poll, after its feed row was updated
    let (_dir, store) = poisoned(&["a", "b", "c"]);
    let batch = [
        titled_poll("a", &["one", "two"]),
        titled_poll("b", &["three", "poison"]),
        titled_poll("c", &["four"]),
    ];
    let results = store.write_batch(&mut lock(&store.writer), &batch);
    assert_eq!(results[0].as_ref().unwrap().new, 2);
    let err = results[1].as_ref().unwrap_err().to_string();
    assert!(err.contains("poisoned"), "{err}");
    assert_eq!(results[2].as_ref().unwrap().new, 1);
    let titles = sorted_titles(&store);
    assert_eq!(titles, ["four", "one", "two"]);
    // b's poll left nothing, not even its feed state: it is fetched again next time
    let b = store.feed_state("b").unwrap().unwrap();
    assert!(b.last_poll.is_none(), "{b:?}");
    assert!(store.feed_state("a").unwrap().unwrap().last_poll.is_some());
}

#[test]
fn polls_queued_while_a_transaction_is_written_join_it_and_commit_with_it() {
    let (dir, store) = open();
    store
        .sync_feeds(&FeedList::lone(&specs(&["a", "b", "c"])))
        .unwrap();
    let other = Connection::open(dir.path().join("db/newswire.db")).unwrap();
    let entries = || -> i64 {
        other
            .query_row("SELECT count(*) FROM entries", [], |r| r.get(0))
            .unwrap()
    };
    let mut queue = vec![titled_poll("c", &["four"]), titled_poll("b", &["three"])];
    let mut seen = Vec::new();
    let batch = [titled_poll("a", &["one", "two"])];
    let (joined, results) = store.write_polls(&mut lock(&store.writer), &batch, &mut || {
        // what another connection sees when the next poll is handed over: nothing yet
        seen.push(entries());
        queue.pop().into_iter().collect()
    });
    assert_eq!(seen, [0, 0, 0], "the polls before were not committed yet");
    let feeds: Vec<&str> = joined.iter().map(|p| p.feed.as_str()).collect();
    assert_eq!(feeds, ["b", "c"]);
    let new: Vec<usize> = results.iter().map(|r| r.as_ref().unwrap().new).collect();
    assert_eq!(
        new,
        [2, 1, 1],
        "results in order: the batch, then the joined polls"
    );
    assert_eq!(entries(), 4, "all of them committed together");
}

#[test]
fn a_failing_poll_that_joined_a_transaction_loses_only_itself() {
    let (_dir, store) = poisoned(&["a", "b"]);
    let mut queue = vec![titled_poll("b", &["three", "poison"])];
    let batch = [titled_poll("a", &["one", "two"])];
    let (joined, results) = store.write_polls(&mut lock(&store.writer), &batch, &mut || {
        queue.pop().into_iter().collect()
    });
    assert_eq!(joined.len(), 1);
    assert_eq!(results[0].as_ref().unwrap().new, 2);
    let err = results[1].as_ref().unwrap_err().to_string();
    assert!(err.contains("poisoned"), "{err}");
    let titles = sorted_titles(&store);
    assert_eq!(titles, ["one", "two"]);
    assert!(store.feed_state("b").unwrap().unwrap().last_poll.is_none());
}

#[test]
fn a_transaction_takes_in_queued_polls_up_to_its_budget() {
    let big = "x".repeat(super::batch::TRANSACTION_TEXT_BYTES / 4);
    let poll = PendingPoll::of(
        "a",
        vec![Prepared::new(article(Some("g"), "http://a/g", "t", &big))],
    );
    let mut budget = super::batch::TransactionBudget::default();
    budget.spend(std::slice::from_ref(&poll));
    assert!(!budget.spent());
    // its body, and its text again: half the budget a poll
    budget.spend(std::slice::from_ref(&poll));
    assert!(budget.spent());
    // small polls: as many as it counts
    let small = || PendingPoll::of("a", Vec::new());
    let mut budget = super::batch::TransactionBudget::default();
    for _ in 1..super::batch::TRANSACTION_POLLS {
        budget.spend(&[small()]);
        assert!(!budget.spent());
    }
    budget.spend(&[small()]);
    assert!(budget.spent());
}

#[test]
fn errors_that_mean_the_database_cannot_take_writes_now_say_so() {
    let failure = |code| rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None);
    let busy = StoreError::from(failure(rusqlite::ffi::SQLITE_BUSY));
    assert!(matches!(busy, StoreError::Busy(_)) && busy.is_unavailable());
    assert!(busy.to_string().contains("locked"), "{busy}");
    let full = StoreError::from(failure(rusqlite::ffi::SQLITE_FULL));
    assert!(matches!(full, StoreError::Full(_)) && full.is_unavailable());
    assert!(full.to_string().contains("disk is full"), "{full}");
    for code in [
        rusqlite::ffi::SQLITE_READONLY,
        rusqlite::ffi::SQLITE_IOERR_WRITE,
    ] {
        let e = StoreError::from(failure(code));
        assert!(matches!(e, StoreError::Unwritable { .. }) && e.is_unavailable());
        assert!(
            e.to_string().starts_with("cannot write to the database"),
            "{e}"
        );
    }
    // a broken query is newswire's own problem, not the database's state
    let other = StoreError::from(failure(rusqlite::ffi::SQLITE_CONSTRAINT));
    assert!(matches!(other, StoreError::Sqlite(_)) && !other.is_unavailable());
}

#[test]
fn an_unchanged_feed_list_is_synced_without_a_write_lock() {
    let (dir, store) = open();
    let specs = [
        FeedSpec {
            name: "a".into(),
            url: "http://a/".into(),
        },
        FeedSpec {
            name: "b".into(),
            url: "http://b/".into(),
        },
    ];
    // another connection (a backup, a sqlite3 shell) holds the write lock
    let other = Connection::open(dir.path().join("db/newswire.db")).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    assert_eq!(
        store.sync_feeds(&FeedList::lone(&specs)).unwrap().removed,
        Vec::<String>::new()
    );
    // a change needs the lock
    let more = [
        specs[0].clone(),
        FeedSpec {
            name: "c".into(),
            url: "http://c/".into(),
        },
    ];
    let e = store.sync_feeds(&FeedList::lone(&more)).unwrap_err();
    assert!(matches!(e, StoreError::Busy(_)), "{e}");
    other.execute_batch("ROLLBACK").unwrap();
    assert_eq!(
        store.sync_feeds(&FeedList::lone(&more)).unwrap().removed,
        vec!["b".to_string()]
    );
}

#[test]
fn a_batch_refused_by_a_locked_database_fails_every_poll_at_once() {
    let (dir, store) = open();
    lock(&store.writer)
        .busy_timeout(std::time::Duration::from_millis(400))
        .unwrap();
    let other = Connection::open(dir.path().join("db/newswire.db")).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let poll = |feed: &str| {
        PendingPoll::of(
            feed,
            vec![Prepared::new(article(
                Some("x"),
                "http://a/x",
                "x",
                "x body",
            ))],
        )
    };
    let started = std::time::Instant::now();
    let results = store.write_batch(&mut lock(&store.writer), &[poll("a"), poll("b")]);
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Err(e @ StoreError::Busy(_)) if e.is_unavailable())),
        "{results:?}"
    );
    // one wait for the lock (400 ms), not three (the batch, then each poll alone)
    assert!(started.elapsed() < std::time::Duration::from_millis(1000));
    other.execute_batch("ROLLBACK").unwrap();
    let results = store.write_batch(&mut lock(&store.writer), &[poll("a"), poll("b")]);
    assert!(results.iter().all(Result::is_ok), "{results:?}");
}

/// Stores `first`, then, after `meanwhile` had the file to itself, stores `copy` in a new
/// process (the near-duplicate index loaded from what is stored); both dated now, within
/// the window the index is loaded for. What storing `copy` did, and the stories then.
fn across_a_restart(
    mut first: Article,
    meanwhile: impl FnOnce(&Connection),
    mut copy: Article,
) -> (ApplyStats, Vec<Story>) {
    let (dir, store) = open();
    first.published = Some(Utc::now());
    assert_eq!(apply(&store, "a", &[first]).new, 1);
    drop(store);
    let path = dir.path().join("db/newswire.db");
    meanwhile(&Connection::open(&path).unwrap());
    let store = Store::open(&path).unwrap();
    store.configure(StoreSettings {
        max_age: None,
        ..Default::default()
    });
    copy.published = Some(Utc::now());
    let stats = apply(&store, "b", &[copy]);
    (stats, all(&store))
}

#[test]
fn near_duplicates_are_found_across_a_restart() {
    const BODY: &str = "Delegations from both countries met in Geneva on Tuesday for a third round of \
        talks on a ceasefire along the disputed border, officials said. The negotiators agreed to \
        exchange prisoners and to reopen two crossings for humanitarian convoys within a week, \
        according to a joint statement released after eight hours of discussions. Observers said \
        the agreement was fragile and depended on both militaries pulling back heavy artillery.";
    let (stats, stories) = across_a_restart(
        article(
            Some("a-1"),
            "http://a/geneva",
            "Ceasefire talks resume in Geneva",
            BODY,
        ),
        |_| {},
        article(
            Some("b-1"),
            "http://b/world/geneva-talks",
            "Geneva talks on ceasefire resume",
            &format!("GENEVA (Reuters) - {BODY} A further round is planned for next month."),
        ),
    );
    assert_eq!((stats.new, stats.merged), (0, 1), "{stats:?}");
    assert_eq!(stories.len(), 1);
}

/// How SQLite answers `sql`: one line a step.
fn query_plan(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> Vec<String> {
    conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
        .unwrap()
        .query_map(params, |r| r.get(3))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn what_each_poll_reads_of_its_feed_is_found_by_the_feeds_key() {
    let (_dir, store) = open();
    let conn = lock(&store.reader);
    // a scan of every feed (or of every mark) a poll would make a first poll quadratic
    for (sql, params, key) in [
        (feeds::FEED_STATE_OF, &["f"][..], "sqlite_autoindex_feeds_1"),
        (
            rules::ANY_MARK_OF_FEED,
            &["hide", "f"][..],
            "PRIMARY KEY (feed=?)",
        ),
    ] {
        let plan = query_plan(&conn, sql, rusqlite::params_from_iter(params));
        assert!(
            plan.iter()
                .any(|p| p.starts_with("SEARCH") && p.contains(key)),
            "{sql}: {plan:?}"
        );
    }
}

#[test]
fn a_copy_re_dated_since_it_was_first_seen_is_in_the_index_after_a_restart() {
    const BODY: &str = "The city council approved a plan on Monday to turn the old rail yard \
        into a park with a library, two schools and housing for about three thousand people, \
        after a vote that followed six years of hearings, lawsuits and revised drawings. The \
        mayor said work would begin next spring and take at least a decade to complete.";
    let (stats, stories) = across_a_restart(
        article(
            Some("a-1"),
            "http://a/park",
            "Council approves rail yard park",
            BODY,
        ),
        |conn| {
            // first seen three months ago, its date moved to today since: in the window
            conn.execute(
                "UPDATE entries SET first_seen = first_seen - 90 * 86400",
                [],
            )
            .unwrap();
            // the load is answered by the index that grows at its end, not by a scan
            let plan = query_plan(conn, apply::NEAR_INDEX_LOAD, [0]);
            assert!(
                plan.iter().any(|p| p.contains("entries_by_recent")),
                "{plan:?}"
            );
        },
        article(
            Some("b-1"),
            "http://b/local/rail-yard-park",
            "Rail yard park approved by council",
            &format!("{BODY} Residents will be able to comment on the designs until March."),
        ),
    );
    assert_eq!((stats.new, stats.merged), (0, 1), "{stats:?}");
    assert_eq!(stories.len(), 1);
}

#[test]
fn bodies_are_stored_packed_and_the_fullest_copy_is_chosen_by_its_text() {
    let (dir, s) = open();
    // the fuller copy repeats itself, so it packs smaller than the shorter one
    let fuller = "<p>The council voted on the budget.</p>".repeat(40);
    let shorter: String = (0..60)
        .map(|i| format!("<p>Item {i}: {}</p>", i * 7919 % 1009))
        .collect();
    assert!(fuller.len() > shorter.len());
    apply(
        &s,
        "a",
        &[article(
            Some("a1"),
            "https://e.com/1?utm_source=a",
            "T",
            &shorter,
        )],
    );
    apply(
        &s,
        "b",
        &[article(Some("b1"), "https://e.com/1", "T", &fuller)],
    );
    let stories = all(&s);
    assert_eq!(stories.len(), 1);
    assert_eq!(stories[0].fields.content.as_deref(), Some(fuller.as_str()));
    drop(s);
    let db = Connection::open(dir.path().join("db/newswire.db")).unwrap();
    let stored: Vec<(String, i64, i64)> = db
        .prepare(
            "SELECT typeof(content), octet_length(content), content_len FROM entries ORDER BY id",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(stored[0].0, "blob");
    assert_eq!(stored[1].0, "blob");
    assert!(stored[1].1 < stored[0].1, "{stored:?}");
    assert_eq!(stored[0].2, shorter.len() as i64);
    assert_eq!(stored[1].2, fuller.len() as i64);
    // a row written before bodies were packed (text, no content_len) reads as it did, and
    // its length still counts: made the fuller copy, its story takes it
    let older = format!("{fuller}<p>And one more paragraph.</p>");
    db.execute(
        "UPDATE entries SET content = ?1, content_len = NULL WHERE feed = 'a'",
        [&older],
    )
    .unwrap();
    drop(db);
    let s = Store::open(&dir.path().join("db/newswire.db")).unwrap();
    s.configure(StoreSettings {
        max_age: None,
        ..Default::default()
    });
    let a = s.rule_entries(None, Some("a")).unwrap();
    assert_eq!(a[0].article.content.as_deref(), Some(older.as_str()));
    // the story is derived again when a copy joins it
    apply(
        &s,
        "b",
        &[article(Some("b2"), "https://e.com/1", "T", "<p>x</p>")],
    );
    let stories = all(&s);
    assert_eq!(stories.len(), 1);
    assert_eq!(stories[0].fields.content.as_deref(), Some(older.as_str()));
}

/// A poll's slot that records, when it is dropped, how many entries another connection
/// sees in the database then.
struct SeenAtDrop(std::path::PathBuf, Arc<Mutex<Option<i64>>>);

impl Drop for SeenAtDrop {
    fn drop(&mut self) {
        let other = Connection::open(&self.0).unwrap();
        let n = other
            .query_row("SELECT count(*) FROM entries", [], |r| r.get(0))
            .unwrap();
        *lock(&self.1) = Some(n);
    }
}

#[test]
fn a_polls_slot_is_given_back_when_the_writer_takes_the_poll_not_once_it_is_written() {
    let (dir, store) = open();
    let seen = Arc::new(Mutex::new(None));
    let handover = Handover {
        slot: Some(Box::new(SeenAtDrop(
            dir.path().join("db/newswire.db"),
            Arc::clone(&seen),
        ))),
        pack_ahead: true,
    };
    let update = FeedUpdate {
        at: DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
        status: 200,
        ..Default::default()
    };
    let articles = vec![Prepared::new(article(
        Some("x"),
        "http://a/x",
        "x",
        "x body",
    ))];
    let stats = store
        .apply_prepared("a", &update, &FeedMeta::default(), articles, handover)
        .unwrap();
    assert_eq!(stats.new, 1);
    // given back before the poll's transaction committed, so the next document could be
    // parsed while it was written
    assert_eq!(*lock(&seen), Some(0));
    assert_eq!(all(&store).len(), 1);
}

#[test]
fn a_feeds_first_poll_read_otherwise_updates_its_entries_without_marking_them_updated() {
    let (dir, store) = open();
    let poll = |at: i64, body: &str| {
        let u = FeedUpdate {
            at: DateTime::from_timestamp(at, 0).unwrap(),
            status: 200,
            ..Default::default()
        };
        let a = article(Some("g1"), "http://a/1", "One", body);
        store
            .apply_poll("a", &u, &FeedMeta::default(), &[a])
            .unwrap()
    };
    let db = Connection::open(dir.path().join("db/newswire.db")).unwrap();
    let reading = || -> i64 {
        db.query_row("SELECT reading FROM feeds WHERE name = 'a'", [], |r| {
            r.get(0)
        })
        .unwrap()
    };
    let story = || all(&store).remove(0).fields;
    assert_eq!(reading(), 0, "never polled");
    assert_eq!(poll(1_800_000_000, "first words").new, 1);
    assert_eq!(reading(), crate::plan::READING);
    let first = story().updated;
    // as a database from before a change to how documents are read: the next poll's
    // changes are newswire's (the feed gives no update time), stored without a new one
    db.execute("UPDATE feeds SET reading = 0", []).unwrap();
    assert_eq!(poll(1_800_086_400, "first words, read anew").updated, 1);
    let fields = story();
    assert_eq!(fields.updated, first);
    assert!(
        fields
            .content
            .as_deref()
            .unwrap_or_default()
            .contains("read anew"),
        "{fields:?}"
    );
    assert_eq!(reading(), crate::plan::READING);
    // and from then on a change is the feed's, seen when polled
    assert_eq!(poll(1_800_172_800, "first words, edited").updated, 1);
    assert_eq!(
        story().updated,
        DateTime::from_timestamp(1_800_172_800, 0).unwrap()
    );
}
