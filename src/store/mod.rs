//! SQLite storage: the only module with SQL. Typed methods, one transaction per polled feed.
//!
//! rusqlite is blocking: async callers go through [`Store::call`], which runs the closure on
//! tokio's blocking pool. One connection writes, another reads (WAL lets them overlap), so
//! serving the merged feed never waits for a poll to commit.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

use crate::article::{Article, FeedMeta};
use crate::dedup::StoryFields;
use crate::fetch::Validators;

mod apply;
mod explain;
use apply::refresh_story;
pub use explain::{Split, StoryCopies, StoryCopy};

mod rules;
pub use rules::{ApplyMarks, RuleEntry};

const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("migrations/0001_init.sql")),
    (2, include_str!("migrations/0002_fetch_state.sql")),
    (3, include_str!("migrations/0003_search.sql")),
    (4, include_str!("migrations/0004_dedup.sql")),
    (5, include_str!("migrations/0005_bands_in_memory.sql")),
    (6, include_str!("migrations/0006_plan.sql")),
    (7, include_str!("migrations/0007_fulltext.sql")),
    (8, include_str!("migrations/0008_rules.sql")),
    (9, include_str!("migrations/0009_websub.sql")),
];

pub use crate::plan::StoreSettings;

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database file could not be opened or migrated.
    #[error("cannot open database {path}: {source}")]
    Open {
        /// The database file.
        path: PathBuf,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// SQLite could only open the database file for reading (its mode or owner, an immutable
    /// flag, a read-only file system). Refused at start: such a connection stays read-only
    /// even once the file is writable again, so every poll would fail until a restart.
    #[error(
        "cannot open database {path} for writing: the file is read-only for this user (check its owner and mode, lsattr, and whether its file system is mounted read-only)"
    )]
    OpenReadOnly {
        /// The database file.
        path: PathBuf,
    },
    /// The database was written by a newer newswire.
    #[error("database {path} has schema version {found}, newer than this newswire knows ({known})")]
    TooNew {
        /// The database file.
        path: PathBuf,
        /// Version in the file.
        found: i64,
        /// Newest version known here.
        known: i64,
    },
    /// Another process (a backup, a `sqlite3` shell) holds the database's write lock, and a
    /// write could not get it within the busy timeout. The same write may succeed later.
    #[error(
        "the database is locked: another process holds its write lock (a write waits for it at most {} s)",
        BUSY_TIMEOUT.as_secs()
    )]
    Busy(rusqlite::Error),
    /// The disk (or file system) holding the database is full. The same write may succeed
    /// once there is room again.
    #[error("cannot write to the database: the disk is full ({0})")]
    Full(rusqlite::Error),
    /// Writing failed: the file or its file system is read-only, or the disk failed.
    /// `detail` names the file that refused writes and why, when that could be found out.
    // SQLite's own error is in the message rather than a #[source]: its cause ("Error code
    // 778: ...") adds nothing a reader of the log can use.
    #[error("cannot write to the database: {error}{detail}")]
    Unwritable {
        /// SQLite's error (usually "disk I/O error" or "attempt to write a readonly database").
        error: rusqlite::Error,
        /// " (<file>: <OS error>)", or empty.
        detail: String,
    },
    /// A query failed.
    #[error("database error: {0}")]
    Sqlite(#[source] rusqlite::Error),
    /// A search query is not valid FTS5 syntax.
    #[error("bad search query: {0}")]
    BadQuery(String),
    /// A blocking task panicked or was cancelled.
    #[error("database task failed: {0}")]
    Task(String),
}

impl From<rusqlite::Error> for StoreError {
    /// Sorts out the errors that mean "the database cannot take writes now" (locked, full,
    /// read-only, failing disk) from the rest, so that their message says so and callers can
    /// try again later instead of treating them as a bad feed.
    fn from(e: rusqlite::Error) -> StoreError {
        use rusqlite::ErrorCode as C;
        match e.sqlite_error_code() {
            Some(C::DatabaseBusy | C::DatabaseLocked) => StoreError::Busy(e),
            Some(C::DiskFull) => StoreError::Full(e),
            Some(C::ReadOnly | C::SystemIoFailure) => StoreError::Unwritable {
                error: e,
                detail: String::new(),
            },
            _ => StoreError::Sqlite(e),
        }
    }
}

