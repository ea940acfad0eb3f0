//! A consistent copy of the database while newswire runs (`newswire backup FILE`), and the
//! checkpoint that folds the WAL back into the database file on a clean shutdown, so that
//! the database file alone holds everything once newswire has stopped.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::Connection;

use super::{Store, StoreError, lock};

/// Why a backup could not be made.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// Reading the database, or writing the copy through SQLite, failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The copy's folder or file could not be written.
    #[error("cannot write the backup {path}: {source}")]
    Io {
        /// The file or folder concerned.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The copy did not pass SQLite's integrity check; it was not kept.
    #[error("the copy failed its integrity check: {0}")]
    Corrupt(String),
}

/// What a backup copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSummary {
    /// Database pages copied.
    pub pages: i64,
    /// Size of the copy in bytes.
    pub bytes: u64,
    /// Stories in the copy.
    pub stories: i64,
    /// Entries in the copy.
    pub entries: i64,
}

impl Store {
    /// Copies the database to `dest` with SQLite's online backup, in one step under a read
    /// transaction: the copy is the database as it was at one instant, while polls go on
    /// writing (WAL readers do not block the writer). The copy is written beside `dest`,
    /// switched to a single file (no WAL), checked, and then renamed over `dest`, so `dest`
    /// is either the old file or a complete new copy.
    pub fn backup_to(&self, dest: &Path) -> Result<BackupSummary, BackupError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| BackupError::Io { path, source }
        };
        let dir = dest
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let tmp = tempfile::Builder::new()
            .prefix(".newswire-backup-")
            .tempfile_in(dir)
            .map_err(io(dir))?;
        let pages = {
            let mut copy = Connection::open(tmp.path()).map_err(StoreError::from)?;
            let pages = {
                let source = lock(&self.reader);
                let backup =
                    rusqlite::backup::Backup::new(&source, &mut copy).map_err(StoreError::from)?;
                // -1: every page in one step, so the copy is one consistent snapshot; a busy
                // or locked database is waited for as long as a write would wait
                let started = std::time::Instant::now();
                loop {
                    use rusqlite::backup::StepResult;
                    match backup.step(-1).map_err(StoreError::from)? {
                        StepResult::Done => break,
                        StepResult::More | StepResult::Busy | StepResult::Locked
                            if started.elapsed() < super::BUSY_TIMEOUT =>
                        {
                            std::thread::sleep(Duration::from_millis(50));
                        }
                        _ => {
                            return Err(StoreError::from(rusqlite::Error::SqliteFailure(
                                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
                                Some("the database stayed locked".to_string()),
                            ))
                            .into());
                        }
                    }
                }
                i64::from(backup.progress().pagecount)
            };
            copy.pragma_update(None, "journal_mode", "DELETE")
                .map_err(StoreError::from)?;
            let check: String = copy
                .query_row("PRAGMA integrity_check", [], |r| r.get(0))
                .map_err(StoreError::from)?;
            if check != "ok" {
                return Err(BackupError::Corrupt(check));
            }
            pages
        };
        let (stories, entries) = {
            let copy = Connection::open(tmp.path()).map_err(StoreError::from)?;
            let count = |table: &str| -> Result<i64, StoreError> {
                Ok(copy.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?)
            };
            (count("stories")?, count("entries")?)
        };
        tmp.as_file().sync_all().map_err(io(tmp.path()))?;
        std::fs::set_permissions(
            tmp.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o600),
        )
        .map_err(io(tmp.path()))?;
        tmp.persist(dest).map_err(|e| BackupError::Io {
            path: dest.to_path_buf(),
            source: e.error,
        })?;
        let bytes = std::fs::metadata(dest).map_err(io(dest))?.len();
        Ok(BackupSummary {
            pages,
            bytes,
            stories,
            entries,
        })
    }

    /// Folds the WAL into the database file and empties it (`wal_checkpoint(TRUNCATE)`):
    /// after a clean stop, copying the database file alone copies everything. Returns
    /// whether every frame was checkpointed (false when a reader of another process held
    /// some back; they are checkpointed later by whoever opens the database next).
    pub fn checkpoint(&self) -> Result<bool, StoreError> {
        let conn = lock(&self.writer);
        let (busy, _log, _done): (i64, i64, i64) =
            conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?;
        Ok(busy == 0)
    }
}
