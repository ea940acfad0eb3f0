//! The full-text queue. A poll stores a feed's entries and is done; then the feed's name
//! goes into this bounded queue, and a worker fetches the article pages of the entries that
//! need them (each version of an entry once), politely: through the same client, timeouts,
//! size limit and redirects as feeds, in the host's fetch slots without ever waiting in line
//! for one (so a feed is never kept waiting by its own article pages), and a 429/503 with
//! Retry-After pauses the host for feeds and pages alike.
//!
//! The decisions (does this entry need its page, what a failure means, when to try again)
//! are pure functions below; the rest is I/O.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{Instrument, debug, info, info_span, warn};
use url::Url;

use crate::config::{Config, FeedConfig, FullText};
use crate::fetch::{FetchError, Validators};
use crate::poll::{MAX_RETRY_AFTER, Poller, error_chain};
use crate::store::{FullTextCandidate, FullTextFields, FullTextResult, StoreError};

/// In `auto` mode, a body shorter than this (in words) is a teaser: the page is fetched.
pub const AUTO_WORDS: usize = 80;
/// A page that failed for a passing reason (timeout, 5xx, 429) is tried this many times
/// for one version of its entry.
pub const MAX_ATTEMPTS: u32 = 3;
/// Entries looked at in one pass over a feed; a feed with more is queued again.
const PASS_LIMIT: usize = 25;
/// Feeds whose pages are fetched at once (each one page at a time).
const FEEDS_AT_ONCE: usize = 2;
/// Feeds waiting in the queue at most; more are dropped (their entries stay due and are
/// taken up after the feed's next poll).
const QUEUE_CAPACITY: usize = 1024;
/// How often a page waiting for a free fetch slot on its host looks again.
const SLOT_WAIT: Duration = Duration::from_millis(200);

fn words(text: &str) -> usize {
    text.split_whitespace().count()
}

/// Whether an entry needs its article page: `always`, or in `auto` mode when its body is
/// short or only repeats its summary.
pub fn wants(mode: FullText, summary: Option<&str>, content: Option<&str>) -> bool {
    match mode {
        FullText::Off => false,
        FullText::Always => true,
        FullText::Auto => {
            let body = content
                .map(crate::normalize::html_to_text)
                .unwrap_or_default();
            let body = body.trim();
            let summary = summary.unwrap_or_default().trim();
            words(body) < AUTO_WORDS || body == summary || (body.is_empty() && !summary.is_empty())
        }
    }
}

/// The summary an entry keeps once its content is the article: the feed's own, else the
/// feed's short body as text.
pub fn summary_to_keep(c: &FullTextCandidate) -> Option<String> {
    c.summary.clone().or_else(|| {
        c.content
            .as_deref()
            .map(crate::normalize::html_to_text)
            .filter(|t| !t.trim().is_empty())
    })
}

/// When a page that failed for a passing reason is tried again: after 30 minutes, then 2
/// hours, then 8.
pub fn retry_delay(attempts: u32) -> Duration {
    Duration::from_secs(30 * 60) * 4u32.pow(attempts.saturating_sub(1).min(4))
}

/// A failed fetch as an outcome: its name, and whether it may pass (try again later).
pub fn fetch_outcome(e: &FetchError) -> (&'static str, bool) {
    match e {
        FetchError::Status {
            status: 429 | 503, ..
        } => ("rate_limited", true),
        FetchError::Status { status, .. } => ("http_error", *status >= 500 || *status == 408),
        FetchError::TooLarge { .. } => ("too_large", false),
        FetchError::Timeout(_)
        | FetchError::Connect(_)
        | FetchError::Body { .. }
        | FetchError::Request(_) => ("fetch_failed", true),
        FetchError::RedirectLoop(_)
        | FetchError::TooManyRedirects
        | FetchError::BadRedirect { .. }
        | FetchError::Client(_) => ("fetch_failed", false),
    }
}

/// Full-text outcomes as `newswire feeds` shows them: `12 ok, 2 http_error`, `ok` first;
/// `-` for none.
pub fn counts_line(counts: &std::collections::BTreeMap<String, u64>) -> String {
    let mut parts: Vec<String> = counts
        .get("ok")
        .map(|n| format!("{n} ok"))
        .into_iter()
        .collect();
    parts.extend(
        counts
            .iter()
            .filter(|(k, _)| k.as_str() != "ok")
            .map(|(k, n)| format!("{n} {k}")),
    );
    if parts.is_empty() {
        "-".into()
    } else {
        parts.join(", ")
    }
}

