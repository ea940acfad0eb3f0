//! The daemon: scheduler, live config reload, the HTTP server, the output file, shutdown.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use tokio::net::TcpListener;
use tokio::sync::{Mutex, mpsc, watch};
use tokio_cron_scheduler::{Job, JobScheduler};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, error, info, warn};
use uuid::Uuid;

use crate::config::{Config, FullText};
use crate::fulltext::FullTextQueue;
use crate::poll::{Outcome, PollOptions, Poller, error_chain};
use crate::publish::cache::RenderCache;
use crate::publish::server::{AppState, Format, Heartbeat, ReloadStatus, router};
use crate::publish::{self, View};
use crate::store::{Db, FeedSync, lists};

/// How long shutdown waits for polls that are storing their results.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);
/// How often the scheduler's heartbeat job runs (watchdog pings and /healthz follow it).
const HEARTBEAT: Duration = Duration::from_secs(5);
/// A poll whose result the database did not take (locked, full, read-only) is tried again
/// after this, then after twice as long each time, as long as that comes before the feed's
/// next scheduled poll: a lock held by a backup is usually gone in seconds, and the fetched
/// articles should not wait a whole interval for it.
const STORE_RETRY: Duration = Duration::from_secs(5);
/// A config reload that the database refused (locked, full, read-only) is tried again after this.
const RELOAD_RETRY: Duration = Duration::from_secs(10);

/// Tells systemd (when it started us with NOTIFY_SOCKET) how things stand; a no-op otherwise.
fn notify(state: &[sd_notify::NotifyState]) {
    if let Err(e) = sd_notify::notify(state) {
        warn!(error = %e, "could not notify systemd");
    }
}

/// Opens the store named by `config` and makes its feed list match the config.
pub async fn open_store(config: &Config) -> anyhow::Result<Db> {
    let list = config.feed_list();
    let store = Db::open_async(&config.database)
        .await
        .context("opening the database")?;
    store.configure(config.store.clone());
    let synced = store.call(move |s| s.sync_feeds(&list)).await?;
    log_sync(&synced);
    Ok(store)
}

/// Says what a sync of the feed list removed, and which other instances list other feeds.
fn log_sync(synced: &FeedSync) {
    if !synced.removed.is_empty() {
        info!(
            removed = ?synced.removed,
            "feeds no longer in the config were removed with their articles"
        );
    }
    if !synced.forgotten.is_empty() {
        info!(instances = ?synced.forgotten, "instances not heard of for a week were forgotten, with the feeds only they listed");
    }
    for d in &synced.differences {
        let few = |names: &[String]| names.iter().take(5).cloned().collect::<Vec<_>>();
        warn!(
            instance = %d.owner,
            last_seen = %d.seen.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            only_there = d.only_there.len(),
            only_here = d.only_here.len(),
            other_url = d.other_url.len(),
            examples_there = ?few(&d.only_there),
            examples_here = ?few(&d.only_here),
            examples_url = ?few(&d.other_url),
            "another instance on this database lists other feeds: the feeds only it lists are kept (and polled by it), and this config's URL is polled where they differ"
        );
    }
}

/// Renders the merged feed and writes it to `output.file` (Atom), `output.rss_file` and
/// `output.json_file`, those that are configured, each only when its content changed.
pub async fn write_output_file(store: &Db, config: &Arc<Config>) {
    let targets: Vec<(Format, PathBuf)> = [
        (Format::Atom, &config.output.file),
        (Format::Rss, &config.output.rss_file),
        (Format::Json, &config.output.json_file),
    ]
    .into_iter()
    .filter_map(|(f, p)| p.clone().map(|p| (f, p)))
    .collect();
    if targets.is_empty() {
        return;
    }
    let config = Arc::clone(config);
    let result = store
        .call(move |s| {
            let mut feed = match publish::build(s, &config, &View::default()) {
                Ok(f) => f,
                Err(e) => return Ok(Err(error_chain(&e))),
            };
            publish::source::credit_authors(&mut feed, config.output.source_in);
            let mut done = Vec::new();
            for (format, path) in targets {
                // no request: its URLs are `public_url`'s, if set
                let body = format.render(&feed, &format.file_links(config.public_url.as_ref()));
                let written =
                    publish::write_atomically(&path, body.as_bytes()).map_err(|e| error_chain(&e));
                done.push((path, written));
            }
            Ok(Ok(done))
        })
        .await;
    match result {
        Ok(Ok(done)) => {
            for (path, written) in done {
                match written {
                    Ok(true) => debug!(path = %path.display(), "output file written"),
                    Ok(false) => {}
                    Err(e) => {
                        warn!(path = %path.display(), error = %e, "could not write the output file")
                    }
                }
            }
        }
        Ok(Err(e)) => warn!(error = %e, "could not build the merged feed for the output files"),
        Err(e) => {
            warn!(error = %error_chain(&e), "could not build the merged feed for the output files")
        }
    }
}

