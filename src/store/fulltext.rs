//! Full text: the entries whose article page is still to be fetched, and what came of it.
//! The feed's own fields stay in the entry (its summary stays the summary; its short body
//! becomes the summary when it gave none); the extracted article becomes the content, its
//! near-duplicate keys are taken again from it, and its story is chosen again (a teaser
//! whose article is another outlet's story joins that story) and derived again, so the
//! fullest text wins as with any body.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::packed::{Packed, body};
use super::{Store, StoreError, apply, from_ts, lock, touch, ts};

/// An entry of a full-text feed, as the queue decides on it.
#[derive(Debug, Clone, PartialEq)]
pub struct FullTextCandidate {
    /// The entry's row id.
    pub entry_id: i64,
    /// The entry's link: the article page.
    pub link: Option<String>,
    /// The feed's summary.
    pub summary: Option<String>,
    /// The feed's body (sanitized HTML).
    pub content: Option<String>,
    /// The entry's version.
    pub content_hash: String,
    /// Fetches of this version so far (0: never).
    pub attempts: u32,
}

/// What came of one entry's page.
#[derive(Debug, Clone, PartialEq)]
pub struct FullTextResult {
    /// The entry's row id.
    pub entry_id: i64,
    /// The version of the entry the page was fetched for.
    pub content_hash: String,
    /// `ok`, or why not (see the migration for the names).
    pub outcome: &'static str,
    /// What went wrong, for a person.
    pub detail: Option<String>,
    /// A temporary failure: try again from then on.
    pub retry_at: Option<DateTime<Utc>>,
    /// The article: sanitized HTML, the summary to keep (the feed's), the lead image.
    pub article: Option<FullTextFields>,
    /// When.
    pub at: DateTime<Utc>,
}

/// The entry's fields after a successful extraction.
#[derive(Debug, Clone, PartialEq)]
pub struct FullTextFields {
    /// The article as sanitized HTML: the new content.
    pub content: String,
    /// The summary (the feed's; or the feed's short body as text when it gave none).
    pub summary: Option<String>,
    /// The page's lead image, used when the feed gave none.
    pub image: Option<String>,
}

