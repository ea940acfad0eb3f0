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