struct Daemon {
    poller: Arc<Poller>,
    config: watch::Sender<Arc<Config>>,
    tracker: TaskTracker,
    /// Bumped whenever what the merged feed shows may have changed.
    changes: watch::Sender<u64>,
    scheduler: Mutex<Schedules>,
    /// Cancelled at shutdown (ends the waits before store retries).
    cancel: CancellationToken,
    /// WebSub subscriptions at the feeds' hubs.
    websub: Arc<crate::push::Subscriber>,
    /// Article pages of full-text feeds, fetched after their polls.
    full_text: std::sync::OnceLock<FullTextQueue>,
    /// Whether the last reload failed, for `/status`, `/metrics` and the page.
    reload_status: Arc<ReloadStatus>,
    /// The server's rendered feeds, told when polls run (see [`RenderCache::poll_running`]).
    render_cache: Arc<RenderCache>,
}

struct Schedules {
    sched: JobScheduler,
    /// One job per distinct cron expression; it polls every enabled feed on that schedule.
    jobs: HashMap<String, Uuid>,
}

impl Daemon {
    fn current(&self) -> Arc<Config> {
        self.config.borrow().clone()
    }

    /// Polls `config`'s feed at `index` now, not at a tick (at start, or a feed just added).
    fn spawn_poll(self: &Arc<Self>, config: &Arc<Config>, index: usize) {
        self.spawn_poll_attempt(Arc::clone(config), index, 0, Utc::now(), true);
    }

    /// Polls `config`'s feed at `index` for the schedule's tick at `tick`; `retries` polls
    /// before this one had their result refused by the database.
    fn spawn_poll_attempt(
        self: &Arc<Self>,
        config: Arc<Config>,
        index: usize,
        retries: u32,
        tick: DateTime<Utc>,
        joining: bool,
    ) {
        let this = Arc::clone(self);
        self.tracker.spawn(async move {
            // the feed and its schedule, borrowed from the config of the tick: every feed due
            // at a tick waits in a task of its own, which must stay small (a clone of the
            // feed, 650 bytes and its strings, and one of croner's schedule, about 1 KB, in
            // each of 10,000 tasks were 6 and 12 MB)
            let feed = &config.feeds[index];
            let schedule = config.schedule_of(feed);
            let options = PollOptions {
                force: false,
                respect_backoff: true,
                tick: Some(tick),
                joining,
            };
            // boxed, as the poll is (see `Poller::poll`): every feed due at a tick waits in a
            // task of its own, which must stay small
            if retries == 0 && !Box::pin(this.websub.poll_due(feed)).await {
                debug!(feed = %feed.name, "subscribed at its WebSub hub: only the safety interval's polls run");
                return;
            }
            let summary = {
                // meanwhile the server serves its last render (up to a second behind)
                let _running = this.render_cache.poll_running();
                this.poller.poll(feed, schedule, options).await
            };
            if summary.changed() {
                this.changes.send_modify(|v| *v += 1);
            }
            Box::pin(this.websub.after_poll(feed, &summary)).await;
            // the entries are stored: their pages are fetched from the queue, not here
            if feed.full_text != FullText::Off
                && matches!(
                    summary.outcome,
                    Outcome::Updated { .. } | Outcome::NotModified | Outcome::Unchanged
                )
            {
                if let Some(q) = this.full_text.get() {
                    q.enqueue(&feed.name);
                }
            }
            if !matches!(summary.outcome, Outcome::NotStored { .. }) {
                return;
            }
            let wait = STORE_RETRY.saturating_mul(1 << retries.min(16));
            if wait >= schedule.interval_after(Utc::now()) {
                // the next scheduled poll comes first
                return;
            }
            info!(feed = %feed.name, retry_in = ?wait, "polling again soon: the database did not take the last result");
            tokio::select! {
                _ = tokio::time::sleep(wait) => {},
                _ = this.cancel.cancelled() => return,
            }
            // the feed may have been edited, disabled or removed meanwhile
            let current = this.current();
            if let Some(i) = current
                .feeds
                .iter()
                .position(|f| f.name == feed.name && f.enabled)
            {
                this.spawn_poll_attempt(current, i, retries + 1, tick, joining);
            }
        });
    }

