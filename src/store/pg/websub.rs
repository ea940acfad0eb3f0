//! WebSub subscriptions.

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
    pub(in crate::store) async fn websub_subscriptions(
        &self,
    ) -> Result<Vec<Subscription>, StoreError> {
        Err(super::not_yet("websub_subscriptions"))
    }

    pub(in crate::store) async fn websub_subscription(
        &self,
        feed: &str,
    ) -> Result<Option<Subscription>, StoreError> {
        Err(super::not_yet("websub_subscription"))
    }

    pub(in crate::store) async fn websub_by_token(
        &self,
        token: &str,
    ) -> Result<Option<Subscription>, StoreError> {
        Err(super::not_yet("websub_by_token"))
    }

    pub(in crate::store) async fn websub_save(&self, sub: &Subscription) -> Result<(), StoreError> {
        Err(super::not_yet("websub_save"))
    }

    pub(in crate::store) async fn websub_count_push(
        &self,
        feed: &str,
        accepted: bool,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        Err(super::not_yet("websub_count_push"))
    }

    pub(in crate::store) async fn websub_polled(
        &self,
        feed: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        Err(super::not_yet("websub_polled"))
    }

    pub(in crate::store) async fn websub_forget(&self, feed: &str) -> Result<(), StoreError> {
        Err(super::not_yet("websub_forget"))
    }
}
