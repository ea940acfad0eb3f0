//! Story queries (search as tsquery), counts, the generation.

#![allow(unused_variables, unused_imports)]

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};

use super::PgStore;
use crate::article::{Article, FeedMeta};
use crate::dedup::Prepared;
use crate::rules::Mark;
use crate::store::*;
use crate::websub::Subscription;

impl PgStore {
    pub(in crate::store) async fn stories(&self, q: &StoryQuery) -> Result<Vec<Story>, StoreError> {
        Err(super::not_yet("stories"))
    }

    pub(in crate::store) async fn counts(&self) -> Result<(u64, u64), StoreError> {
        let c = self.conn().await?;
        let r = c
            .query_one(
                "SELECT (SELECT count(*) FROM entries), (SELECT count(*) FROM stories)",
                &[],
            )
            .await?;
        Ok((r.get::<_, i64>(0) as u64, r.get::<_, i64>(1) as u64))
    }

    pub(in crate::store) async fn changed_at(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let c = self.conn().await?;
        let r = c
            .query_opt("SELECT value FROM store_meta WHERE key = 'changed_at'", &[])
            .await?;
        Ok(r.map(|r| super::from_ts(r.get(0))))
    }

    pub(in crate::store) async fn generation(&self) -> Result<i64, StoreError> {
        let c = self.conn().await?;
        let r = c
            .query_opt("SELECT value FROM store_meta WHERE key = 'generation'", &[])
            .await?;
        Ok(r.map_or(0, |r| r.get(0)))
    }

    pub(in crate::store) async fn touch(&self, at: DateTime<Utc>) -> Result<(), StoreError> {
        let c = self.conn().await?;
        touch(&**c, at).await
    }
}

/// Records that what the merged feed shows changed at `at` (never moves back), in the
/// caller's transaction.
pub(super) async fn touch(
    c: &impl tokio_postgres::GenericClient,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO store_meta (key, value) VALUES ('changed_at', $1)
         ON CONFLICT (key) DO UPDATE SET value = greatest(store_meta.value, excluded.value)",
        &[&super::ts(at)],
    )
    .await?;
    // a counter as well: several changes can fall in one second
    c.execute(
        "INSERT INTO store_meta (key, value) VALUES ('generation', 1)
         ON CONFLICT (key) DO UPDATE SET value = store_meta.value + 1",
        &[],
    )
    .await?;
    Ok(())
}