    /// Polls every enabled feed whose effective schedule is `expr`.
    fn tick(self: &Arc<Self>, expr: &str) {
        let config = self.current();
        let at = Utc::now();
        for (i, _) in config
            .feeds
            .iter()
            .enumerate()
            .filter(|(_, f)| f.enabled && config.schedule_of(f).expr() == expr)
        {
            self.spawn_poll_attempt(Arc::clone(&config), i, 0, at, false);
        }
    }

    /// Makes the scheduler's jobs match the config's schedules.
    async fn sync_schedules(self: &Arc<Self>) -> anyhow::Result<()> {
        let config = self.current();
        let wanted: HashSet<String> = config
            .feeds
            .iter()
            .filter(|f| f.enabled)
            .map(|f| config.schedule_of(f).expr().to_string())
            .collect();
        let mut s = self.scheduler.lock().await;
        let stale: Vec<String> = s
            .jobs
            .keys()
            .filter(|e| !wanted.contains(*e))
            .cloned()
            .collect();
        for expr in stale {
            if let Some(id) = s.jobs.remove(&expr) {
                s.sched.remove(&id).await.context("removing a schedule")?;
            }
        }
        for expr in wanted {
            if s.jobs.contains_key(&expr) {
                continue;
            }
            let this = Arc::downgrade(self);
            let e = expr.clone();
            let job = Job::new_async(expr.as_str(), move |_id, _lock| {
                let this = this.clone();
                let e = e.clone();
                Box::pin(async move {
                    if let Some(this) = this.upgrade() {
                        this.tick(&e);
                    }
                })
            })
            .with_context(|| format!("scheduling {expr:?}"))?;
            let id = s.sched.add(job).await.context("adding a schedule")?;
            s.jobs.insert(expr, id);
        }
        Ok(())
    }

    /// Re-reads the config file. A config that does not load is reported and the daemon
    /// keeps the last good one. Returns false when the database did not take the new feed
    /// list: the config is as it was, and the caller tries again.
    async fn reload(self: &Arc<Self>, path: &Path) -> bool {
        let mut states = vec![sd_notify::NotifyState::Reloading];
        states.extend(sd_notify::NotifyState::monotonic_usec_now().ok());
        notify(&states);
        let applied = self.reload_inner(path).await;
        notify(&[sd_notify::NotifyState::Ready]);
        applied
    }

