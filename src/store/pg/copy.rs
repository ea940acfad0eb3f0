//! `newswire migrate --to`: a whole store copied from SQLite into PostgreSQL, or back, so
//! that a user moves without losing history. Both schemas name their tables and columns
//! alike (times are unix seconds in both); what differs is typed here: SQLite's 0/1
//! integers are PostgreSQL's booleans, and each store's search index is built anew by the
//! store's own derivation of each copied story (`refresh_story`), as a poll would build it.
//!
//! The target must be empty (a store just created, or with no feeds): a copy never merges
//! into data that is already there.

use std::error::Error;

use bytes::BytesMut;
use rusqlite::types::{Value as SqlValue, ValueRef};
use tokio_postgres::types::{IsNull, ToSql, Type};

use super::PgStore;
use crate::store::packed::{body, stored_body};
use crate::store::{Store, StoreError};

/// The tables copied, in an order their references allow, with the columns both stores
/// have. (SQLite's search table and PostgreSQL's `search` column are rebuilt, not copied;
/// leases are not copied: nothing polls during a copy.)
const TABLES: &[(&str, &[&str])] = &[
    (
        "feeds",
        &[
            "name",
            "url",
            "title",
            "site_url",
            "etag",
            "last_modified",
            "last_poll",
            "last_success",
            "last_status",
            "last_outcome",
            "last_error",
            "consecutive_failures",
            "body_hash",
            "next_attempt",
            "moved_to",
            "gone",
            "ttl_secs",
            "reading",
        ],
    ),
    (
        "stories",
        &[
            "id",
            "story_key",
            "title",
            "link",
            "published",
            "updated",
            "authors",
            "categories",
            "image",
            "image_credit",
            "language",
            "first_seen",
            "content_entry",
            "summary_entry",
        ],
    ),
    (
        "entries",
        &[
            "id",
            "feed",
            "entry_key",
            "guid",
            "story_id",
            "title",
            "link",
            "canonical_url",
            "authors",
            "published",
            "published_given",
            "updated",
            "summary",
            "content",
            "categories",
            "image",
            "image_credit",
            "language",
            "first_seen",
            "content_hash",
            "updates_day",
            "updates_count",
            "print",
            "joined",
            "split",
        ],
    ),
    ("hosts", &["host", "paused_until", "reason"]),
    ("store_meta", &["key", "value"]),
    ("story_aliases", &["story_key", "story_id"]),
    ("tombstones", &["feed", "entry_key", "seen_at"]),
    (
        "fulltext",
        &[
            "entry_id",
            "feed",
            "content_hash",
            "outcome",
            "detail",
            "attempts",
            "retry_at",
            "at",
        ],
    ),
    (
        "rule_marks",
        &["feed", "entry_key", "action", "value", "rule", "at"],
    ),
    (
        "websub",
        &[
            "feed",
            "feed_url",
            "token",
            "secret",
            "hub",
            "topic",
            "state",
            "pending_mode",
            "pending_since",
            "subscribed_at",
            "expires_at",
            "last_attempt",
            "last_error",
            "last_push",
            "pushes_received",
            "pushes_rejected",
            "last_safety_poll",
        ],
    ),
];

/// Rows written per statement into PostgreSQL.
const BATCH: usize = 500;

/// What was copied: rows per table.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Copied {
    /// (table, rows), in the order copied.
    pub tables: Vec<(String, u64)>,
}

impl std::fmt::Display for Copied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .tables
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(t, n)| format!("{n} {t}"))
            .collect();
        if parts.is_empty() {
            f.write_str("nothing (the source is empty)")
        } else {
            f.write_str(&parts.join(", "))
        }
    }
}

/// Whether `column` of `table` is a body SQLite stores packed (see `store/packed.rs`).
fn is_body(table: &str, column: &str) -> bool {
    table == "entries" && column == "content"
}

/// One value on its way between the stores.
#[derive(Debug, Clone)]
enum Cell {
    Null,
    Int(i64),
    Bool(bool),
    Text(String),
    Blob(Vec<u8>),
}

