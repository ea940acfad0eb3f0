//! Executing a plan: one feed's poll in a transaction (see the SQLite store's apply.rs).

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
    pub async fn apply_poll(
        &self,
        feed: &str,
        u: &FeedUpdate,
        meta: &FeedMeta,
        articles: &[Article],
    ) -> Result<ApplyStats, StoreError> {
        Err(super::not_yet("apply_poll"))
    }

    pub async fn apply_prepared(
        &self,
        feed: &str,
        u: &FeedUpdate,
        meta: &FeedMeta,
        articles: Vec<Prepared>,
    ) -> Result<ApplyStats, StoreError> {
        Err(super::not_yet("apply_prepared"))
    }
}

/// The writer's state between polls.
#[derive(Default)]
pub(super) struct WriterState {}

/// Derives story `story` again from its entries (removed when none is left), in the
/// caller's transaction. Temporary stub: the write path's branch brings the real one.
pub(super) async fn refresh_story(
    tx: &impl tokio_postgres::GenericClient,
    story: i64,
) -> Result<(), StoreError> {
    Ok(())
}
