//! What rules marked (see the SQLite store's rules.rs), and the merged view's fair shares.

use std::collections::{BTreeSet, HashMap, HashSet};

use super::Cached;
use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;

use super::{PgStore, from_ts, ts};
use crate::article::{Article, ArticleKey};
use crate::rules::Mark;
use crate::store::reads::{self, Dialect, FairPages, Sql};
use crate::store::{ApplyMarks, RuleEntry, StoreError, Story, StoryQuery, from_json};

/// Records one mark (a mark already there takes the newer rule and time).
async fn insert_mark(
    tx: &impl GenericClient,
    feed: &str,
    m: &Mark,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    tx.x(
        "INSERT INTO rule_marks (feed, entry_key, action, value, rule, at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (feed, entry_key, action, value) DO UPDATE SET rule = $5, at = $6",
        &[&feed, &m.entry_key, &m.action, &m.value, &m.rule, &ts(at)],
    )
    .await?;
    Ok(())
}

/// Whether a mark with one of `actions` exists (for `feed`, if given).
pub(super) async fn any_marks(
    c: &impl GenericClient,
    feed: Option<&str>,
    actions: &[&str],
) -> Result<bool, StoreError> {
    let actions: Vec<&str> = actions.to_vec();
    // two statements, not one with `$2 IS NULL OR feed = $2` (see `query_feed_states`)
    let row = match feed {
        Some(feed) => {
            c.q1(
                "SELECT EXISTS (SELECT 1 FROM rule_marks WHERE feed = $2 AND action = ANY($1))",
                &[&actions, &feed],
            )
            .await?
        }
        None => {
            c.q1(
                "SELECT EXISTS (SELECT 1 FROM rule_marks WHERE action = ANY($1))",
                &[&actions],
            )
            .await?
        }
    };
    Ok(row.get(0))
}

impl PgStore {
    /// The publication time of the oldest story, if any.
    pub(in crate::store) async fn oldest_published(
        &self,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let c = self.conn().await?;
        let t: Option<i64> = c
            .q1("SELECT min(published) FROM stories", &[])
            .await?
            .get(0);
        Ok(t.map(from_ts))
    }

    /// Whether any entry of `feed` (or, `None`, of any feed) is hidden or tagged by a rule.
    pub(in crate::store) async fn has_marks(&self, feed: Option<&str>) -> Result<bool, StoreError> {
        any_marks(&self.conn().await?, feed, &["hide", "tag"]).await
    }