/// What one pass over a feed did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PassStats {
    /// Pages extracted and stored.
    pub ok: usize,
    /// Pages that could not be fetched or extracted.
    pub failed: usize,
    /// Entries that did not need their page.
    pub not_needed: usize,
    /// The merged feed changed.
    pub changed: bool,
    /// More entries may be due (the pass stopped at its limit).
    pub more: bool,
}

/// One pass over `feed`: the page of each due entry (at most [`PASS_LIMIT`]), fetched,
/// extracted and stored. Stops early at shutdown or when the host asks for a pause.
pub async fn run_pass(
    poller: &Poller,
    config: &Config,
    feed: &FeedConfig,
    cancel: &CancellationToken,
) -> Result<PassStats, StoreError> {
    let store = poller.store();
    let name = feed.name.clone();
    let now = Utc::now();
    let due = store
        .call(move |s| s.full_text_pending(&name, now, MAX_ATTEMPTS, PASS_LIMIT))
        .await?;
    let mut stats = PassStats {
        more: due.len() >= PASS_LIMIT,
        ..Default::default()
    };
    for c in due {
        if cancel.is_cancelled() {
            stats.more = false;
            break;
        }
        let Some(result) = page_result(poller, config, feed, &c, cancel).await? else {
            // the host asked for a pause, or shutdown: the rest waits for the next pass
            stats.more = false;
            break;
        };
        crate::metrics::metrics().full_text(result.outcome);
        match result.outcome {
            "ok" => stats.ok += 1,
            "not_needed" => stats.not_needed += 1,
            _ => stats.failed += 1,
        }
        stats.changed |= store.write(move |s| s.record_full_text(&result)).await?;
    }
    if stats.ok + stats.failed > 0 {
        info!(
            ok = stats.ok,
            failed = stats.failed,
            not_needed = stats.not_needed,
            "full text"
        );
    }
    Ok(stats)
}

fn failure(
    c: &FullTextCandidate,
    outcome: &'static str,
    detail: String,
    retry_at: Option<DateTime<Utc>>,
) -> FullTextResult {
    FullTextResult {
        entry_id: c.entry_id,
        content_hash: c.content_hash.clone(),
        outcome,
        detail: Some(detail),
        retry_at,
        article: None,
        at: Utc::now(),
    }
}