impl StoreError {
    /// The same error again, for every poll of a batch that failed as a whole. Kinds other
    /// than SQLite's own keep their message.
    fn duplicate(&self) -> StoreError {
        fn again(e: &rusqlite::Error) -> rusqlite::Error {
            match e {
                rusqlite::Error::SqliteFailure(code, msg) => {
                    rusqlite::Error::SqliteFailure(*code, msg.clone())
                }
                other => rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR),
                    Some(other.to_string()),
                ),
            }
        }
        match self {
            StoreError::Busy(e) => StoreError::Busy(again(e)),
            StoreError::Full(e) => StoreError::Full(again(e)),
            StoreError::Unwritable { error, detail } => StoreError::Unwritable {
                error: again(error),
                detail: detail.clone(),
            },
            StoreError::Sqlite(e) => StoreError::Sqlite(again(e)),
            other => StoreError::Task(other.to_string()),
        }
    }

    /// True when the database could not take a write for a reason outside newswire and the
    /// data (locked by another process, disk full, read-only, I/O error): nothing was
    /// written, and the same write may succeed later.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            StoreError::Busy(_) | StoreError::Full(_) | StoreError::Unwritable { .. }
        )
    }
}

/// A feed as the config names it.
#[derive(Debug, Clone)]
pub struct FeedSpec {
    /// Unique slug.
    pub name: String,
    /// Its URL.
    pub url: String,
}

/// A feed's stored state and health.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FeedState {
    /// Unique slug.
    pub name: String,
    /// URL polled.
    pub url: String,
    /// Title the feed gives itself.
    pub title: Option<String>,
    /// The site the feed belongs to.
    pub site_url: Option<String>,
    /// For the next conditional GET.
    #[serde(skip)]
    pub validators: Validators,
    /// Last attempt.
    pub last_poll: Option<DateTime<Utc>>,
    /// Last attempt that succeeded (200 or 304).
    pub last_success: Option<DateTime<Utc>>,
    /// HTTP status of the last response.
    pub last_status: Option<u16>,
    /// `ok`, `recovered`, `not_modified` or `error`; `None` before the first poll.
    pub last_outcome: Option<String>,
    /// What went wrong last time.
    pub last_error: Option<String>,
    /// Failures since the last success.
    pub consecutive_failures: u32,
    /// Entries stored for this feed.
    pub article_count: u64,
    /// Hash of the last 200 body.
    #[serde(skip)]
    pub body_hash: Option<String>,
    /// No fetch before this time (failure backoff, cache hints, Retry-After).
    pub next_attempt: Option<DateTime<Utc>>,
    /// Where the feed moved permanently (301/308); polled there instead of its url.
    pub moved_to: Option<String>,
    /// The server said 410 Gone.
    pub gone: bool,
    /// The document's `<ttl>` from its last full fetch.
    #[serde(skip)]
    pub ttl: Option<Duration>,
}

/// What one poll learned about a feed, beside its articles.
#[derive(Debug, Clone, Default)]
pub struct FeedUpdate {
    /// When the poll happened.
    pub at: DateTime<Utc>,
    /// HTTP status of the final response.
    pub status: u16,
    /// Validators for the next conditional request.
    pub validators: Validators,
    /// Hash of the body, when there was one.
    pub body_hash: Option<String>,
    /// A permanent redirect's target, to poll from now on (`None`: keep what is stored).
    pub moved_to: Option<String>,
    /// No fetch before this (cache hints).
    pub next_attempt: Option<DateTime<Utc>>,
    /// The document's `<ttl>` (only known when it was parsed).
    pub ttl: Option<Duration>,
    /// What was wrong with the document and how it was read anyway: the feed's state is
    /// then `recovered`, with this as its last error.
    pub recovered: Option<String>,
}

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

/// Which stories the merged feed shows.
#[derive(Debug, Clone, Default)]
pub struct StoryQuery {
    /// Only stories carried by one of these feeds; `None` for all.
    pub feeds: Option<Vec<String>>,
    /// At most this many, newest first.
    pub limit: usize,
    /// FTS5 queries over title and body, all of which must match.
    pub search: Vec<String>,
    /// Keyset paging: only stories older than this (published, id).
    pub before: Option<(DateTime<Utc>, i64)>,
    /// Every copy instead of one entry per story (`?dedup=off`): ids are entry ids.
    pub copies: bool,
    /// Each pair (feeds, tags): only stories from one of the feeds, or that a rule tagged
    /// with one of the tags (`?tag=`, views' `tags`). Every pair must hold.
    pub tagged: Vec<(Vec<String>, Vec<String>)>,
    /// FTS5 queries over title and body, none of which may match (`-word` in a search).
    pub exclude: Vec<String>,
}

