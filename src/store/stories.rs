//! Story queries: the merged feed's stories with their sources, counts, and the store's
//! generation (what changed when).

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params_from_iter};

use crate::dedup::StoryFields;

use super::packed::body;
use super::reads::{self, Dialect, Sql};
use super::{Store, StoreError, from_json, from_ts, lock, rules, ts};

/// Which stories the merged feed shows.
#[derive(Debug, Clone, Default)]
pub struct StoryQuery {
    /// Only stories carried by one of these feeds; `None` for all.
    pub feeds: Option<Vec<String>>,
    /// At most this many, newest first.
    pub limit: usize,
    /// FTS5 queries over title and body, all of which must match.
    pub search: Vec<String>,
    /// Keyset paging: only stories older than this (published, id).
    pub before: Option<(DateTime<Utc>, i64)>,
    /// Every copy instead of one entry per story (`?dedup=off`): ids are entry ids.
    pub copies: bool,
    /// Each pair (feeds, tags): only stories from one of the feeds, or that a rule tagged
    /// with one of the tags (`?tag=`, views' `tags`). Every pair must hold.
    pub tagged: Vec<(Vec<String>, Vec<String>)>,
    /// FTS5 queries over title and body, none of which may match (`-word` in a search).
    pub exclude: Vec<String>,
}

/// A feed that carried a story.
#[derive(Debug, Clone, PartialEq)]
pub struct StorySource {
    /// The feed's name.
    pub feed: String,
    /// The feed's title, if it gave one.
    pub feed_title: Option<String>,
    /// The feed's URL.
    pub feed_url: String,
    /// The feed's site.
    pub site_url: Option<String>,
    /// That feed's link to the story.
    pub link: Option<String>,
}

/// A story as the merged feed shows it.
#[derive(Debug, Clone)]
pub struct Story {
    /// Row id.
    pub id: i64,
    /// The key that makes it one story (canonical URL or feed entry).
    pub key: String,
    /// Derived fields.
    pub fields: StoryFields,
    /// Every feed that carried it, earliest first.
    pub sources: Vec<StorySource>,
}

impl Store {
    /// The newest stories, by published time, with their sources.
    pub fn stories(&self, q: &StoryQuery) -> Result<Vec<Story>, StoreError> {
        let conn = lock(&self.reader);
        let mut sql = Sql::new(Dialect::Sqlite);
        let fts5 = |story_of: &str, p: &str, negate: bool| {
            let not = if negate { "NOT " } else { "" };
            format!(
                "{story_of} {not}IN (SELECT rowid FROM stories_fts WHERE stories_fts MATCH {p})"
            )
        };
        let hidden = rules::any_marks(&conn, None, &["hide"])?;
        let Some(text) = reads::stories_sql(q, &mut sql, &q.search, &q.exclude, hidden, &fts5)
        else {
            return Ok(Vec::new());
        };
        let bad_query = |e: rusqlite::Error| match &e {
            rusqlite::Error::SqliteFailure(_, Some(msg))
                if msg.contains("fts5") || msg.contains("MATCH") =>
            {
                StoreError::BadQuery(msg.clone())
            }
            _ => StoreError::from(e),
        };
        let mut stmt = conn.prepare(&text)?;
        let rows = stmt
            .query_map(params_from_iter(sql.args.iter()), |r| {
                Ok(Story {
                    id: r.get(0)?,
                    key: r.get(1)?,
                    fields: StoryFields {
                        title: r.get(2)?,
                        link: r.get(3)?,
                        published: from_ts(r.get(4)?),
                        updated: from_ts(r.get(5)?),
                        summary: r.get(6)?,
                        content: body(r, 7)?,
                        authors: from_json(&r.get::<_, String>(8)?),
                        categories: from_json(&r.get::<_, String>(9)?),
                        image: r.get(10)?,
                        image_credit: r.get(13)?,
                        language: r.get(11)?,
                        first_seen: from_ts(r.get(12)?),
                    },
                    sources: Vec::new(),
                })
            })
            .map_err(bad_query)?;
        let mut stories: Vec<Story> = rows.collect::<Result<_, _>>().map_err(bad_query)?;
        if stories.is_empty() {
            return Ok(stories);
        }
        let ids: Vec<i64> = stories.iter().map(|s| s.id).collect();
        let mut sql = Sql::new(Dialect::Sqlite);
        let mut stmt = conn.prepare(&reads::sources_sql(&mut sql, q.copies, &ids))?;
        let rows = stmt.query_map(params_from_iter(sql.args.iter()), |r| {
            Ok((
                r.get::<_, i64>(0)?,
                StorySource {
                    feed: r.get(1)?,
                    feed_title: r.get(2)?,
                    feed_url: r.get(3)?,
                    site_url: r.get(4)?,
                    link: r.get(5)?,
                },
            ))
        })?;
        reads::attach_sources(&mut stories, rows.collect::<Result<Vec<_>, _>>()?);
        Ok(stories)
    }

    /// Number of entries and stories stored.
    pub fn counts(&self) -> Result<(u64, u64), StoreError> {
        let conn = lock(&self.reader);
        Ok(conn.query_row(
            "SELECT (SELECT count(*) FROM entries), (SELECT count(*) FROM stories)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?)
    }

    /// When what the merged feed shows last changed (new, updated or removed stories, or a
    /// new feed list), if ever.
    pub fn changed_at(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let conn = lock(&self.reader);
        let v: Option<i64> = conn
            .query_row(
                "SELECT value FROM store_meta WHERE key = 'changed_at'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        Ok(v.map(from_ts))
    }

    /// A number that grows with every change to what the merged feed shows (0 before any).
    pub fn generation(&self) -> Result<i64, StoreError> {
        let conn = lock(&self.generation_reader);
        Ok(conn
            .query_row(
                "SELECT value FROM store_meta WHERE key = 'generation'",
                [],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(0))
    }

    /// Records that what the merged feed shows changed at `at` (never moves back).
    pub fn touch(&self, at: DateTime<Utc>) -> Result<(), StoreError> {
        let conn = lock(&self.writer);
        touch(&conn, at)
    }
}

pub(super) fn touch(conn: &Connection, at: DateTime<Utc>) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO store_meta (key, value) VALUES ('changed_at', ?1)
         ON CONFLICT (key) DO UPDATE SET value = max(value, ?1)",
    )?
    .execute([ts(at)])?;
    // a counter as well: several changes can fall in one second
    conn.prepare_cached(
        "INSERT INTO store_meta (key, value) VALUES ('generation', 1)
         ON CONFLICT (key) DO UPDATE SET value = value + 1",
    )?
    .execute([])?;
    Ok(())
}
