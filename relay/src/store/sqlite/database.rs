//! The one SQLite file every role shares: opening it private to its owner, the pragmas that
//! make a commit durable and a deletion irrecoverable, and the single connection all calls
//! run on (tokio's blocking pool, one at a time).

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::Connection;

use super::errors::map_err;
use super::group_commit::{GroupCommit, NewRecord};
use super::schema::migrate;
use crate::domain::dedup::DedupKeys;
use crate::domain::outbox::OutboxItem;
use crate::domain::record::ConsentRecord;
use crate::store::error::StoreError;
use crate::store::records::Inserted;

/// Consent records in one SQLite file. One file, WAL journal, `synchronous=FULL`, so a
/// record is on disk (the WAL fsynced) before an insert returns and the visitor is told.
///
/// All SQLite calls run behind one mutex-guarded connection: a single writer makes the dedup
/// checks and the insert trivially atomic (they also share one `BEGIN IMMEDIATE`
/// transaction, which keeps them atomic against a second process on the same file, such as
/// the `erase` command). Concurrent inserts share a transaction and its fsync
/// (`group_commit.rs`), each still answered only after that commit.
#[derive(Clone)]
pub struct SqliteStore {
    pub(super) conn: Arc<Mutex<Connection>>,
    pub(super) inserts: Arc<GroupCommit>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) and migrates the database at `path`, waiting up to 5 s for
    /// another writer's lock.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with_timeout(path, Duration::from_secs(5))
    }

    /// Like [`SqliteStore::open`] with a chosen lock wait; past it a write reports
    /// [`StoreError::Busy`].
    pub fn open_with_timeout(path: &Path, busy_timeout: Duration) -> Result<Self, StoreError> {
        create_private(path)?;
        let conn = Connection::open(path).map_err(map_err)?;
        Self::setup(conn, busy_timeout)
    }

    /// A private in-memory database (tests, previews). Not durable.
    pub fn open_in_memory() -> Result<Self, StoreError> {
        let conn = Connection::open_in_memory().map_err(map_err)?;
        Self::setup(conn, Duration::from_secs(5))
    }

    fn setup(mut conn: Connection, busy_timeout: Duration) -> Result<Self, StoreError> {
        conn.busy_timeout(busy_timeout).map_err(map_err)?;
        // `journal_mode` answers with the mode in force (`memory` for in-memory databases).
        let _mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
            .map_err(map_err)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(map_err)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(map_err)?;
        // Erasure must be irrecoverable (§2.14): zero deleted content instead of leaving it in
        // free pages. The bundled SQLite does not turn this on by default.
        conn.pragma_update(None, "secure_delete", "ON")
            .map_err(map_err)?;
        migrate(&mut conn)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            inserts: Arc::default(),
        })
    }

    /// Inserts several records, each with its dedup keys and outbox items, and answers each
    /// on its own, in order (as [`crate::store::RecordStore::insert_record`] would). They
    /// share transactions with each other and with concurrent inserts: up to
    /// [`super::MAX_INSERT_BATCH`] at a time are committed together. A failing one is rolled
    /// back alone; a later one that duplicates an earlier one is a [`Inserted::Duplicate`]
    /// of it.
    pub async fn insert_all(
        &self,
        records: &[(ConsentRecord, DedupKeys, Vec<OutboxItem>)],
    ) -> Vec<Result<Inserted, StoreError>> {
        let mut rows = Vec::with_capacity(records.len());
        let mut unserializable = Vec::new();
        for (index, (record, dedup, outbox)) in records.iter().enumerate() {
            match NewRecord::new(record, dedup, outbox, None) {
                Ok(row) => rows.push(row),
                Err(error) => unserializable.push((index, error)),
            }
        }
        let mut results = self.inserts.insert(&self.conn, rows).await;
        for (index, error) in unserializable {
            results.insert(index, Err(error));
        }
        results
    }

    /// How many insert transactions this store (and its clones) committed since it was
    /// opened: fewer than the records inserted when concurrent inserts were grouped.
    pub fn insert_commits(&self) -> u64 {
        self.inserts.commits()
    }

    /// Runs `work` on the blocking pool with the connection.
    pub(super) async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let mut guard = conn
                .lock()
                .map_err(|_| StoreError::Backend("connection mutex poisoned".to_owned()))?;
            work(&mut guard)
        })
        .await
        .map_err(|_| StoreError::Backend("blocking task failed".to_owned()))?
    }
}

/// Creates a missing database file readable by its owner only (0600): it holds personal
/// data. SQLite gives the `-wal` and `-shm` files the same permissions.
fn create_private(path: &Path) -> Result<(), StoreError> {
    if path.exists() {
        return Ok(());
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(StoreError::Backend(format!(
            "cannot create the database file {}: {e}",
            path.display()
        ))),
    }
}