    /// The identities of `feed`'s entries that rules dropped: they stay dropped.
    pub(in crate::store) async fn dropped_keys(
        &self,
        feed: &str,
    ) -> Result<HashSet<String>, StoreError> {
        let c = self.conn().await?;
        let rows = c
            .q(
                "SELECT entry_key FROM rule_marks WHERE feed = $1 AND action = 'drop'",
                &[&feed],
            )
            .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    /// Records what the rules decided about the entries of one poll of `feed`, before they
    /// are stored (see the SQLite store's `record_marks`).
    pub(in crate::store) async fn record_marks(
        &self,
        feed: &str,
        judged: &[String],
        marks: &[Mark],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut c = self.conn().await?;
        let tx = c.transaction().await?;
        let has_marks: bool = tx
            .q1(
                "SELECT EXISTS (SELECT 1 FROM rule_marks WHERE feed = $1 AND action != 'drop')",
                &[&feed],
            )
            .await?
            .get(0);
        if has_marks && !judged.is_empty() {
            tx.x(
                "DELETE FROM rule_marks
                 WHERE feed = $1 AND entry_key = ANY($2) AND action != 'drop'",
                &[&feed, &judged],
            )
            .await?;
        }
        for m in marks {
            insert_mark(&tx, feed, m, at).await?;
        }
        if has_marks || !marks.is_empty() {
            super::stories::touch(&tx, at).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Entries dropped by rules, per feed.
    pub(in crate::store) async fn dropped_counts(
        &self,
    ) -> Result<HashMap<String, u64>, StoreError> {
        let c = self.conn().await?;
        let rows = c
            .q(
                "SELECT feed, count(*) FROM rule_marks WHERE action = 'drop' GROUP BY feed",
                &[],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| (r.get(0), r.get::<_, i64>(1) as u64))
            .collect())
    }

    /// Stored entries, for `rules test` and `rules apply`: of `feed` only, if given, and
    /// first seen since `since`, if given.
    pub(in crate::store) async fn rule_entries(
        &self,
        since: Option<DateTime<Utc>>,
        feed: Option<&str>,
    ) -> Result<Vec<RuleEntry>, StoreError> {
        let c = self.conn().await?;
        let rows = c
            .q(
                "SELECT feed, entry_key, story_id, guid, title, link, canonical_url, authors,
                        published, updated, summary, content, categories, image, language,
                        image_credit
                 FROM entries
                 WHERE ($1::bigint IS NULL OR first_seen >= $1)
                   AND ($2::text IS NULL OR feed = $2)
                 ORDER BY feed COLLATE \"C\", published DESC, id DESC",
                &[&since.map(ts), &feed],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| {
                let key: String = r.get(1);
                RuleEntry {
                    feed: r.get(0),
                    story_id: r.get(2),
                    article: Article {
                        key: ArticleKey::Guid(key.clone()),
                        guid: r.get(3),
                        title: r.get(4),
                        link: r.get(5),
                        canonical_url: r.get(6),
                        authors: from_json(r.get(7)),
                        published: Some(from_ts(r.get(8))),
                        updated: Some(from_ts(r.get(9))),
                        summary: r.get(10),
                        content: r.get(11),
                        categories: from_json(r.get(12)),
                        image: r.get(13),
                        language: r.get(14),
                        image_credit: r.get(15),
                    },
                    entry_key: key,
                }
            })
            .collect())
    }

    /// `rules apply`: replaces every hide and tag mark with `marks`', and removes the
    /// entries `marks` drop, keeping their identities. One transaction.
    pub(in crate::store) async fn apply_marks(
        &self,
        marks: &[(String, Mark)],
        at: DateTime<Utc>,
    ) -> Result<ApplyMarks, StoreError> {
        let mut c = self.conn().await?;
        let tx = c.transaction().await?;
        // it removes entries and derives stories again: one writer at a time, as polls
        super::apply::lock_writers(&tx).await?;
        tx.x("DELETE FROM rule_marks WHERE action != 'drop'", &[])
            .await?;
        let mut done = ApplyMarks::default();
        let mut dirty: BTreeSet<i64> = BTreeSet::new();
        for (feed, m) in marks {
            insert_mark(&tx, feed, m, at).await?;
            match m.action {
                "drop" => {
                    let found = tx
                        .qopt(
                            "DELETE FROM entries WHERE feed = $1 AND entry_key = $2
                             RETURNING story_id",
                            &[feed, &m.entry_key],
                        )
                        .await?;
                    if let Some(r) = found {
                        dirty.insert(r.get(0));
                        done.dropped += 1;
                    }
                }
                "hide" => done.hidden += 1,
                _ => done.tagged += 1,
            }
        }
        for story in dirty {
            super::apply::refresh_story(&tx, story).await?;
        }
        super::stories::touch(&tx, at).await?;
        tx.commit().await?;
        Ok(done)
    }

    /// The tags rules gave the stories (or, `copies`, the entries) with these ids.
    pub(in crate::store) async fn rule_tags(
        &self,
        ids: &[i64],
        copies: bool,
    ) -> Result<HashMap<i64, Vec<String>>, StoreError> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let c = self.conn().await?;
        let mut sql = Sql::new(Dialect::Postgres);
        let text = reads::rule_tags_sql(&mut sql, copies, ids);
        let mut out: HashMap<i64, Vec<String>> = HashMap::new();
        for r in c.q(&text, &sql.pg_args()).await? {
            out.entry(r.get(0)).or_default().push(r.get(1));
        }
        Ok(out)
    }

    /// As [`PgStore::stories`], with at most `per_feed` stories counted against any one
    /// feed (see [`crate::fair::FairShare`]).
    pub(in crate::store) async fn stories_fair(
        &self,
        q: &StoryQuery,
        per_feed: Option<usize>,
    ) -> Result<Vec<Story>, StoreError> {
        if per_feed.is_none() {
            return self.stories(q).await;
        }
        let feeds: Vec<String> = match &q.feeds {
            Some(f) => f.clone(),
            None => {
                let c = self.conn().await?;
                let rows = c.q("SELECT name FROM feeds", &[]).await?;
                rows.iter().map(|r| r.get(0)).collect()
            }
        };
        let mut pages = FairPages::new(q, per_feed, feeds);
        while pages.take(self.stories(pages.page()).await?) {}
        Ok(pages.done())
    }
}