impl ToSql for Cell {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        match (self, *ty == Type::BOOL) {
            (Cell::Null, _) => Ok(IsNull::Yes),
            // SQLite's booleans are integers
            (Cell::Int(i), true) => (*i != 0).to_sql(ty, out),
            (Cell::Int(i), false) => i.to_sql(ty, out),
            (Cell::Bool(b), _) => b.to_sql(ty, out),
            (Cell::Text(s), _) => s.to_sql(ty, out),
            (Cell::Blob(b), _) => b.to_sql(ty, out),
        }
    }

    fn accepts(ty: &Type) -> bool {
        [Type::BOOL, Type::INT8, Type::TEXT, Type::BYTEA].contains(ty)
    }

    tokio_postgres::types::to_sql_checked!();
}

impl From<ValueRef<'_>> for Cell {
    fn from(v: ValueRef<'_>) -> Cell {
        match v {
            ValueRef::Null => Cell::Null,
            ValueRef::Integer(i) => Cell::Int(i),
            // no column holds a real; one would be read as its whole part
            ValueRef::Real(f) => Cell::Int(f as i64),
            ValueRef::Text(t) => Cell::Text(String::from_utf8_lossy(t).into_owned()),
            ValueRef::Blob(b) => Cell::Blob(b.to_vec()),
        }
    }
}

impl From<Cell> for SqlValue {
    fn from(c: Cell) -> SqlValue {
        match c {
            Cell::Null => SqlValue::Null,
            Cell::Int(i) => SqlValue::Integer(i),
            Cell::Bool(b) => SqlValue::Integer(i64::from(b)),
            Cell::Text(t) => SqlValue::Text(t),
            Cell::Blob(b) => SqlValue::Blob(b),
        }
    }
}

/// A PostgreSQL column's value as a [`Cell`], by the column's type.
fn pg_cell(row: &tokio_postgres::Row, i: usize) -> Cell {
    let ty = row.columns()[i].type_();
    let cell = if *ty == Type::BOOL {
        row.get::<_, Option<bool>>(i).map(Cell::Bool)
    } else if *ty == Type::INT8 {
        row.get::<_, Option<i64>>(i).map(Cell::Int)
    } else if *ty == Type::BYTEA {
        row.get::<_, Option<Vec<u8>>>(i).map(Cell::Blob)
    } else {
        row.get::<_, Option<String>>(i).map(Cell::Text)
    };
    cell.unwrap_or(Cell::Null)
}

fn sqlite_err(e: rusqlite::Error) -> StoreError {
    StoreError::from(e)
}

impl PgStore {
    /// Copies every row of the SQLite store `from` into this (empty) database, then builds
    /// its search index and moves its id sequences past the copied ids.
    pub fn copy_from_sqlite(&self, from: &Store) -> Result<Copied, StoreError> {
        self.block(self.copy_in(from))
    }