/// Fetches and extracts one entry's page; `None` when it cannot be tried now (its host is
/// paused, or shutdown began).
async fn page_result(
    poller: &Poller,
    config: &Config,
    feed: &FeedConfig,
    c: &FullTextCandidate,
    cancel: &CancellationToken,
) -> Result<Option<FullTextResult>, StoreError> {
    let store = poller.store();
    if !wants(feed.full_text, c.summary.as_deref(), c.content.as_deref()) {
        let mut r = failure(c, "not_needed", String::new(), None);
        r.detail = None;
        return Ok(Some(r));
    }
    let Some(url) = c
        .link
        .as_deref()
        .and_then(|l| Url::parse(l).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
    else {
        return Ok(Some(failure(
            c,
            "no_link",
            "the entry has no http(s) link".into(),
            None,
        )));
    };
    let host = url.host_str().unwrap_or_default().to_string();
    let h = host.clone();
    if store
        .call(move |s| s.host_pause(&h, Utc::now()))
        .await?
        .is_some()
    {
        return Ok(None);
    }
    let (fetcher, slot) = loop {
        if let Some(s) = poller.page_slot(&host) {
            break s;
        }
        tokio::select! {
            _ = tokio::time::sleep(SLOT_WAIT) => {},
            _ = cancel.cancelled() => return Ok(None),
        }
    };
    let none = Validators::default();
    let fetched = tokio::select! {
        r = fetcher.fetch(&url, &none) => r,
        _ = cancel.cancelled() => return Ok(None),
    };
    drop(slot);
    let attempts = c.attempts + 1;
    let retry = |temporary: bool| {
        (temporary && attempts < MAX_ATTEMPTS).then(|| {
            Utc::now() + chrono::Duration::from_std(retry_delay(attempts)).unwrap_or_default()
        })
    };
    let fetched = match fetched {
        Ok(f) => f,
        Err(e) => {
            let (outcome, temporary) = fetch_outcome(&e);
            let mut retry_at = retry(temporary);
            if let FetchError::Status {
                status: status @ (429 | 503),
                retry_after: Some(until),
                ..
            } = &e
            {
                let now = Utc::now();
                let max = chrono::Duration::from_std(MAX_RETRY_AFTER).unwrap_or_default();
                let until = (*until).clamp(now, now + max);
                let reason = format!("HTTP {status} with Retry-After (on an article page)");
                warn!(host = %host, until = %until, "the server asked to wait: every feed and page on this host waits");
                let h = host.clone();
                store
                    .write(move |s| s.pause_host(&h, until, &reason))
                    .await?;
                retry_at = Some(until.max(retry_at.unwrap_or(until)));
            }
            let detail = format!("{url}: {}", error_chain(&e));
            info!(url = %url, outcome, error = %error_chain(&e), "article page not fetched");
            return Ok(Some(failure(c, outcome, detail, retry_at)));
        }
    };
    let body = fetched.body.unwrap_or_default();
    if !crate::extract::page::is_html(fetched.content_type.as_deref(), &body) {
        let detail = format!(
            "{}: not an HTML page ({})",
            fetched.final_url,
            fetched.content_type.as_deref().unwrap_or("no Content-Type")
        );
        return Ok(Some(failure(c, "not_html", detail, None)));
    }
    let rules = config.page_rules(Some(feed), &fetched.final_url);
    let base = fetched.final_url.clone();
    let content_type = fetched.content_type.clone();
    let extracted = tokio::task::spawn_blocking(move || {
        let text = crate::extract::page::decode(&body, content_type.as_deref());
        crate::extract::extract(&text, &base, &rules)
    })
    .await;
    let extracted = match extracted {
        Ok(r) => r,
        Err(e) => {
            let detail = format!("{}: the extractor crashed (a bug): {e}", fetched.final_url);
            return Ok(Some(failure(c, "no_content", detail, None)));
        }
    };
    let article = match extracted {
        Ok(a) => a,
        Err(e) => {
            debug!(url = %fetched.final_url, error = %e, "no article on the page");
            let detail = format!("{}: {e}", fetched.final_url);
            return Ok(Some(failure(c, e.label(), detail, None)));
        }
    };
    let feed_words = c
        .content
        .as_deref()
        .map_or(0, |h| words(&crate::normalize::html_to_text(h)));
    if article.words <= feed_words {
        let detail = format!(
            "{}: the page's article ({} words) is no longer than the feed's body ({feed_words})",
            fetched.final_url, article.words
        );
        return Ok(Some(failure(c, "not_longer", detail, None)));
    }
    Ok(Some(FullTextResult {
        entry_id: c.entry_id,
        content_hash: c.content_hash.clone(),
        outcome: "ok",
        detail: None,
        retry_at: None,
        article: Some(FullTextFields {
            content: article.html,
            summary: summary_to_keep(c),
            image: article.image,
        }),
        at: Utc::now(),
    }))
}

/// Passes over every enabled full-text feed until none has pages due (`newswire poll`,
/// after its polls), a few feeds at a time. Returns the totals.
pub async fn run_all(
    poller: &Arc<Poller>,
    config: &Arc<Config>,
    cancel: &CancellationToken,
) -> PassStats {
    let mut tasks = tokio::task::JoinSet::new();
    let slots = Arc::new(Semaphore::new(FEEDS_AT_ONCE));
    for feed in config
        .feeds
        .iter()
        .filter(|f| f.enabled && f.full_text != FullText::Off)
    {
        let (poller, config, cancel, slots) = (
            Arc::clone(poller),
            Arc::clone(config),
            cancel.clone(),
            Arc::clone(&slots),
        );
        let name = feed.name.clone();
        tasks.spawn(async move {
            let _slot = slots.acquire_owned().await.ok();
            let feed = config.feed(&name).expect("the feed is in the config");
            let mut total = PassStats::default();
            loop {
                match run_pass(&poller, &config, feed, &cancel)
                    .instrument(info_span!("full_text", feed = %name))
                    .await
                {
                    Ok(s) => {
                        total.ok += s.ok;
                        total.failed += s.failed;
                        total.not_needed += s.not_needed;
                        total.changed |= s.changed;
                        if !s.more {
                            break;
                        }
                    }
                    Err(e) => {
                        warn!(feed = %name, error = %error_chain(&e), "full text: the database did not answer");
                        break;
                    }
                }
            }
            total
        });
    }
    let mut total = PassStats::default();
    while let Some(Ok(s)) = tasks.join_next().await {
        total.ok += s.ok;
        total.failed += s.failed;
        total.not_needed += s.not_needed;
        total.changed |= s.changed;
    }
    total
}

/// The daemon's handle on the queue: feeds go in after their poll; a worker takes them out.
#[derive(Clone)]
pub struct FullTextQueue {
    tx: mpsc::Sender<String>,
    queued: Arc<Mutex<HashSet<String>>>,
}

impl FullTextQueue {
    /// Starts the worker on `tracker`. `on_change` is called after a pass that changed the
    /// merged feed.
    pub fn start(
        poller: Arc<Poller>,
        config: watch::Receiver<Arc<Config>>,
        on_change: Arc<dyn Fn() + Send + Sync>,
        cancel: CancellationToken,
        tracker: &TaskTracker,
    ) -> FullTextQueue {
        let (tx, mut rx) = mpsc::channel::<String>(QUEUE_CAPACITY);
        let queue = FullTextQueue {
            tx,
            queued: Arc::default(),
        };
        let this = queue.clone();
        let inner = tracker.clone();
        tracker.spawn(async move {
            let slots = Arc::new(Semaphore::new(FEEDS_AT_ONCE));
            loop {
                let name = tokio::select! {
                    n = rx.recv() => match n { Some(n) => n, None => break },
                    _ = cancel.cancelled() => break,
                };
                let Ok(permit) = Arc::clone(&slots).acquire_owned().await else {
                    break;
                };
                let (poller, config, this, on_change, cancel) = (
                    Arc::clone(&poller),
                    config.borrow().clone(),
                    this.clone(),
                    Arc::clone(&on_change),
                    cancel.clone(),
                );
                inner.spawn(async move {
                    let feed = config
                        .feed(&name)
                        .filter(|f| f.enabled && f.full_text != FullText::Off);
                    let stats = match feed {
                        None => Ok(PassStats::default()),
                        Some(feed) => {
                            run_pass(&poller, &config, feed, &cancel)
                                .instrument(info_span!("full_text", feed = %name))
                                .await
                        }
                    };
                    this.queued
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .remove(&name);
                    drop(permit);
                    match stats {
                        Ok(s) => {
                            if s.changed {
                                on_change();
                            }
                            if s.more {
                                this.enqueue(&name);
                            }
                        }
                        Err(e) => {
                            warn!(feed = %name, error = %error_chain(&e), "full text: the database did not answer; the pages wait for the next poll")
                        }
                    }
                });
            }
        });
        queue
    }

    /// Queues `feed`'s due pages; false when it is queued already or the queue is full.
    pub fn enqueue(&self, feed: &str) -> bool {
        let mut queued = self.queued.lock().unwrap_or_else(|p| p.into_inner());
        if queued.contains(feed) {
            return false;
        }
        if self.tx.try_send(feed.to_string()).is_err() {
            return false;
        }
        queued.insert(feed.to_string());
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn para(n: usize) -> String {
        format!("<p>{}</p>", vec!["word"; n].join(" "))
    }

    #[test]
    fn auto_fetches_teasers_and_repeats_only() {
        let long = para(200);
        assert!(wants(
            FullText::Auto,
            Some("A sentence."),
            Some("<p>A sentence.</p>")
        ));
        assert!(wants(FullText::Auto, Some("A sentence."), None));
        assert!(wants(FullText::Auto, None, Some(&para(40))));
        assert!(!wants(FullText::Auto, Some("A sentence."), Some(&long)));
        assert!(wants(FullText::Always, None, Some(&long)));
        assert!(!wants(FullText::Off, None, None));
    }

    #[test]
    fn the_feed_summary_stays_or_the_short_body_becomes_it() {
        let mut c = FullTextCandidate {
            entry_id: 1,
            link: None,
            summary: Some("From the feed.".into()),
            content: Some("<p>Body <b>text</b>.</p>".into()),
            content_hash: "h".into(),
            attempts: 0,
        };
        assert_eq!(summary_to_keep(&c).as_deref(), Some("From the feed."));
        c.summary = None;
        assert_eq!(summary_to_keep(&c).as_deref(), Some("Body text."));
        c.content = None;
        assert_eq!(summary_to_keep(&c), None);
    }

    #[test]
    fn counts_read_ok_first() {
        let mut m = std::collections::BTreeMap::new();
        assert_eq!(counts_line(&m), "-");
        m.insert("http_error".to_string(), 2);
        m.insert("ok".to_string(), 12);
        m.insert("fetch_failed".to_string(), 1);
        assert_eq!(counts_line(&m), "12 ok, 1 fetch_failed, 2 http_error");
    }

    #[test]
    fn failures_say_whether_they_pass() {
        let status = |s| FetchError::Status {
            status: s,
            reason: None,
            retry_after: None,
        };
        assert_eq!(fetch_outcome(&status(404)), ("http_error", false));
        assert_eq!(fetch_outcome(&status(502)), ("http_error", true));
        assert_eq!(fetch_outcome(&status(429)), ("rate_limited", true));
        assert_eq!(
            fetch_outcome(&FetchError::Timeout(Duration::from_secs(1))),
            ("fetch_failed", true)
        );
        assert_eq!(
            fetch_outcome(&FetchError::TooLarge { limit: 1 }),
            ("too_large", false)
        );
        assert_eq!(retry_delay(1), Duration::from_secs(1800));
        assert_eq!(retry_delay(2), Duration::from_secs(7200));
        assert!(retry_delay(40) <= Duration::from_secs(1800 * 256));
    }
}