/// A feed that carried a story.
#[derive(Debug, Clone, PartialEq)]
pub struct StorySource {
    /// The feed's name.
    pub feed: String,
    /// The feed's title, if it gave one.
    pub feed_title: Option<String>,
    /// The feed's URL.
    pub feed_url: String,
    /// The feed's site.
    pub site_url: Option<String>,
    /// That feed's link to the story.
    pub link: Option<String>,
}

/// A story as the merged feed shows it.
#[derive(Debug, Clone)]
pub struct Story {
    /// Row id.
    pub id: i64,
    /// The key that makes it one story (canonical URL or feed entry).
    pub key: String,
    /// Derived fields.
    pub fields: StoryFields,
    /// Every feed that carried it, earliest first.
    pub sources: Vec<StorySource>,
}

/// The SQLite store.
pub struct Store {
    writer: Mutex<Connection>,
    /// Async callers wait here for their turn at `writer` (see [`Store::write`]).
    write_turn: tokio::sync::Semaphore,
    reader: Mutex<Connection>,
    /// A read connection of its own for [`Store::generation`], which the HTTP server asks on
    /// every request: that answer must not queue behind a render's or a poll's reads.
    generation_reader: Mutex<Connection>,
    path: PathBuf,
    settings: Mutex<StoreSettings>,
    /// Polls waiting for the writer: whoever gets it writes them all in one transaction.
    pending: Mutex<Vec<PendingPoll>>,
    /// Near-duplicate candidates, held by the writer.
    bands: Mutex<apply::NearIndex>,
}

/// The result of one queued poll, filled in by whichever caller wrote it.
type Outcome = Arc<Mutex<Option<Result<ApplyStats, StoreError>>>>;

/// One feed's poll waiting to be written; see [`Store::apply_poll`].
struct PendingPoll {
    feed: String,
    update: FeedUpdate,
    meta: FeedMeta,
    articles: Vec<Article>,
    outcome: Outcome,
}

fn ts(d: DateTime<Utc>) -> i64 {
    d.timestamp()
}

fn from_ts(t: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(t, 0).unwrap_or_default()
}

