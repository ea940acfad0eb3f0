//! One feed: fetch -> parse -> normalize -> store, and one summary log line.
//!
//! Around that, the politeness rules: a server's Retry-After pauses its whole host, failures
//! back off exponentially, a 410 retires the feed, a permanent redirect is remembered, cache
//! hints may lengthen the interval. [`Poller`] adds limits on feeds fetched at once, overall
//! and per host, and the guarantee that a feed is never polled twice at the same time.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, debug, error, info, info_span, warn};
use url::Url;

use crate::config::{FeedConfig, FetchConfig, Schedule};
use crate::dedup::{hash_parts, hash_text_bytes};
use crate::fetch::{FetchError, Fetched, Fetcher};
use crate::logging::POLL_SUMMARY;
pub use crate::logging::error_chain;
use crate::normalize;
use crate::parse;
use crate::rules::{self, Rule};
use crate::store::{ApplyStats, Db, FeedState, FeedUpdate, Handover, StoreError};

/// Longest pause a server's Retry-After can impose.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(7 * 24 * 3600);
/// Longest wait after repeated failures.
pub const MAX_BACKOFF: Duration = Duration::from_secs(24 * 3600);
/// Longest interval a cache hint (ttl, max-age, Expires) can set.
pub const MAX_CACHE_HINT: Duration = Duration::from_secs(24 * 3600);
/// A scheduled poll goes ahead when its feed's next attempt is at most this far ahead: cron
/// ticks and poll durations are not exact, and a wait of one interval must not become two.
const SLACK: Duration = Duration::from_secs(30);

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
    /// The feed was fetched but the database could not take the result (locked by another
    /// process, disk full, read-only): nothing of the feed changed in the store, so its next
    /// poll fetches the whole document again. Not counted as the feed's failure, which would
    /// be a write too and would back the feed off.
    NotStored {
        /// Why the database refused it.
        error: String,
    },
    /// The server sent the very bytes it sent last time: not parsed, nothing written.
    Unchanged,
    /// Fetching, parsing or storing failed; recorded in the feed's state.
    Failed {
        /// HTTP status, if the failure was one.
        status: Option<u16>,
        /// What went wrong, with its causes.
        error: String,
        /// No attempt before this (exponential backoff).
        retry_at: DateTime<Utc>,
    },
    /// The feed's server asked to be left alone (429/503 with Retry-After), now or before.
    Paused {
        /// Until when.
        until: DateTime<Utc>,
        /// What the server said.
        reason: String,
    },
    /// The feed answered 410 Gone, now or before; it is not polled until its URL changes.
    Gone,
    /// Backoff or a cache hint says not yet; nothing was requested.
    Deferred {
        /// The earliest next attempt.
        until: DateTime<Utc>,
    },
    /// The feed was already being polled; this request was dropped.
    AlreadyRunning,
    /// Another newswire instance on the same database polls the feed this cycle (it holds
    /// the feed's lease, or polled it already).
    Elsewhere,
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
    /// The WebSub hub and self URLs the response advertised (feeds with `websub` on only):
    /// `None` when nothing could be learnt (a failed fetch).
    pub websub: Option<crate::websub::Discovery>,
}

impl PollSummary {
    /// True when the poll failed, or its result could not be stored.
    pub fn failed(&self) -> bool {
        matches!(
            self.outcome,
            Outcome::Failed { .. } | Outcome::NotStored { .. }
        )
    }

    /// True when the poll changed what the merged feed shows.
    pub fn changed(&self) -> bool {
        matches!(&self.outcome, Outcome::Updated { stats, .. } if stats.new + stats.updated + stats.merged > 0)
    }
}

fn hhmm(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

impl fmt::Display for PollSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.elapsed.as_millis();
        let name = &self.feed;
        match &self.outcome {
            Outcome::Updated {
                stats,
                duplicates,
                status,
            } => write!(
                f,
                "{name}: ok ({status}): {} new, {} updated, {} unchanged, {} duplicates, {ms} ms",
                stats.new,
                stats.updated,
                stats.unchanged,
                stats.merged + duplicates
            ),
            Outcome::NotModified => write!(f, "{name}: not modified (304), {ms} ms"),
            Outcome::NotStored { error } => write!(f, "{name}: NOT STORED: {error}, {ms} ms"),
            Outcome::Unchanged => write!(
                f,
                "{name}: unchanged (200, same bytes as last time), {ms} ms"
            ),
            Outcome::Failed {
                error, retry_at, ..
            } => {
                write!(
                    f,
                    "{name}: FAILED: {error}, {ms} ms; next try after {}",
                    hhmm(retry_at)
                )
            }
            Outcome::Paused { until, reason } => write!(
                f,
                "{name}: paused by the server until {} ({reason}); poll --force to override",
                hhmm(until)
            ),
            Outcome::Gone => write!(
                f,
                "{name}: gone (HTTP 410): not polled until its url changes in the config; poll --force to try anyway"
            ),
            Outcome::Deferred { until } => {
                write!(f, "{name}: not yet (next attempt after {})", hhmm(until))
            }
            Outcome::AlreadyRunning => write!(f, "{name}: skipped, a poll is already running"),
            Outcome::Elsewhere => write!(f, "{name}: polled by another instance this cycle"),
            Outcome::Cancelled => write!(f, "{name}: cancelled by shutdown"),
        }
    }
}