    async fn copy_in(&self, from: &Store) -> Result<Copied, StoreError> {
        let mut client = self.conn().await?;
        let tx = client.transaction().await?;
        let feeds: i64 = tx
            .query_one("SELECT count(*) FROM feeds", &[])
            .await?
            .get(0);
        if feeds > 0 {
            return Err(StoreError::Task(format!(
                "{} already holds {feeds} feeds: a copy goes into an empty database only",
                self.url
            )));
        }
        // the stores's own rows from migrating (none but the schema's) make way
        tx.batch_execute("DELETE FROM store_meta").await?;
        let mut copied = Copied::default();
        for (table, columns) in TABLES {
            let rows: Vec<Vec<Cell>> = {
                let conn = super::super::lock(&from.reader);
                let mut stmt = conn
                    .prepare(&format!("SELECT {} FROM {table}", columns.join(", ")))
                    .map_err(sqlite_err)?;
                let mut rows = stmt.query([]).map_err(sqlite_err)?;
                let mut out = Vec::new();
                while let Some(r) = rows.next().map_err(sqlite_err)? {
                    out.push(
                        (0..columns.len())
                            .map(|i| {
                                if is_body(table, columns[i]) {
                                    // packed at rest in SQLite, text in PostgreSQL
                                    Ok(body(r, i)?.map_or(Cell::Null, Cell::Text))
                                } else {
                                    r.get_ref(i).map(Cell::from)
                                }
                            })
                            .collect::<Result<_, _>>()
                            .map_err(sqlite_err)?,
                    );
                }
                out
            };
            for chunk in rows.chunks(BATCH) {
                let placeholders: Vec<String> = chunk
                    .iter()
                    .enumerate()
                    .map(|(r, _)| {
                        let cols: Vec<String> = (0..columns.len())
                            .map(|c| format!("${}", r * columns.len() + c + 1))
                            .collect();
                        format!("({})", cols.join(", "))
                    })
                    .collect();
                let params: Vec<&(dyn ToSql + Sync)> = chunk
                    .iter()
                    .flat_map(|row| row.iter().map(|c| c as &(dyn ToSql + Sync)))
                    .collect();
                tx.execute(
                    &format!(
                        "INSERT INTO {table} ({}) VALUES {}",
                        columns.join(", "),
                        placeholders.join(", ")
                    ),
                    &params,
                )
                .await?;
            }
            copied.tables.push((table.to_string(), rows.len() as u64));
        }
        for table in ["stories", "entries"] {
            tx.execute(
                &format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'),
                                   coalesce((SELECT max(id) FROM {table}), 0) + 1, false)"
                ),
                &[],
            )
            .await?;
        }
        // each story derived and indexed as a poll would (its row comes out the same)
        let ids = tx.query("SELECT id FROM stories ORDER BY id", &[]).await?;
        for r in &ids {
            super::apply::refresh_story(&tx, r.get(0)).await?;
        }
        tx.commit().await?;
        Ok(copied)
    }

    /// Copies every row of this database into the (empty) SQLite store `to`, then builds
    /// its search index. A table at a time is read from PostgreSQL, all in one SQLite
    /// transaction.
    pub fn copy_to_sqlite(&self, to: &Store) -> Result<Copied, StoreError> {
        let mut conn = super::super::lock(&to.writer);
        let tx = conn.transaction().map_err(sqlite_err)?;
        let feeds: i64 = tx
            .query_row("SELECT count(*) FROM feeds", [], |r| r.get(0))
            .map_err(sqlite_err)?;
        if feeds > 0 {
            return Err(StoreError::Task(format!(
                "{} already holds {feeds} feeds: a copy goes into an empty database only",
                to.path().display()
            )));
        }
        tx.execute("DELETE FROM store_meta", [])
            .map_err(sqlite_err)?;
        let mut copied = Copied::default();
        for (table, columns) in TABLES {
            let sql = format!("SELECT {} FROM {table}", columns.join(", "));
            let rows = self.block(self.fetch(&sql))?;
            // a body is packed on its way into SQLite, with its length beside it
            let body_at = columns.iter().position(|c| is_body(table, c));
            let mut names = columns.to_vec();
            names.extend(body_at.map(|_| "content_len"));
            let placeholders: Vec<String> = (1..=names.len()).map(|i| format!("?{i}")).collect();
            let mut stmt = tx
                .prepare(&format!(
                    "INSERT INTO {table} ({}) VALUES ({})",
                    names.join(", "),
                    placeholders.join(", ")
                ))
                .map_err(sqlite_err)?;
            for r in &rows {
                let mut values: Vec<SqlValue> = (0..columns.len())
                    .map(|i| SqlValue::from(pg_cell(r, i)))
                    .collect();
                if let Some(i) = body_at {
                    let (stored, len) = match std::mem::replace(&mut values[i], SqlValue::Null) {
                        SqlValue::Text(text) => stored_body(text),
                        other => (other, SqlValue::Null),
                    };
                    values[i] = stored;
                    values.push(len);
                }
                stmt.execute(rusqlite::params_from_iter(values))
                    .map_err(sqlite_err)?;
            }
            copied.tables.push((table.to_string(), rows.len() as u64));
        }
        // each story derived and indexed as a poll would (not in the index yet: fresh)
        let ids: Vec<i64> = tx
            .prepare("SELECT id FROM stories ORDER BY id")
            .and_then(|mut st| st.query_map([], |r| r.get(0))?.collect())
            .map_err(sqlite_err)?;
        for id in ids {
            super::super::apply::refresh_story(&tx, id, true)?;
        }
        tx.commit().map_err(sqlite_err)?;
        Ok(copied)
    }

    async fn fetch(&self, sql: &str) -> Result<Vec<tokio_postgres::Row>, StoreError> {
        Ok(self.conn().await?.query(sql, &[]).await?)
    }
}
