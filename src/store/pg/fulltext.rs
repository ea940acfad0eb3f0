//! The full-text queue's table (see the SQLite store's fulltext.rs); what an extracted
//! article changes is written by [`PgStore::write_full_text`], under the writers' lock.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};

use super::Cached;
use super::{PgStore, ts};
use crate::store::{FullTextCandidate, FullTextResult, StoreError};

impl PgStore {
    /// Entries of `feed` whose page is due: never fetched for their current version, or
    /// failed for a passing reason whose retry time has come (at most `max_attempts` times).
    /// Newest first, at most `limit`.
    pub(in crate::store) async fn full_text_pending(
        &self,
        feed: &str,
        now: DateTime<Utc>,
        max_attempts: u32,
        limit: usize,
    ) -> Result<Vec<FullTextCandidate>, StoreError> {
        let c = self.conn().await?;
        let rows = c
            .q(
                "SELECT e.id, e.link, e.summary, e.content, e.content_hash,
                        CASE WHEN f.content_hash = e.content_hash THEN f.attempts ELSE 0 END
                 FROM entries e LEFT JOIN fulltext f ON f.entry_id = e.id
                 WHERE e.feed = $1
                   AND (f.entry_id IS NULL OR f.content_hash != e.content_hash
                        OR (f.retry_at IS NOT NULL AND f.retry_at <= $2 AND f.attempts < $3))
                 ORDER BY e.published DESC, e.id DESC LIMIT $4",
                &[
                    &feed,
                    &ts(now),
                    &i64::from(max_attempts),
                    &i64::try_from(limit).unwrap_or(i64::MAX),
                ],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| FullTextCandidate {
                entry_id: r.get(0),
                link: r.get(1),
                summary: r.get(2),
                content: r.get(3),
                content_hash: r.get(4),
                attempts: u32::try_from(r.get::<_, i64>(5)).unwrap_or(u32::MAX),
            })
            .collect())
    }

    /// Records what came of one entry's page; returns whether the merged feed changed
    /// (false too when the entry changed or went since the page was fetched).
    pub(in crate::store) async fn record_full_text(
        &self,
        r: &FullTextResult,
    ) -> Result<bool, StoreError> {
        self.write_full_text(r).await
    }

    /// Full-text outcomes of the stored entries, by feed, then outcome.
    pub(in crate::store) async fn full_text_counts(
        &self,
    ) -> Result<HashMap<String, BTreeMap<String, u64>>, StoreError> {
        let c = self.conn().await?;
        let rows = c
            .q(
                "SELECT f.feed, f.outcome, count(*) FROM fulltext f
                 JOIN entries e ON e.id = f.entry_id AND e.content_hash = f.content_hash
                 GROUP BY f.feed, f.outcome",
                &[],
            )
            .await?;
        let mut out: HashMap<String, BTreeMap<String, u64>> = HashMap::new();
        for r in rows {
            let n: i64 = r.get(2);
            out.entry(r.get(0))
                .or_default()
                .insert(r.get(1), u64::try_from(n).unwrap_or(0));
        }
        Ok(out)
    }
}
