//! The PostgreSQL store: the same contract as the SQLite store ([`super::Storage`]), for
//! several newswire instances sharing one database. By concern, as the SQLite store:
//!
//! ```text
//! mod.rs      connect, migrate (under an advisory lock), the runtime the pool runs on
//! feeds.rs    the feed list and each feed's state, paused hosts; leases and the leader
//! apply.rs    one poll's plan executed (entries, stories, near-duplicate index, retention)
//! stories.rs  story queries (search compiled to tsquery), counts, the generation
//! explain.rs  why a story holds its copies; split
//! fulltext.rs, rules.rs, websub.rs: those features' tables
//! ```
//!
//! tokio-postgres is async and the [`super::Storage`] trait is blocking (as rusqlite is):
//! the store runs its own small tokio runtime, where the pool's connections live, and each
//! method blocks its caller on a future run there ([`PgStore::block`]). Async callers reach
//! the store through [`super::Db::call`], on tokio's blocking pool, as they do SQLite.
//!
//! Writes of polls are serialized across every instance on the database by a
//! transaction-scoped advisory lock ([`lock::WRITER`]): the dedup decisions read what earlier
//! polls stored (a story's key, its near-duplicates), so two instances writing copies of one
//! story at once must not both start it. Fetching and parsing, where a poll spends its time,
//! run in parallel on every instance; only the writing is one at a time.

use std::collections::HashMap;
use std::future::Future;
use std::str::FromStr;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};

use super::{StoreError, StoreSettings};

mod apply;
pub mod copy;
mod explain;
mod feeds;
mod fulltext;
mod rules;
mod stories;
mod websub;

/// Schema migrations, numbered as SQLite's are (each store has its own list).
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("migrations/0001_init.sql")),
    (2, include_str!("migrations/0002_feed_lists.sql")),
    (3, include_str!("migrations/0003_reprints.sql")),
    (4, include_str!("migrations/0004_unused_index.sql")),
    (5, include_str!("migrations/0005_feed_reading.sql")),
];

/// Advisory lock keys (`pg_advisory_lock(CLASS, key)`): one class for newswire, so that
/// other applications on the same database do not collide with its locks.
pub(crate) mod lock {
    /// The class of every newswire advisory lock ("nw").
    pub const CLASS: i32 = 0x6e77;
    /// Held while the schema is migrated.
    pub const MIGRATE: i32 = 1;
    /// Held by the transaction writing polls (across instances, one at a time).
    pub const WRITER: i32 = 2;
    /// Held, for its whole session, by the instance that writes output files.
    pub const LEADER: i32 = 3;
    /// Held by the transaction syncing an instance's feed list (across instances).
    pub const LISTS: i32 = 4;
    /// The class of per-host fetch slots: `(HOSTS, hash(host) + slot)`.
    pub const HOSTS: i32 = 0x6e78;
}

/// The PostgreSQL store.
pub struct PgStore {
    /// Where the pool's connections and every query run (taken at drop).
    rt: Option<tokio::runtime::Runtime>,
    pool: Pool,
    /// The URL without its password, for messages.
    url: String,
    settings: Mutex<StoreSettings>,
    /// This instance, as leases name it: host, process and a random part.
    instance: String,
    /// The writer's state: the near-duplicate index and what it has read of the entries.
    writer: tokio::sync::Mutex<apply::WriterState>,
    /// Leases this instance holds: feed -> fencing token.
    leases: Mutex<HashMap<String, i64>>,
    /// The session holding the leader lock, while this instance leads.
    leader: tokio::sync::Mutex<Option<deadpool_postgres::Object>>,
    /// The session holding this instance's per-host fetch slots (advisory locks).
    host_session: tokio::sync::Mutex<feeds::HostSession>,
}

/// A value of `database` that names a PostgreSQL database rather than a file.
pub fn is_postgres_url(s: &str) -> bool {
    let lower = s.trim_start().to_ascii_lowercase();
    lower.starts_with("postgres://") || lower.starts_with("postgresql://")
}

/// `url` with its password replaced, for logs and errors.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

fn pg_err(url: &str) -> impl Fn(tokio_postgres::Error) -> StoreError + '_ {
    move |source| StoreError::PgOpen {
        url: url.to_string(),
        source,
    }
}

impl PgStore {
    /// Connects to the database `url` names (`postgres://user@host/db`, or
    /// `postgres://user@/db?host=/run/postgresql` for a Unix socket) and brings its schema
    /// up to date. Connections are made as they are needed, up to `max_connections`.
    pub fn open(url: &str) -> Result<PgStore, StoreError> {
        let shown = redact(url);
        let config = tokio_postgres::Config::from_str(url).map_err(pg_err(&shown))?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("newswire-pg")
            .enable_all()
            .build()
            .map_err(|e| StoreError::Task(format!("cannot start the PostgreSQL runtime: {e}")))?;
        let manager = Manager::from_config(
            config,
            tokio_postgres::NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(20)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| StoreError::Pool(e.to_string()))?;
        let instance = format!(
            "{}:{}:{:08x}",
            crate::names::hostname(),
            std::process::id(),
            rand_u32()
        );
        let store = PgStore {
            rt: Some(rt),
            pool,
            url: shown,
            settings: Mutex::new(StoreSettings::default()),
            instance,
            writer: tokio::sync::Mutex::default(),
            leases: Mutex::default(),
            leader: tokio::sync::Mutex::new(None),
            host_session: tokio::sync::Mutex::default(),
        };
        store.block(store.migrate())?;
        Ok(store)
    }

