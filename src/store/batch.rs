//! Group commit: polls queue for the writer, and whoever holds it writes every queued
//! poll in one transaction (see [`Store::apply_poll`]).

use std::sync::{Arc, Mutex};

use chrono::Utc;
use rusqlite::Connection;

use crate::article::{Article, FeedMeta};
use crate::dedup::Prepared;

use super::{FeedUpdate, Store, StoreError, apply, lock, packed};

/// The result of storing one poll's articles.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApplyStats {
    /// Entries that made a new story.
    pub new: usize,
    /// Entries that changed since the last poll (updated in place).
    pub updated: usize,
    /// Entries seen before, unchanged.
    pub unchanged: usize,
    /// New entries that joined a story another feed already carried.
    pub merged: usize,
    /// Entries pruned by retention (and kept as tombstones).
    pub pruned: usize,
}

/// How a caller hands its poll to the writer.
#[derive(Default)]
pub struct Handover {
    /// What the caller holds while its poll waits for the writer (a permit of those that
    /// bound how many polls wait at once): dropped as soon as a writer has taken the poll,
    /// so that the permit goes to the next poll while this one is written, not after.
    pub slot: Option<Box<dyn Send>>,
    /// Whether the articles' bodies are packed (zstd, SQLite) by the caller's thread before
    /// the poll waits for the writer, so that the writer only writes them: for a poll whose
    /// articles are all new (a feed's first). Otherwise the writer packs what it writes,
    /// which is little (a later poll's articles are mostly unchanged, and not written).
    pub pack_ahead: bool,
}

/// The result of one queued poll, filled in by whichever caller wrote it.
type Outcome = Arc<Mutex<Option<Result<ApplyStats, StoreError>>>>;

/// One feed's poll waiting to be written; see [`Store::apply_poll`].
pub(super) struct PendingPoll {
    pub(super) feed: String,
    pub(super) update: FeedUpdate,
    pub(super) meta: FeedMeta,
    pub(super) articles: Vec<Prepared>,
    /// Each article's content packed for storing ([`packed::frame`]) by the poll's own
    /// thread before it waited for the writer ([`Handover::pack_ahead`]; packing took the
    /// writer a tenth of a first poll), or `None`: the writer packs what it writes.
    pub(super) frames: Option<Vec<Option<Vec<u8>>>>,
    /// The caller's [`Handover::slot`], until a writer takes the poll.
    pub(super) slot: Option<Box<dyn Send>>,
    pub(super) outcome: Outcome,
}

impl PendingPoll {
    pub(super) fn new(
        feed: &str,
        update: FeedUpdate,
        meta: FeedMeta,
        articles: Vec<Prepared>,
        handover: Handover,
    ) -> PendingPoll {
        let frames = handover.pack_ahead.then(|| {
            articles
                .iter()
                .map(|p| packed::frame(p.article.content.as_deref()))
                .collect()
        });
        PendingPoll {
            feed: feed.to_string(),
            update,
            meta,
            articles,
            frames,
            slot: handover.slot,
            outcome: Outcome::default(),
        }
    }

    /// The bytes of text its articles hold (bodies, summaries, their plain text): what
    /// keeping it in memory until its transaction commits costs, roughly.
    fn text_bytes(&self) -> usize {
        self.articles
            .iter()
            .map(|p| {
                let a = &p.article;
                a.content.as_ref().map_or(0, String::len)
                    + a.summary.as_ref().map_or(0, String::len)
                    + p.text.body.len()
            })
            .sum()
    }
}

/// How much of the queue one transaction takes in: the polls it holds stay in memory until
/// it commits (should it fail, each is written again alone).
#[derive(Default)]
pub(super) struct TransactionBudget {
    bytes: usize,
    polls: usize,
}

/// The text one transaction takes in before it commits (give or take one poll).
pub(super) const TRANSACTION_TEXT_BYTES: usize = 1 << 20;

/// The polls one transaction takes in before it commits (give or take a batch): each stays
/// in memory until the commit. On the 10,000-feed first poll (small documents, the writer
/// the bottleneck) eight measured 123-134 MB at peak, six 122-128 MB, four 118-129 MB, like
/// the single batch's 118-126 MB (the target is under 128); on the N=1000 farm eight made
/// the first poll 8% shorter, four 3% (bench/RESULTS.md).
pub(super) const TRANSACTION_POLLS: usize = 4;

impl TransactionBudget {
    pub(super) fn spend(&mut self, polls: &[PendingPoll]) {
        self.bytes += polls.iter().map(PendingPoll::text_bytes).sum::<usize>();
        self.polls += polls.len();
    }

    pub(super) fn spent(&self) -> bool {
        self.bytes >= TRANSACTION_TEXT_BYTES || self.polls >= TRANSACTION_POLLS
    }
}

#[cfg(test)]
impl PendingPoll {
    /// A successful poll of `feed` at a fixed time, as the store's tests queue one.
    pub(super) fn of(feed: &str, articles: Vec<Prepared>) -> PendingPoll {
        let update = FeedUpdate {
            at: chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default(),
            status: 200,
            ..Default::default()
        };
        PendingPoll::new(
            feed,
            update,
            FeedMeta::default(),
            articles,
            Handover::default(),
        )
    }
}

