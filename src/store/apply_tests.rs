//! Text once, write once: the body is stored once, a story row is written once per change,
//! and a version-9 database keeps every story's text through migration 10.

use std::sync::Arc;

use chrono::DateTime;
use rusqlite::Connection;

use super::super::{
    FeedList, FeedSpec, FeedUpdate, MIGRATIONS, PendingPoll, Store, StoreSettings, StoryQuery, lock,
};
use crate::article::{Article, ArticleKey, FeedMeta};
use crate::dedup::Prepared;

fn store_at(path: &std::path::Path, feeds: &[&str]) -> Store {
    let store = Store::open(path).unwrap();
    store.configure(StoreSettings {
        max_age: None,
        ..Default::default()
    });
    let specs: Vec<FeedSpec> = feeds
        .iter()
        .map(|n| FeedSpec {
            name: n.to_string(),
            url: format!("http://{n}/"),
        })
        .collect();
    store.sync_feeds(&FeedList::lone(&specs)).unwrap();
    store
}

/// A copy of the story at `url`, as feed `feed` carries it.
fn copy(feed: &str, url: &str, title: &str, content: &str, published: i64) -> Article {
    Article {
        key: ArticleKey::Guid(format!("{feed}:{url}")),
        guid: Some(format!("{feed}:{url}")),
        title: title.into(),
        link: Some(url.into()),
        canonical_url: Some(url.into()),
        authors: vec![format!("{feed} desk")],
        published: DateTime::from_timestamp(published, 0),
        updated: None,
        summary: None,
        content: Some(content.into()),
        categories: vec![],
        image: None,
        image_credit: None,
        language: None,
    }
}

fn poll(feed: &str, articles: Vec<Article>) -> PendingPoll {
    PendingPoll::of(feed, articles.into_iter().map(Prepared::new).collect())
}

fn occurrences(haystack: &[u8], needle: &str) -> usize {
    haystack
        .windows(needle.len())
        .filter(|w| *w == needle.as_bytes())
        .count()
}