    /// The database's URL, without its password.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// This instance's name, as leases record it.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// Runs `f` on the store's runtime and waits for it. On a worker of a multi-thread
    /// runtime the worker is handed over first (`block_in_place`); on a current-thread
    /// runtime the wait happens on a thread of its own.
    pub(in crate::store) fn block<F>(&self, f: F) -> F::Output
    where
        F: Future + Send,
        F::Output: Send,
    {
        let rt = self
            .rt
            .as_ref()
            .expect("the runtime lives as long as the store");
        match tokio::runtime::Handle::try_current() {
            Err(_) => rt.block_on(f),
            Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(|| rt.block_on(f))
            }
            Ok(_) => std::thread::scope(|s| {
                s.spawn(|| rt.block_on(f))
                    .join()
                    .unwrap_or_else(|p| std::panic::resume_unwind(p))
            }),
        }
    }

    /// A connection from the pool.
    async fn conn(&self) -> Result<deadpool_postgres::Object, StoreError> {
        Ok(self.pool.get().await?)
    }

    /// Brings the schema to the newest version, under an advisory lock: instances started
    /// together migrate one after the other, and the later ones find nothing left to do.
    async fn migrate(&self) -> Result<(), StoreError> {
        let known = MIGRATIONS.last().map_or(0, |m| m.0);
        let open = pg_err(&self.url);
        let mut client = self.pool.get().await.map_err(|e| match e {
            deadpool_postgres::PoolError::Backend(source) => StoreError::PgOpen {
                url: self.url.clone(),
                source,
            },
            e => StoreError::Pool(format!("cannot connect to {}: {e}", self.url)),
        })?;
        let tx = client.transaction().await.map_err(&open)?;
        tx.execute(
            "SELECT pg_advisory_xact_lock($1, $2)",
            &[&lock::CLASS, &lock::MIGRATE],
        )
        .await
        .map_err(&open)?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS newswire_schema (version BIGINT NOT NULL);
             INSERT INTO newswire_schema (version)
             SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM newswire_schema)",
        )
        .await
        .map_err(&open)?;
        let found: i64 = tx
            .query_one("SELECT version FROM newswire_schema", &[])
            .await
            .map_err(&open)?
            .get(0);
        if found > known {
            return Err(StoreError::TooNew {
                path: self.url.clone().into(),
                found,
                known,
            });
        }
        for (v, sql) in MIGRATIONS.iter().filter(|m| m.0 > found) {
            tx.batch_execute(sql).await.map_err(&open)?;
            tx.execute("UPDATE newswire_schema SET version = $1", &[v])
                .await
                .map_err(&open)?;
        }
        tx.commit().await.map_err(&open)?;
        Ok(())
    }

    /// Applies `[dedup]` and `[storage]` settings to polls stored from now on.
    pub(in crate::store) async fn configure(&self, settings: StoreSettings) {
        *self.settings.lock().unwrap_or_else(|p| p.into_inner()) = settings;
    }

    fn settings(&self) -> StoreSettings {
        self.settings
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Yes: instances on one database share its feeds.
    pub(in crate::store) async fn shared(&self) -> bool {
        true
    }

    /// Nothing to fold back, as SQLite's WAL is: PostgreSQL checkpoints by itself.
    pub(in crate::store) async fn checkpoint(&self) -> Result<bool, StoreError> {
        Ok(true)
    }

    /// The database's size on disk.
    pub(in crate::store) async fn size_bytes(&self) -> Result<u64, StoreError> {
        let c = self.conn().await?;
        let n: i64 = c
            .query_one("SELECT pg_database_size(current_database())", &[])
            .await?
            .get(0);
        Ok(n.max(0) as u64)
    }

    /// The same error: PostgreSQL's messages say what failed.
    pub(in crate::store) async fn explain(&self, e: StoreError) -> StoreError {
        e
    }

    /// What `newswire` says it stores in.
    pub(in crate::store) async fn describe(&self) -> String {
        format!("PostgreSQL {}", self.url)
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        // dropping a runtime blocks until its tasks end, which is not allowed inside another
        // runtime: its connections are simply let go
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

fn rand_u32() -> u32 {
    let mut b = [0u8; 4];
    let _ = getrandom::getrandom(&mut b);
    u32::from_le_bytes(b)
}

/// Statements prepared once per connection and kept (deadpool's statement cache): the write
/// path runs the same few dozen statements for every article, and an unnamed statement costs
/// a parse and a plan each time. Named `q`, `q1`, `qopt`, `x` after `query`, `query_one`,
/// `query_opt`, `execute`.
pub(super) trait Cached: deadpool_postgres::GenericClient + Sync {
    fn q<'a>(
        &'a self,
        sql: &'a str,
        params: &'a [&'a (dyn tokio_postgres::types::ToSql + Sync)],
    ) -> impl Future<Output = Result<Vec<tokio_postgres::Row>, tokio_postgres::Error>> + Send + 'a
    where
        Self: Sized,
    {
        async move {
            let st = self.prepare_cached(sql).await?;
            self.query(&st, params).await
        }
    }

    fn q1<'a>(
        &'a self,
        sql: &'a str,
        params: &'a [&'a (dyn tokio_postgres::types::ToSql + Sync)],
    ) -> impl Future<Output = Result<tokio_postgres::Row, tokio_postgres::Error>> + Send + 'a
    where
        Self: Sized,
    {
        async move {
            let st = self.prepare_cached(sql).await?;
            self.query_one(&st, params).await
        }
    }

    fn qopt<'a>(
        &'a self,
        sql: &'a str,
        params: &'a [&'a (dyn tokio_postgres::types::ToSql + Sync)],
    ) -> impl Future<Output = Result<Option<tokio_postgres::Row>, tokio_postgres::Error>> + Send + 'a
    where
        Self: Sized,
    {
        async move {
            let st = self.prepare_cached(sql).await?;
            self.query_opt(&st, params).await
        }
    }

    fn x<'a>(
        &'a self,
        sql: &'a str,
        params: &'a [&'a (dyn tokio_postgres::types::ToSql + Sync)],
    ) -> impl Future<Output = Result<u64, tokio_postgres::Error>> + Send + 'a
    where
        Self: Sized,
    {
        async move {
            let st = self.prepare_cached(sql).await?;
            self.execute(&st, params).await
        }
    }
}