/// How long to wait after the `failures`-th consecutive failure: the normal interval,
/// doubled for each failure after the first, with jitter (75-100%) so that feeds failing
/// together do not come back together, capped at [`MAX_BACKOFF`].
pub fn backoff(interval: Duration, failures: u32, feed: &str) -> Duration {
    let doublings = failures.saturating_sub(1).min(20);
    let base = interval.saturating_mul(1u32 << doublings).min(MAX_BACKOFF);
    let h = hash_parts(&[feed, &failures.to_string()]);
    let r = u16::from_str_radix(&h[..4], 16).unwrap_or(0) as f64 / 65536.0;
    base.mul_f64(0.75 + 0.25 * r)
}

/// What a caller allows a poll to skip.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PollOptions {
    /// Ignore server pauses, 410 Gone and backoff: request the feed now.
    pub force: bool,
    /// Skip the feed while its backoff or cache hint says not yet (the daemon does;
    /// a manual `newswire poll` does not).
    pub respect_backoff: bool,
    /// When the daemon's schedule tick that asked for this poll fired. On a database several
    /// instances share, a feed polled since half an interval before the tick counts as
    /// polled this cycle; without a tick (`newswire poll`: every feed now), or with `force`,
    /// only a poll in progress elsewhere keeps a feed from being polled.
    pub tick: Option<DateTime<Utc>>,
    /// A poll at start (or of a feed just added), not at a tick: on a shared database, a
    /// feed another instance polled within the last whole interval is left for the next
    /// tick, so that an instance joining the cluster does not poll everything again.
    pub joining: bool,
}

#[derive(Debug, thiserror::Error)]
enum PollError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error(transparent)]
    Parse(#[from] parse::ParseError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The parser panicked on the document. The poll fails like any other, but says so:
    /// this used to read "database task failed", which sent users after their database.
    #[error(
        "the feed parser crashed on this document (a bug: please report it with the feed's URL): {0}"
    )]
    ParserCrashed(String),
}

/// The URL a feed is fetched from: where it moved permanently, else its configured URL.
pub fn effective_url(feed: &FeedConfig, state: Option<&FeedState>) -> Url {
    state
        .and_then(|s| s.moved_to.as_deref())
        .and_then(|m| Url::parse(m).ok())
        .unwrap_or_else(|| feed.url.clone())
}

/// Everything one poll needs besides the feed.
pub struct PollContext<'a> {
    /// Where results go.
    pub store: &'a Db,
    /// The HTTP client.
    pub fetcher: &'a Fetcher,
    /// The feed's effective schedule (for backoff and the next poll time).
    pub schedule: &'a Schedule,
    /// Let cache hints lengthen the interval.
    pub respect_cache_hints: bool,
    /// Aborts the fetch on shutdown.
    pub cancel: &'a CancellationToken,
    /// What may be skipped.
    pub options: PollOptions,
    /// The fetch slots (per host, overall) this poll holds: given back once the document
    /// is fetched and has a place in the store's queue, so that parsing and storing one
    /// feed never keep the next one on the same host from being fetched.
    pub fetch_slots: std::sync::Mutex<Option<FetchSlots>>,
    /// The `[[rule]]`s that judge the entries before they are stored.
    pub rules: Arc<Vec<Rule>>,
}

/// What one fetch holds: this process's permits (per host, overall) and, on a shared
/// database, the host's slot across every instance. Dropping it frees them all.
pub type FetchSlots = (
    tokio::sync::OwnedSemaphorePermit,
    tokio::sync::OwnedSemaphorePermit,
    Option<ClusterSlot>,
);

/// One of a host's `per_host` fetch slots across every instance on a shared database,
/// given back when dropped.
pub struct ClusterSlot {
    store: Db,
    host: String,
    slot: usize,
}

impl Drop for ClusterSlot {
    fn drop(&mut self) {
        let (store, host, slot) = (
            self.store.clone(),
            std::mem::take(&mut self.host),
            self.slot,
        );
        // a slot left held would stay held until the instance's session ends
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                if let Err(e) = store.call(move |s| s.release_host_slot(&host, slot)).await {
                    warn!(error = %error_chain(&e), "could not give back a host's fetch slot");
                }
            });
        }
    }
}

/// How often an instance asks again for a host's slot that the others hold.
const CLUSTER_SLOT_RETRY: Duration = Duration::from_millis(100);

/// Polls one feed and records the result in the store. Never fails: a failure is recorded in
/// the feed's state and returned as [`Outcome::Failed`].
pub async fn poll_feed(
    ctx: &PollContext<'_>,
    feed: &FeedConfig,
    state: Option<FeedState>,
) -> PollSummary {
    let span = info_span!("poll", feed = %feed.name);
    async move {
        let started = Instant::now();
        let failures = state.as_ref().map_or(0, |s| s.consecutive_failures);
        let mut discovered = None;
        let outcome = match run(ctx, feed, state, &mut discovered).await {
            Ok(outcome) => outcome,
            // the database's fault, not the feed's: recording it would fail the same way
            Err(PollError::Store(e)) if e.is_unavailable() => Outcome::NotStored {
                error: error_chain(&e),
            },
            // another instance took the feed's lease over (this one's expired): its poll
            // counts, and this one's result, even a failure, is not the feed's
            Err(PollError::Store(StoreError::LeaseLost(_))) => {
                warn!("the feed's lease expired before its poll was stored: another instance polls it; raise [fetch] lease if this repeats");
                Outcome::Elsewhere
            }
            Err(e) => {
                let error = error_chain(&e);
                let status = match &e {
                    PollError::Fetch(f) => f.status(),
                    _ => None,
                };
                let at = Utc::now();
                let wait = backoff(ctx.schedule.interval_after(at), failures + 1, &feed.name);
                let retry_at = at + chrono::Duration::from_std(wait).unwrap_or_default();
                let (name, msg) = (feed.name.clone(), error.clone());
                if let Err(se) = ctx
                    .store
                    .write(move |s| s.record_failure(&name, at, status, &msg, Some(retry_at)))
                    .await
                {
                    warn!(error = %error_chain(&se), "could not record the failure");
                }
                Outcome::Failed {
                    status,
                    error,
                    retry_at,
                }
            }
        };
        let summary = PollSummary {
            feed: feed.name.clone(),
            outcome,
            elapsed: started.elapsed(),
            websub: discovered,
        };
        log_summary(&summary);
        summary
    }
    .instrument(span)
    .await
}

