//! The store's contract: what the rest of newswire asks of a store, in the model's types,
//! with no SQL, connection or row in it. [`Store`] (SQLite) is one implementation; a second
//! (PostgreSQL, for several instances on one database) implements the same trait and passes
//! the same contract suite (`tests/store_contract.rs`).
//!
//! Methods are blocking, like rusqlite: async callers run them on the blocking pool (see
//! [`super::Db::call`]). The list below is written once; the macro makes the trait, its
//! forwarding by [`super::Db`], and both implementations of it: SQLite's calls the inherent method of the same name, PostgreSQL's
//! runs the inherent async method of the same name on the store's runtime.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};

use super::lists::KnownList;
use super::pg::PgStore;
use super::{
    ApplyMarks, ApplyStats, FeedList, FeedState, FeedSync, FeedUpdate, FullTextCandidate,
    FullTextResult, Handover, RuleEntry, Split, Store, StoreError, StoreSettings, Story,
    StoryCopies, StoryQuery,
};
use crate::article::{Article, FeedMeta};
use crate::dedup::Prepared;
use crate::rules::Mark;
use crate::websub::Subscription;

macro_rules! storage {
    ($(
        $(#[$doc:meta])*
        fn $name:ident(&self $(, $arg:ident: $ty:ty)* $(,)?) $(-> $ret:ty)?;
    )*) => {
        /// What a store does for newswire; see the module's documentation.
        pub trait Storage: Send + Sync {
            $(
                $(#[$doc])*
                fn $name(&self $(, $arg: $ty)*) $(-> $ret)?;
            )*
        }

        impl Storage for Store {
            $(
                fn $name(&self $(, $arg: $ty)*) $(-> $ret)? {
                    Store::$name(self $(, $arg)*)
                }
            )*
        }

        impl Storage for super::Db {
            $(
                fn $name(&self $(, $arg: $ty)*) $(-> $ret)? {
                    self.storage().$name($($arg),*)
                }
            )*
        }

        impl Storage for PgStore {
            $(
                fn $name(&self $(, $arg: $ty)*) $(-> $ret)? {
                    self.block(PgStore::$name(self $(, $arg)*))
                }
            )*
        }
    };
}

storage! {
    // settings
    /// Applies `[dedup]` and `[storage]` settings to polls stored from now on.
    fn configure(&self, settings: StoreSettings);

    /// Folds what is pending into the database proper (SQLite: the WAL into the file);
    /// whether all of it was.
    fn checkpoint(&self) -> Result<bool, StoreError>;
    /// The database's size on disk, in bytes.
    fn size_bytes(&self) -> Result<u64, StoreError>;
    /// The same error, with what the store can add about its cause.
    fn explain(&self, e: StoreError) -> StoreError;
    /// Where the store keeps its data, for people ("SQLite /var/lib/newswire/newswire.db").
    fn describe(&self) -> String;

    // several instances on one database
    /// Whether several newswire processes may share this store (each feed's poll is then
    /// claimed before it starts; see [`Storage::claim_feeds`]).
    fn shared(&self) -> bool;
    /// Takes, for the cycle of the schedule's `tick`, the lease of each of `feeds` that no
    /// instance is polling and whose lease was last taken for a tick before `since` (an
    /// earlier cycle); returns those taken, which this instance alone polls until
    /// `now + hold`. A single-process store grants every feed.
    fn claim_feeds(
        &self,
        feeds: &[String],
        tick: DateTime<Utc>,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
        hold: std::time::Duration,
    ) -> Result<Vec<String>, StoreError>;
    /// Lets go of a feed's lease without storing a poll (it was not polled after all).
    fn release_feed(&self, feed: &str) -> Result<(), StoreError>;
    /// Whether this instance leads: writes the output files and runs the periodic upkeep.
    /// One instance leads at a time; when it dies, the next to ask takes over. A
    /// single-process store always leads.
    fn lead(&self) -> Result<bool, StoreError>;
    /// Takes one of `per_host` fetch slots for `host` across every instance, if one is free;
    /// it is held until [`Storage::release_host_slot`] (or the instance's end). A
    /// single-process store grants every slot: its fetcher limits hosts itself.
    fn take_host_slot(&self, host: &str, per_host: usize) -> Result<Option<usize>, StoreError>;
    /// Gives back a slot [`Storage::take_host_slot`] gave.
    fn release_host_slot(&self, host: &str, slot: usize) -> Result<(), StoreError>;

    // feeds and their state
    /// Records an instance's feed list and makes the stored feeds follow: adds its new feeds,
    /// gives moved ones their new URL, removes those no known instance lists, with their
    /// entries (see [`super::lists`]). Says what it removed and how other lists differ.
    fn sync_feeds(&self, list: &FeedList) -> Result<FeedSync, StoreError>;
    /// An instance is still there: its list keeps counting (see [`super::lists::HEARTBEAT`]).
    fn heartbeat(&self, owner: &str, at: DateTime<Utc>) -> Result<(), StoreError>;
    /// Every known instance's feed list.
    fn feed_lists(&self) -> Result<Vec<KnownList>, StoreError>;
    /// Forgets an instance's feed list at once (a machine taken out of service): the feeds
    /// only it listed go at the next sync. False when no list has that name.
    fn forget_feed_list(&self, owner: &str) -> Result<bool, StoreError>;
    /// One feed's state.
    fn feed_state(&self, name: &str) -> Result<Option<FeedState>, StoreError>;
    /// Every feed's state.
    fn feed_states(&self) -> Result<Vec<FeedState>, StoreError>;
    /// A poll that found the feed unchanged (304, or the same body).
    fn record_unchanged(&self, feed: &str, u: &FeedUpdate) -> Result<(), StoreError>;
    /// A poll the server refused for now (429/503 with Retry-After): its host waits.
    fn record_paused(
        &self,
        feed: &str,
        at: DateTime<Utc>,
        status: u16,
        host: &str,
        until: DateTime<Utc>,
        reason: &str,
    ) -> Result<(), StoreError>;
    /// Until when `host` asked to be left alone, and why, if it still does at `now`.
    fn host_pause(
        &self,
        host: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(DateTime<Utc>, String)>, StoreError>;
    /// Every host still paused at `now`.
    fn host_pauses(
        &self,
        now: DateTime<Utc>,
    ) -> Result<HashMap<String, (DateTime<Utc>, String)>, StoreError>;
    /// Records that the server asked to be left alone (full-text pages).
    fn pause_host(&self, host: &str, until: DateTime<Utc>, reason: &str) -> Result<(), StoreError>;
    /// A 410 Gone: the feed is not polled any more.
    fn record_gone(&self, feed: &str, at: DateTime<Utc>, error: &str) -> Result<(), StoreError>;
    /// A failed poll, and when to try again.
    fn record_failure(
        &self,
        feed: &str,
        at: DateTime<Utc>,
        status: Option<u16>,
        error: &str,
        next_attempt: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError>;

    // polls
    /// Stores one feed's poll: its state and its articles, deduplicated into stories as the
    /// plan decides, in one transaction (a crash leaves the feed before or after it).
    fn apply_poll(
        &self,
        feed: &str,
        u: &FeedUpdate,
        meta: &FeedMeta,
        articles: &[Article],
    ) -> Result<ApplyStats, StoreError>;
    /// As [`Storage::apply_poll`], for articles whose text was computed where they were
    /// parsed (the writer only writes), handed over as [`Handover`] says.
    fn apply_prepared(
        &self,
        feed: &str,
        u: &FeedUpdate,
        meta: &FeedMeta,
        articles: Vec<Prepared>,
        handover: Handover,
    ) -> Result<ApplyStats, StoreError>;

    // stories
    /// The newest stories, with their sources.
    fn stories(&self, q: &StoryQuery) -> Result<Vec<Story>, StoreError>;
    /// As [`Storage::stories`], with at most `per_feed` stories of one feed.
    fn stories_fair(&self, q: &StoryQuery, per_feed: Option<usize>) -> Result<Vec<Story>, StoreError>;
    /// (entries, stories) stored.
    fn counts(&self) -> Result<(u64, u64), StoreError>;
    /// When the merged feed last changed.
    fn changed_at(&self) -> Result<Option<DateTime<Utc>>, StoreError>;
    /// A number that grows with every change of the merged feed.
    fn generation(&self) -> Result<i64, StoreError>;
    /// Marks the merged feed changed at `at`.
    fn touch(&self, at: DateTime<Utc>) -> Result<(), StoreError>;
    /// A story's copies, and why each is in it.
    fn story_copies(&self, id: i64) -> Result<Option<StoryCopies>, StoreError>;
    /// Splits `feed`'s copy out of `story`, for good.
    fn split(&self, story: i64, feed: &str) -> Result<Split, StoreError>;
    /// The story a story id, a link or a tag id names.
    fn find_story(&self, what: &str) -> Result<Option<i64>, StoreError>;

    // full text
    /// Entries of `feed` whose article page is due.
    fn full_text_pending(
        &self,
        feed: &str,
        now: DateTime<Utc>,
        max_attempts: u32,
        limit: usize,
    ) -> Result<Vec<FullTextCandidate>, StoreError>;
    /// What came of one entry's page; whether the merged feed changed.
    fn record_full_text(&self, r: &FullTextResult) -> Result<bool, StoreError>;
    /// Full-text outcomes by feed, then outcome.
    fn full_text_counts(&self) -> Result<HashMap<String, BTreeMap<String, u64>>, StoreError>;

    // rules
    /// The oldest publication time stored.
    fn oldest_published(&self) -> Result<Option<DateTime<Utc>>, StoreError>;
    /// Whether rules marked anything (of `feed`).
    fn has_marks(&self, feed: Option<&str>) -> Result<bool, StoreError>;
    /// Identities of `feed`'s entries rules dropped (they stay dropped).
    fn dropped_keys(&self, feed: &str) -> Result<HashSet<String>, StoreError>;
    /// Records what the rules decided of the entries `judged` of one poll.
    fn record_marks(
        &self,
        feed: &str,
        judged: &[String],
        marks: &[Mark],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Entries dropped by rules, by feed.
    fn dropped_counts(&self) -> Result<HashMap<String, u64>, StoreError>;
    /// Stored entries as the rules judge them again.
    fn rule_entries(
        &self,
        since: Option<DateTime<Utc>>,
        feed: Option<&str>,
    ) -> Result<Vec<RuleEntry>, StoreError>;
    /// Applies marks decided again (`rules apply`).
    fn apply_marks(&self, marks: &[(String, Mark)], at: DateTime<Utc>) -> Result<ApplyMarks, StoreError>;
    /// Tags given by rules to stories `ids` (or to their copies).
    fn rule_tags(&self, ids: &[i64], copies: bool) -> Result<HashMap<i64, Vec<String>>, StoreError>;

    // WebSub
    /// Every subscription.
    fn websub_subscriptions(&self) -> Result<Vec<Subscription>, StoreError>;
    /// One feed's subscription.
    fn websub_subscription(&self, feed: &str) -> Result<Option<Subscription>, StoreError>;
    /// The subscription a callback token names.
    fn websub_by_token(&self, token: &str) -> Result<Option<Subscription>, StoreError>;
    /// Saves a subscription.
    fn websub_save(&self, sub: &Subscription) -> Result<(), StoreError>;
    /// Counts a delivery.
    fn websub_count_push(&self, feed: &str, accepted: bool, at: DateTime<Utc>) -> Result<(), StoreError>;
    /// Records a safety poll.
    fn websub_polled(&self, feed: &str, at: DateTime<Utc>) -> Result<(), StoreError>;
    /// Forgets a feed's subscription.
    fn websub_forget(&self, feed: &str) -> Result<(), StoreError>;
}
