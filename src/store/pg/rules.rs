//! What rules marked.

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
    pub(in crate::store) async fn oldest_published(
        &self,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        Err(super::not_yet("oldest_published"))
    }

    pub(in crate::store) async fn has_marks(&self, feed: Option<&str>) -> Result<bool, StoreError> {
        Err(super::not_yet("has_marks"))
    }

    pub(in crate::store) async fn dropped_keys(
        &self,
        feed: &str,
    ) -> Result<HashSet<String>, StoreError> {
        Err(super::not_yet("dropped_keys"))
    }

    pub(in crate::store) async fn record_marks(
        &self,
        feed: &str,
        judged: &[String],
        marks: &[Mark],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        Err(super::not_yet("record_marks"))
    }

    pub(in crate::store) async fn dropped_counts(
        &self,
    ) -> Result<HashMap<String, u64>, StoreError> {
        Err(super::not_yet("dropped_counts"))
    }

    pub(in crate::store) async fn rule_entries(
        &self,
        since: Option<DateTime<Utc>>,
        feed: Option<&str>,
    ) -> Result<Vec<RuleEntry>, StoreError> {
        Err(super::not_yet("rule_entries"))
    }

    pub(in crate::store) async fn apply_marks(
        &self,
        marks: &[(String, Mark)],
        at: DateTime<Utc>,
    ) -> Result<ApplyMarks, StoreError> {
        Err(super::not_yet("apply_marks"))
    }

    pub(in crate::store) async fn rule_tags(
        &self,
        ids: &[i64],
        copies: bool,
    ) -> Result<HashMap<i64, Vec<String>>, StoreError> {
        Err(super::not_yet("rule_tags"))
    }

    pub(in crate::store) async fn stories_fair(
        &self,
        q: &StoryQuery,
        per_feed: Option<usize>,
    ) -> Result<Vec<Story>, StoreError> {
        Err(super::not_yet("stories_fair"))
    }
}
