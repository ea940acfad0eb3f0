//! What `[[rule]]`s decided, as the store keeps it (`rule_marks`), and the merged view's fair
//! shares. The decisions are made by [`crate::rules`]; this file only records and reads them.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};
use rusqlite::{params, params_from_iter};

use super::packed::body;
use super::reads::{self, Dialect, FairPages, Sql};
use super::{Store, StoreError, Story, StoryQuery, from_json, from_ts, lock, touch, ts};
use crate::article::{Article, ArticleKey};
use crate::rules::Mark;

pub use crate::rules::RuleEntry;

/// What `rules apply` changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApplyMarks {
    /// Entries removed (dropped now; their identities kept so that they stay dropped).
    pub dropped: usize,
    /// Entries hidden.
    pub hidden: usize,
    /// Tags given.
    pub tagged: usize,
}

/// Records one mark (a mark already there takes the newer rule and time).
fn insert_mark(
    tx: &rusqlite::Connection,
    feed: &str,
    m: &Mark,
    at: DateTime<Utc>,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO rule_marks (feed, entry_key, action, value, rule, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (feed, entry_key, action, value) DO UPDATE SET rule = ?5, at = ?6",
    )?
    .execute(params![
        feed,
        m.entry_key,
        m.action,
        m.value,
        m.rule,
        ts(at)
    ])?;
    Ok(())
}

