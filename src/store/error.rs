//! The store's errors.

use std::path::PathBuf;

use super::BUSY_TIMEOUT;

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
    /// The PostgreSQL database could not be reached or migrated.
    #[error("cannot open database {url}: {source}")]
    PgOpen {
        /// The database's URL, without its password.
        url: String,
        /// PostgreSQL's error.
        #[source]
        source: tokio_postgres::Error,
    },
    /// A PostgreSQL query failed.
    #[error("database error: {0}")]
    Postgres(#[source] tokio_postgres::Error),
    /// No connection to PostgreSQL could be had (the server is down or refuses connections).
    #[error("cannot reach the database: {0}")]
    Pool(String),
    /// Another instance took this feed's lease (this one's expired): what this instance
    /// fetched is not stored, the other's poll is.
    #[error("feed {0}: another instance took over its poll (the lease expired)")]
    LeaseLost(String),
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

impl From<tokio_postgres::Error> for StoreError {
    /// A lost connection means the database is unavailable, not that the data is bad.
    fn from(e: tokio_postgres::Error) -> StoreError {
        if e.is_closed() {
            StoreError::Pool(e.to_string())
        } else {
            StoreError::Postgres(e)
        }
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> StoreError {
        match e {
            deadpool_postgres::PoolError::Backend(e) => {
                StoreError::Pool(crate::logging::error_chain(&e))
            }
            e => StoreError::Pool(e.to_string()),
        }
    }
}

impl StoreError {
    /// The same error again, for every poll of a batch that failed as a whole. Kinds other
    /// than SQLite's own keep their message.
    pub(super) fn duplicate(&self) -> StoreError {
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
            StoreError::Busy(_)
                | StoreError::Full(_)
                | StoreError::Unwritable { .. }
                | StoreError::Pool(_)
        )
    }
}
