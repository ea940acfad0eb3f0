//! One feed: fetch -> parse -> normalize -> store, and one summary log line.
//!
//! [`Poller`] adds what both `newswire poll` and the daemon need around that: a limit on
//! feeds fetched at once, and the guarantee that a feed is never polled twice at the same time.

use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, info, info_span, warn};

use crate::config::{FeedConfig, FetchConfig};
use crate::fetch::{FetchError, Fetched, Fetcher};
use crate::normalize;
use crate::parse;
use crate::store::{ApplyStats, Store, StoreError};

/// How a poll ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A new document was fetched and stored.
    Updated {
        /// What the store made of it.
        stats: ApplyStats,
        /// Entries dropped as repeats within the document.
        duplicates: usize,
        /// HTTP status.
        status: u16,
    },
    /// The server answered 304.
    NotModified,
    /// Fetching, parsing or storing failed; recorded in the feed's state.
    Failed {
        /// HTTP status, if the failure was one.
        status: Option<u16>,
        /// What went wrong, with its causes.
        error: String,
    },
    /// The feed was already being polled; this request was dropped.
    AlreadyRunning,
    /// Shutdown began before the fetch finished; nothing was recorded.
    Cancelled,
}

/// The result of polling one feed.
#[derive(Debug, Clone)]
pub struct PollSummary {
    /// The feed's name.
    pub feed: String,
    /// How it ended.
    pub outcome: Outcome,
    /// Wall time of the poll.
    pub elapsed: Duration,
}

impl PollSummary {
    /// True when the poll failed.
    pub fn failed(&self) -> bool {
        matches!(self.outcome, Outcome::Failed { .. })
    }

    /// True when the poll changed what the merged feed shows.
    pub fn changed(&self) -> bool {
        matches!(&self.outcome, Outcome::Updated { stats, .. } if stats.new + stats.updated + stats.merged > 0)
    }
}

impl fmt::Display for PollSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.elapsed.as_millis();
        match &self.outcome {
            Outcome::Updated {
                stats,
                duplicates,
                status,
            } => write!(
                f,
                "{}: ok ({status}): {} new, {} updated, {} unchanged, {} duplicates, {ms} ms",
                self.feed,
                stats.new,
                stats.updated,
                stats.unchanged,
                stats.merged + duplicates
            ),
            Outcome::NotModified => write!(f, "{}: not modified (304), {ms} ms", self.feed),
            Outcome::Failed { error, .. } => write!(f, "{}: FAILED: {error}, {ms} ms", self.feed),
            Outcome::AlreadyRunning => {
                write!(f, "{}: skipped, a poll is already running", self.feed)
            }
            Outcome::Cancelled => write!(f, "{}: cancelled by shutdown", self.feed),
        }
    }
}

/// An error and its causes on one line, without repeating a cause the message already shows.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

