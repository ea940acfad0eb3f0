//! SQLite storage: the only module with SQL. Typed methods, one transaction per polled feed.
//! It persists what the pure stages decided and does nothing else; by concern:
//!
//! ```text
//! mod.rs      open, migrate, the connections, call/write for async callers
//! error.rs    StoreError
//! feeds.rs    the feed list and each feed's state, paused hosts
//! lists.rs    whose feeds are whose: each instance's list, what a sync removes (pure)
//! batch.rs    group commit: polls queued for the writer, written in one transaction
//! apply.rs    one poll's plan executed (entries, stories, near-duplicate index, retention)
//! stories.rs  story queries, counts, the generation the merged feed is rendered at
//! explain.rs  why a story holds its copies; split
//! storage.rs  the Storage trait: the contract any store keeps, in the model's types
//! fulltext.rs, rules.rs, websub.rs, backup.rs: those features' tables
//! ```
//!
//! rusqlite is blocking: async callers go through [`Db::call`], which runs the closure on
//! tokio's blocking pool. One connection writes, another reads (WAL lets them overlap), so
//! serving the merged feed never waits for a poll to commit.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::Connection;

mod apply;
pub mod backup;
mod batch;
mod db;
mod error;
mod explain;
mod feeds;
mod fulltext;
pub mod lists;
mod packed;
pub mod pg;
mod reads;
mod rules;
mod storage;
mod stories;
mod websub;

use apply::refresh_story;
use batch::PendingPoll;
pub use batch::{ApplyStats, Handover};
pub use db::{Db, Location};
pub use error::StoreError;
pub use explain::{Split, StoryCopies, StoryCopy};
pub use feeds::{FeedSpec, FeedState, FeedUpdate};
pub use fulltext::{FullTextCandidate, FullTextFields, FullTextResult};
pub use lists::{FeedList, FeedSync};
pub use rules::{ApplyMarks, RuleEntry};
pub use storage::Storage;
use stories::touch;
pub use stories::{Story, StoryQuery, StorySource};

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
    (10, include_str!("migrations/0010_body_once.sql")),
    (11, include_str!("migrations/0011_search_merge.sql")),
    (12, include_str!("migrations/0012_feed_lists.sql")),
    (13, include_str!("migrations/0013_packed_bodies.sql")),
    (14, include_str!("migrations/0014_unused_index.sql")),
    (15, include_str!("migrations/0015_recent_index.sql")),
    (16, include_str!("migrations/0016_feed_reading.sql")),
];

pub use crate::plan::StoreSettings;

