//! The full-text queue's table.

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
    pub(in crate::store) async fn full_text_pending(
        &self,
        feed: &str,
        now: DateTime<Utc>,
        max_attempts: u32,
        limit: usize,
    ) -> Result<Vec<FullTextCandidate>, StoreError> {
        Err(super::not_yet("full_text_pending"))
    }

    pub(in crate::store) async fn record_full_text(
        &self,
        r: &FullTextResult,
    ) -> Result<bool, StoreError> {
        Err(super::not_yet("record_full_text"))
    }

    pub(in crate::store) async fn full_text_counts(
        &self,
    ) -> Result<HashMap<String, BTreeMap<String, u64>>, StoreError> {
        Err(super::not_yet("full_text_counts"))
    }
}