/// The outcome's name in metrics.
fn outcome_label(o: &Outcome) -> &'static str {
    match o {
        Outcome::Updated { .. } => "ok",
        Outcome::NotModified => "not_modified",
        Outcome::NotStored { .. } => "not_stored",
        Outcome::Unchanged => "unchanged",
        Outcome::Failed { .. } => "failed",
        Outcome::Paused { .. } => "paused",
        Outcome::Gone => "gone",
        Outcome::Deferred { .. } => "deferred",
        Outcome::AlreadyRunning => "already_running",
        Outcome::Elsewhere => "elsewhere",
        Outcome::Cancelled => "cancelled",
    }
}

fn log_summary(s: &PollSummary) {
    let m = crate::metrics::metrics();
    m.poll(outcome_label(&s.outcome));
    if let Outcome::Updated {
        stats, duplicates, ..
    } = &s.outcome
    {
        m.articles("new", stats.new);
        m.articles("updated", stats.updated);
        m.articles("duplicate", stats.merged + duplicates);
    }
    let elapsed_ms = s.elapsed.as_millis() as u64;
    match &s.outcome {
        Outcome::Updated {
            stats,
            duplicates,
            status,
        } => info!(
            name: POLL_SUMMARY,
            new = stats.new,
            updated = stats.updated,
            unchanged = stats.unchanged,
            duplicates = stats.merged + duplicates,
            status,
            elapsed_ms,
            "polled"
        ),
        // an unchanged feed is the common case: the daemon's log at info shows what changed
        Outcome::NotModified => debug!(
            name: POLL_SUMMARY,
            new = 0,
            updated = 0,
            duplicates = 0,
            status = 304,
            elapsed_ms,
            "not modified"
        ),
        Outcome::Unchanged => debug!(
            name: POLL_SUMMARY,
            new = 0,
            updated = 0,
            duplicates = 0,
            status = 200,
            elapsed_ms,
            "unchanged body"
        ),
        Outcome::Failed {
            status,
            error,
            retry_at,
        } => {
            warn!(
            name: POLL_SUMMARY,status = *status, elapsed_ms, error = %error, retry_at = %retry_at, "poll failed")
        }
        Outcome::NotStored { error } => error!(
            name: POLL_SUMMARY,
            elapsed_ms,
            error = %error,
            "fetched, but the database did not take the result; the feed's stored articles and state are unchanged"
        ),
        Outcome::Paused { until, reason } => {
            info!(
            name: POLL_SUMMARY,until = %until, reason = %reason, "paused by the server")
        }
        Outcome::Gone => info!(
            name: POLL_SUMMARY,"gone (410): not polled until its url changes"),
        Outcome::Deferred { until } => info!(
            name: POLL_SUMMARY,until = %until, "deferred: backoff or cache hint"),
        Outcome::AlreadyRunning => info!(
            name: POLL_SUMMARY,"skipped: already being polled"),
        Outcome::Elsewhere => debug!(
            name: POLL_SUMMARY,"skipped: another instance polls it this cycle"),
        Outcome::Cancelled => info!(
            name: POLL_SUMMARY,elapsed_ms, "cancelled by shutdown"),
    }
}

/// Permits to parse and normalize a document: one per core.
fn parse_slots() -> &'static Semaphore {
    static SLOTS: std::sync::OnceLock<Semaphore> = std::sync::OnceLock::new();
    SLOTS
        .get_or_init(|| Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get())))
}

/// Documents that may be parsed or wait for the store's writer at once (a poll being
/// written has given its slot back, so that the next documents are parsed meanwhile). The
/// store writes the waiting ones together (group commit), so a few waiting make its
/// transactions larger and fewer; more would only hold more articles in memory. Six, with
/// slots held until written, kept the 10,000-feed first poll at 114-115 MiB; six given back
/// on taking raised it to 130-135 MiB (the target is under 128), four to 117-118 MiB, with
/// the N=1000 first poll 8% shorter than with six held (bench/RESULTS.md).
const STORE_SLOTS: usize = 4;

fn store_slots() -> &'static Semaphore {
    static SLOTS: std::sync::OnceLock<Semaphore> = std::sync::OnceLock::new();
    SLOTS.get_or_init(|| Semaphore::new(STORE_SLOTS))
}

fn capped(d: Duration, cap: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d.min(cap)).unwrap_or_default()
}