impl Store {
    /// Entries of `feed` whose page is due: never fetched for their current version, or
    /// failed for a passing reason whose retry time has come (at most `max_attempts` times).
    /// Newest first, at most `limit`.
    pub fn full_text_pending(
        &self,
        feed: &str,
        now: DateTime<Utc>,
        max_attempts: u32,
        limit: usize,
    ) -> Result<Vec<FullTextCandidate>, StoreError> {
        let conn = lock(&self.reader);
        let mut stmt = conn.prepare_cached(
            "SELECT e.id, e.link, e.summary, e.content, e.content_hash,
                    CASE WHEN f.content_hash = e.content_hash THEN f.attempts ELSE 0 END
             FROM entries e LEFT JOIN fulltext f ON f.entry_id = e.id
             WHERE e.feed = ?1
               AND (f.entry_id IS NULL OR f.content_hash != e.content_hash
                    OR (f.retry_at IS NOT NULL AND f.retry_at <= ?2 AND f.attempts < ?3))
             ORDER BY e.published DESC, e.id DESC LIMIT ?4",
        )?;
        let rows = stmt.query_map(params![feed, ts(now), max_attempts, limit as i64], |r| {
            Ok(FullTextCandidate {
                entry_id: r.get(0)?,
                link: r.get(1)?,
                summary: r.get(2)?,
                content: body(r, 3)?,
                content_hash: r.get(4)?,
                attempts: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Records what came of one entry's page; with an article, the entry takes it as its
    /// content, its text is compared again with the other copies (see
    /// [`apply::rejudge`]) and its story is derived again. Returns whether the merged feed changed
    /// (false too when the entry changed or went since the page was fetched: its new
    /// version gets its own fetch).
    pub fn record_full_text(&self, r: &FullTextResult) -> Result<bool, StoreError> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction()?;
        let current: Option<String> = tx
            .query_row(
                "SELECT content_hash FROM entries WHERE id = ?1",
                [r.entry_id],
                |row| row.get(0),
            )
            .optional()?;
        let Some(hash) = current.filter(|h| *h == r.content_hash) else {
            return Ok(false);
        };
        tx.execute(
            "INSERT INTO fulltext (entry_id, feed, content_hash, outcome, detail, attempts, retry_at, at)
             SELECT ?1, feed, ?2, ?3, ?4, 1, ?5, ?6 FROM entries WHERE id = ?1
             ON CONFLICT (entry_id) DO UPDATE SET
                attempts = CASE WHEN content_hash = ?2 THEN attempts + 1 ELSE 1 END,
                content_hash = ?2, outcome = ?3, detail = ?4, retry_at = ?5, at = ?6",
            params![
                r.entry_id,
                hash,
                r.outcome,
                r.detail,
                r.retry_at.map(ts),
                ts(r.at)
            ],
        )?;
        let changed = if let Some(a) = &r.article {
            let body = Packed::now(Some(&a.content));
            tx.execute(
                "UPDATE entries SET content = ?2, summary = coalesce(summary, ?3),
                    image = coalesce(image, ?4), content_len = ?5
                 WHERE id = ?1",
                params![r.entry_id, body, a.summary, a.image, body.text_len()],
            )?;
            // its new text may show it to be another copy's story
            let settings = self.settings();
            let mut held = lock(&self.bands);
            if settings.near_duplicates {
                held.refresh(&tx, &settings, r.at)?;
            }
            let index = RefCell::new(std::mem::take(&mut *held));
            let judged = apply::rejudge(&tx, r.entry_id, &settings, &index, r.at);
            *held = index.into_inner();
            judged?;
            touch(&tx, r.at)?;
            true
        } else {
            false
        };
        tx.commit()?;
        Ok(changed)
    }

    /// Full-text outcomes of the stored entries, by feed, then outcome.
    pub fn full_text_counts(&self) -> Result<HashMap<String, BTreeMap<String, u64>>, StoreError> {
        let conn = lock(&self.reader);
        let mut stmt = conn.prepare_cached(
            "SELECT f.feed, f.outcome, count(*) FROM fulltext f
             JOIN entries e ON e.id = f.entry_id AND e.content_hash = f.content_hash
             GROUP BY f.feed, f.outcome",
        )?;
        let mut out: HashMap<String, BTreeMap<String, u64>> = HashMap::new();
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })?;
        for row in rows {
            let (feed, outcome, n) = row?;
            out.entry(feed)
                .or_default()
                .insert(outcome, n.max(0) as u64);
        }
        Ok(out)
    }

    /// Records that the server of `host` asked to be left alone until `until` (a 429 or 503
    /// with Retry-After on an article page): its feeds and pages wait alike.
    pub fn pause_host(
        &self,
        host: &str,
        until: DateTime<Utc>,
        reason: &str,
    ) -> Result<(), StoreError> {
        let conn = lock(&self.writer);
        conn.execute(
            "INSERT INTO hosts (host, paused_until, reason) VALUES (?1, ?2, ?3)
             ON CONFLICT (host) DO UPDATE SET paused_until = max(paused_until, ?2), reason = ?3",
            params![host, ts(until), reason],
        )?;
        Ok(())
    }

    /// When an entry's page was last fetched and what came of it (for tests and tools).
    pub fn full_text_outcome(
        &self,
        entry_id: i64,
    ) -> Result<Option<(String, u32, DateTime<Utc>)>, StoreError> {
        let conn = lock(&self.reader);
        Ok(conn
            .query_row(
                "SELECT outcome, attempts, at FROM fulltext WHERE entry_id = ?1",
                [entry_id],
                |r| Ok((r.get(0)?, r.get(1)?, from_ts(r.get(2)?))),
            )
            .optional()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::article::{Article, FeedMeta};
    use crate::store::{FeedList, FeedSpec, FeedUpdate, StoryQuery};

    fn teaser(guid: &str, summary: &str) -> Article {
        let link = format!("https://news.example/{guid}.html");
        let url = url::Url::parse(&link).unwrap();
        let canonical = crate::dedup::canonical_url(&url);
        Article {
            key: crate::dedup::identity(Some(guid), canonical.as_deref(), guid, summary),
            guid: Some(guid.into()),
            title: format!("Story {guid}"),
            link: Some(link),
            canonical_url: canonical,
            authors: vec![],
            published: DateTime::from_timestamp(1_700_000_000, 0),
            updated: None,
            summary: Some(summary.into()),
            content: None,
            categories: vec![],
            image: None,
            image_credit: None,
            language: None,
        }
    }

    fn poll(store: &Store, articles: &[Article]) {
        let u = FeedUpdate {
            at: Utc::now(),
            status: 200,
            ..Default::default()
        };
        store
            .apply_poll("a", &u, &FeedMeta::default(), articles)
            .unwrap();
    }

    fn ok(c: &FullTextCandidate, content: &str) -> FullTextResult {
        FullTextResult {
            entry_id: c.entry_id,
            content_hash: c.content_hash.clone(),
            outcome: "ok",
            detail: None,
            retry_at: None,
            article: Some(FullTextFields {
                content: content.into(),
                summary: c.summary.clone(),
                image: Some("https://news.example/lead.jpg".into()),
            }),
            at: Utc::now(),
        }
    }

    /// A wire story's text, long enough to be compared.
    const WIRE: &str = "<p>The central bank left its benchmark interest rate unchanged on \
        Wednesday, saying inflation had eased but remained above its target, and signalled \
        that borrowing costs would stay high for longer than markets had expected.</p>\
        <p>Governor Ana Ruiz told reporters in the capital that the committee had voted seven \
        to two to hold the rate at four and a quarter percent, with two members preferring a \
        cut of a quarter point to support a weakening housing market.</p>\
        <p>Economists polled before the meeting had been divided, and the currency rose half \
        a percent against the dollar after the statement, while government bond yields \
        climbed across the curve as traders pushed back bets on a first cut to the spring.</p>";

    #[test]
    fn an_extracted_teaser_joins_the_story_its_article_is() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("n.db")).unwrap();
        let spec = |name: &str| FeedSpec {
            name: name.into(),
            url: format!("http://{name}/"),
        };
        store
            .sync_feeds(&FeedList::lone(&[spec("a"), spec("b")]))
            .unwrap();
        let u = FeedUpdate {
            at: Utc::now(),
            status: 200,
            ..Default::default()
        };
        // another outlet's full copy, at its own address
        let mut full = teaser("wire-1", "");
        full.title = "Central bank holds interest rates steady as inflation eases".into();
        full.link = Some("https://other.example/economy/rates.html".into());
        full.canonical_url = full.link.clone();
        full.summary = None;
        full.content = Some(WIRE.into());
        store
            .apply_poll("b", &u, &FeedMeta::default(), &[full])
            .unwrap();
        // this feed's teaser: another headline, a line of its own
        let mut t = teaser("one", "Our economics desk on today's decision.");
        t.title = "Rates left on hold by the central bank".into();
        poll(&store, &[t]);
        let stories = |store: &Store| {
            store
                .stories(&StoryQuery {
                    limit: 10,
                    ..Default::default()
                })
                .unwrap()
        };
        assert_eq!(stories(&store).len(), 2, "a teaser alone says too little");
        let print = |dir: &tempfile::TempDir| -> Option<Vec<u8>> {
            rusqlite::Connection::open(dir.path().join("n.db"))
                .unwrap()
                .query_row("SELECT print FROM entries WHERE feed = 'a'", [], |r| {
                    r.get(0)
                })
                .unwrap()
        };
        let before = print(&dir);
        let due = store.full_text_pending("a", Utc::now(), 3, 10).unwrap();
        assert!(store.record_full_text(&ok(&due[0], WIRE)).unwrap());
        let after = stories(&store);
        assert_eq!(after.len(), 1, "its article is the other outlet's story");
        let mut feeds: Vec<&str> = after[0].sources.iter().map(|s| s.feed.as_str()).collect();
        feeds.sort();
        assert_eq!(feeds, ["a", "b"]);
        // its keys are stored, for the index loaded afresh after a restart
        assert_ne!(print(&dir), before);
    }

    #[test]
    fn an_article_becomes_content_once_per_version() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("n.db")).unwrap();
        store
            .sync_feeds(&FeedList::lone(&[FeedSpec {
                name: "a".into(),
                url: "http://a/".into(),
            }]))
            .unwrap();
        poll(&store, &[teaser("one", "A sentence.")]);
        let now = Utc::now();
        let due = store.full_text_pending("a", now, 3, 10).unwrap();
        assert_eq!(due.len(), 1);
        let c = due[0].clone();
        assert!(
            store
                .record_full_text(&ok(&c, "<p>The whole story.</p>"))
                .unwrap()
        );
        // done for this version
        assert!(store.full_text_pending("a", now, 3, 10).unwrap().is_empty());
        let story = &store
            .stories(&StoryQuery {
                limit: 10,
                ..Default::default()
            })
            .unwrap()[0];
        assert_eq!(
            story.fields.content.as_deref(),
            Some("<p>The whole story.</p>")
        );
        assert_eq!(story.fields.summary.as_deref(), Some("A sentence."));
        assert_eq!(
            story.fields.image.as_deref(),
            Some("https://news.example/lead.jpg")
        );
        assert_eq!(store.full_text_counts().unwrap()["a"]["ok"], 1);
        // the same entry again: nothing due, the article stays
        poll(&store, &[teaser("one", "A sentence.")]);
        assert!(store.full_text_pending("a", now, 3, 10).unwrap().is_empty());
        // an edited entry is due again, and a result for the old version is dropped
        poll(&store, &[teaser("one", "An edited sentence.")]);
        let due = store.full_text_pending("a", now, 3, 10).unwrap();
        assert_eq!(due.len(), 1);
        assert!(!store.record_full_text(&ok(&c, "<p>stale</p>")).unwrap());
        assert!(
            store
                .full_text_counts()
                .unwrap()
                .get("a")
                .is_none_or(|m| m.is_empty())
        );
        // a passing failure is due again once its time has come, up to the attempts allowed
        let mut failed = ok(&due[0], "");
        failed.outcome = "fetch_failed";
        failed.article = None;
        failed.retry_at = Some(now + chrono::Duration::minutes(30));
        assert!(!store.record_full_text(&failed).unwrap());
        assert!(store.full_text_pending("a", now, 3, 10).unwrap().is_empty());
        let later = now + chrono::Duration::minutes(31);
        let again = store.full_text_pending("a", later, 3, 10).unwrap();
        assert_eq!(again[0].attempts, 1);
        assert!(
            store
                .full_text_pending("a", later, 1, 10)
                .unwrap()
                .is_empty()
        );
    }
}
