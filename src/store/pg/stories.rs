//! Story queries (search as tsquery), counts, the generation.

use chrono::{DateTime, Utc};

use super::Cached;
use super::PgStore;
use crate::dedup::StoryFields;
use crate::store::reads::{self, Dialect, Sql};
use crate::store::{StoreError, Story, StoryQuery, StorySource, from_json};

impl PgStore {
    /// The newest stories, by published time, with their sources (as SQLite's: the same
    /// statement, searching the stories' tsvector where SQLite searches FTS5).
    pub(in crate::store) async fn stories(&self, q: &StoryQuery) -> Result<Vec<Story>, StoreError> {
        // the query comes compiled for FTS5 (see `publish::select`): read back, as tsquery
        let tsquery = |list: &[String]| -> Result<Vec<String>, StoreError> {
            list.iter()
                .map(|s| crate::search::tsquery_from_fts5(s).map_err(StoreError::BadQuery))
                .collect()
        };
        let (search, exclude) = (tsquery(&q.search)?, tsquery(&q.exclude)?);
        let c = self.conn().await?;
        let hidden = super::rules::any_marks(&c, None, &["hide"]).await?;
        let matches = |story_of: &str, p: &str, negate: bool| {
            let q = format!("to_tsquery('simple', {p})");
            match (story_of, negate) {
                ("s.id", false) => format!("s.search @@ {q}"),
                // a story not indexed matches nothing, as in SQLite
                ("s.id", true) => format!("NOT coalesce(s.search @@ {q}, false)"),
                (_, negate) => format!(
                    "{story_of} {}IN (SELECT id FROM stories WHERE search @@ {q})",
                    if negate { "NOT " } else { "" }
                ),
            }
        };
        let mut sql = Sql::new(Dialect::Postgres);
        let Some(text) = reads::stories_sql(q, &mut sql, &search, &exclude, hidden, &matches)
        else {
            return Ok(Vec::new());
        };
        let rows = c.q(&text, &sql.pg_args()).await?;
        let mut stories: Vec<Story> = rows
            .iter()
            .map(|r| Story {
                id: r.get(0),
                key: r.get(1),
                fields: StoryFields {
                    title: r.get(2),
                    link: r.get(3),
                    published: super::from_ts(r.get(4)),
                    updated: super::from_ts(r.get(5)),
                    summary: r.get(6),
                    content: r.get(7),
                    authors: from_json(r.get(8)),
                    categories: from_json(r.get(9)),
                    image: r.get(10),
                    image_credit: r.get(13),
                    language: r.get(11),
                    first_seen: super::from_ts(r.get(12)),
                },
                sources: Vec::new(),
            })
            .collect();
        if stories.is_empty() {
            return Ok(stories);
        }
        let ids: Vec<i64> = stories.iter().map(|s| s.id).collect();
        let mut sql = Sql::new(Dialect::Postgres);
        let text = reads::sources_sql(&mut sql, q.copies, &ids);
        let rows = c.q(&text, &sql.pg_args()).await?;
        reads::attach_sources(
            &mut stories,
            rows.iter().map(|r| {
                (
                    r.get(0),
                    StorySource {
                        feed: r.get(1),
                        feed_title: r.get(2),
                        feed_url: r.get(3),
                        site_url: r.get(4),
                        link: r.get(5),
                    },
                )
            }),
        );
        Ok(stories)
    }

    /// Number of entries and stories stored.
    pub(in crate::store) async fn counts(&self) -> Result<(u64, u64), StoreError> {
        let c = self.conn().await?;
        let r = c
            .q1(
                "SELECT (SELECT count(*) FROM entries), (SELECT count(*) FROM stories)",
                &[],
            )
            .await?;
        Ok((r.get::<_, i64>(0) as u64, r.get::<_, i64>(1) as u64))
    }

    /// When what the merged feed shows last changed, if ever.
    pub(in crate::store) async fn changed_at(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let c = self.conn().await?;
        let r = c
            .qopt("SELECT value FROM store_meta WHERE key = 'changed_at'", &[])
            .await?;
        Ok(r.map(|r| super::from_ts(r.get(0))))
    }

    /// A number that grows with every change to what the merged feed shows (0 before any).
    pub(in crate::store) async fn generation(&self) -> Result<i64, StoreError> {
        let c = self.conn().await?;
        let r = c
            .qopt("SELECT value FROM store_meta WHERE key = 'generation'", &[])
            .await?;
        Ok(r.map_or(0, |r| r.get(0)))
    }

    /// Records that what the merged feed shows changed at `at` (never moves back).
    pub(in crate::store) async fn touch(&self, at: DateTime<Utc>) -> Result<(), StoreError> {
        let c = self.conn().await?;
        touch(&c, at).await
    }
}

/// Records that what the merged feed shows changed at `at` (never moves back), in the
/// caller's transaction.
pub(super) async fn touch(
    c: &impl deadpool_postgres::GenericClient,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    c.x(
        "INSERT INTO store_meta (key, value) VALUES ('changed_at', $1)
         ON CONFLICT (key) DO UPDATE SET value = greatest(store_meta.value, excluded.value)",
        &[&super::ts(at)],
    )
    .await?;
    // a counter as well: several changes can fall in one second
    c.x(
        "INSERT INTO store_meta (key, value) VALUES ('generation', 1)
         ON CONFLICT (key) DO UPDATE SET value = store_meta.value + 1",
        &[],
    )
    .await?;
    Ok(())
}