/// One poll of one feed, step by step: whether to poll at all, fetch, record an unchanged
/// document, or parse, normalize, judge and store a new one.
async fn run(
    ctx: &PollContext<'_>,
    feed: &FeedConfig,
    state: Option<FeedState>,
    discovered: &mut Option<crate::websub::Discovery>,
) -> Result<Outcome, PollError> {
    let now = Utc::now();
    if let Some(outcome) = not_due(ctx, state.as_ref(), now) {
        return Ok(outcome);
    }
    let url = effective_url(feed, state.as_ref());
    let host = url.host_str().unwrap_or_default().to_string();
    if !ctx.options.force {
        let h = host.clone();
        if let Some((until, reason)) = ctx.store.call(move |s| s.host_pause(&h, now)).await? {
            return Ok(Outcome::Paused { until, reason });
        }
    }
    let fetched = match fetch(ctx, feed, &url, host, state.as_ref()).await? {
        Ok(fetched) => fetched,
        Err(outcome) => return Ok(outcome),
    };
    let at = Utc::now();
    if let Some(to) = &fetched.moved_to {
        warn!(from = %url, to = %to, "the feed moved permanently: it is polled at the new URL from now on; update `url` in the config");
    }
    if feed.websub {
        *discovered = Some(crate::websub::discover(
            &fetched.links,
            fetched.body.as_deref(),
            &fetched.final_url,
        ));
    }
    let update = FeedUpdate {
        at,
        status: fetched.status,
        validators: fetched.validators.clone(),
        body_hash: fetched.body.as_ref().map(|b| hash_text_bytes(b)),
        moved_to: fetched.moved_to.as_ref().map(Url::to_string),
        next_attempt: None,
        ttl: None,
        recovered: None,
    };
    if let Some(outcome) = record_if_unchanged(ctx, feed, state.as_ref(), &fetched, &update).await?
    {
        return Ok(outcome);
    }
    parse_and_store(ctx, feed, state.as_ref(), fetched, update).await
}

/// Why the feed is not polled now (gone, or its backoff or cache hint says not yet), if so.
fn not_due(
    ctx: &PollContext<'_>,
    state: Option<&FeedState>,
    now: DateTime<Utc>,
) -> Option<Outcome> {
    let st = state?;
    let force = ctx.options.force;
    if st.gone && !force {
        return Some(Outcome::Gone);
    }
    if ctx.options.respect_backoff && !force {
        if let Some(until) = st.next_attempt.filter(|t| *t > now + capped(SLACK, SLACK)) {
            return Some(Outcome::Deferred { until });
        }
    }
    None
}

/// Fetches the feed. A server that asks to wait (429/503 with Retry-After) or says the feed
/// is gone (410) is recorded, and its outcome returned as `Err`; any other failure is the
/// poll's error.
async fn fetch(
    ctx: &PollContext<'_>,
    feed: &FeedConfig,
    url: &Url,
    host: String,
    state: Option<&FeedState>,
) -> Result<Result<Fetched, Outcome>, PollError> {
    let validators = state.map(|s| s.validators.clone()).unwrap_or_default();
    let fetch_started = Instant::now();
    let result = tokio::select! {
        r = ctx.fetcher.fetch_as(url, &validators, &feed.request) => r,
        _ = ctx.cancel.cancelled() => return Ok(Err(Outcome::Cancelled)),
    };
    let bytes = result
        .as_ref()
        .ok()
        .and_then(|f| f.body.as_ref())
        .map_or(0, |b| b.len() as u64);
    crate::metrics::metrics().fetch(fetch_started.elapsed(), bytes);
    let at = Utc::now();
    let name = feed.name.clone();
    match result {
        Ok(f) => Ok(Ok(f)),
        Err(FetchError::Status {
            status: status @ (429 | 503),
            retry_after: Some(until),
            ..
        }) => {
            let until = until.clamp(at, at + capped(MAX_RETRY_AFTER, MAX_RETRY_AFTER));
            let reason = format!("HTTP {status} with Retry-After");
            warn!(host = %host, until = %until, "the server asked to wait: every feed on this host waits");
            let r = reason.clone();
            ctx.store
                .write(move |s| s.record_paused(&name, at, status, &host, until, &r))
                .await?;
            Ok(Err(Outcome::Paused { until, reason }))
        }
        Err(FetchError::Status { status: 410, .. }) => {
            warn!(url = %url, "the feed is gone (HTTP 410): it will not be polled until its url changes in the config");
            ctx.store
                .write(move |s| {
                    s.record_gone(
                        &name,
                        at,
                        "HTTP 410 Gone: the server says this feed is gone for good",
                    )
                })
                .await?;
            Ok(Err(Outcome::Gone))
        }
        Err(e) => Err(e.into()),
    }
}

/// When the poll's cache hints (the response's freshness, the document's `<ttl>`) ask for
/// a longer wait than the schedule's, the time of the next attempt.
fn cache_hint(
    ctx: &PollContext<'_>,
    fresh_for: Option<Duration>,
    ttl: Option<Duration>,
    at: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    if !ctx.respect_cache_hints {
        return None;
    }
    let longest = [fresh_for, ttl].into_iter().flatten().max()?;
    // a hint only lengthens the interval: a shorter one changes nothing
    (longest > ctx.schedule.interval_after(at)).then(|| at + capped(longest, MAX_CACHE_HINT))
}