    async fn reload_inner(self: &Arc<Self>, path: &Path) -> bool {
        // reading the file (and checking view queries) is blocking work
        let p = path.to_path_buf();
        let loaded = tokio::task::spawn_blocking(move || Config::load(&p))
            .await
            .unwrap_or_else(|e| {
                Err(crate::config::ConfigError::Io {
                    path: path.to_path_buf(),
                    source: std::io::Error::other(e.to_string()),
                })
            });
        let new = match loaded {
            Ok(c) => c,
            Err(e) => {
                error!("config reload failed, keeping the last good config: {e}");
                self.reload_status.failed(e.to_string());
                return true;
            }
        };
        let old = self.current();
        let mut new = new;
        if new.listen != old.listen {
            warn!(old = %old.listen, new = %new.listen, "`listen` changed: restart newswire to apply it");
            new.listen = old.listen;
        }
        if new.database != old.database {
            warn!(old = %old.database, new = %new.database, "`database` changed: restart newswire to apply it");
            new.database = old.database.clone();
        }
        if new.instance != old.instance {
            // the list recorded under the old name would stand for a week beside the new one
            warn!(old = %old.instance, new = %new.instance, "`instance` changed: restart newswire to apply it (the list recorded under the old name is forgotten after a week)");
            new.instance = old.instance.clone();
        }
        let list = new.feed_list();
        let synced = match self
            .poller
            .store()
            .write(move |s| {
                let synced = s.sync_feeds(&list)?;
                // tags and titles may have changed what the merged feed shows
                s.touch(Utc::now())?;
                Ok(synced)
            })
            .await
        {
            Ok(r) => r,
            Err(e) => {
                error!(error = %error_chain(&e), "config reload failed: the database did not take the new feed list; keeping the last good config");
                self.reload_status.failed(format!(
                    "the database did not take the new feed list (tried again shortly): {}",
                    error_chain(&e)
                ));
                return false;
            }
        };
        self.poller.store().configure(new.store.clone());
        self.poller.set_rules(&new.rules);
        if let Err(e) = self.poller.reconfigure(&new.fetch) {
            error!(error = %error_chain(&e), "new [fetch] settings could not be applied; keeping the old ones");
        }
        let to_poll: Vec<usize> = new
            .feeds
            .iter()
            .enumerate()
            .filter(|(_, f)| f.enabled)
            .filter(|(_, f)| match old.feed(&f.name) {
                None => true,
                Some(o) => o.url != f.url || !o.enabled,
            })
            .map(|(i, _)| i)
            .collect();
        let added: Vec<&str> = new
            .feeds
            .iter()
            .filter(|f| old.feed(&f.name).is_none())
            .map(|f| f.name.as_str())
            .collect();
        log_sync(&synced);
        info!(feeds = new.feeds.len(), ?added, removed = ?synced.removed, "config reloaded");
        self.reload_status.succeeded();
        let new = Arc::new(new);
        self.config.send_replace(Arc::clone(&new));
        if let Err(e) = self.sync_schedules().await {
            error!(error = %error_chain(e.as_ref()), "could not apply the new schedules");
        }
        for i in to_poll {
            self.spawn_poll(&new, i);
        }
        self.changes.send_modify(|v| *v += 1);
        // feeds removed or disabled are unsubscribed at their hubs
        self.websub.wake();
        true
    }
}

/// Sends a message whenever the file at `path` may have changed (by inotify and the like,
/// else by checking its modification time every two seconds).
fn watch_config(
    path: &Path,
    tx: mpsc::UnboundedSender<bool>,
) -> Option<notify::RecommendedWatcher> {
    use notify::Watcher;
    let file_name = path.file_name()?.to_os_string();
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let tx2 = tx.clone();
    let watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        use notify::event::{AccessKind, AccessMode, EventKind};
        if let Ok(ev) = res {
            // reading the file (as a reload does) is no change; closing it after writing is
            let read = ev.kind.is_access()
                && ev.kind != EventKind::Access(AccessKind::Close(AccessMode::Write));
            if !read
                && ev
                    .paths
                    .iter()
                    .any(|p| p.file_name() == Some(file_name.as_os_str()))
            {
                let _ = tx2.send(false);
            }
        }
    })
    .and_then(|mut w| {
        w.watch(&dir, notify::RecursiveMode::NonRecursive)
            .map(|_| w)
    });
    match watcher {
        Ok(w) => Some(w),
        Err(e) => {
            warn!(error = %e, "cannot watch the config file; checking it every 2 s instead");
            let path = path.to_path_buf();
            tokio::spawn(async move {
                let stamp = |p: &Path| {
                    std::fs::metadata(p)
                        .ok()
                        .map(|m| (m.modified().ok(), m.len()))
                };
                let mut last = stamp(&path);
                loop {
                    tokio::time::sleep(Duration::from_secs(2)).await;
                    let now = stamp(&path);
                    if now != last {
                        last = now;
                        if tx.send(false).is_err() {
                            return;
                        }
                    }
                }
            });
            None
        }
    }
}