#[derive(Debug, thiserror::Error)]
enum PollError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error(transparent)]
    Parse(#[from] parse::ParseError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Polls one feed and records the result in the store. Never fails: a failure is recorded in
/// the feed's state and returned as [`Outcome::Failed`]. `next_poll` is stored for display.
pub async fn poll_feed(
    store: &Arc<Store>,
    fetcher: &Fetcher,
    feed: &FeedConfig,
    next_poll: Option<DateTime<Utc>>,
    cancel: &CancellationToken,
) -> PollSummary {
    let span = info_span!("poll", feed = %feed.name);
    async move {
        let started = Instant::now();
        let outcome = match run(store, fetcher, feed, next_poll, cancel).await {
            Ok(outcome) => outcome,
            Err(e) => {
                let error = error_chain(&e);
                let status = match &e {
                    PollError::Fetch(f) => f.status(),
                    _ => None,
                };
                let (name, msg) = (feed.name.clone(), error.clone());
                let at = Utc::now();
                if let Err(se) = store
                    .call(move |s| s.record_failure(&name, at, status, &msg, next_poll))
                    .await
                {
                    warn!(error = %error_chain(&se), "could not record the failure");
                }
                Outcome::Failed { status, error }
            }
        };
        let summary = PollSummary {
            feed: feed.name.clone(),
            outcome,
            elapsed: started.elapsed(),
        };
        log_summary(&summary);
        summary
    }
    .instrument(span)
    .await
}

fn log_summary(s: &PollSummary) {
    let elapsed_ms = s.elapsed.as_millis() as u64;
    match &s.outcome {
        Outcome::Updated {
            stats,
            duplicates,
            status,
        } => info!(
            new = stats.new,
            updated = stats.updated,
            unchanged = stats.unchanged,
            duplicates = stats.merged + duplicates,
            status,
            elapsed_ms,
            "polled"
        ),
        Outcome::NotModified => info!(
            new = 0,
            updated = 0,
            duplicates = 0,
            status = 304,
            elapsed_ms,
            "not modified"
        ),
        Outcome::Failed { status, error } => {
            warn!(status = ?status, elapsed_ms, error = %error, "poll failed")
        }
        Outcome::AlreadyRunning => info!("skipped: already being polled"),
        Outcome::Cancelled => info!(elapsed_ms, "cancelled by shutdown"),
    }
}

async fn run(
    store: &Arc<Store>,
    fetcher: &Fetcher,
    feed: &FeedConfig,
    next_poll: Option<DateTime<Utc>>,
    cancel: &CancellationToken,
) -> Result<Outcome, PollError> {
    let name = feed.name.clone();
    let state = store.call(move |s| s.feed_state(&name)).await?;
    let validators = state.map(|s| s.validators).unwrap_or_default();
    let fetched = tokio::select! {
        r = fetcher.fetch(&feed.url, &validators) => r?,
        _ = cancel.cancelled() => return Ok(Outcome::Cancelled),
    };
    let at = Utc::now();
    let name = feed.name.clone();
    match fetched {
        Fetched::NotModified { validators } => {
            store
                .call(move |s| s.record_not_modified(&name, at, 304, &validators, next_poll))
                .await?;
            Ok(Outcome::NotModified)
        }
        Fetched::Modified(body) => {
            let zone = feed.timezone;
            // parsing, normalizing and storing are CPU and disk work: off the async workers
            store
                .call(move |s| {
                    let parsed = match parse::parse_feed(
                        &body.bytes,
                        body.content_type.as_deref(),
                        &body.final_url,
                        zone,
                    ) {
                        Ok(p) => p,
                        Err(e) => return Ok(Err(e)),
                    };
                    let normalized = normalize::normalize(&parsed, &body.final_url, at);
                    let stats = s.apply_poll(
                        &name,
                        at,
                        body.status,
                        &body.validators,
                        &normalized.meta,
                        &normalized.articles,
                        next_poll,
                    )?;
                    Ok(Ok(Outcome::Updated {
                        stats,
                        duplicates: normalized.duplicates,
                        status: body.status,
                    }))
                })
                .await?
                .map_err(PollError::from)
        }
    }
}

/// Polls feeds with a limit on how many run at once, never the same feed twice at a time.
pub struct Poller {
    store: Arc<Store>,
    fetcher: RwLock<(Fetcher, Arc<Semaphore>, FetchConfig)>,
    in_flight: Mutex<HashSet<String>>,
    cancel: CancellationToken,
}

struct InFlight<'a> {
    set: &'a Mutex<HashSet<String>>,
    name: String,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.set
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.name);
    }
}

impl Poller {
    /// A poller over `store` with the `[fetch]` settings; `cancel` aborts fetches in progress.
    pub fn new(
        store: Arc<Store>,
        fetch: &FetchConfig,
        cancel: CancellationToken,
    ) -> Result<Poller, FetchError> {
        Ok(Poller {
            store,
            fetcher: RwLock::new((
                Fetcher::new(fetch)?,
                Arc::new(Semaphore::new(fetch.concurrency)),
                fetch.clone(),
            )),
            in_flight: Mutex::new(HashSet::new()),
            cancel,
        })
    }

    /// Applies new `[fetch]` settings to polls that start from now on.
    pub fn reconfigure(&self, fetch: &FetchConfig) -> Result<(), FetchError> {
        let mut guard = self.fetcher.write().unwrap_or_else(|p| p.into_inner());
        if guard.2 != *fetch {
            *guard = (
                Fetcher::new(fetch)?,
                Arc::new(Semaphore::new(fetch.concurrency)),
                fetch.clone(),
            );
        }
        Ok(())
    }

    /// The store polls write to.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// Names of the feeds being polled right now.
    pub fn running(&self) -> Vec<String> {
        let set = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        set.iter().cloned().collect()
    }

    /// Polls `feed` unless it is already being polled, waiting for a free slot first.
    pub async fn poll(&self, feed: &FeedConfig, next_poll: Option<DateTime<Utc>>) -> PollSummary {
        let _guard = {
            let mut set = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
            if !set.insert(feed.name.clone()) {
                return PollSummary {
                    feed: feed.name.clone(),
                    outcome: Outcome::AlreadyRunning,
                    elapsed: Duration::ZERO,
                };
            }
            InFlight {
                set: &self.in_flight,
                name: feed.name.clone(),
            }
        };
        let (fetcher, semaphore) = {
            let g = self.fetcher.read().unwrap_or_else(|p| p.into_inner());
            (g.0.clone(), Arc::clone(&g.1))
        };
        let _permit = tokio::select! {
            p = semaphore.acquire_owned() => p.ok(),
            _ = self.cancel.cancelled() => None,
        };
        if self.cancel.is_cancelled() {
            return PollSummary {
                feed: feed.name.clone(),
                outcome: Outcome::Cancelled,
                elapsed: Duration::ZERO,
            };
        }
        poll_feed(&self.store, &fetcher, feed, next_poll, &self.cancel).await
    }
}
