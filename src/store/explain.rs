//! Saying why, and undoing it: which copies a story holds and what attached each
//! (`newswire story ID`, `/stories/ID`), and splitting a copy out of a wrong merge
//! (`newswire split STORY FEED`), which lasts: the copy stays alone when polled again.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::apply::refresh_story;
use super::{Store, StoreError, from_ts, lock, touch};
use crate::plan::{Joined, StoryKey};

/// One copy of a story.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StoryCopy {
    /// The entry's id.
    pub id: i64,
    /// The feed that carried it.
    pub feed: String,
    /// Its headline.
    pub title: String,
    /// Its link.
    pub link: Option<String>,
    /// When it was published.
    pub published: DateTime<Utc>,
    /// When newswire first saw it.
    pub first_seen: DateTime<Utc>,
    /// What attached it to the story (`None` for copies stored before newswire recorded it).
    pub joined: Option<Joined>,
}

/// A story and its copies, earliest first.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StoryCopies {
    /// The story's id.
    pub id: i64,
    /// The key that made it a story (canonical URL, feed entry, or a split copy).
    pub key: String,
    /// Its headline as the merged feed shows it.
    pub title: String,
    /// Its link.
    pub link: Option<String>,
    /// Its copies.
    pub copies: Vec<StoryCopy>,
}

/// What `split` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Split {
    /// There is no such story, or the feed has no copy in it.
    NoSuchCopy,
    /// The feed's copies are all the story has: nothing to split from.
    Alone,
    /// The copies (entry ids) now form the story `story`.
    Done {
        /// The new story.
        story: i64,
        /// The copies moved.
        copies: Vec<i64>,
    },
}

impl Store {
    /// Story `id` with its copies and why each is there; `None` if there is no such story.
    pub fn story_copies(&self, id: i64) -> Result<Option<StoryCopies>, StoreError> {
        let conn = lock(&self.reader);
        let head: Option<(String, String, Option<String>)> = conn
            .query_row(
                "SELECT story_key, title, link FROM stories WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let Some((key, title, link)) = head else {
            return Ok(None);
        };
        let mut stmt = conn.prepare(
            "SELECT id, feed, title, link, published, first_seen, joined FROM entries
             WHERE story_id = ?1 ORDER BY published, id",
        )?;
        let copies = stmt
            .query_map([id], |r| {
                Ok(StoryCopy {
                    id: r.get(0)?,
                    feed: r.get(1)?,
                    title: r.get(2)?,
                    link: r.get(3)?,
                    published: from_ts(r.get(4)?),
                    first_seen: from_ts(r.get(5)?),
                    joined: r
                        .get::<_, Option<String>>(6)?
                        .and_then(|j| serde_json::from_str(&j).ok()),
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(Some(StoryCopies {
            id,
            key,
            title,
            link,
            copies,
        }))
    }

    /// Splits `feed`'s copies out of story `story` into a story of their own, for good:
    /// the copies are marked so that they join no story by their text again.
    pub fn split(&self, story: i64, feed: &str) -> Result<Split, StoreError> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction()?;
        let copies: Vec<(i64, String, Option<String>)> = {
            let mut stmt = tx.prepare(
                "SELECT id, entry_key, canonical_url FROM entries
                 WHERE story_id = ?1 AND feed = ?2 ORDER BY id",
            )?;
            stmt.query_map(params![story, feed], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?
            .collect::<Result<_, _>>()?
        };
        let Some((first, first_key, _)) = copies.first().cloned() else {
            return Ok(Split::NoSuchCopy);
        };
        let others: i64 = tx.query_row(
            "SELECT count(*) FROM entries WHERE story_id = ?1 AND feed != ?2",
            params![story, feed],
            |r| r.get(0),
        )?;
        if others == 0 {
            return Ok(Split::Alone);
        }
        let key = StoryKey::Split {
            feed: feed.to_string(),
            key: first_key,
        }
        .as_stored();
        tx.execute(
            "INSERT INTO stories (story_key, title, published, updated, first_seen)
             SELECT ?1, title, published, updated, first_seen FROM entries WHERE id = ?2",
            params![key, first],
        )?;
        let new_story = tx.last_insert_rowid();
        let joined = serde_json::to_string(&Joined::Split).unwrap_or_default();
        for (id, _, canonical) in &copies {
            tx.execute(
                "UPDATE entries SET story_id = ?2, split = 1, joined = ?3 WHERE id = ?1",
                params![id, new_story, joined],
            )?;
            // the story no longer claims the copy's URL, unless it is the story's own key
            if let Some(url) = canonical {
                tx.execute(
                    "DELETE FROM story_aliases WHERE story_key = ?1 AND story_id = ?2",
                    params![StoryKey::Url(url.clone()).as_stored(), story],
                )?;
            }
        }
        refresh_story(&tx, story, false)?;
        refresh_story(&tx, new_story, true)?;
        touch(&tx, Utc::now())?;
        tx.commit()?;
        Ok(Split::Done {
            story: new_story,
            copies: copies.iter().map(|c| c.0).collect(),
        })
    }
}

impl Store {
    /// The story `what` names: its number, a link of one of its copies (as the feed gave it
    /// or canonical), or its id in the merged feed (`tag:newswire,2026:story/...`).
    pub fn find_story(&self, what: &str) -> Result<Option<i64>, StoreError> {
        if let Ok(id) = what.parse::<i64>() {
            return Ok(Some(id));
        }
        let conn = lock(&self.reader);
        let by_link: Option<i64> = conn
            .query_row(
                "SELECT story_id FROM entries WHERE link = ?1 OR canonical_url = ?1 LIMIT 1",
                [what],
                |r| r.get(0),
            )
            .optional()?;
        if by_link.is_some() {
            return Ok(by_link);
        }
        let Some(hash) = what.strip_prefix("tag:newswire,2026:story/") else {
            return Ok(None);
        };
        let mut stmt = conn.prepare("SELECT id, story_key FROM stories")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let key: String = row.get(1)?;
            if crate::dedup::hash_parts(&[&key]).starts_with(hash) {
                return Ok(Some(row.get(0)?));
            }
        }
        Ok(None)
    }
}