/// How many nice steps below the server the parse threads run (see [`crate::background`]).
const PARSE_NICENESS: i32 = 10;

/// Runs the daemon on the config at `config_path` until `shutdown` resolves: polls every
/// enabled feed at start and then on schedule, serves the merged feed, follows config edits
/// (and SIGHUP). On shutdown, fetches in flight are abandoned, writes in flight finish.
pub async fn run(config_path: PathBuf, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    // first of all: until this handler exists, SIGHUP (systemctl reload) would kill the process
    let hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    let config = Config::load(&config_path)?;
    let store = open_store(&config).await?;
    let listener = listen(&config, &config_path).await?;
    // a reader's request comes before parsing a fetched document, never after it
    crate::background::lower_priority(PARSE_NICENESS);
    let cancel = CancellationToken::new();
    let started = Daemon::start(store.clone(), config, &cancel).await?;
    let daemon = Arc::clone(&started.daemon);
    let websub_timer = tokio::spawn(Arc::clone(&started.websub).run_timer(cancel.clone()));
    let heartbeat = start_heartbeat(&started.sched, &cancel).await?;
    // every enabled feed once at start
    let config = daemon.current();
    for (i, _) in config.feeds.iter().enumerate().filter(|(_, f)| f.enabled) {
        daemon.spawn_poll(&config, i);
    }
    let writer = spawn_output_writer(&daemon, started.publisher, started.changes, &cancel);
    let lists = spawn_list_heartbeat(&daemon, &cancel);
    let (reloader, _watcher) = spawn_reloader(&daemon, &config_path, hup, &cancel);
    let state = AppState {
        store: store.clone(),
        config: daemon.config.subscribe(),
        health: heartbeat,
        cache: Arc::clone(&daemon.render_cache),
        reload: Arc::clone(&daemon.reload_status),
    };
    let server = spawn_server(listener, state, &started.websub, &cancel);

    // the database is open, the server listens, the scheduler runs
    notify(&[
        sd_notify::NotifyState::Ready,
        sd_notify::NotifyState::Status("polling and serving"),
    ]);
    shutdown.await;
    info!("shutting down");
    notify(&[sd_notify::NotifyState::Stopping]);
    stop_polls(&daemon, &cancel).await;
    let _ = reloader.await;
    let _ = writer.await;
    let _ = lists.await;
    let _ = websub_timer.await;
    close_store(&store, &daemon).await;
    match server.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => warn!(error = %e, "HTTP server stopped with an error"),
        Err(e) => warn!(error = %e, "HTTP server task failed"),
    }
    info!("stopped");
    Ok(())
}

/// Binds `listen`, and says where the merged feed is.
async fn listen(config: &Config, config_path: &Path) -> anyhow::Result<TcpListener> {
    let listener = TcpListener::bind(config.listen).await.with_context(|| {
        format!(
            "cannot listen on {} (`listen` in {})",
            config.listen,
            config_path.display()
        )
    })?;
    let addr = listener.local_addr()?;
    info!(
        config = %config_path.display(),
        database = %config.database,
        feeds = config.feeds.len(),
        "listening on http://{addr}/ (merged feed at http://{addr}/feed.atom)"
    );
    Ok(listener)
}

/// What [`Daemon::start`] sets going, for the rest of [`run`].
struct Started {
    daemon: Arc<Daemon>,
    websub: Arc<crate::push::Subscriber>,
    publisher: crate::push::publisher::Publisher,
    /// Bumped whenever what the merged feed shows may have changed.
    changes: watch::Receiver<u64>,
    /// Not started yet: see [`start_heartbeat`].
    sched: JobScheduler,
}