fn to_json(v: &[String]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

fn from_json(s: &str) -> Vec<String> {
    serde_json::from_str(s).unwrap_or_default()
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // a panic while holding the lock cannot leave a transaction open (it rolls back on drop)
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// How long a statement waits for another connection's write lock before it fails with
/// [`StoreError::Busy`]: long enough for a checkpoint or another newswire command.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

fn open_conn(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // 8 MiB of page cache (the default is 2 MiB): the LSH band and search indexes are
    // written at random places; more cache bought nothing measurable and cost memory
    conn.pragma_update(None, "cache_size", -8192)?;
    // checkpoint the WAL every ~32 MiB rather than every 4 MiB: index pages that many
    // polls touch are written back once instead of once per poll
    conn.pragma_update(None, "wal_autocheckpoint", 8192)?;
    // every statement of the write path stays prepared (the default keeps 16)
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

impl Store {
    /// Opens (creating if needed) the database at `path` and applies pending migrations.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let open_err = |source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            // a missing state folder is created; a failure shows up as SQLite's error below
            let _ = std::fs::create_dir_all(dir);
        }
        let mut writer = open_conn(path).map_err(open_err)?;
        if writer.is_readonly(rusqlite::MAIN_DB).map_err(open_err)? {
            return Err(StoreError::OpenReadOnly {
                path: path.to_path_buf(),
            });
        }
        let known = MIGRATIONS.last().map_or(0, |m| m.0);
        let found: i64 = writer
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(open_err)?;
        if found > known {
            return Err(StoreError::TooNew {
                path: path.to_path_buf(),
                found,
                known,
            });
        }
        let tx = writer.transaction().map_err(open_err)?;
        for (version, sql) in MIGRATIONS.iter().filter(|m| m.0 > found) {
            tx.execute_batch(sql).map_err(open_err)?;
            tx.pragma_update(None, "user_version", version)
                .map_err(open_err)?;
        }
        tx.commit().map_err(open_err)?;
        let reader = open_conn(path).map_err(open_err)?;
        let generation_reader = open_conn(path).map_err(open_err)?;
        Ok(Store {
            writer: Mutex::new(writer),
            write_turn: tokio::sync::Semaphore::new(1),
            reader: Mutex::new(reader),
            generation_reader: Mutex::new(generation_reader),
            path: path.to_path_buf(),
            settings: Mutex::new(StoreSettings::default()),
            pending: Mutex::new(Vec::new()),
            bands: Mutex::default(),
        })
    }

    /// Applies `[dedup]` and `[storage]` settings to polls stored from now on.
    pub fn configure(&self, settings: StoreSettings) {
        *self.settings.lock().unwrap_or_else(|p| p.into_inner()) = settings;
    }

    fn settings(&self) -> StoreSettings {
        self.settings
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs blocking store work on tokio's blocking pool.
    pub async fn call<T, F>(self: &Arc<Self>, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    {
        let store = Arc::clone(self);
        tokio::task::spawn_blocking(move || f(&store).map_err(|e| store.explain(e)))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?
    }

    /// As [`Store::call`], for work that writes. Writers wait for their turn as futures,
    /// not as blocking threads parked on the writer connection: while another process holds
    /// the database locked, each write waits up to the busy timeout, and a few dozen polls
    /// queued that way would take every blocking thread and stall the HTTP server's reads.
    pub async fn write<T, F>(self: &Arc<Self>, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    {
        let _turn = self
            .write_turn
            .acquire()
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?;
        self.call(f).await
    }

    /// Adds to a failed write what the OS says about the WAL file, where writes go first:
    /// "disk I/O error" alone does not tell a read-only file from a failing disk.
    fn explain(&self, e: StoreError) -> StoreError {
        match e {
            StoreError::Unwritable { error, detail } if detail.is_empty() => {
                let mut wal = self.path.clone().into_os_string();
                wal.push("-wal");
                let wal = PathBuf::from(wal);
                // Only the WAL is opened: SQLite holds POSIX locks on the database file, and
                // closing any other descriptor of that file would release them.
                let detail = match std::fs::OpenOptions::new().append(true).open(&wal) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        format!(" ({}: {e})", wal.display())
                    }
                    _ => String::new(),
                };
                StoreError::Unwritable { error, detail }
            }
            e => e,
        }
    }

    /// Makes the feeds table match the config: adds new feeds, records URL changes (which
    /// drop the old validators), and removes feeds no longer configured together with their
    /// entries; stories left without entries disappear. Returns the names removed.
    pub fn sync_feeds(&self, feeds: &[FeedSpec]) -> Result<Vec<String>, StoreError> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction()?;
        let wanted: HashMap<&str, &str> = feeds
            .iter()
            .map(|f| (f.name.as_str(), f.url.as_str()))
            .collect();
        let existing: Vec<(String, String)> = {
            let mut stmt = tx.prepare("SELECT name, url FROM feeds")?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?
        };
        let mut removed = Vec::new();
        for (name, url) in &existing {
            match wanted.get(name.as_str()) {
                None => {
                    remove_feed(&tx, name)?;
                    removed.push(name.clone());
                }
                Some(new_url) if new_url != url => {
                    // a new URL is a new start: forget validators, redirects, backoff, gone
                    tx.execute(
                        "UPDATE feeds SET url = ?2, etag = NULL, last_modified = NULL, body_hash = NULL,
                            moved_to = NULL, gone = 0, next_attempt = NULL, consecutive_failures = 0
                         WHERE name = ?1",
                        params![name, new_url],
                    )?;
                }
                Some(_) => {}
            }
        }
        // Only what changed is written: with the feed list as stored, this takes no write
        // lock, so that newswire starts while another process holds one (a backup).
        let stored: HashSet<&str> = existing.iter().map(|(name, _)| name.as_str()).collect();
        for f in feeds.iter().filter(|f| !stored.contains(f.name.as_str())) {
            tx.execute(
                "INSERT INTO feeds (name, url) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
                params![f.name, f.url],
            )?;
        }
        if !removed.is_empty() {
            touch(&tx, Utc::now())?;
        }
        tx.commit()?;
        Ok(removed)
    }

    /// When what the merged feed shows last changed (new, updated or removed stories, or a
    /// new feed list), if ever.
    pub fn changed_at(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let conn = lock(&self.reader);
        let v: Option<i64> = conn
            .query_row(
                "SELECT value FROM store_meta WHERE key = 'changed_at'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        Ok(v.map(from_ts))
    }

    /// A number that grows with every change to what the merged feed shows (0 before any).
    pub fn generation(&self) -> Result<i64, StoreError> {
        let conn = lock(&self.generation_reader);
        Ok(conn
            .query_row(
                "SELECT value FROM store_meta WHERE key = 'generation'",
                [],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(0))
    }

    /// Records that what the merged feed shows changed at `at` (never moves back).
    pub fn touch(&self, at: DateTime<Utc>) -> Result<(), StoreError> {
        let conn = lock(&self.writer);
        touch(&conn, at)
    }

    /// The state of one feed.
    pub fn feed_state(&self, name: &str) -> Result<Option<FeedState>, StoreError> {
        let conn = lock(&self.reader);
        Ok(query_feed_states(&conn, Some(name))?.into_iter().next())
    }

    /// The state of every stored feed, by name.
    pub fn feed_states(&self) -> Result<Vec<FeedState>, StoreError> {
        let conn = lock(&self.reader);
        query_feed_states(&conn, None)
    }

    /// Records a 304 or a body identical to the last one: only feed state changes.
    pub fn record_unchanged(&self, feed: &str, u: &FeedUpdate) -> Result<(), StoreError> {
        let conn = lock(&self.writer);
        conn.execute(
            "UPDATE feeds SET etag = ?2, last_modified = ?3, last_poll = ?4, last_success = ?4,
                last_status = ?5,
                -- the same document as last time: read the same way, recovered or not
                last_outcome = CASE last_outcome WHEN 'recovered' THEN 'recovered' ELSE 'not_modified' END,
                last_error = CASE last_outcome WHEN 'recovered' THEN last_error END,
                consecutive_failures = 0, next_attempt = ?6,
                moved_to = coalesce(?7, moved_to), body_hash = coalesce(?8, body_hash), gone = 0
             WHERE name = ?1",
            params![
                feed,
                u.validators.etag,
                u.validators.last_modified,
                ts(u.at),
                u.status,
                u.next_attempt.map(ts),
                u.moved_to,
                u.body_hash
            ],
        )?;
        Ok(())
    }

    /// Records that the server asked to wait (429/503 with Retry-After): every feed on `host`
    /// waits until `until`.
    pub fn record_paused(
        &self,
        feed: &str,
        at: DateTime<Utc>,
        status: u16,
        host: &str,
        until: DateTime<Utc>,
        reason: &str,
    ) -> Result<(), StoreError> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction()?;
        tx.execute(
            "INSERT INTO hosts (host, paused_until, reason) VALUES (?1, ?2, ?3)
             ON CONFLICT (host) DO UPDATE SET paused_until = max(paused_until, ?2), reason = ?3",
            params![host, ts(until), reason],
        )?;
        tx.execute(
            "UPDATE feeds SET last_poll = ?2, last_status = ?3, last_outcome = 'paused', last_error = ?4,
                next_attempt = ?5
             WHERE name = ?1",
            params![feed, ts(at), status, reason, ts(until)],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Until when the server of `host` asked to be left alone, and why, if it did and the
    /// time has not passed.
    pub fn host_pause(
        &self,
        host: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(DateTime<Utc>, String)>, StoreError> {
        let conn = lock(&self.reader);
        let row: Option<(i64, String)> = conn
            .query_row(
                "SELECT paused_until, reason FROM hosts WHERE host = ?1",
                [host],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        Ok(row.map(|(t, r)| (from_ts(t), r)).filter(|(t, _)| *t > now))
    }

    /// Every host pause still in force at `now`, by host.
    pub fn host_pauses(
        &self,
        now: DateTime<Utc>,
    ) -> Result<HashMap<String, (DateTime<Utc>, String)>, StoreError> {
        let conn = lock(&self.reader);
        let mut stmt =
            conn.prepare("SELECT host, paused_until, reason FROM hosts WHERE paused_until > ?1")?;
        let rows = stmt.query_map([ts(now)], |r| {
            Ok((r.get::<_, String>(0)?, (from_ts(r.get(1)?), r.get(2)?)))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Records a 410 Gone: the feed is not polled again until its URL changes.
    pub fn record_gone(
        &self,
        feed: &str,
        at: DateTime<Utc>,
        error: &str,
    ) -> Result<(), StoreError> {
        let conn = lock(&self.writer);
        conn.execute(
            "UPDATE feeds SET last_poll = ?2, last_status = 410, last_outcome = 'gone', last_error = ?3,
                gone = 1, next_attempt = NULL
             WHERE name = ?1",
            params![feed, ts(at), error],
        )?;
        Ok(())
    }

    /// Records a failed poll; the feed's stored articles stay as they were.
    pub fn record_failure(
        &self,
        feed: &str,
        at: DateTime<Utc>,
        status: Option<u16>,
        error: &str,
        next_attempt: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        let conn = lock(&self.writer);
        conn.execute(
            "UPDATE feeds SET last_poll = ?2, last_status = ?3, last_outcome = 'error', last_error = ?4,
                consecutive_failures = consecutive_failures + 1, next_attempt = ?5
             WHERE name = ?1",
            params![feed, ts(at), status, error, next_attempt.map(ts)],
        )?;
        Ok(())
    }

    /// Stores one successful poll of `feed` in one transaction: its new state, and every
    /// article (new ones inserted, changed ones updated in place, stories re-derived).
    pub fn apply_poll(
        &self,
        feed: &str,
        u: &FeedUpdate,
        meta: &FeedMeta,
        articles: &[Article],
    ) -> Result<ApplyStats, StoreError> {
        let outcome: Outcome = Arc::default();
        lock(&self.pending).push(PendingPoll {
            feed: feed.to_string(),
            update: u.clone(),
            meta: meta.clone(),
            articles: articles.to_vec(),
            outcome: Arc::clone(&outcome),
        });
        let mut conn = lock(&self.writer);
        // Group commit: the caller holding the writer takes every poll queued meanwhile and
        // writes them in one transaction, each in its own savepoint. Committing costs a
        // write of every page the transaction touched; polls finishing together share
        // those pages (index pages above all), so a first poll of 1000 feeds writes a
        // fraction of the WAL it would with one transaction each. A crash still leaves
        // each feed as it was before or after its poll, never in between.
        if let Some(done) = lock(&outcome).take() {
            return done;
        }
        let batch = std::mem::take(&mut *lock(&self.pending));
        let results = self.write_batch(&mut conn, &batch);
        for (poll, result) in batch.iter().zip(results) {
            *lock(&poll.outcome) = Some(result);
        }
        drop(conn);
        let done = lock(&outcome).take();
        done.unwrap_or_else(|| Err(StoreError::Task("a queued poll was not written".into())))
    }

    /// Writes queued polls in one transaction. When one of them fails, the transaction is
    /// rolled back and each poll is written in a transaction of its own, so that only the
    /// failing one is lost. (Not a savepoint per poll: savepoints journal every page they
    /// change, which cost a tenth of a first poll.)
    fn write_batch(
        &self,
        conn: &mut Connection,
        batch: &[PendingPoll],
    ) -> Vec<Result<ApplyStats, StoreError>> {
        let settings = self.settings();
        let mut held = lock(&self.bands);
        if settings.near_duplicates {
            if let Err(e) = held.refresh(conn, &settings, Utc::now()) {
                let e = StoreError::from(e);
                return batch.iter().map(|_| Err(e.duplicate())).collect();
            }
        }
        let bands = std::cell::RefCell::new(std::mem::take(&mut *held));
        let write = |conn: &mut Connection, polls: &[PendingPoll]| {
            let tx = conn.transaction()?;
            let stats = polls
                .iter()
                .map(|poll| apply::apply_one(&tx, poll, &settings, &bands))
                .collect::<Result<Vec<_>, _>>()?;
            tx.commit()?;
            Ok::<_, StoreError>(stats)
        };
        let results = match write(conn, batch) {
            Ok(stats) => stats.into_iter().map(Ok).collect(),
            Err(e) if batch.len() == 1 => vec![Err(e)],
            // locked, full, read-only: each poll alone would fail the same way, each after
            // its own wait for the lock
            Err(e) if e.is_unavailable() => batch.iter().map(|_| Err(e.duplicate())).collect(),
            Err(_) => batch
                .iter()
                .map(|poll| {
                    write(conn, std::slice::from_ref(poll)).map(|mut s| s.pop().unwrap_or_default())
                })
                .collect(),
        };
        *held = bands.into_inner();
        results
    }

    /// The newest stories, by published time, with their sources.
    pub fn stories(&self, q: &StoryQuery) -> Result<Vec<Story>, StoreError> {
        let conn = lock(&self.reader);
        // one row per story, or (copies) one per entry, with the same columns and names
        let mut sql = String::from(if q.copies {
            "SELECT s.id, 'copy:' || s.feed || ':' || s.entry_key, s.title, coalesce(s.canonical_url, s.link),
                    s.published, s.updated, s.summary, s.content, s.authors, s.categories, s.image,
                    s.language, s.first_seen, s.image_credit
             FROM entries s"
        } else {
            "SELECT id, story_key, title, link, published, updated, summary, content, authors,
                    categories, image, language, first_seen, image_credit
             FROM stories s"
        });
        let story_of = if q.copies { "s.story_id" } else { "s.id" };
        let mut args: Vec<rusqlite::types::Value> = Vec::new();
        let mut conditions: Vec<String> = Vec::new();
        if let Some(feeds) = &q.feeds {
            if feeds.is_empty() {
                return Ok(Vec::new());
            }
            let marks = vec!["?"; feeds.len()].join(",");
            conditions.push(if q.copies {
                format!("s.feed IN ({marks})")
            } else {
                format!("EXISTS (SELECT 1 FROM entries e WHERE e.story_id = s.id AND e.feed IN ({marks}))")
            });
            args.extend(feeds.iter().cloned().map(Into::into));
        }
        for search in &q.search {
            conditions.push(format!(
                "{story_of} IN (SELECT rowid FROM stories_fts WHERE stories_fts MATCH ?)"
            ));
            args.push(search.clone().into());
        }
        // stories every entry of which a rule hid are in no output
        if rules::any_marks(&conn, None, &["hide"])? {
            conditions.push(rules::visible_condition(q.copies).into());
        }
        for (feeds, tags) in &q.tagged {
            conditions.push(rules::tagged_condition(q.copies, feeds.len(), tags.len()));
            args.extend(rules::tagged_args(feeds, tags));
        }
        for search in &q.exclude {
            conditions.push(format!(
                "{story_of} NOT IN (SELECT rowid FROM stories_fts WHERE stories_fts MATCH ?)"
            ));
            args.push(search.clone().into());
        }
        if let Some((published, id)) = q.before {
            conditions.push("(s.published < ? OR (s.published = ? AND s.id < ?))".into());
            args.extend([ts(published).into(), ts(published).into(), id.into()]);
        }
        if !conditions.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&conditions.join(" AND "));
        }
        sql.push_str(&format!(
            " ORDER BY s.published DESC, s.id DESC LIMIT {}",
            q.limit
        ));
        let bad_query = |e: rusqlite::Error| match &e {
            rusqlite::Error::SqliteFailure(_, Some(msg))
                if msg.contains("fts5") || msg.contains("MATCH") =>
            {
                StoreError::BadQuery(msg.clone())
            }
            _ => StoreError::from(e),
        };
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt
            .query_map(params_from_iter(args.iter()), |r| {
                Ok(Story {
                    id: r.get(0)?,
                    key: r.get(1)?,
                    fields: StoryFields {
                        title: r.get(2)?,
                        link: r.get(3)?,
                        published: from_ts(r.get(4)?),
                        updated: from_ts(r.get(5)?),
                        summary: r.get(6)?,
                        content: r.get(7)?,
                        authors: from_json(&r.get::<_, String>(8)?),
                        categories: from_json(&r.get::<_, String>(9)?),
                        image: r.get(10)?,
                        image_credit: r.get(13)?,
                        language: r.get(11)?,
                        first_seen: from_ts(r.get(12)?),
                    },
                    sources: Vec::new(),
                })
            })
            .map_err(bad_query)?;
        let mut stories: Vec<Story> = rows.collect::<Result<_, _>>().map_err(bad_query)?;
        if stories.is_empty() {
            return Ok(stories);
        }
        let ids: Vec<i64> = stories.iter().map(|s| s.id).collect();
        let marks = vec!["?"; ids.len()].join(",");
        let mut stmt = conn.prepare(&format!(
            "SELECT {key}, e.feed, f.title, f.url, f.site_url, e.link
             FROM entries e JOIN feeds f ON f.name = e.feed
             WHERE {key} IN ({marks}) ORDER BY e.published, e.id",
            key = if q.copies { "e.id" } else { "e.story_id" }
        ))?;
        let mut by_story: HashMap<i64, Vec<StorySource>> = HashMap::new();
        let rows = stmt.query_map(params_from_iter(ids.iter()), |r| {
            Ok((
                r.get::<_, i64>(0)?,
                StorySource {
                    feed: r.get(1)?,
                    feed_title: r.get(2)?,
                    feed_url: r.get(3)?,
                    site_url: r.get(4)?,
                    link: r.get(5)?,
                },
            ))
        })?;
        for row in rows {
            let (id, src) = row?;
            let list = by_story.entry(id).or_default();
            if !list.iter().any(|s| s.feed == src.feed) {
                list.push(src);
            }
        }
        for s in &mut stories {
            s.sources = by_story.remove(&s.id).unwrap_or_default();
        }
        Ok(stories)
    }

    /// Number of entries and stories stored.
    pub fn counts(&self) -> Result<(u64, u64), StoreError> {
        let conn = lock(&self.reader);
        Ok(conn.query_row(
            "SELECT (SELECT count(*) FROM entries), (SELECT count(*) FROM stories)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?)
    }
}

fn touch(conn: &Connection, at: DateTime<Utc>) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO store_meta (key, value) VALUES ('changed_at', ?1)
         ON CONFLICT (key) DO UPDATE SET value = max(value, ?1)",
        [ts(at)],
    )?;
    // a counter as well: several changes can fall in one second
    conn.execute(
        "INSERT INTO store_meta (key, value) VALUES ('generation', 1)
         ON CONFLICT (key) DO UPDATE SET value = value + 1",
        [],
    )?;
    Ok(())
}

fn query_feed_states(conn: &Connection, name: Option<&str>) -> Result<Vec<FeedState>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT name, url, title, site_url, etag, last_modified, last_poll, last_success, last_status,
                last_outcome, last_error, consecutive_failures,
                (SELECT count(*) FROM entries e WHERE e.feed = f.name),
                body_hash, next_attempt, moved_to, gone, ttl_secs
         FROM feeds f WHERE ?1 IS NULL OR name = ?1 ORDER BY name",
    )?;
    let rows = stmt.query_map(params![name], |r| {
        Ok(FeedState {
            name: r.get(0)?,
            url: r.get(1)?,
            title: r.get(2)?,
            site_url: r.get(3)?,
            validators: Validators {
                etag: r.get(4)?,
                last_modified: r.get(5)?,
            },
            last_poll: r.get::<_, Option<i64>>(6)?.map(from_ts),
            last_success: r.get::<_, Option<i64>>(7)?.map(from_ts),
            last_status: r.get(8)?,
            last_outcome: r.get(9)?,
            last_error: r.get(10)?,
            consecutive_failures: r.get(11)?,
            article_count: r.get(12)?,
            body_hash: r.get(13)?,
            next_attempt: r.get::<_, Option<i64>>(14)?.map(from_ts),
            moved_to: r.get(15)?,
            gone: r.get(16)?,
            ttl: r
                .get::<_, Option<i64>>(17)?
                .map(|t| Duration::from_secs(t.max(0) as u64)),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn remove_feed(tx: &Connection, feed: &str) -> Result<(), StoreError> {
    let stories: Vec<i64> = {
        let mut stmt = tx.prepare("SELECT DISTINCT story_id FROM entries WHERE feed = ?1")?;
        stmt.query_map([feed], |r| r.get(0))?
            .collect::<Result<_, _>>()?
    };
    tx.prepare_cached("DELETE FROM entries WHERE feed = ?1")?
        .execute([feed])?;
    tx.prepare_cached("DELETE FROM feeds WHERE name = ?1")?
        .execute([feed])?;
    for s in stories {
        refresh_story(tx, s, false)?;
    }
    Ok(())
}

pub mod backup;
mod fulltext;
pub use fulltext::{FullTextCandidate, FullTextFields, FullTextResult};

#[cfg(test)]
mod tests;
mod websub;
