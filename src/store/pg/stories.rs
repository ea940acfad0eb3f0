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
    pub async fn stories(&self, q: &StoryQuery) -> Result<Vec<Story>, StoreError> {
        Err(super::not_yet("stories"))
    }

    pub async fn counts(&self) -> Result<(u64, u64), StoreError> {
        Err(super::not_yet("counts"))
    }

    pub async fn changed_at(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        Err(super::not_yet("changed_at"))
    }

    pub async fn generation(&self) -> Result<i64, StoreError> {
        Err(super::not_yet("generation"))
    }

    pub async fn touch(&self, at: DateTime<Utc>) -> Result<(), StoreError> {
        Err(super::not_yet("touch"))
    }
}