impl Daemon {
    /// The poller, WebSub, the full-text queue and the feeds' schedules (not running yet).
    async fn start(
        store: Db,
        config: Config,
        cancel: &CancellationToken,
    ) -> anyhow::Result<Started> {
        let poller = Arc::new(Poller::new(store.clone(), &config.fetch, cancel.clone())?);
        poller.set_rules(&config.rules);
        let config = Arc::new(config);
        let (config_tx, config_rx) = watch::channel(Arc::clone(&config));
        let (changes_tx, changes_rx) = watch::channel(0u64);
        let sched = JobScheduler::new()
            .await
            .context("starting the scheduler")?;
        let websub = {
            let changes = changes_tx.clone();
            crate::push::Subscriber::new(store.clone(), config_rx, move || {
                changes.send_modify(|v| *v += 1)
            })?
        };
        if config.output.hub.is_some() && config.public_url.is_none() {
            warn!(
                "`[output] hub` is set but `public_url` is not: no publish pings (a hub could not fetch 127.0.0.1)"
            );
        }
        let publisher = crate::push::publisher::Publisher::new(&config.fetch)?;
        let daemon = Arc::new(Daemon {
            poller,
            config: config_tx,
            tracker: TaskTracker::new(),
            changes: changes_tx,
            scheduler: Mutex::new(Schedules {
                sched: sched.clone(),
                jobs: HashMap::new(),
            }),
            cancel: cancel.clone(),
            websub: Arc::clone(&websub),
            full_text: std::sync::OnceLock::new(),
            reload_status: Arc::new(ReloadStatus::default()),
            render_cache: Arc::default(),
        });
        daemon.start_full_text();
        daemon.sync_schedules().await?;
        Ok(Started {
            daemon,
            websub,
            publisher,
            changes: changes_rx,
            sched,
        })
    }

    /// Starts the queue that fetches full-text feeds' article pages after their polls.
    fn start_full_text(self: &Arc<Self>) {
        let weak = Arc::downgrade(self);
        let on_change = Arc::new(move || {
            if let Some(d) = weak.upgrade() {
                d.changes.send_modify(|v| *v += 1);
            }
        });
        let queue = FullTextQueue::start(
            Arc::clone(&self.poller),
            self.config.subscribe(),
            on_change,
            self.cancel.clone(),
            &self.tracker,
        );
        let _ = self.full_text.set(queue);
    }
}

/// Starts the scheduler with its heartbeat, and the systemd watchdog pings that follow it.
async fn start_heartbeat(
    sched: &JobScheduler,
    cancel: &CancellationToken,
) -> anyhow::Result<Arc<Heartbeat>> {
    // the heartbeat runs on the scheduler like the polls do: if the scheduler wedges, the
    // beats stop, /healthz says 503 and the watchdog pings stop (systemd restarts us)
    let heartbeat = Arc::new(Heartbeat::new(HEARTBEAT));
    {
        let hb = Arc::clone(&heartbeat);
        let job = Job::new_repeated(HEARTBEAT, move |_id, _lock| hb.beat())
            .context("scheduling the heartbeat")?;
        sched.add(job).await.context("adding the heartbeat")?;
    }
    sched.start().await.context("starting the scheduler")?;
    if let Some(period) = sd_notify::watchdog_enabled() {
        let hb = Arc::clone(&heartbeat);
        let cancel = cancel.clone();
        info!(?period, "systemd watchdog enabled");
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period / 2);
            loop {
                tokio::select! {
                    _ = tick.tick() => {},
                    _ = cancel.cancelled() => break,
                }
                if hb.alive() {
                    notify(&[sd_notify::NotifyState::Watchdog]);
                } else {
                    error!("the scheduler has stopped ticking: no watchdog ping");
                }
            }
        });
    }
    Ok(heartbeat)
}

