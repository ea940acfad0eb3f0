//! Story queries: the merged feed's stories with their sources, counts, and the store's
//! generation (what changed when).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params_from_iter};

use crate::dedup::StoryFields;

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
        // one row per story, or (copies) one per entry, with the same columns and names
        let mut sql = String::from(if q.copies {
            "SELECT s.id, 'copy:' || s.feed || ':' || s.entry_key, s.title, coalesce(s.canonical_url, s.link),
                    s.published, s.updated, s.summary, s.content, s.authors, s.categories, s.image,
                    s.language, s.first_seen, s.image_credit
             FROM entries s"
        } else {
            "SELECT id, story_key, title, link, published, updated,
                    (SELECT summary FROM entries WHERE id = s.summary_entry),
                    (SELECT content FROM entries WHERE id = s.content_entry), authors,
                    categories, image, language, first_seen, image_credit
             FROM stories s"
        });
        let story_of = if q.copies { "s.story_id" } else { "s.id" };
        let mut args: Vec<rusqlite::types::Value> = Vec::new();
        let mut conditions: Vec<String> = Vec::new();
        if let Some(feeds) = &q.feeds {
            if feeds.is_empty() {
                return Ok(Vec::new());
            }
            let marks = vec!["?"; feeds.len()].join(",");
            conditions.push(if q.copies {
                format!("s.feed IN ({marks})")
            } else {
                format!("EXISTS (SELECT 1 FROM entries e WHERE e.story_id = s.id AND e.feed IN ({marks}))")
            });
            args.extend(feeds.iter().cloned().map(Into::into));
        }
        for search in &q.search {
            conditions.push(format!(
                "{story_of} IN (SELECT rowid FROM stories_fts WHERE stories_fts MATCH ?)"
            ));
            args.push(search.clone().into());
        }
        // stories every entry of which a rule hid are in no output
        if rules::any_marks(&conn, None, &["hide"])? {
            conditions.push(rules::visible_condition(q.copies).into());
        }
        for (feeds, tags) in &q.tagged {
            conditions.push(rules::tagged_condition(q.copies, feeds.len(), tags.len()));
            args.extend(rules::tagged_args(feeds, tags));
        }
        for search in &q.exclude {
            conditions.push(format!(
                "{story_of} NOT IN (SELECT rowid FROM stories_fts WHERE stories_fts MATCH ?)"
            ));
            args.push(search.clone().into());
        }
        if let Some((published, id)) = q.before {
            conditions.push("(s.published < ? OR (s.published = ? AND s.id < ?))".into());
            args.extend([ts(published).into(), ts(published).into(), id.into()]);
        }
        if !conditions.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&conditions.join(" AND "));
        }
        sql.push_str(&format!(
            " ORDER BY s.published DESC, s.id DESC LIMIT {}",
            q.limit
        ));
        let bad_query = |e: rusqlite::Error| match &e {
            rusqlite::Error::SqliteFailure(_, Some(msg))
                if msg.contains("fts5") || msg.contains("MATCH") =>
            {
                StoreError::BadQuery(msg.clone())
            }
            _ => StoreError::from(e),
        };
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt
            .query_map(params_from_iter(args.iter()), |r| {
                Ok(Story {
                    id: r.get(0)?,
                    key: r.get(1)?,
                    fields: StoryFields {
                        title: r.get(2)?,
                        link: r.get(3)?,
                        published: from_ts(r.get(4)?),
                        updated: from_ts(r.get(5)?),
                        summary: r.get(6)?,
                        content: r.get(7)?,
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
        let marks = vec!["?"; ids.len()].join(",");
        let mut stmt = conn.prepare(&format!(
            "SELECT {key}, e.feed, f.title, f.url, f.site_url, e.link
             FROM entries e JOIN feeds f ON f.name = e.feed
             WHERE {key} IN ({marks}) ORDER BY e.published, e.id",
            key = if q.copies { "e.id" } else { "e.story_id" }
        ))?;
        let mut by_story: HashMap<i64, Vec<StorySource>> = HashMap::new();
        let rows = stmt.query_map(params_from_iter(ids.iter()), |r| {
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
        for row in rows {
            let (id, src) = row?;
            let list = by_story.entry(id).or_default();
            if !list.iter().any(|s| s.feed == src.feed) {
                list.push(src);
            }
        }
        for s in &mut stories {
            s.sources = by_story.remove(&s.id).unwrap_or_default();
        }
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
    conn.execute(
        "INSERT INTO store_meta (key, value) VALUES ('changed_at', ?1)
         ON CONFLICT (key) DO UPDATE SET value = max(value, ?1)",
        [ts(at)],
    )?;
    // a counter as well: several changes can fall in one second
    conn.execute(
        "INSERT INTO store_meta (key, value) VALUES ('generation', 1)
         ON CONFLICT (key) DO UPDATE SET value = value + 1",
        [],
    )?;
    Ok(())
}