/// The SQLite store.
pub struct Store {
    writer: Mutex<Connection>,
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
pub(super) const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The page size of a new database file.
const PAGE_SIZE: i64 = 8192;

/// The WAL's size at which a commit checkpoints it into the database file.
const WAL_CHECKPOINT_BYTES: i64 = 128 << 20;

fn open_conn(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // 8 KiB pages for a new file (an existing one keeps its own: this changes nothing
    // there): an entry row of 1-2 KB, its body packed, left a quarter of a 4 KiB page empty
    conn.pragma_update(None, "page_size", PAGE_SIZE)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // 8 MiB of page cache (the default is 2 MiB): the LSH band and search indexes are
    // written at random places; more cache bought nothing measurable and cost memory
    conn.pragma_update(None, "cache_size", -8192)?;
    // checkpoint the WAL every ~128 MiB rather than every 4 MiB: index pages that many
    // polls touch are written back once instead of once per poll. A first poll of 1,000
    // feeds writes 420 MB of WAL; checkpointing every 32 MiB copied 197 MB into the file
    // (its final size 136 MB) with 47 fsyncs, every 128 MiB 158 MB with 17 (the WAL file
    // stays that large on disk while newswire runs; a clean stop empties it)
    let page_size: i64 = conn.pragma_query_value(None, "page_size", |r| r.get(0))?;
    conn.pragma_update(
        None,
        "wal_autocheckpoint",
        WAL_CHECKPOINT_BYTES / page_size.max(512),
    )?;
    // every statement of the write path stays prepared (the default keeps 16)
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

/// Opens the connection that writes. A new file's first connections switch it to WAL, which
/// takes an exclusive lock: SQLite answers "database is locked" at once, without waiting,
/// to a process that opens the file meanwhile (instances started together), so that answer
/// is tried again, for as long as any statement waits for a lock.
fn open_writer(path: &Path) -> Result<Connection, StoreError> {
    let open_err = |source| StoreError::Open {
        path: path.to_path_buf(),
        source,
    };
    let start = std::time::Instant::now();
    let writer = loop {
        match open_conn(path) {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if matches!(
                    e.code,
                    rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                ) && start.elapsed() < BUSY_TIMEOUT =>
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            r => break r.map_err(open_err)?,
        }
    };
    if writer.is_readonly(rusqlite::MAIN_DB).map_err(open_err)? {
        return Err(StoreError::OpenReadOnly {
            path: path.to_path_buf(),
        });
    }
    Ok(writer)
}

/// Brings the schema to the newest version. Several processes may open a new file at the
/// same moment (three `newswire run` started together): the version is read inside an
/// IMMEDIATE transaction, which holds SQLite's write lock from its start, so the first
/// process migrates and the others, once the lock is theirs, find nothing left to do.
fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let open_err = |source| StoreError::Open {
        path: path.to_path_buf(),
        source,
    };
    let known = MIGRATIONS.last().map_or(0, |m| m.0);
    let version = |c: &Connection| -> Result<i64, StoreError> {
        let found: i64 = c
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(open_err)?;
        if found > known {
            return Err(StoreError::TooNew {
                path: path.to_path_buf(),
                found,
                known,
            });
        }
        Ok(found)
    };
    // the common case, an up-to-date file, takes no write lock
    if version(conn)? == known {
        return Ok(());
    }
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(open_err)?;
    let found = version(&tx)?;
    for (v, sql) in MIGRATIONS.iter().filter(|m| m.0 > found) {
        tx.execute_batch(sql).map_err(open_err)?;
        tx.pragma_update(None, "user_version", v)
            .map_err(open_err)?;
    }
    tx.commit().map_err(open_err)?;
    Ok(())
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
        let mut writer = open_writer(path)?;
        migrate(&mut writer, path)?;
        let reader = open_conn(path).map_err(open_err)?;
        let generation_reader = open_conn(path).map_err(open_err)?;
        Ok(Store {
            writer: Mutex::new(writer),
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

    /// Adds to a failed write what the OS says about the WAL file, where writes go first:
    /// "disk I/O error" alone does not tell a read-only file from a failing disk.
    pub fn explain(&self, e: StoreError) -> StoreError {
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
}

/// What only matters where several processes share a database: one SQLite file has one
/// newswire daemon, which polls every feed, leads, and limits its hosts itself.
impl Store {
    /// The database file and its WAL, in bytes.
    pub fn size_bytes(&self) -> Result<u64, StoreError> {
        let size = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len());
        let mut wal = self.path.clone().into_os_string();
        wal.push("-wal");
        Ok(size(&self.path) + size(Path::new(&wal)))
    }

    /// "SQLite <file>".
    pub fn describe(&self) -> String {
        format!("SQLite {}", self.path.display())
    }

    /// No: one SQLite file has one newswire daemon.
    pub fn shared(&self) -> bool {
        false
    }

    /// Every feed: no other process polls them.
    pub fn claim_feeds(
        &self,
        feeds: &[String],
        _tick: DateTime<Utc>,
        _since: DateTime<Utc>,
        _now: DateTime<Utc>,
        _hold: Duration,
    ) -> Result<Vec<String>, StoreError> {
        Ok(feeds.to_vec())
    }

    /// Nothing to let go of.
    pub fn release_feed(&self, _feed: &str) -> Result<(), StoreError> {
        Ok(())
    }

    /// Always.
    pub fn lead(&self) -> Result<bool, StoreError> {
        Ok(true)
    }

    /// Always a slot: the fetcher's own per-host limit is the only one.
    pub fn take_host_slot(
        &self,
        _host: &str,
        _per_host: usize,
    ) -> Result<Option<usize>, StoreError> {
        Ok(Some(0))
    }

    /// Nothing to give back.
    pub fn release_host_slot(&self, _host: &str, _slot: usize) -> Result<(), StoreError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests;