/// Records a 304, or the very bytes of last time, as the feed's new state; `None` when the
/// document is new.
async fn record_if_unchanged(
    ctx: &PollContext<'_>,
    feed: &FeedConfig,
    state: Option<&FeedState>,
    fetched: &Fetched,
    update: &FeedUpdate,
) -> Result<Option<Outcome>, PollError> {
    let outcome = match &update.body_hash {
        None => Outcome::NotModified,
        Some(hash) if state.and_then(|s| s.body_hash.as_deref()) == Some(hash.as_str()) => {
            Outcome::Unchanged
        }
        Some(_) => return Ok(None),
    };
    // the document's <ttl> is only seen when it is parsed: for a 304 or the same bytes, the
    // one stored from the last full fetch still applies
    let mut update = update.clone();
    update.next_attempt = cache_hint(ctx, fetched.fresh_for, state.and_then(|s| s.ttl), update.at);
    let name = feed.name.clone();
    ctx.store
        .write(move |s| s.record_unchanged(&name, &update))
        .await?;
    Ok(Some(outcome))
}

/// A new document: parsed and normalized (with each article's text), its backlog dated,
/// judged by the rules, and stored with the feed's new state.
async fn parse_and_store(
    ctx: &PollContext<'_>,
    feed: &FeedConfig,
    state: Option<&FeedState>,
    fetched: Fetched,
    mut update: FeedUpdate,
) -> Result<Outcome, PollError> {
    let at = update.at;
    let Some(body) = fetched.body else {
        return Ok(Outcome::NotModified);
    };
    // Parsing and normalizing are CPU work: off the async workers, and no more documents
    // in flight between fetch and store than there are cores plus the store's queue, so
    // that memory stays flat however many fetches finish at once.
    let store_slot = store_slots().acquire().await.ok();
    drop(
        ctx.fetch_slots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take(),
    );
    let (ttl, recovered, mut normalized) =
        parse_document(feed, body, fetched.content_type, fetched.final_url, at).await?;
    update.recovered = parse::recovered_summary(&recovered);
    let first = state.is_none_or(|s| s.last_success.is_none() && s.article_count == 0);
    // a feed's first poll lists its backlog: undated items there are old, not new
    if first {
        let oldest = ctx.store.call(|s| s.oldest_published()).await?;
        crate::fair::date_backlog(&mut normalized.articles, at, oldest);
    }
    judge_articles(ctx.store, &ctx.rules, feed, &mut normalized, at).await?;
    update.ttl = ttl.map(|m| Duration::from_secs(u64::from(m) * 60));
    update.next_attempt = cache_hint(ctx, fetched.fresh_for, update.ttl, at);
    let name = feed.name.clone();
    let handover = Handover {
        // given back once the store's writer has taken the poll: while it is written, the
        // next document is parsed
        slot: store_slot.map(|s| Box::new(s) as Box<dyn Send>),
        // every article of a first poll is new, so written: packed here, not by the writer
        pack_ahead: first,
    };
    store_document(
        ctx.store,
        name,
        update,
        normalized,
        fetched.status,
        handover,
    )
    .await
}

/// Parses and normalizes one document of `feed` (fetched from, or pushed for, `base`) on the
/// parse threads ([`crate::background`]: below the server's priority in the daemon), at most
/// one per core at a time. Returns the document's `<ttl>` too.
async fn parse_document(
    feed: &FeedConfig,
    body: Vec<u8>,
    content_type: Option<String>,
    base: Url,
    at: DateTime<Utc>,
) -> Result<(Option<u32>, Vec<String>, normalize::Normalized), PollError> {
    let zone = feed.timezone;
    let parse_slot = parse_slots().acquire().await.ok();
    let normalized = crate::background::run(move || {
        parse::parse_feed(&body, content_type.as_deref(), &base, zone).map(|mut parsed| {
            (
                parsed.feed.ttl,
                parsed.skipped_entries,
                std::mem::take(&mut parsed.recovered),
                normalize::normalize(&parsed, &base, at),
            )
        })
    })
    .await
    .map_err(PollError::ParserCrashed)?;
    drop(parse_slot);
    let (ttl, skipped, recovered, normalized) = normalized?;
    for note in &recovered {
        warn!(note = %note, "the document is faulty: read anyway");
    }
    if skipped > 0 {
        warn!(
            skipped,
            "the document lists more than {} entries: only the first {0} are read",
            parse::MAX_ENTRIES
        );
    }
    Ok((ttl, recovered, normalized))
}

/// Stores one normalized document with the feed's new state.
async fn store_document(
    store: &Db,
    name: String,
    update: FeedUpdate,
    mut normalized: normalize::Normalized,
    status: u16,
    handover: Handover,
) -> Result<Outcome, PollError> {
    // `call`, not `write`: the polls waiting here (at most STORE_SLOTS waiting, and as many
    // being written, so at most twice that many blocking threads even while another
    // process holds the database locked) are written together by whichever of them gets
    // the writer (group commit)
    store
        .call(move |s| {
            let (meta, duplicates) = (std::mem::take(&mut normalized.meta), normalized.duplicates);
            let stats = s.apply_prepared(&name, &update, &meta, normalized.prepared(), handover)?;
            Ok(Outcome::Updated {
                stats,
                duplicates,
                status,
            })
        })
        .await
        .map_err(PollError::from)
}