impl Store {
    /// Stores one successful poll of `feed` in one transaction: its new state, and every
    /// article (new ones inserted, changed ones updated in place, stories re-derived).
    /// The articles' text is computed here, before the writer is taken; see
    /// [`Store::apply_prepared`] for articles whose text is computed already.
    pub fn apply_poll(
        &self,
        feed: &str,
        u: &FeedUpdate,
        meta: &FeedMeta,
        articles: &[Article],
    ) -> Result<ApplyStats, StoreError> {
        let prepared = articles.iter().cloned().map(Prepared::new).collect();
        self.apply_prepared(feed, u, meta, prepared, Handover::default())
    }

    /// [`Store::apply_poll`] for articles whose text was computed where they were parsed:
    /// the writer only writes; see [`Handover`] for how.
    pub fn apply_prepared(
        &self,
        feed: &str,
        u: &FeedUpdate,
        meta: &FeedMeta,
        articles: Vec<Prepared>,
        handover: Handover,
    ) -> Result<ApplyStats, StoreError> {
        let poll = PendingPoll::new(feed, u.clone(), meta.clone(), articles, handover);
        let outcome = Arc::clone(&poll.outcome);
        lock(&self.pending).push(poll);
        let mut conn = lock(&self.writer);
        // Group commit: the caller holding the writer takes every poll queued meanwhile and
        // writes them in one transaction, and those queued while it writes (up to a
        // budget) join it before it commits. Committing costs a write of every page the
        // transaction touched; polls finishing together share those pages (index pages
        // above all), so a first poll of 1000 feeds writes a fraction of the WAL it would
        // with one transaction each. A crash still leaves each feed as it was before or
        // after its poll, never in between.
        if let Some(done) = lock(&outcome).take() {
            return done;
        }
        let batch = self.take_queued();
        // polls queued while this transaction is written join it, up to a budget
        let mut budget = TransactionBudget::default();
        budget.spend(&batch);
        let (joined, results) = self.write_polls(&mut conn, &batch, &mut || {
            if budget.spent() {
                return Vec::new();
            }
            let more = self.take_queued();
            budget.spend(&more);
            more
        });
        for (poll, result) in batch.iter().chain(&joined).zip(results) {
            *lock(&poll.outcome) = Some(result);
        }
        drop(conn);
        let done = lock(&outcome).take();
        done.unwrap_or_else(|| Err(StoreError::Task("a queued poll was not written".into())))
    }

    /// Every queued poll, taken by the writer: their callers' slots are given back.
    fn take_queued(&self) -> Vec<PendingPoll> {
        let mut batch = std::mem::take(&mut *lock(&self.pending));
        for poll in &mut batch {
            poll.slot = None;
        }
        batch
    }

    /// Writes queued polls in one transaction. When one of them fails, the transaction is
    /// rolled back and each poll is written in a transaction of its own, so that only the
    /// failing one is lost. (Not a savepoint per poll: savepoints journal every page they
    /// change, which cost a tenth of a first poll.)
    #[cfg(test)]
    pub(super) fn write_batch(
        &self,
        conn: &mut Connection,
        batch: &[PendingPoll],
    ) -> Vec<Result<ApplyStats, StoreError>> {
        self.write_polls(conn, batch, &mut Vec::new).1
    }

    /// [`Store::write_batch`], and then, in the same transaction, the polls `more` gives
    /// (until it gives none): those are returned, and the results are of `batch`'s polls,
    /// then of theirs. Committing writes every page the transaction touched, the index
    /// pages above all, and makes the search index flush a segment that later merges read
    /// again: polls queued while a transaction is written share that cost when they join it.
    pub(super) fn write_polls(
        &self,
        conn: &mut Connection,
        batch: &[PendingPoll],
        more: &mut dyn FnMut() -> Vec<PendingPoll>,
    ) -> (Vec<PendingPoll>, Vec<Result<ApplyStats, StoreError>>) {
        let settings = self.settings();
        let mut held = lock(&self.bands);
        let mut joined: Vec<PendingPoll> = Vec::new();
        if settings.near_duplicates {
            if let Err(e) = held.refresh(conn, &settings, Utc::now()) {
                let e = StoreError::from(e);
                return (joined, batch.iter().map(|_| Err(e.duplicate())).collect());
            }
        }
        let bands = std::cell::RefCell::new(std::mem::take(&mut *held));
        let mut write = |conn: &mut Connection,
                         polls: &[PendingPoll],
                         joined: Option<&mut Vec<PendingPoll>>| {
            let tx = conn.transaction()?;
            let mut stats = apply::apply_batch(&tx, polls, &settings, &bands)?;
            if let Some(joined) = joined {
                loop {
                    let next = more();
                    if next.is_empty() {
                        break;
                    }
                    let from = joined.len();
                    joined.extend(next);
                    stats.extend(apply::apply_batch(&tx, &joined[from..], &settings, &bands)?);
                }
            }
            tx.commit()?;
            Ok::<_, StoreError>(stats)
        };
        let outcome = write(conn, batch, Some(&mut joined));
        let all = || batch.iter().chain(&joined);
        let results = match outcome {
            Ok(stats) => stats.into_iter().map(Ok).collect(),
            Err(e) if batch.len() + joined.len() == 1 => vec![Err(e)],
            // locked, full, read-only: each poll alone would fail the same way, each after
            // its own wait for the lock
            Err(e) if e.is_unavailable() => all().map(|_| Err(e.duplicate())).collect(),
            Err(_) => all()
                .map(|poll| {
                    write(conn, std::slice::from_ref(poll), None)
                        .map(|mut s| s.pop().unwrap_or_default())
                })
                .collect(),
        };
        *held = bands.into_inner();
        (joined, results)
    }
}