/// Whether a mark with one of `actions` exists (for `feed`, if given): one index lookup each.
pub(super) fn any_marks(
    conn: &rusqlite::Connection,
    feed: Option<&str>,
    actions: &[&str],
) -> rusqlite::Result<bool> {
    // two statements, not one with `?2 IS NULL OR feed = ?2`, which SQLite answers by every
    // mark of the action: each poll of a feed asks, and rules can mark many entries
    let mut stmt = conn.prepare_cached(match feed {
        Some(_) => ANY_MARK_OF_FEED,
        None => "SELECT EXISTS (SELECT 1 FROM rule_marks WHERE action = ?1)",
    })?;
    for action in actions {
        let found = match feed {
            Some(feed) => stmt.query_row(params![action, feed], |r| r.get::<_, bool>(0))?,
            None => stmt.query_row(params![action], |r| r.get::<_, bool>(0))?,
        };
        if found {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Whether a mark of an action (`?1`) exists for a feed (`?2`): among the feed's marks (by
/// the primary key), not among the action's (`+` keeps SQLite from `rule_marks_by_tag`,
/// which it prefers, knowing nothing of how many marks each has).
pub(super) const ANY_MARK_OF_FEED: &str =
    "SELECT EXISTS (SELECT 1 FROM rule_marks WHERE feed = ?2 AND +action = ?1)";

impl Store {
    /// The publication time of the oldest story, if any (see [`crate::fair::date_backlog`]).
    pub fn oldest_published(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let conn = lock(&self.reader);
        let t: Option<i64> = conn
            .prepare_cached("SELECT min(published) FROM stories")?
            .query_row([], |r| r.get(0))?;
        Ok(t.map(from_ts))
    }

    /// Whether any entry of `feed` (or, `None`, of any feed) is hidden or tagged by a rule.
    pub fn has_marks(&self, feed: Option<&str>) -> Result<bool, StoreError> {
        let conn = lock(&self.reader);
        Ok(any_marks(&conn, feed, &["hide", "tag"])?)
    }

    /// The identities of `feed`'s entries that rules dropped: they stay dropped.
    pub fn dropped_keys(&self, feed: &str) -> Result<HashSet<String>, StoreError> {
        let conn = lock(&self.reader);
        let mut stmt = conn.prepare_cached(
            "SELECT entry_key FROM rule_marks WHERE feed = ?1 AND action = 'drop'",
        )?;
        let keys = stmt
            .query_map([feed], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(keys)
    }

    /// Records what the rules decided about the entries of one poll of `feed`, before they
    /// are stored: `judged` are the keys judged this time (their hide and tag marks are
    /// replaced by `marks`). Written first, a crash between this and the entries leaves
    /// marks for entries the next poll stores, never an entry that should have been hidden.
    pub fn record_marks(
        &self,
        feed: &str,
        judged: &[String],
        marks: &[Mark],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction()?;
        let has_marks: bool = tx
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM rule_marks WHERE feed = ?1 AND action != 'drop')",
            )?
            .query_row([feed], |r| r.get(0))?;
        if has_marks {
            let mut clear = tx.prepare_cached(
                "DELETE FROM rule_marks WHERE feed = ?1 AND entry_key = ?2 AND action != 'drop'",
            )?;
            for key in judged {
                clear.execute(params![feed, key])?;
            }
        }
        for m in marks {
            insert_mark(&tx, feed, m, at)?;
        }
        if has_marks || !marks.is_empty() {
            touch(&tx, at)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Entries dropped by rules, per feed (`newswire feeds`).
    pub fn dropped_counts(&self) -> Result<HashMap<String, u64>, StoreError> {
        let conn = lock(&self.reader);
        let mut stmt = conn
            .prepare("SELECT feed, count(*) FROM rule_marks WHERE action = 'drop' GROUP BY feed")?;
        let counts = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        Ok(counts)
    }

    /// Stored entries, for `rules test` and `rules apply`: of `feed` only, if given, and
    /// first seen since `since`, if given.
    pub fn rule_entries(
        &self,
        since: Option<DateTime<Utc>>,
        feed: Option<&str>,
    ) -> Result<Vec<RuleEntry>, StoreError> {
        let conn = lock(&self.reader);
        let mut stmt = conn.prepare(
            "SELECT feed, entry_key, story_id, guid, title, link, canonical_url, authors,
                    published, updated, summary, content, categories, image, language, image_credit
             FROM entries
             WHERE (?1 IS NULL OR first_seen >= ?1) AND (?2 IS NULL OR feed = ?2)
             ORDER BY feed, published DESC, id DESC",
        )?;
        let rows = stmt.query_map(params![since.map(ts), feed], |r| {
            let key: String = r.get(1)?;
            Ok(RuleEntry {
                feed: r.get(0)?,
                story_id: r.get(2)?,
                article: Article {
                    key: ArticleKey::Guid(key.clone()),
                    guid: r.get(3)?,
                    title: r.get(4)?,
                    link: r.get(5)?,
                    canonical_url: r.get(6)?,
                    authors: from_json(&r.get::<_, String>(7)?),
                    published: Some(from_ts(r.get(8)?)),
                    updated: Some(from_ts(r.get(9)?)),
                    summary: r.get(10)?,
                    content: body(r, 11)?,
                    categories: from_json(&r.get::<_, String>(12)?),
                    image: r.get(13)?,
                    language: r.get(14)?,
                    image_credit: r.get(15)?,
                },
                entry_key: key,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// `rules apply`: replaces every hide and tag mark with `marks`' (the rules' verdicts on
    /// every stored entry), and removes the entries `marks` drop, keeping their identities so
    /// that they stay dropped. One transaction.
    pub fn apply_marks(
        &self,
        marks: &[(String, Mark)],
        at: DateTime<Utc>,
    ) -> Result<ApplyMarks, StoreError> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction()?;
        tx.execute("DELETE FROM rule_marks WHERE action != 'drop'", [])?;
        let mut done = ApplyMarks::default();
        let mut dirty: BTreeSet<i64> = BTreeSet::new();
        {
            let mut story_of = tx.prepare_cached(
                "SELECT story_id, id FROM entries WHERE feed = ?1 AND entry_key = ?2",
            )?;
            let mut delete = tx.prepare_cached("DELETE FROM entries WHERE id = ?1")?;
            for (feed, m) in marks {
                insert_mark(&tx, feed, m, at)?;
                match m.action {
                    "drop" => {
                        let found: Option<(i64, i64)> = story_of
                            .query_row(params![feed, m.entry_key], |r| Ok((r.get(0)?, r.get(1)?)))
                            .ok();
                        if let Some((story, id)) = found {
                            delete.execute([id])?;
                            dirty.insert(story);
                            done.dropped += 1;
                        }
                    }
                    "hide" => done.hidden += 1,
                    _ => done.tagged += 1,
                }
            }
        }
        for story in dirty {
            super::refresh_story(&tx, story, false)?;
        }
        touch(&tx, at)?;
        tx.commit()?;
        Ok(done)
    }

    /// The tags rules gave the stories (or, `copies`, the entries) with these ids.
    pub fn rule_tags(
        &self,
        ids: &[i64],
        copies: bool,
    ) -> Result<HashMap<i64, Vec<String>>, StoreError> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let conn = lock(&self.reader);
        let mut sql = Sql::new(Dialect::Sqlite);
        let mut stmt = conn.prepare(&reads::rule_tags_sql(&mut sql, copies, ids))?;
        let mut out: HashMap<i64, Vec<String>> = HashMap::new();
        let rows = stmt.query_map(params_from_iter(sql.args.iter()), |r| {
            Ok((r.get::<_, i64>(0)?, r.get(1)?))
        })?;
        for row in rows {
            let (id, tag) = row?;
            out.entry(id).or_default().push(tag);
        }
        Ok(out)
    }

    /// As [`Store::stories`], with at most `per_feed` stories counted against any one feed
    /// (see [`crate::fair::FairShare`]): reads on, page by page, past the stories the cap
    /// leaves out until `q.limit` are found or none are left.
    pub fn stories_fair(
        &self,
        q: &StoryQuery,
        per_feed: Option<usize>,
    ) -> Result<Vec<Story>, StoreError> {
        if per_feed.is_none() {
            return self.stories(q);
        }
        let feeds: Vec<String> = match &q.feeds {
            Some(f) => f.clone(),
            None => {
                let conn = lock(&self.reader);
                let mut stmt = conn.prepare_cached("SELECT name FROM feeds")?;
                stmt.query_map([], |r| r.get(0))?
                    .collect::<Result<_, _>>()?
            }
        };
        let mut pages = FairPages::new(q, per_feed, feeds);
        while pages.take(self.stories(pages.page())?) {}
        Ok(pages.done())
    }
}