/// Stores a document that came without a fetch (a WebSub hub's delivery for `feed`, whose
/// topic is `base`) through the same parse -> normalize -> dedup -> store path as a polled
/// one. The feed's fetch state (validators, backoff, cache hints) is left as it was; a
/// document that does not parse is reported, not recorded as the feed's failure.
pub async fn ingest_pushed(
    store: &Db,
    rules: &Arc<Vec<Rule>>,
    feed: &FeedConfig,
    body: Vec<u8>,
    content_type: Option<String>,
    base: Url,
) -> PollSummary {
    let span = info_span!("push", feed = %feed.name);
    async move {
        let started = Instant::now();
        let at = Utc::now();
        let result = async {
            let name = feed.name.clone();
            let state = store.call(move |s| s.feed_state(&name)).await?;
            let mut update = FeedUpdate {
                at,
                status: state.as_ref().and_then(|s| s.last_status).unwrap_or(200),
                validators: state
                    .as_ref()
                    .map(|s| s.validators.clone())
                    .unwrap_or_default(),
                body_hash: state.as_ref().and_then(|s| s.body_hash.clone()),
                moved_to: None,
                next_attempt: state.as_ref().and_then(|s| s.next_attempt),
                ttl: state.as_ref().and_then(|s| s.ttl),
                recovered: None,
            };
            let store_slot = store_slots().acquire().await.ok();
            let (_, recovered, mut normalized) =
                parse_document(feed, body, content_type, base, at).await?;
            update.recovered = parse::recovered_summary(&recovered);
            judge_articles(store, rules, feed, &mut normalized, at).await?;
            let outcome =
                store_document(store, feed.name.clone(), update, normalized, 200, Handover::default())
                    .await;
            drop(store_slot);
            outcome
        }
        .await;
        let outcome = match result {
            Ok(o) => o,
            Err(PollError::Store(e)) if e.is_unavailable() => Outcome::NotStored {
                error: error_chain(&e),
            },
            // another instance took the feed's lease over (this one's expired): its poll
            // counts, and this one's result, even a failure, is not the feed's
            Err(PollError::Store(StoreError::LeaseLost(_))) => {
                warn!("the feed's lease expired before its poll was stored: another instance polls it; raise [fetch] lease if this repeats");
                Outcome::Elsewhere
            }
            Err(e) => Outcome::Failed {
                status: None,
                error: error_chain(&e),
                retry_at: at,
            },
        };
        let summary = PollSummary {
            feed: feed.name.clone(),
            outcome,
            elapsed: started.elapsed(),
            websub: None,
        };
        log_summary(&summary);
        summary
    }
    .instrument(span)
    .await
}

/// The rules step between normalize and store: leaves in `normalized` what the rules keep
/// (with the texts computed for them), and records every decision (drops first, so that a
/// crash never stores what was dropped).
async fn judge_articles(
    store: &Db,
    rules: &Arc<Vec<Rule>>,
    feed: &FeedConfig,
    normalized: &mut normalize::Normalized,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let name = feed.name.clone();
    let (dropped, has_marks) = store
        .call(move |s| Ok((s.dropped_keys(&name)?, s.has_marks(Some(&name))?)))
        .await?;
    let rules = Arc::clone(rules);
    if rules.is_empty() && dropped.is_empty() {
        // marks earlier rules left on these entries are cleared by `rules apply`
        return Ok(());
    }
    let (name, tags) = (feed.name.clone(), feed.tags.clone());
    let all = std::mem::take(&mut normalized.articles);
    let texts = std::mem::take(&mut normalized.texts);
    let judged = tokio::task::spawn_blocking(move || {
        let keys: Vec<String> = all.iter().map(|a| a.key.as_stored()).collect();
        let judged = rules::judge(&rules, &name, &tags, all, &dropped, at);
        let m = crate::metrics::metrics();
        let mut counts: HashMap<usize, usize> = HashMap::new();
        for &i in &judged.matched {
            *counts.entry(i).or_default() += 1;
        }
        for (i, n) in counts {
            m.rule_match(&rules[i].name, rules[i].action.label(), n);
        }
        m.rule_match(rules::UNKEPT, "drop", judged.unkept);
        (keys, judged)
    })
    .await
    .map_err(|e| StoreError::Task(e.to_string()))?;
    let (keys, judged) = judged;
    // keys are unique within a document: each kept article takes its text back by its key
    let mut text_of: HashMap<String, crate::dedup::ArticleText> =
        keys.iter().cloned().zip(texts).collect();
    let dropped_now = judged.marks.iter().filter(|m| m.action == "drop").count();
    if dropped_now + judged.still_dropped > 0 {
        info!(
            dropped = dropped_now,
            still_dropped = judged.still_dropped,
            "rules dropped entries"
        );
    }
    let (name, marks) = (feed.name.clone(), judged.marks);
    // nothing to record and nothing to clear: no write (most feeds, with scoped rules)
    if has_marks || !marks.is_empty() {
        store
            .write(move |s| s.record_marks(&name, &keys, &marks, at))
            .await?;
    }
    normalized.texts = judged
        .kept
        .iter()
        .map(|a| text_of.remove(&a.key.as_stored()))
        .collect::<Option<Vec<_>>>()
        .unwrap_or_default();
    normalized.articles = judged.kept;
    Ok(())
}

