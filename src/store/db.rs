//! The store the rest of newswire holds: SQLite or PostgreSQL behind [`Storage`], chosen by
//! the config's `database`, with the async entry points ([`Db::call`], [`Db::write`]).

use std::path::PathBuf;
use std::sync::Arc;

use super::pg::PgStore;
use super::{Storage, Store, StoreError};

/// Where the data is: a SQLite file, or a PostgreSQL database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A SQLite database file.
    File(PathBuf),
    /// A PostgreSQL URL (`postgres://…` or `postgresql://…`).
    Postgres(String),
}

impl Location {
    /// A `database` value as the config gives it: a URL names PostgreSQL, anything else a
    /// file.
    pub fn parse(value: &str) -> Location {
        if super::pg::is_postgres_url(value) {
            Location::Postgres(value.trim().to_string())
        } else {
            Location::File(PathBuf::from(value))
        }
    }
}

impl Location {
    /// Whether there may be data there already: the file exists, or it is a database
    /// server (which only connecting tells).
    pub fn exists(&self) -> bool {
        match self {
            Location::File(p) => p.exists(),
            Location::Postgres(_) => true,
        }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::File(p) => write!(f, "{}", p.display()),
            Location::Postgres(url) => f.write_str(&super::pg::redact(url)),
        }
    }
}

/// A shared handle on the store (cheap to clone).
#[derive(Clone)]
pub struct Db {
    store: Arc<dyn Storage>,
    /// Async writers wait here for their turn (see [`Db::write`]).
    write_turn: Arc<tokio::sync::Semaphore>,
}

impl Db {
    /// A handle on `store`.
    pub fn new(store: impl Storage + 'static) -> Db {
        Db::from_arc(Arc::new(store))
    }

    /// A handle on a store already shared.
    pub fn from_arc(store: Arc<dyn Storage>) -> Db {
        Db {
            store,
            write_turn: Arc::new(tokio::sync::Semaphore::new(1)),
        }
    }

    /// Opens the store at `at` (blocking: connects, migrates).
    pub fn open(at: &Location) -> Result<Db, StoreError> {
        Ok(match at {
            Location::File(path) => Db::new(Store::open(path)?),
            Location::Postgres(url) => Db::new(PgStore::open(url)?),
        })
    }

    /// [`Db::open`] from async code.
    pub async fn open_async(at: &Location) -> Result<Db, StoreError> {
        let at = at.clone();
        tokio::task::spawn_blocking(move || Db::open(&at))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?
    }

    /// The store.
    pub fn storage(&self) -> &dyn Storage {
        &*self.store
    }

    /// Runs blocking store work on tokio's blocking pool.
    pub async fn call<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Storage) -> Result<T, StoreError> + Send + 'static,
    {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || f(&*store).map_err(|e| store.explain(e)))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?
    }

    /// As [`Db::call`], for work that writes. Writers wait for their turn as futures,
    /// not as blocking threads parked on the writer connection: while another process holds
    /// the database locked, each write waits up to the busy timeout, and a few dozen polls
    /// queued that way would take every blocking thread and stall the HTTP server's reads.
    pub async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Storage) -> Result<T, StoreError> + Send + 'static,
    {
        let _turn = self
            .write_turn
            .acquire()
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?;
        self.call(f).await
    }
}

impl std::ops::Deref for Db {
    type Target = dyn Storage;

    fn deref(&self) -> &Self::Target {
        &*self.store
    }
}