#[test]
fn a_body_carried_by_three_feeds_is_stored_once_per_copy_and_never_for_the_story() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("newswire.db");
    let store = store_at(&path, &["a", "b", "c"]);
    let url = "https://wire.example/story";
    let full = "<p>Quokkaline zephyrbrand marmotique: the fullest body of the story</p>";
    for (feed, body) in [
        ("a", "<p>Teaser</p>"),
        ("b", full),
        ("c", "<p>A middle copy</p>"),
    ] {
        store
            .apply_poll(
                feed,
                &poll(feed, vec![]).update,
                &FeedMeta::default(),
                &[copy(feed, url, "Headline", body, 1_700_000_000)],
            )
            .unwrap();
    }
    let stories = store
        .stories(&StoryQuery {
            limit: 10,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(stories.len(), 1);
    assert_eq!(stories[0].fields.content.as_deref(), Some(full));
    assert_eq!(stories[0].sources.len(), 3);
    let found = store
        .stories(&StoryQuery {
            limit: 10,
            search: vec!["zephyrbrand".into()],
            ..Default::default()
        })
        .unwrap();
    assert_eq!(found.len(), 1, "the story's body is searchable");
    // closing the store checkpoints the WAL into the file: the fullest body is in it once
    drop(store);
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(occurrences(&bytes, "Quokkaline zephyrbrand marmotique"), 1);
}

/// A database with a trigger that counts the writes of story rows.
fn counting_writes(path: &std::path::Path) {
    let conn = Connection::open(path).unwrap();
    conn.execute_batch(
        "CREATE TABLE story_writes (story INTEGER NOT NULL);
         CREATE TRIGGER count_story_writes AFTER UPDATE ON stories
         BEGIN INSERT INTO story_writes VALUES (new.id); END;",
    )
    .unwrap();
}

fn writes(path: &std::path::Path) -> Vec<i64> {
    let conn = Connection::open(path).unwrap();
    let mut stmt = conn
        .prepare("SELECT story FROM story_writes ORDER BY rowid")
        .unwrap();
    let rows = stmt.query_map([], |r| r.get(0)).unwrap();
    let out = rows.collect::<Result<Vec<i64>, _>>().unwrap();
    conn.execute("DELETE FROM story_writes", []).unwrap();
    out
}

#[test]
fn a_story_row_is_written_once_per_batch_however_many_copies_join_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("newswire.db");
    let store = store_at(&path, &["a", "b", "c", "d"]);
    counting_writes(&path);
    let url = "https://wire.example/story";
    let batch = [
        poll(
            "a",
            vec![copy("a", url, "Headline", "<p>a</p>", 1_700_000_300)],
        ),
        poll(
            "b",
            vec![copy("b", url, "Headline", "<p>bb</p>", 1_700_000_200)],
        ),
        poll(
            "c",
            vec![copy("c", url, "Headline", "<p>ccc</p>", 1_700_000_100)],
        ),
    ];
    let results = store.write_batch(&mut lock(&store.writer), &batch);
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(
        writes(&path).len(),
        1,
        "three copies, one write of their story"
    );
    // the same copies again change nothing: no write at all
    let results = store.write_batch(&mut lock(&store.writer), &batch);
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(writes(&path), Vec::<i64>::new());
    // a later, shorter copy changes what the story shows (its authors, its update time): one
    // write; the story keeps the fullest body
    let late = poll(
        "d",
        vec![copy("d", url, "Headline", "<p>d</p>", 1_700_000_400)],
    );
    store.write_batch(&mut lock(&store.writer), std::slice::from_ref(&late));
    assert_eq!(writes(&path).len(), 1);
    let stories = store
        .stories(&StoryQuery {
            limit: 10,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(stories.len(), 1);
    assert_eq!(stories[0].fields.content.as_deref(), Some("<p>ccc</p>"));
    assert_eq!(stories[0].fields.published.timestamp(), 1_700_000_100);
    assert_eq!(stories[0].sources.len(), 4);
}

#[test]
fn a_story_started_in_a_batch_is_written_once_by_its_insert() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("newswire.db");
    let store = store_at(&path, &["a", "b", "c"]);
    counting_writes(&path);
    let at = |s: i64, nanos: u32| DateTime::from_timestamp(s, nanos).unwrap();
    // stories of one copy each, with whatever a copy may lack or hold: what the batch knows
    // of them is checked against what it stored (in `refresh`, under test)
    let mut teaser = copy("a", "https://e.com/1", "Only a summary", "", 1_700_000_000);
    teaser.content = None;
    teaser.summary = Some("A summary, no body".into());
    teaser.published = Some(at(1_700_000_000, 999_999_999));
    teaser.updated = Some(at(1_700_000_500, 1));
    let mut undated = copy("a", "https://e.com/2", "Undated", "<p>Body two</p>", 0);
    undated.published = None;
    undated.canonical_url = None;
    let mut pictured = copy(
        "a",
        "https://e.com/3",
        "Pictured",
        "<p>Three</p>",
        1_700_000_100,
    );
    pictured.image = Some("https://e.com/3.jpg".into());
    pictured.image_credit = Some("Photo: Zoë Ångström".into());
    pictured.authors = vec!["Zoë".into(), "zoë".into(), "Ann \"Q\" Lee".into()];
    pictured.categories = vec!["World".into(), "world".into(), "Économie".into()];
    pictured.language = Some("fr".into());
    pictured.summary = Some("Trois".into());
    let mut first = poll("a", vec![teaser, undated, pictured]);
    first.update.at = at(1_800_000_000, 123_456_789);
    // a wire story: started by b's copy, joined by c's in the same batch
    let wire = "https://wire.example/4";
    let batch = [
        first,
        poll(
            "b",
            vec![copy("b", wire, "Wire", "<p>Wire copy</p>", 1_700_000_300)],
        ),
        poll(
            "c",
            vec![copy(
                "c",
                wire,
                "Wire",
                "<p>Wire, fuller</p>",
                1_700_000_200,
            )],
        ),
    ];
    let results = store.write_batch(&mut lock(&store.writer), &batch);
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    // the stories of one copy: their INSERT wrote every field and named the copy; the wire
    // story's later, earlier-dated, fuller copy changed what it shows: one write
    let wire_story: i64 = Connection::open(&path)
        .unwrap()
        .query_row(
            "SELECT id FROM stories WHERE story_key = ?1",
            [format!("url:{wire}")],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(writes(&path), vec![wire_story]);
    let stories = store
        .stories(&StoryQuery {
            limit: 10,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(stories.len(), 4);
    let shown = |title: &str| {
        stories
            .iter()
            .find(|s| s.fields.title == title)
            .unwrap_or_else(|| panic!("{title}"))
    };
    assert_eq!(
        shown("Only a summary").fields.summary.as_deref(),
        Some("A summary, no body")
    );
    assert_eq!(shown("Only a summary").fields.content, None);
    assert_eq!(
        shown("Only a summary").fields.published.timestamp(),
        1_700_000_000
    );
    assert_eq!(shown("Undated").fields.published.timestamp(), 1_800_000_000);
    let pictured = &shown("Pictured").fields;
    assert_eq!(pictured.content.as_deref(), Some("<p>Three</p>"));
    assert_eq!(pictured.summary.as_deref(), Some("Trois"));
    assert_eq!(pictured.authors, vec!["Zoë", "Ann \"Q\" Lee"]);
    assert_eq!(pictured.categories, vec!["World", "Économie"]);
    assert_eq!(
        pictured.image_credit.as_deref(),
        Some("Photo: Zoë Ångström")
    );
    assert_eq!(pictured.language.as_deref(), Some("fr"));
    let wire = &shown("Wire").fields;
    assert_eq!(wire.content.as_deref(), Some("<p>Wire, fuller</p>"));
    assert_eq!(wire.published.timestamp(), 1_700_000_200);
    // each is found by its body
    for (word, title) in [
        ("fuller", "Wire"),
        ("three", "Pictured"),
        ("summary", "Only a summary"),
    ] {
        let found = store
            .stories(&StoryQuery {
                limit: 10,
                search: vec![word.into()],
                ..Default::default()
            })
            .unwrap();
        assert!(found.iter().any(|s| s.fields.title == title), "{word}");
    }
}

/// A database as newswire left it at schema version 9, with stories holding copies of their
/// entries' text.
fn version_9(path: &std::path::Path) {
    let mut conn = Connection::open(path).unwrap();
    let tx = conn.transaction().unwrap();
    for (version, sql) in MIGRATIONS.iter().filter(|m| m.0 <= 9) {
        tx.execute_batch(sql).unwrap();
        tx.pragma_update(None, "user_version", version).unwrap();
    }
    tx.execute_batch(
        "INSERT INTO feeds (name, url) VALUES ('a', 'http://a/'), ('b', 'http://b/');
         -- 1: the fullest body from b, the summary with it
         INSERT INTO stories (id, story_key, title, link, published, updated, summary, content, first_seen)
         VALUES (1, 'url:https://e.com/1', 'One', 'https://e.com/1', 100, 100, 'Sum of b',
                 '<p>the longest body, from b</p>', 100);
         -- 2: no body anywhere, a summary
         INSERT INTO stories (id, story_key, title, link, published, updated, summary, content, first_seen)
         VALUES (2, 'url:https://e.com/2', 'Two', 'https://e.com/2', 200, 200, 'Only a summary', NULL, 200);
         -- 3: the body of one copy, the summary of another
         INSERT INTO stories (id, story_key, title, link, published, updated, summary, content, first_seen)
         VALUES (3, 'url:https://e.com/3', 'Three', 'https://e.com/3', 300, 300, 'Teaser of a',
                 '<p>the full body from b</p>', 300);
         INSERT INTO entries (id, feed, entry_key, story_id, title, link, canonical_url, published,
                              published_given, updated, summary, content, first_seen, content_hash)
         VALUES (1, 'a', 'guid:1', 1, 'One', 'https://e.com/1', 'https://e.com/1', 100, 1, 100,
                 NULL, '<p>short</p>', 100, 'h1'),
                (2, 'b', 'guid:1', 1, 'One', 'https://e.com/1', 'https://e.com/1', 150, 1, 150,
                 'Sum of b', '<p>the longest body, from b</p>', 150, 'h2'),
                (3, 'a', 'guid:2', 2, 'Two', 'https://e.com/2', 'https://e.com/2', 200, 1, 200,
                 'Only a summary', NULL, 200, 'h3'),
                (4, 'a', 'guid:3', 3, 'Three', 'https://e.com/3', 'https://e.com/3', 300, 1, 300,
                 'Teaser of a', '<p>x</p>', 300, 'h4'),
                (5, 'b', 'guid:3', 3, 'Three', 'https://e.com/3', 'https://e.com/3', 310, 1, 310,
                 NULL, '<p>the full body from b</p>', 310, 'h5');
         INSERT INTO stories_fts (rowid, title, body) VALUES
            (1, 'One', 'the longest body, from b'), (2, 'Two', 'Only a summary'),
            (3, 'Three', 'the full body from b');",
    )
    .unwrap();
    tx.commit().unwrap();
}

#[test]
fn migration_10_keeps_every_story_s_text_and_drops_the_copies() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("newswire.db");
    version_9(&path);
    let store = Store::open(&path).unwrap();
    store.configure(StoreSettings {
        max_age: None,
        ..Default::default()
    });
    let stories = store
        .stories(&StoryQuery {
            limit: 10,
            ..Default::default()
        })
        .unwrap();
    let shown: Vec<(i64, Option<&str>, Option<&str>)> = stories
        .iter()
        .map(|s| {
            (
                s.id,
                s.fields.summary.as_deref(),
                s.fields.content.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            (3, Some("Teaser of a"), Some("<p>the full body from b</p>")),
            (2, Some("Only a summary"), None),
            (1, Some("Sum of b"), Some("<p>the longest body, from b</p>")),
        ]
    );
    {
        let conn = lock(&store.reader);
        let columns: Vec<String> = conn
            .prepare("SELECT name FROM pragma_table_info('stories')")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(!columns.iter().any(|c| c == "content" || c == "summary"));
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        // migrated to 10, and on to the newest
        assert_eq!(version, crate::store::MIGRATIONS.last().unwrap().0);
    }
    // search still finds them, and a new copy derives the story as before
    let found = store
        .stories(&StoryQuery {
            limit: 10,
            search: vec!["longest".into()],
            ..Default::default()
        })
        .unwrap();
    assert_eq!(found.iter().map(|s| s.id).collect::<Vec<_>>(), [1]);
    let conn = Connection::open(&path).unwrap();
    let named: Vec<(i64, Option<i64>, Option<i64>)> = conn
        .prepare("SELECT id, content_entry, summary_entry FROM stories ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        named,
        [
            (1, Some(2), Some(2)),
            (2, Some(3), Some(3)),
            (3, Some(5), Some(4))
        ]
    );
    drop(conn);
    store
        .apply_poll(
            "a",
            &poll("a", vec![]).update,
            &FeedMeta::default(),
            &[copy(
                "a",
                "https://e.com/1",
                "One",
                "<p>an even longer body, from a, the fullest now</p>",
                100,
            )],
        )
        .unwrap();
    let one = store
        .stories(&StoryQuery {
            limit: 10,
            search: vec!["fullest".into()],
            ..Default::default()
        })
        .unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].id, 1);
    assert_eq!(
        one[0].fields.content.as_deref(),
        Some("<p>an even longer body, from a, the fullest now</p>")
    );
}

/// A copy updated by its feed is indexed by what it says now: another outlet's copy that
/// arrives later, in another batch, joins it (the index is not reloaded in between).
#[test]
fn an_updated_copy_is_found_by_its_new_text() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_at(&dir.path().join("n.db"), &["a", "b"]);
    let wire = "<p>The central bank left its benchmark interest rate unchanged on Wednesday, \
        saying inflation had eased but remained above its target, and signalled that borrowing \
        costs would stay high for longer than markets had expected.</p><p>Governor Ana Ruiz told \
        reporters that the committee had voted seven to two to hold the rate at four and a \
        quarter percent, with two members preferring a cut of a quarter point.</p>";
    let at = 1_800_000_000;
    let apply = |feed: &str, a: Article| {
        let u = FeedUpdate {
            at: DateTime::from_timestamp(at, 0).unwrap(),
            status: 200,
            ..Default::default()
        };
        store
            .apply_poll(feed, &u, &FeedMeta::default(), &[a])
            .unwrap()
    };
    let url = "https://a.example/economy/rates";
    apply(
        "a",
        copy(
            "a",
            url,
            "Rates on hold",
            "<p>Our desk on today's decision.</p>",
            at,
        ),
    );
    // the feed fills in its story
    let stats = apply("a", copy("a", url, "Rates on hold", wire, at));
    assert_eq!(stats.updated, 1);
    let stats = apply(
        "b",
        copy(
            "b",
            "https://b.example/2026/rates-held",
            "Central bank holds interest rates steady",
            wire,
            at + 600,
        ),
    );
    assert_eq!(
        (stats.new, stats.merged),
        (0, 1),
        "the other outlet's copy joins the updated one"
    );
}

#[test]
fn the_texts_at_hand_are_bounded_by_their_memory_and_keep_the_newest() {
    let mut index = super::NearIndex::default();
    let body: String = (0..2000).map(|i| format!("w{i} ")).collect();
    let long = Arc::new(crate::neardup::text("A long article", &body));
    assert!(long.heap_bytes() > 8000, "{}", long.heap_bytes());
    let per_generation = super::TEXT_CACHE_BYTES / long.heap_bytes() + 1;
    for entry in 0..3 * per_generation as i64 {
        index.add(entry, &[1], Arc::clone(&long));
        assert!(index.texts_bytes <= super::TEXT_CACHE_BYTES + long.heap_bytes());
    }
    assert!(index.texts.len() + index.older.len() <= 2 * per_generation);
    let newest = 3 * per_generation as i64 - 1;
    assert!(index.text(newest).is_some() && index.text(0).is_none());
}