/// The output files (and WebSub publish pings) follow the store: after each burst of
/// changes, once. Where several instances share the database, only the leader writes them
/// (and pings), and it follows every instance's changes by the store's generation, looked
/// at every [`LEADER_CHECK`]; when the leader dies, another takes over at its next look.
fn spawn_output_writer(
    daemon: &Arc<Daemon>,
    publisher: crate::push::publisher::Publisher,
    mut changes: watch::Receiver<u64>,
    cancel: &CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let daemon = Arc::clone(daemon);
    let cancel = cancel.clone();
    tokio::spawn(async move {
        let store = daemon.poller.store().clone();
        let shared = store.shared();
        let mut leading = Leading::default();
        let mut check = tokio::time::interval(LEADER_CHECK);
        let mut first = true;
        loop {
            if !first {
                tokio::select! {
                    r = changes.changed() => {
                        if r.is_err() { break }
                        // let a burst of polls land before rendering
                        tokio::time::sleep(Duration::from_millis(500)).await;
                        changes.mark_unchanged();
                    }
                    _ = check.tick(), if shared => {}
                    _ = cancel.cancelled() => break,
                }
            }
            first = false;
            if shared && !leading.has_news(&store).await {
                continue;
            }
            write_output_file(&store, &daemon.current()).await;
            publisher.after_change(&store, &daemon.current()).await;
        }
    })
}

/// Tells the store, every [`lists::HEARTBEAT`], that this instance is still there: the feeds
/// only its config lists are kept for it (see [`crate::store::lists`]).
fn spawn_list_heartbeat(
    daemon: &Arc<Daemon>,
    cancel: &CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let daemon = Arc::clone(daemon);
    let cancel = cancel.clone();
    tokio::spawn(async move {
        let mut beat = tokio::time::interval(lists::HEARTBEAT);
        beat.tick().await; // the first tick is now: the start's sync said it
        loop {
            tokio::select! {
                _ = beat.tick() => {}
                _ = cancel.cancelled() => break,
            }
            let owner = daemon.current().instance.clone();
            if let Err(e) = daemon
                .poller
                .store()
                .write(move |s| s.heartbeat(&owner, Utc::now()))
                .await
            {
                warn!(error = %error_chain(&e), "could not record this instance's heartbeat (tried again in an hour)");
            }
        }
    })
}

/// How often an instance on a shared database asks whether it leads, and the leader
/// whether the merged feed changed.
const LEADER_CHECK: Duration = Duration::from_secs(2);

/// What an instance on a shared database knows of its leading.
#[derive(Default)]
struct Leading {
    /// Whether it led at its last look.
    leads: bool,
    /// The generation of the merged feed it last wrote.
    written: Option<i64>,
}

impl Leading {
    /// Whether this instance leads and the merged feed changed since it last wrote it.
    async fn has_news(&mut self, store: &Db) -> bool {
        match store.call(|s| Ok((s.lead()?, s.generation()?))).await {
            Ok((true, generation)) => {
                if !self.leads {
                    info!("this instance leads: it writes the output files and sends WebSub pings");
                    self.leads = true;
                }
                self.written.replace(generation) != Some(generation)
            }
            Ok((false, _)) => {
                if self.leads {
                    warn!(
                        "this instance no longer leads (its session with the database ended): another writes the output files"
                    );
                }
                *self = Leading::default();
                false
            }
            Err(e) => {
                warn!(error = %error_chain(&e), "could not ask whether this instance leads");
                false
            }
        }
    }
}

/// Reloads the config when its file changes or on SIGHUP. Returns the task and the file's
/// watcher (which watches as long as it is kept).
fn spawn_reloader(
    daemon: &Arc<Daemon>,
    config_path: &Path,
    mut hup: tokio::signal::unix::Signal,
    cancel: &CancellationToken,
) -> (
    tokio::task::JoinHandle<()>,
    Option<notify::RecommendedWatcher>,
) {
    // `true`: SIGHUP, reload even if the file looks unchanged
    let (reload_tx, reload_rx) = mpsc::unbounded_channel::<bool>();
    let watcher = watch_config(config_path, reload_tx.clone());
    {
        let tx = reload_tx.clone();
        tokio::spawn(async move {
            while hup.recv().await.is_some() {
                info!("SIGHUP: reloading the config");
                let _ = tx.send(true);
            }
        });
    }
    let task = tokio::spawn(Arc::clone(daemon).follow_config(
        config_path.to_path_buf(),
        reload_rx,
        reload_tx,
        cancel.clone(),
    ));
    (task, watcher)
}