/// Polls feeds with limits on how many run at once, overall and per host, never the same
/// feed twice at a time.
pub struct Poller {
    store: Db,
    fetcher: RwLock<(Fetcher, Arc<Semaphore>, FetchConfig)>,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
    in_flight: Mutex<HashSet<String>>,
    cancel: CancellationToken,
    rules: RwLock<Arc<Vec<Rule>>>,
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
        store: Db,
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
            hosts: Mutex::new(HashMap::new()),
            in_flight: Mutex::new(HashSet::new()),
            cancel,
            rules: RwLock::default(),
        })
    }

    /// The `[[rule]]`s polls that start from now on judge entries by.
    pub fn set_rules(&self, rules: &[Rule]) {
        *self.rules.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(rules.to_vec());
    }

    /// Applies new `[fetch]` settings to polls that start from now on.
    pub fn reconfigure(&self, fetch: &FetchConfig) -> Result<(), FetchError> {
        let mut guard = self.fetcher.write().unwrap_or_else(|p| p.into_inner());
        if guard.2 != *fetch {
            if guard.2.per_host != fetch.per_host {
                self.hosts.lock().unwrap_or_else(|p| p.into_inner()).clear();
            }
            *guard = (
                Fetcher::new(fetch)?,
                Arc::new(Semaphore::new(fetch.concurrency)),
                fetch.clone(),
            );
        }
        Ok(())
    }

    /// On a database several instances share: takes the feed's lease for this cycle; false
    /// when another instance holds it or took it for this cycle already. Two ticks less than
    /// half the feed's interval apart are one cycle (instances tick at about the same moment,
    /// never half an interval apart); `force` polls unless a poll is in progress.
    async fn claim(
        &self,
        feed: &FeedConfig,
        schedule: &Schedule,
        options: PollOptions,
        cfg: &FetchConfig,
    ) -> Result<bool, String> {
        let now = Utc::now();
        // by the tick, not by when the claim is made: a feed that waited in this instance's
        // queue for slots must not take another instance's poll of this cycle for the last
        let day = Duration::from_secs(86400);
        let (tick, since) = match options.tick {
            // no cycle: any poll before this one counts as an earlier cycle's
            None => (now, now + chrono::Duration::seconds(1)),
            Some(t) if options.force => (t, t),
            Some(t) if options.joining => (t, t - capped(schedule.interval_after(t), day)),
            // the daemon's ticks: one cycle is half an interval either way
            Some(t) => (t, t - capped(schedule.interval_after(t) / 2, day)),
        };
        let (name, hold) = (feed.name.clone(), cfg.lease);
        match self
            .store
            .call(move |s| s.claim_feeds(&[name], tick, since, now, hold))
            .await
        {
            Ok(taken) => Ok(!taken.is_empty()),
            Err(e) => Err(format!("cannot take the feed's lease: {}", error_chain(&e))),
        }
    }

    /// Lets go of the feed's lease unpolled.
    async fn release(&self, feed: &FeedConfig) {
        let name = feed.name.clone();
        if let Err(e) = self.store.call(move |s| s.release_feed(&name)).await {
            warn!(feed = %feed.name, error = %error_chain(&e), "could not let go of the feed's lease (it expires by itself)");
        }
    }

    /// Waits for one of `host`'s `per_host` slots across every instance; None at shutdown.
    async fn cluster_slot(
        &self,
        host: &str,
        per_host: usize,
    ) -> Result<Option<ClusterSlot>, String> {
        loop {
            let h = host.to_string();
            match self
                .store
                .call(move |s| s.take_host_slot(&h, per_host))
                .await
            {
                Ok(Some(slot)) => {
                    return Ok(Some(ClusterSlot {
                        store: self.store.clone(),
                        host: host.to_string(),
                        slot,
                    }));
                }
                Ok(None) => {}
                Err(e) => {
                    return Err(format!(
                        "cannot take a fetch slot of {host}: {}",
                        error_chain(&e)
                    ));
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(CLUSTER_SLOT_RETRY) => {}
                _ = self.cancel.cancelled() => return Ok(None),
            }
        }
    }

    /// The store polls write to.
    pub fn store(&self) -> &Db {
        &self.store
    }

    /// The HTTP client and a fetch slot on `host` for an article page (full text), if one
    /// is free now. A page takes a slot only while another stays free for the host's feeds
    /// (with `per_host = 1`, only while the slot is idle), and never waits in line: a feed
    /// waiting for a slot gets the next one that frees, so pages never starve a feed.
    pub fn page_slot(&self, host: &str) -> Option<(Fetcher, tokio::sync::OwnedSemaphorePermit)> {
        let (fetcher, per_host) = {
            let g = self.fetcher.read().unwrap_or_else(|p| p.into_inner());
            (g.0.clone(), g.2.per_host)
        };
        let slots = self.host_slots(host, per_host);
        let permit = Arc::clone(&slots).try_acquire_owned().ok()?;
        let reserve = usize::from(per_host > 1);
        (slots.available_permits() >= reserve).then_some((fetcher, permit))
    }

    fn host_slots(&self, host: &str, per_host: usize) -> Arc<Semaphore> {
        let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(
            hosts
                .entry(host.to_string())
                .or_insert_with(|| Arc::new(Semaphore::new(per_host))),
        )
    }

    /// Polls `feed` on `schedule` unless it is already being polled, waiting for a free slot
    /// on its host and then overall (in that order, so that a busy host never holds slots
    /// other hosts could use).
    pub async fn poll(
        &self,
        feed: &FeedConfig,
        schedule: &Schedule,
        options: PollOptions,
    ) -> PollSummary {
        let _guard = {
            let mut set = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
            if !set.insert(feed.name.clone()) {
                return skipped(feed, Outcome::AlreadyRunning);
            }
            InFlight {
                set: &self.in_flight,
                name: feed.name.clone(),
            }
        };
        // Slots are taken by the configured URL's host, before anything else (even reading the
        // feed's state), and a poll waiting for them holds only them: every feed due at a tick
        // waits so, and a thousand queued feeds must cost a thousand small futures and nothing
        // more. A future is as large as its largest step, so the steps after the slots are
        // boxed: inline, the fetch, parse and store made every queued poll hold about 8 KB (80
        // MB for 10,000 feeds due at one tick). A feed that moved to another host still counts
        // against its old one.
        let (per_host, overall) = {
            let g = self.fetcher.read().unwrap_or_else(|p| p.into_inner());
            let host = feed.url.host_str().unwrap_or_default();
            (self.host_slots(host, g.2.per_host), Arc::clone(&g.1))
        };
        let permits = tokio::select! {
            p = async {
                let h = per_host.acquire_owned().await.ok()?;
                let o = overall.acquire_owned().await.ok()?;
                Some((h, o))
            } => p,
            _ = self.cancel.cancelled() => None,
        };
        let Some(permits) = permits.filter(|_| !self.cancel.is_cancelled()) else {
            return skipped(feed, Outcome::Cancelled);
        };
        Box::pin(self.poll_in_slots(feed, schedule, options, permits)).await
    }

    /// [`Poller::poll`] once its slots (on the host, overall) are taken: one boxed future,
    /// so its steps are inline here.
    async fn poll_in_slots(
        &self,
        feed: &FeedConfig,
        schedule: &Schedule,
        options: PollOptions,
        (h, o): (OwnedSemaphorePermit, OwnedSemaphorePermit),
    ) -> PollSummary {
        let skipped = |outcome| skipped(feed, outcome);
        let (fetcher, cfg) = {
            let g = self.fetcher.read().unwrap_or_else(|p| p.into_inner());
            (g.0.clone(), g.2.clone())
        };
        let host = feed.url.host_str().unwrap_or_default();
        let cluster = if self.store.shared() {
            match self.claim(feed, schedule, options, &cfg).await {
                Ok(true) => {}
                Ok(false) => return skipped(Outcome::Elsewhere),
                Err(error) => return skipped(Outcome::NotStored { error }),
            }
            match self.cluster_slot(host, cfg.per_host).await {
                Ok(Some(slot)) => Some(slot),
                Ok(None) => {
                    self.release(feed).await;
                    return skipped(Outcome::Cancelled);
                }
                Err(error) => {
                    self.release(feed).await;
                    return skipped(Outcome::NotStored { error });
                }
            }
        } else {
            None
        };
        let permits = Some((h, o, cluster));
        let name = feed.name.clone();
        let state = match self.store.call(move |s| s.feed_state(&name)).await {
            Ok(s) => s,
            Err(e) => {
                let summary = skipped(Outcome::NotStored {
                    error: format!("cannot read the feed's state: {}", error_chain(&e)),
                });
                info_span!("poll", feed = %feed.name).in_scope(|| log_summary(&summary));
                return summary;
            }
        };
        let ctx = PollContext {
            store: &self.store,
            fetcher: &fetcher,
            schedule,
            respect_cache_hints: cfg.respect_cache_hints,
            cancel: &self.cancel,
            options,
            fetch_slots: std::sync::Mutex::new(permits),
            rules: Arc::clone(&self.rules.read().unwrap_or_else(|p| p.into_inner())),
        };
        let summary = poll_feed(&ctx, feed, state).await;
        if self.store.shared() {
            // a poll that stored its result gave its lease back with it; one that stored
            // nothing (not due, paused, cancelled) lets go of it here
            self.release(feed).await;
        }
        summary
    }
}

