//! Rendered feed documents, kept between requests, and served while a poll writes.
//!
//! A document is valid while the store's generation (bumped by every change to what the
//! merged feed shows) and the config in force are the ones it was rendered from: between
//! polls, each document is rendered once. While this process polls, the store changes many
//! times a second, and rendering again for each change would put a render (and a wait for
//! the read connection) in front of nearly every request. So while a poll runs, a document
//! rendered less than [`STALE_FOR`] ago is served as it is; an older one is rendered again by
//! one request while the others keep getting the last render.
//!
//! The bound: while polls run, a response may lack what was committed in the last
//! [`STALE_FOR`] plus one render, or 2 x [`STALE_FOR`] if another request's render is in
//! flight. When no poll runs (in this process), every request shows what the store held
//! when it arrived, as before. Each document carries its own ETag, so a reader's
//! conditional GET is answered for the render it got.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use chrono::{DateTime, Utc};

use crate::config::Config;

/// How long a render may be served after the store changed, while a poll runs.
pub const STALE_FOR: Duration = Duration::from_secs(1);

/// At most this many documents are kept (a reader adding random parameters cannot grow it).
const CACHE_MAX: usize = 256;

/// One rendered document.
#[derive(Debug)]
pub struct Rendered {
    /// The document.
    pub body: Bytes,
    /// Its ETag (quoted), computed once.
    pub etag: String,
    /// When what it shows last changed (`Last-Modified`).
    pub updated: DateTime<Utc>,
}

/// What a document was rendered from: the store's generation and the config in force.
#[derive(Clone)]
pub struct Stamp {
    /// [`crate::store::Store::generation`], read before the render's queries.
    pub generation: i64,
    /// The config in force (held, so that no later config can take its address).
    pub config: Arc<Config>,
}

impl Stamp {
    /// Whether a document rendered at `self` shows everything `now` does.
    fn covers(&self, now: &Stamp) -> bool {
        Arc::ptr_eq(&self.config, &now.config) && self.generation >= now.generation
    }
}

struct Doc {
    stamp: Stamp,
    rendered: Arc<Rendered>,
    at: Instant,
}

/// One document's place: its last render, and the lock its renders take (one at a time).
#[derive(Default)]
struct Slot {
    doc: Mutex<Option<Doc>>,
    render: tokio::sync::Mutex<()>,
}

impl Slot {
    fn last(&self) -> Option<(Stamp, Arc<Rendered>, Duration)> {
        let doc = self.doc.lock().unwrap_or_else(|p| p.into_inner());
        doc.as_ref()
            .map(|d| (d.stamp.clone(), Arc::clone(&d.rendered), d.at.elapsed()))
    }

    fn keep(&self, stamp: Stamp, rendered: Arc<Rendered>) {
        let mut doc = self.doc.lock().unwrap_or_else(|p| p.into_inner());
        // a slower render of an older state never replaces a newer one
        if doc.as_ref().is_none_or(|d| !d.stamp.covers(&stamp)) {
            *doc = Some(Doc {
                stamp,
                rendered,
                at: Instant::now(),
            });
        }
    }
}

/// Rendered feed documents by request (route, query, public base).
pub struct RenderCache {
    slots: Mutex<HashMap<String, Arc<Slot>>>,
    /// Polls running in this process.
    polls: AtomicUsize,
    /// [`STALE_FOR`], but for tests.
    stale_for: Duration,
}

impl Default for RenderCache {
    fn default() -> RenderCache {
        RenderCache::with_stale_for(STALE_FOR)
    }
}

/// Marks a poll as running until dropped; see [`RenderCache::poll_running`].
pub struct PollRunning<'a>(&'a RenderCache);

impl Drop for PollRunning<'_> {
    fn drop(&mut self) {
        self.0.polls.fetch_sub(1, Ordering::Relaxed);
    }
}

impl RenderCache {
    /// A cache that serves a render up to `stale_for` behind the store while a poll runs.
    pub fn with_stale_for(stale_for: Duration) -> RenderCache {
        RenderCache {
            slots: Mutex::default(),
            polls: AtomicUsize::new(0),
            stale_for,
        }
    }