impl Daemon {
    /// Reloads the config at `path` for each message on `reload` (`true`: even if the file
    /// looks unchanged), after the burst of writes an editor makes; `retry` gets a message
    /// when the database refused a reload, to try again later.
    async fn follow_config(
        self: Arc<Self>,
        path: PathBuf,
        mut reload: mpsc::UnboundedReceiver<bool>,
        retry: mpsc::UnboundedSender<bool>,
        cancel: CancellationToken,
    ) {
        let mut last_text = tokio::fs::read(&path).await.ok();
        // the file was deleted or made unreadable: the daemon runs on the last good config
        let mut unreadable = false;
        loop {
            let mut forced = tokio::select! {
                m = reload.recv() => match m { Some(f) => f, None => break },
                _ = cancel.cancelled() => break,
            };
            // editors write in several steps: wait for the burst to end
            tokio::time::sleep(Duration::from_millis(300)).await;
            while let Ok(f) = reload.try_recv() {
                forced |= f;
            }
            let text = match tokio::fs::read(&path).await {
                Ok(t) => t,
                Err(e) => {
                    error!(path = %path.display(), error = %e, "cannot read the config file; keeping the last good config, and reading it again when it changes");
                    unreadable = true;
                    continue;
                }
            };
            if std::mem::take(&mut unreadable) {
                info!(path = %path.display(), "the config file can be read again");
            }
            if !forced && last_text.as_ref() == Some(&text) {
                continue;
            }
            if self.reload(&path).await {
                last_text = Some(text);
            } else {
                // the database refused the new feed list: try again (the file is as
                // good as it was, and `last_text` still differs from it)
                let tx = retry.clone();
                let cancel = cancel.clone();
                tokio::spawn(async move {
                    tokio::select! {
                        _ = tokio::time::sleep(RELOAD_RETRY) => { let _ = tx.send(false); }
                        _ = cancel.cancelled() => {}
                    }
                });
            }
        }
    }
}

/// Serves the merged feed (and WebSub's callbacks) until `cancel`.
fn spawn_server(
    listener: TcpListener,
    state: AppState,
    websub: &Arc<crate::push::Subscriber>,
    cancel: &CancellationToken,
) -> tokio::task::JoinHandle<std::io::Result<()>> {
    let app = router(state).merge(websub.router());
    let cancel = cancel.clone();
    tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(cancel.cancelled_owned())
            .await
    })
}

/// Stops the scheduler, abandons fetches in flight and lets writes in flight finish (for
/// up to [`SHUTDOWN_GRACE`]).
async fn stop_polls(daemon: &Daemon, cancel: &CancellationToken) {
    {
        let mut s = daemon.scheduler.lock().await;
        if let Err(e) = s.sched.shutdown().await {
            warn!(error = %e, "scheduler did not stop cleanly");
        }
    }
    cancel.cancel();
    daemon.tracker.close();
    if tokio::time::timeout(SHUTDOWN_GRACE, daemon.tracker.wait())
        .await
        .is_err()
    {
        warn!("some polls did not finish within {SHUTDOWN_GRACE:?}");
    }
}

/// The last output files, and everything into the database file, so that a copy of that
/// file alone is complete.
async fn close_store(store: &Db, daemon: &Daemon) {
    // on a shared database, the leader alone writes the files
    if !store.shared() || store.call(|s| s.lead()).await.unwrap_or(false) {
        write_output_file(store, &daemon.current()).await;
    }
    match store.call(|s| s.checkpoint()).await {
        Ok(true) => info!("database checkpointed"),
        Ok(false) => info!("database checkpointed in part: another process is reading it"),
        Err(e) => warn!(error = %error_chain(&e), "could not checkpoint the database"),
    }
}