impl<T: deadpool_postgres::GenericClient + Sync> Cached for T {}

/// Writes a story's search entry: its headline (weight A) and body (weight D), cut into
/// words as FTS5 cuts them and as queries are (see [`crate::search::index_text`]), with
/// PostgreSQL's `simple` configuration (no stemming, as SQLite's FTS5 `unicode61`).
async fn set_search(
    c: &impl deadpool_postgres::GenericClient,
    story: i64,
    title: &str,
    body: &str,
) -> Result<(), StoreError> {
    c.x(
        "UPDATE stories SET search = setweight(to_tsvector('simple', $2), 'A')
                                  || setweight(to_tsvector('simple', $3), 'D')
         WHERE id = $1",
        &[
            &story,
            &crate::search::index_text(title),
            &crate::search::index_text(body),
        ],
    )
    .await?;
    Ok(())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn ts(d: DateTime<Utc>) -> i64 {
    d.timestamp()
}

fn from_ts(t: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(t, 0).unwrap_or_default()
}

/// `url` naming database `name` instead of its own (the path of a `postgres://` URL).
pub fn with_database(url: &str, name: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
    let (authority, tail) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
    let query = tail.find('?').map_or("", |i| &tail[i..]);
    format!("{scheme}://{authority}/{name}{query}")
}

/// Creates database `name` (dropping one of that name first) on the server `url` reaches,
/// and returns its URL: for tests and benchmarks, each on a database of its own.
pub fn scratch_database(url: &str, name: &str) -> Result<String, StoreError> {
    // on a thread of its own: callers may be inside a runtime already
    let (url, name) = (url.to_string(), name.to_string());
    std::thread::spawn(move || create_database(&url, &name))
        .join()
        .map_err(|_| StoreError::Task("creating a database panicked".into()))?
}

fn create_database(url: &str, name: &str) -> Result<String, StoreError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| StoreError::Task(e.to_string()))?;
    let shown = redact(url);
    rt.block_on(async {
        let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .map_err(pg_err(&shown))?;
        let task = tokio::spawn(conn);
        let quoted = format!("\"{}\"", name.replace('"', "\"\""));
        client
            .batch_execute(&format!("DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"))
            .await?;
        client
            .batch_execute(&format!("CREATE DATABASE {quoted}"))
            .await?;
        drop(client);
        let _ = task.await;
        Ok(with_database(url, name))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_names_another_database() {
        assert_eq!(
            with_database("postgres://nw@/postgres?host=/tmp/pg", "t1"),
            "postgres://nw@/t1?host=/tmp/pg"
        );
        assert_eq!(
            with_database("postgresql://nw:pw@db.example:5433/news", "t2"),
            "postgresql://nw:pw@db.example:5433/t2"
        );
        assert_eq!(
            with_database("postgres://db.example", "t3"),
            "postgres://db.example/t3"
        );
    }

    #[test]
    fn passwords_stay_out_of_messages() {
        assert_eq!(
            redact("postgres://nw:secret@db.example/news"),
            "postgres://nw:***@db.example/news"
        );
        assert!(is_postgres_url("PostgreSQL://db/x"));
        assert!(!is_postgres_url("/var/lib/newswire/postgres.db"));
    }
}
