//! Why a story holds its copies; split (see the SQLite store's explain.rs).

use super::Cached;
use super::{PgStore, from_ts};
use crate::plan::{Joined, StoryKey};
use crate::store::{Split, StoreError, StoryCopies, StoryCopy};

impl PgStore {
    /// Story `id` with its copies and why each is there; `None` if there is no such story.
    pub(in crate::store) async fn story_copies(
        &self,
        id: i64,
    ) -> Result<Option<StoryCopies>, StoreError> {
        let c = self.conn().await?;
        let Some(head) = c
            .qopt(
                "SELECT story_key, title, link FROM stories WHERE id = $1",
                &[&id],
            )
            .await?
        else {
            return Ok(None);
        };
        let rows = c
            .q(
                "SELECT id, feed, title, link, published, first_seen, joined FROM entries
                 WHERE story_id = $1 ORDER BY published, id",
                &[&id],
            )
            .await?;
        let copies = rows
            .iter()
            .map(|r| StoryCopy {
                id: r.get(0),
                feed: r.get(1),
                title: r.get(2),
                link: r.get(3),
                published: from_ts(r.get(4)),
                first_seen: from_ts(r.get(5)),
                joined: r
                    .get::<_, Option<String>>(6)
                    .and_then(|j| serde_json::from_str(&j).ok()),
            })
            .collect();
        Ok(Some(StoryCopies {
            id,
            key: head.get(0),
            title: head.get(1),
            link: head.get(2),
            copies,
        }))
    }

    /// Splits `feed`'s copies out of story `story` into a story of their own, for good.
    pub(in crate::store) async fn split(
        &self,
        story: i64,
        feed: &str,
    ) -> Result<Split, StoreError> {
        let mut c = self.conn().await?;
        let tx = c.transaction().await?;
        // one writer of stories at a time, as polls (see the module's documentation)
        super::apply::lock_writers(&tx).await?;
        let copies: Vec<(i64, String, Option<String>)> = tx
            .q(
                "SELECT id, entry_key, canonical_url FROM entries
                 WHERE story_id = $1 AND feed = $2 ORDER BY id",
                &[&story, &feed],
            )
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
        let Some((first, first_key, _)) = copies.first().cloned() else {
            return Ok(Split::NoSuchCopy);
        };
        let others: i64 = tx
            .q1(
                "SELECT count(*) FROM entries WHERE story_id = $1 AND feed != $2",
                &[&story, &feed],
            )
            .await?
            .get(0);
        if others == 0 {
            return Ok(Split::Alone);
        }
        let key = StoryKey::Split {
            feed: feed.to_string(),
            key: first_key,
        }
        .as_stored();
        let new_story: i64 = tx
            .q1(
                "INSERT INTO stories (story_key, title, published, updated, first_seen)
                 SELECT $1, title, published, updated, first_seen FROM entries WHERE id = $2
                 RETURNING id",
                &[&key, &first],
            )
            .await?
            .get(0);
        let joined = serde_json::to_string(&Joined::Split).unwrap_or_default();
        let ids: Vec<i64> = copies.iter().map(|c| c.0).collect();
        tx.x(
            "UPDATE entries SET story_id = $2, split = true, joined = $3 WHERE id = ANY($1)",
            &[&ids, &new_story, &joined],
        )
        .await?;
        // the story no longer claims the copies' URLs, unless one is the story's own key
        let urls: Vec<String> = copies
            .iter()
            .filter_map(|c| c.2.clone())
            .map(|u| StoryKey::Url(u).as_stored())
            .collect();
        tx.x(
            "DELETE FROM story_aliases WHERE story_key = ANY($1) AND story_id = $2",
            &[&urls, &story],
        )
        .await?;
        super::apply::refresh_story(&tx, story).await?;
        super::apply::refresh_story(&tx, new_story).await?;
        super::stories::touch(&tx, chrono::Utc::now()).await?;
        tx.commit().await?;
        Ok(Split::Done {
            story: new_story,
            copies: ids,
        })
    }

    /// The story `what` names: its number, a link of one of its copies (as the feed gave it
    /// or canonical), or its id in the merged feed (`tag:newswire,2026:story/...`).
    pub(in crate::store) async fn find_story(&self, what: &str) -> Result<Option<i64>, StoreError> {
        if let Ok(id) = what.parse::<i64>() {
            return Ok(Some(id));
        }
        let c = self.conn().await?;
        let by_link = c
            .qopt(
                "SELECT story_id FROM entries WHERE link = $1 OR canonical_url = $1 LIMIT 1",
                &[&what],
            )
            .await?;
        if let Some(r) = by_link {
            return Ok(Some(r.get(0)));
        }
        let Some(hash) = what.strip_prefix("tag:newswire,2026:story/") else {
            return Ok(None);
        };
        let rows = c.q("SELECT id, story_key FROM stories", &[]).await?;
        Ok(rows
            .iter()
            .find(|r| crate::dedup::hash_parts(&[r.get::<_, &str>(1)]).starts_with(hash))
            .map(|r| r.get(0)))
    }
}