    /// Says that a poll runs until the guard drops: meanwhile documents are served up to
    /// [`STALE_FOR`] behind the store.
    pub fn poll_running(&self) -> PollRunning<'_> {
        self.polls.fetch_add(1, Ordering::Relaxed);
        PollRunning(self)
    }

    fn polling(&self) -> bool {
        self.polls.load(Ordering::Relaxed) > 0
    }

    fn slot(&self, key: &str) -> Arc<Slot> {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = slots.get(key) {
            return Arc::clone(s);
        }
        if slots.len() >= CACHE_MAX {
            slots.clear();
        }
        Arc::clone(slots.entry(key.to_string()).or_default())
    }

    /// While a poll runs, the last render of `key` if it was rendered with `config` and is
    /// under [`STALE_FOR`] old (or under twice that while another request renders it again):
    /// served without asking the store anything.
    pub fn recent(&self, key: &str, config: &Arc<Config>) -> Option<Arc<Rendered>> {
        if !self.polling() {
            return None;
        }
        let slot = Arc::clone(
            self.slots
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(key)?,
        );
        let (stamp, rendered, age) = slot.last()?;
        let recent =
            age < self.stale_for || (age < 2 * self.stale_for && slot.render.try_lock().is_err());
        (recent && Arc::ptr_eq(&stamp.config, config)).then_some(rendered)
    }

    /// The document for `key` as of `now`: the last render when it is current (or, while a
    /// poll runs, recent enough), else a new one from `render`, which returns the stamp it
    /// rendered at. Requests for one document render it one at a time; an error is not kept.
    pub async fn get<F, Fut, E>(
        &self,
        key: &str,
        now: &Stamp,
        render: F,
    ) -> Result<Arc<Rendered>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(Stamp, Rendered), E>>,
    {
        let slot = self.slot(key);
        if let Some((stamp, rendered, age)) = slot.last() {
            if stamp.covers(now) {
                return Ok(rendered);
            }
            if self.polling() && age < self.stale_for {
                return Ok(rendered);
            }
            if self.polling() && age < 2 * self.stale_for {
                // one request renders; the others keep getting the last render meanwhile
                return match slot.render.try_lock() {
                    Ok(_turn) => Self::render_into(&slot, render).await,
                    Err(_) => Ok(rendered),
                };
            }
        }
        let _turn = slot.render.lock().await;
        // rendered while this request waited its turn
        if let Some((stamp, rendered, _)) = slot.last() {
            if stamp.covers(now) {
                return Ok(rendered);
            }
        }
        Self::render_into(&slot, render).await
    }

    async fn render_into<F, Fut, E>(slot: &Slot, render: F) -> Result<Arc<Rendered>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(Stamp, Rendered), E>>,
    {
        let (stamp, rendered) = render().await?;
        let rendered = Arc::new(rendered);
        slot.keep(stamp, Arc::clone(&rendered));
        Ok(rendered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Arc<Config> {
        let dir = tempfile::tempdir().unwrap();
        Arc::new(Config::parse(&dir.path().join("n.toml"), "database = \"n.db\"\n").unwrap())
    }

    fn doc(text: &str) -> Rendered {
        Rendered {
            body: Bytes::from(text.to_string()),
            etag: format!("\"{text}\""),
            updated: DateTime::UNIX_EPOCH,
        }
    }

    async fn get(cache: &RenderCache, now: &Stamp, text: &str) -> String {
        let rendered = cache
            .get("k", now, || async { Ok::<_, ()>((now.clone(), doc(text))) })
            .await
            .unwrap();
        String::from_utf8(rendered.body.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn a_change_shows_at_once_when_no_poll_runs() {
        let cache = RenderCache::default();
        let config = config();
        let at = |generation| Stamp {
            generation,
            config: Arc::clone(&config),
        };
        assert_eq!(get(&cache, &at(1), "one").await, "one");
        assert_eq!(get(&cache, &at(1), "not rendered").await, "one");
        assert_eq!(get(&cache, &at(2), "two").await, "two");
        // a new config is a change too
        let other = Stamp {
            generation: 2,
            config: self::config(),
        };
        assert_eq!(get(&cache, &other, "three").await, "three");
    }

    #[tokio::test]
    async fn while_a_poll_runs_a_recent_render_is_served() {
        let cache = RenderCache::with_stale_for(Duration::from_secs(3600));
        let config = config();
        let at = |generation| Stamp {
            generation,
            config: Arc::clone(&config),
        };
        assert_eq!(get(&cache, &at(1), "one").await, "one");
        assert!(cache.recent("k", &config).is_none(), "no poll runs");
        let running = cache.poll_running();
        assert_eq!(get(&cache, &at(2), "two").await, "one");
        let recent = cache.recent("k", &config).expect("a recent render");
        assert_eq!(&recent.body[..], b"one");
        assert!(
            cache.recent("k", &self::config()).is_none(),
            "another config"
        );
        assert!(cache.recent("other", &config).is_none(), "never rendered");
        drop(running);
        assert_eq!(get(&cache, &at(2), "two").await, "two");
        // an old render is not served while a poll runs: it is rendered again
        let cache = RenderCache::with_stale_for(Duration::ZERO);
        assert_eq!(get(&cache, &at(1), "one").await, "one");
        let _running = cache.poll_running();
        assert_eq!(get(&cache, &at(2), "two").await, "two");
    }
}
