//! Feeds and their state, paused hosts; leases, per-host slots and the leader.

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
    pub async fn sync_feeds(&self, feeds: &[FeedSpec]) -> Result<Vec<String>, StoreError> {
        Err(super::not_yet("sync_feeds"))
    }

    pub async fn feed_state(&self, name: &str) -> Result<Option<FeedState>, StoreError> {
        Err(super::not_yet("feed_state"))
    }

    pub async fn feed_states(&self) -> Result<Vec<FeedState>, StoreError> {
        Err(super::not_yet("feed_states"))
    }

    pub async fn record_unchanged(&self, feed: &str, u: &FeedUpdate) -> Result<(), StoreError> {
        Err(super::not_yet("record_unchanged"))
    }

    pub async fn record_paused(
        &self,
        feed: &str,
        at: DateTime<Utc>,
        status: u16,
        host: &str,
        until: DateTime<Utc>,
        reason: &str,
    ) -> Result<(), StoreError> {
        Err(super::not_yet("record_paused"))
    }

    pub async fn host_pause(
        &self,
        host: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(DateTime<Utc>, String)>, StoreError> {
        Err(super::not_yet("host_pause"))
    }

    pub async fn host_pauses(
        &self,
        now: DateTime<Utc>,
    ) -> Result<HashMap<String, (DateTime<Utc>, String)>, StoreError> {
        Err(super::not_yet("host_pauses"))
    }

    pub async fn pause_host(
        &self,
        host: &str,
        until: DateTime<Utc>,
        reason: &str,
    ) -> Result<(), StoreError> {
        Err(super::not_yet("pause_host"))
    }

    pub async fn record_gone(
        &self,
        feed: &str,
        at: DateTime<Utc>,
        error: &str,
    ) -> Result<(), StoreError> {
        Err(super::not_yet("record_gone"))
    }

    pub async fn record_failure(
        &self,
        feed: &str,
        at: DateTime<Utc>,
        status: Option<u16>,
        error: &str,
        next_attempt: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        Err(super::not_yet("record_failure"))
    }

    pub async fn claim_feeds(
        &self,
        feeds: &[String],
        cycle: DateTime<Utc>,
        now: DateTime<Utc>,
        hold: std::time::Duration,
    ) -> Result<Vec<String>, StoreError> {
        Err(super::not_yet("claim_feeds"))
    }

    pub async fn release_feed(&self, feed: &str) -> Result<(), StoreError> {
        Err(super::not_yet("release_feed"))
    }

    pub async fn lead(&self) -> Result<bool, StoreError> {
        Err(super::not_yet("lead"))
    }

    pub async fn take_host_slot(
        &self,
        host: &str,
        per_host: usize,
    ) -> Result<Option<usize>, StoreError> {
        Err(super::not_yet("take_host_slot"))
    }

    pub async fn release_host_slot(&self, host: &str, slot: usize) -> Result<(), StoreError> {
        Err(super::not_yet("release_host_slot"))
    }
}

impl PgStore {
    /// Whether this instance may store a poll of `feed` in transaction `tx`: the feed is
    /// still stored (false: removed from the config meanwhile, store nothing), and where
    /// this instance took its lease, the lease is still its own — the fencing token is the
    /// one it was given. An instance whose lease expired while it fetched (it was stopped,
    /// or its fetch took longer than the lease) gets [`StoreError::LeaseLost`]: the instance
    /// that took the lease over polls the feed. The lease ends with the transaction's write.
    pub(super) async fn fence(
        &self,
        tx: &impl tokio_postgres::GenericClient,
        feed: &str,
    ) -> Result<bool, StoreError> {
        let held = self
            .leases
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(feed);
        let Some(token) = held else {
            return Ok(tx
                .query_opt("SELECT 1 FROM feeds WHERE name = $1 FOR UPDATE", &[&feed])
                .await?
                .is_some());
        };
        let ours = tx
            .query_opt(
                "UPDATE feeds SET lease_owner = NULL, lease_until = NULL
                 WHERE name = $1 AND lease_token = $2 RETURNING 1",
                &[&feed, &token],
            )
            .await?;
        if ours.is_some() {
            return Ok(true);
        }
        let exists = tx
            .query_opt("SELECT 1 FROM feeds WHERE name = $1", &[&feed])
            .await?;
        match exists {
            Some(_) => Err(StoreError::LeaseLost(feed.to_string())),
            None => Ok(false),
        }
    }
}