/// The summary of a poll that did not run.
fn skipped(feed: &FeedConfig, outcome: Outcome) -> PollSummary {
    PollSummary {
        feed: feed.name.clone(),
        outcome,
        elapsed: Duration::ZERO,
        websub: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_parser_panic_is_named_as_one() {
        let join = tokio::task::spawn_blocking(|| panic!("set_encoding() called"))
            .await
            .unwrap_err();
        let e = PollError::ParserCrashed(join.to_string());
        let text = error_chain(&e);
        assert!(text.starts_with("the feed parser crashed"), "{text}");
        assert!(text.contains("set_encoding() called"), "{text}");
        assert!(!text.contains("database"), "{text}");
    }

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let i = Duration::from_secs(900);
        let b1 = backoff(i, 1, "f");
        let b2 = backoff(i, 2, "f");
        let b5 = backoff(i, 5, "f");
        assert!(b1 >= i.mul_f64(0.75) && b1 <= i, "{b1:?}");
        assert!(b2 >= i.mul_f64(1.5) && b2 <= i * 2, "{b2:?}");
        assert!(b5 >= i.mul_f64(12.0) && b5 <= i * 16, "{b5:?}");
        assert!(backoff(i, 30, "f") <= MAX_BACKOFF);
        // different feeds failing together come back at different times
        assert_ne!(backoff(i, 3, "a"), backoff(i, 3, "b"));
    }
}
