//! Why a story holds its copies; split.

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
    pub(in crate::store) async fn story_copies(
        &self,
        id: i64,
    ) -> Result<Option<StoryCopies>, StoreError> {
        Err(super::not_yet("story_copies"))
    }

    pub(in crate::store) async fn split(
        &self,
        story: i64,
        feed: &str,
    ) -> Result<Split, StoreError> {
        Err(super::not_yet("split"))
    }

    pub(in crate::store) async fn find_story(&self, what: &str) -> Result<Option<i64>, StoreError> {
        Err(super::not_yet("find_story"))
    }
}
