//! [`SqliteStore`]: the one-machine store. One file, WAL journal, `synchronous=FULL`, so a
//! record is on disk (the WAL fsynced) before `insert` returns and the visitor is told.
//!
//! All SQLite calls run on tokio's blocking pool behind one mutex-guarded connection: a single
//! writer makes the dedup checks and the insert trivially atomic (they also share one
//! `BEGIN IMMEDIATE` transaction, which keeps them atomic against a second process on the same
//! file, such as the `erase` command). Concurrent inserts share a transaction and its fsync
//! ([`group_commit`]), each still answered only after that commit.

mod group_commit;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use time::OffsetDateTime;

use crate::audit::AuditEntry;
use crate::key_check::KeyState;
use crate::outbox::{LEASE, OutboxId, OutboxItem};
use crate::record::{ConsentRecord, RecordId, RecordState};
use crate::requests::SubjectRequest;
use crate::store::{DedupKeys, Inserted, Store, StoreError};

/// The most inserts committed in one transaction (see [`group_commit`]).
pub const MAX_INSERT_BATCH: usize = group_commit::MAX_BATCH;

/// The schema this code writes; `PRAGMA user_version` holds the one a file has.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Data-subject rights: the record revision that updates are conditional on, the phone's
/// lookup hash, the audit log and the key-check value.
const RIGHTS_MIGRATION: &str = r"
    ALTER TABLE records ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE records ADD COLUMN phone_hmac TEXT NOT NULL DEFAULT '';
    CREATE INDEX records_by_phone ON records(phone_hmac) WHERE phone_hmac <> '';
    CREATE TABLE audit (
        id          TEXT PRIMARY KEY,
        sort_key    TEXT NOT NULL,
        at_ms       INTEGER NOT NULL,
        body        TEXT NOT NULL
    ) STRICT;
    CREATE INDEX audit_by_time ON audit(sort_key);
    CREATE TABLE meta (
        name        TEXT PRIMARY KEY,
        value       TEXT NOT NULL
    ) STRICT;
    CREATE TABLE requests (
        id          TEXT PRIMARY KEY,
        revision    INTEGER NOT NULL,
        body        TEXT NOT NULL
    ) STRICT;
";

/// Migrations by target version. Append, never edit: a file at version N runs N+1.. only.
const MIGRATIONS: [&str; 4] = [
    r"
    CREATE TABLE records (
        id          TEXT PRIMARY KEY,
        email_hmac  TEXT NOT NULL,
        expires_ms  INTEGER NOT NULL,
        body        TEXT NOT NULL
    ) STRICT;
    CREATE INDEX records_by_email ON records(email_hmac);
    CREATE INDEX records_by_expiry ON records(expires_ms);
    CREATE TABLE idempotency_keys (
        key         TEXT PRIMARY KEY,
        record_id   TEXT NOT NULL REFERENCES records(id) ON DELETE CASCADE
    ) STRICT;
    CREATE INDEX idempotency_by_record ON idempotency_keys(record_id);
    CREATE TABLE fingerprints (
        fingerprint TEXT PRIMARY KEY,
        record_id   TEXT NOT NULL REFERENCES records(id) ON DELETE CASCADE,
        until_ms    INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX fingerprints_by_record ON fingerprints(record_id);
",
    r"
    CREATE TABLE outbox (
        id          TEXT PRIMARY KEY,
        record_id   TEXT NOT NULL REFERENCES records(id) ON DELETE CASCADE,
        due_ms      INTEGER NOT NULL,
        body        TEXT NOT NULL
    ) STRICT;
    CREATE INDEX outbox_by_due ON outbox(due_ms);
    CREATE INDEX outbox_by_record ON outbox(record_id);
",
    RIGHTS_MIGRATION,
    // The outbox also carries messages about data-subject requests, which are not records:
    // `record_id` becomes `subject_id` without a foreign key, and a trigger keeps what the
    // cascade did (erasing a record removes the messages about it).
    r"
    CREATE TABLE outbox_v4 (
        id          TEXT PRIMARY KEY,
        subject_id  TEXT NOT NULL,
        due_ms      INTEGER NOT NULL,
        body        TEXT NOT NULL
    ) STRICT;
    INSERT INTO outbox_v4 (id, subject_id, due_ms, body)
        SELECT id, record_id, due_ms, body FROM outbox;
    DROP TABLE outbox;
    ALTER TABLE outbox_v4 RENAME TO outbox;
    CREATE INDEX outbox_by_due ON outbox(due_ms);
    CREATE INDEX outbox_by_subject ON outbox(subject_id);
    CREATE TRIGGER outbox_follows_records AFTER DELETE ON records
    BEGIN
        DELETE FROM outbox WHERE subject_id = OLD.id;
    END;
",
];

/// Consent records in one SQLite file.
#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    inserts: Arc<group_commit::GroupCommit>,
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
    /// on its own, in order (as [`Store::insert_with_outbox`] would). They share transactions
    /// with each other and with concurrent inserts: up to [`MAX_INSERT_BATCH`] at a time are
    /// committed together. A failing one is rolled back alone; a later one that duplicates an
    /// earlier one is a [`Inserted::Duplicate`] of it.
    pub async fn insert_all(
        &self,
        records: &[(ConsentRecord, DedupKeys, Vec<OutboxItem>)],
    ) -> Vec<Result<Inserted, StoreError>> {
        let mut rows = Vec::with_capacity(records.len());
        let mut unserializable = Vec::new();
        for (index, (record, dedup, outbox)) in records.iter().enumerate() {
            match new_record(record, dedup, outbox) {
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
    async fn run<T: Send + 'static>(
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

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let current: i64 = conn
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(map_err)?;
    if current > SCHEMA_VERSION {
        return Err(StoreError::Backend(format!(
            "database schema version {current} is newer than this relay's {SCHEMA_VERSION}"
        )));
    }
    for (index, sql) in MIGRATIONS.iter().enumerate() {
        let target = i64::try_from(index).unwrap_or(i64::MAX) + 1;
        if target <= current {
            continue;
        }
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(map_err)?;
        tx.execute_batch(sql).map_err(map_err)?;
        tx.pragma_update(None, "user_version", target)
            .map_err(map_err)?;
        tx.commit().map_err(map_err)?;
    }
    Ok(())
}

/// Store errors name SQLite's error code only: never SQL text or values.
fn map_err(error: rusqlite::Error) -> StoreError {
    match &error {
        rusqlite::Error::SqliteFailure(e, _)
            if matches!(
                e.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            ) =>
        {
            StoreError::Busy(format!("sqlite {:?}", e.code))
        }
        rusqlite::Error::SqliteFailure(e, _) => {
            StoreError::Backend(format!("sqlite {:?} ({})", e.code, e.extended_code))
        }
        _ => StoreError::Backend("sqlite client error".to_owned()),
    }
}

/// Copies the WAL back into the database and truncates it to zero bytes, so the page images
/// that still held removed data are gone from the `-wal` file too. Run after every write that
/// removes personal data. A reader holding an old snapshot makes it report busy: the data is
/// removed from the database already, and the next removal (or a rerun) finishes the job.
fn scrub(conn: &Connection) -> Result<(), StoreError> {
    let busy: i64 = conn
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| row.get(0))
        .map_err(map_err)?;
    if busy != 0 {
        return Err(StoreError::Busy(
            "the change is saved, but another reader kept the WAL from being truncated; run the command again"
                .to_owned(),
        ));
    }
    Ok(())
}

fn revision_value(revision: u64) -> i64 {
    i64::try_from(revision).unwrap_or(i64::MAX)
}

fn update_blocking(
    conn: &mut Connection,
    record: &ConsentRecord,
    body: &str,
) -> Result<bool, StoreError> {
    let id = record.id.to_string();
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(map_err)?;
    let changed = tx
        .execute(
            "UPDATE records SET email_hmac = ?2, phone_hmac = ?3, expires_ms = ?4, body = ?5,
                                revision = ?6
             WHERE id = ?1 AND revision = ?7",
            params![
                id,
                record.email_hmac,
                record.phone_hmac,
                millis(record.expires_at),
                body,
                revision_value(record.revision + 1),
                revision_value(record.revision),
            ],
        )
        .map_err(map_err)?;
    if changed == 0 {
        let exists: Option<i64> = tx
            .query_row("SELECT 1 FROM records WHERE id = ?1", [&id], |row| {
                row.get(0)
            })
            .optional()
            .map_err(map_err)?;
        return match exists {
            Some(_) => Err(StoreError::Conflict(format!("record {id}"))),
            None => Ok(false),
        };
    }
    if record.state == RecordState::Anonymized {
        // The fingerprint is a keyed hash of the content, the key the script's: neither may
        // outlive the personal data they were made from.
        tx.execute("DELETE FROM fingerprints WHERE record_id = ?1", [&id])
            .map_err(map_err)?;
        tx.execute("DELETE FROM idempotency_keys WHERE record_id = ?1", [&id])
            .map_err(map_err)?;
    }
    tx.commit().map_err(map_err)?;
    scrub(conn)?;
    Ok(true)
}

fn set_key_state_blocking(
    conn: &mut Connection,
    expected: &KeyState,
    new: &KeyState,
) -> Result<(), StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(map_err)?;
    let current = read_key_state(&tx)?;
    if &current != expected {
        return Err(StoreError::Conflict("the key-check value".to_owned()));
    }
    let value = serde_json::to_string(new)
        .map_err(|_| StoreError::Backend("key state serialization failed".to_owned()))?;
    tx.execute(
        "INSERT INTO meta (name, value) VALUES ('key_state', ?1)
         ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        [value],
    )
    .map_err(map_err)?;
    tx.commit().map_err(map_err)
}

pub(crate) fn read_key_state(conn: &Connection) -> Result<KeyState, StoreError> {
    let value: Option<String> = conn
        .query_row(
            "SELECT value FROM meta WHERE name = 'key_state'",
            [],
            |row| row.get(0),
        )
        .optional()
        .map_err(map_err)?;
    match value {
        Some(text) => serde_json::from_str(&text)
            .map_err(|_| StoreError::Corrupt("the stored key-check state".to_owned())),
        None => Ok(KeyState::default()),
    }
}

fn request_json(request: &SubjectRequest) -> Result<String, StoreError> {
    serde_json::to_string(request)
        .map_err(|_| StoreError::Backend("request serialization failed".to_owned()))
}

fn request_from_json(body: &str) -> Result<SubjectRequest, StoreError> {
    serde_json::from_str(body).map_err(|_| StoreError::Corrupt("a stored request".to_owned()))
}

fn millis(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

fn to_json(record: &ConsentRecord) -> Result<String, StoreError> {
    serde_json::to_string(record)
        .map_err(|_| StoreError::Backend("record serialization failed".to_owned()))
}

/// Parses a stored body. serde's messages can quote the offending value, so only the
/// position is kept.
fn from_json(body: &str) -> Result<ConsentRecord, StoreError> {
    serde_json::from_str(body).map_err(|e| {
        StoreError::Corrupt(format!(
            "{:?} error at line {} column {}",
            e.classify(),
            e.line(),
            e.column()
        ))
    })
}

fn parse_id(text: &str) -> Result<RecordId, StoreError> {
    text.parse()
        .map_err(|_| StoreError::Corrupt("a stored record id is not a UUID".to_owned()))
}

/// A record ready for the writer: its columns and JSON, and its outbox items'.
fn new_record(
    record: &ConsentRecord,
    dedup: &DedupKeys,
    outbox: &[OutboxItem],
) -> Result<group_commit::NewRecord, StoreError> {
    Ok(group_commit::NewRecord {
        id: record.id.to_string(),
        email_hmac: record.email_hmac.clone(),
        phone_hmac: record.phone_hmac.clone(),
        expires_ms: millis(record.expires_at),
        revision: record.revision,
        body: to_json(record)?,
        dedup: dedup.clone(),
        outbox: outbox
            .iter()
            .map(|item| Ok((item.id.to_string(), millis(item.due_at), outbox_json(item)?)))
            .collect::<Result<_, StoreError>>()?,
    })
}

fn outbox_json(item: &OutboxItem) -> Result<String, StoreError> {
    serde_json::to_string(item)
        .map_err(|_| StoreError::Backend("outbox item serialization failed".to_owned()))
}

fn outbox_from_json(body: &str) -> Result<OutboxItem, StoreError> {
    serde_json::from_str(body).map_err(|e| {
        StoreError::Corrupt(format!(
            "outbox item: {:?} error at line {} column {}",
            e.classify(),
            e.line(),
            e.column()
        ))
    })
}

/// Reads the `body` column of every row `sql` selects (with `params`) and parses each.
fn query_bodies<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    parse: impl Fn(&str) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut statement = conn.prepare(sql).map_err(map_err)?;
    let bodies = statement
        .query_map(params, |row| row.get::<_, String>(0))
        .map_err(map_err)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(map_err)?;
    bodies.iter().map(|b| parse(b)).collect()
}

fn claim_blocking(
    conn: &mut Connection,
    id: OutboxId,
    now: OffsetDateTime,
) -> Result<Option<OutboxItem>, StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(map_err)?;
    let body: Option<String> = tx
        .query_row(
            "SELECT body FROM outbox WHERE id = ?1 AND due_ms <= ?2",
            params![id.to_string(), millis(now)],
            |row| row.get(0),
        )
        .optional()
        .map_err(map_err)?;
    let Some(body) = body else {
        return Ok(None);
    };
    let mut item = outbox_from_json(&body)?;
    item.attempts = item.attempts.saturating_add(1);
    item.due_at = now + LEASE;
    tx.execute(
        "UPDATE outbox SET due_ms = ?2, body = ?3 WHERE id = ?1",
        params![id.to_string(), millis(item.due_at), outbox_json(&item)?],
    )
    .map_err(map_err)?;
    tx.commit().map_err(map_err)?;
    Ok(Some(item))
}

#[async_trait]
impl Store for SqliteStore {
    async fn insert_with_outbox(
        &self,
        record: &ConsentRecord,
        dedup: &DedupKeys,
        outbox: &[OutboxItem],
    ) -> Result<Inserted, StoreError> {
        let row = new_record(record, dedup, outbox)?;
        self.inserts
            .insert(&self.conn, vec![row])
            .await
            .pop()
            .unwrap_or_else(|| {
                Err(StoreError::Backend(
                    "the insert was not answered".to_owned(),
                ))
            })
    }

    async fn list_records(&self) -> Result<Vec<ConsentRecord>, StoreError> {
        self.run(|conn| query_bodies(conn, "SELECT body FROM records ORDER BY id", [], from_json))
            .await
    }

    async fn enqueue(&self, item: &OutboxItem) -> Result<(), StoreError> {
        let body = outbox_json(item)?;
        let (id, record_id, due) = (
            item.id.to_string(),
            item.kind.subject().to_string(),
            millis(item.due_at),
        );
        self.run(move |conn| {
            conn.execute(
                "INSERT INTO outbox (id, subject_id, due_ms, body) VALUES (?1, ?2, ?3, ?4)",
                params![id, record_id, due, body],
            )
            .map_err(map_err)?;
            Ok(())
        })
        .await
    }

    async fn outbox_due(
        &self,
        now: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.run(move |conn| {
            query_bodies(
                conn,
                "SELECT body FROM outbox WHERE due_ms <= ?1 ORDER BY due_ms, id LIMIT ?2",
                params![millis(now), limit],
                outbox_from_json,
            )
        })
        .await
    }

    async fn outbox_all(&self) -> Result<Vec<OutboxItem>, StoreError> {
        self.run(|conn| {
            query_bodies(
                conn,
                "SELECT body FROM outbox ORDER BY due_ms, id",
                [],
                outbox_from_json,
            )
        })
        .await
    }

    async fn outbox_claim(
        &self,
        id: OutboxId,
        now: OffsetDateTime,
    ) -> Result<Option<OutboxItem>, StoreError> {
        self.run(move |conn| claim_blocking(conn, id, now)).await
    }

    async fn outbox_done(&self, id: OutboxId) -> Result<(), StoreError> {
        self.run(move |conn| {
            conn.execute("DELETE FROM outbox WHERE id = ?1", [id.to_string()])
                .map_err(map_err)?;
            Ok(())
        })
        .await
    }

    async fn outbox_retry(
        &self,
        id: OutboxId,
        due_at: OffsetDateTime,
        error: &str,
    ) -> Result<(), StoreError> {
        let error = error.to_owned();
        self.run(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(map_err)?;
            let body: Option<String> = tx
                .query_row(
                    "SELECT body FROM outbox WHERE id = ?1",
                    [id.to_string()],
                    |row| row.get(0),
                )
                .optional()
                .map_err(map_err)?;
            if let Some(body) = body {
                let mut item = outbox_from_json(&body)?;
                item.due_at = due_at;
                item.last_error = Some(error);
                tx.execute(
                    "UPDATE outbox SET due_ms = ?2, body = ?3 WHERE id = ?1",
                    params![id.to_string(), millis(due_at), outbox_json(&item)?],
                )
                .map_err(map_err)?;
            }
            tx.commit().map_err(map_err)?;
            Ok(())
        })
        .await
    }

    async fn get(&self, id: RecordId) -> Result<Option<ConsentRecord>, StoreError> {
        self.run(move |conn| {
            let body: Option<String> = conn
                .query_row(
                    "SELECT body FROM records WHERE id = ?1",
                    [id.to_string()],
                    |row| row.get(0),
                )
                .optional()
                .map_err(map_err)?;
            body.as_deref().map(from_json).transpose()
        })
        .await
    }

    async fn find_by_email_hmac(&self, email_hmac: &str) -> Result<Vec<ConsentRecord>, StoreError> {
        if email_hmac.is_empty() {
            return Ok(Vec::new());
        }
        let email_hmac = email_hmac.to_owned();
        self.run(move |conn| {
            query_bodies(
                conn,
                "SELECT body FROM records WHERE email_hmac = ?1 ORDER BY id",
                [email_hmac],
                from_json,
            )
        })
        .await
    }

    async fn find_by_phone_hmac(&self, phone_hmac: &str) -> Result<Vec<ConsentRecord>, StoreError> {
        if phone_hmac.is_empty() {
            return Ok(Vec::new());
        }
        let phone_hmac = phone_hmac.to_owned();
        self.run(move |conn| {
            query_bodies(
                conn,
                "SELECT body FROM records WHERE phone_hmac = ?1 ORDER BY id",
                [phone_hmac],
                from_json,
            )
        })
        .await
    }

    async fn update(&self, record: &ConsentRecord) -> Result<bool, StoreError> {
        let mut stored = record.clone();
        stored.revision = record.revision + 1;
        let body = to_json(&stored)?;
        let record = record.clone();
        self.run(move |conn| update_blocking(conn, &record, &body))
            .await
    }

    async fn delete(&self, id: RecordId) -> Result<bool, StoreError> {
        self.run(move |conn| {
            // The dedup and outbox rows go with it (ON DELETE CASCADE).
            let changed = conn
                .execute("DELETE FROM records WHERE id = ?1", [id.to_string()])
                .map_err(map_err)?;
            scrub(conn)?;
            Ok(changed > 0)
        })
        .await
    }

    async fn purge_expired(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        self.run(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(map_err)?;
            let purged = tx
                .execute("DELETE FROM records WHERE expires_ms < ?1", [millis(now)])
                .map_err(map_err)?;
            // Housekeeping: fingerprints past their window block nothing.
            tx.execute(
                "DELETE FROM fingerprints WHERE until_ms <= ?1",
                [millis(now)],
            )
            .map_err(map_err)?;
            tx.commit().map_err(map_err)?;
            scrub(conn)?;
            Ok(u64::try_from(purged).unwrap_or(u64::MAX))
        })
        .await
    }

    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let body = serde_json::to_string(entry)
            .map_err(|_| StoreError::Backend("audit entry serialization failed".to_owned()))?;
        let id = entry.id.to_string();
        let sort_key = entry.sort_key();
        let at = millis(entry.at);
        self.run(move |conn| {
            conn.execute(
                "INSERT INTO audit (id, sort_key, at_ms, body) VALUES (?1, ?2, ?3, ?4)",
                params![id, sort_key, at, body],
            )
            .map_err(map_err)?;
            Ok(())
        })
        .await
    }

    async fn audit_since(
        &self,
        since: Option<OffsetDateTime>,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let since = since.map_or(i64::MIN, millis);
        self.run(move |conn| {
            query_bodies(
                conn,
                "SELECT body FROM audit WHERE at_ms >= ?1 ORDER BY sort_key",
                [since],
                |b| {
                    serde_json::from_str(b)
                        .map_err(|_| StoreError::Corrupt("an audit entry".to_owned()))
                },
            )
        })
        .await
    }

    async fn insert_request(&self, request: &SubjectRequest) -> Result<(), StoreError> {
        let body = request_json(request)?;
        let id = request.id.to_string();
        let revision = revision_value(request.revision);
        self.run(move |conn| {
            conn.execute(
                "INSERT INTO requests (id, revision, body) VALUES (?1, ?2, ?3)",
                params![id, revision, body],
            )
            .map_err(map_err)?;
            Ok(())
        })
        .await
    }

    async fn get_request(&self, id: uuid::Uuid) -> Result<Option<SubjectRequest>, StoreError> {
        self.run(move |conn| {
            query_bodies(
                conn,
                "SELECT body FROM requests WHERE id = ?1",
                [id.to_string()],
                request_from_json,
            )
            .map(|mut found| found.pop())
        })
        .await
    }

    async fn update_request(&self, request: &SubjectRequest) -> Result<bool, StoreError> {
        let mut stored = request.clone();
        stored.revision = request.revision + 1;
        let body = request_json(&stored)?;
        let id = request.id.to_string();
        let (old, new) = (
            revision_value(request.revision),
            revision_value(stored.revision),
        );
        self.run(move |conn| {
            let changed = conn
                .execute(
                    "UPDATE requests SET body = ?2, revision = ?3 WHERE id = ?1 AND revision = ?4",
                    params![id, body, new, old],
                )
                .map_err(map_err)?;
            if changed == 0 {
                let exists: Option<i64> = conn
                    .query_row("SELECT 1 FROM requests WHERE id = ?1", [&id], |row| {
                        row.get(0)
                    })
                    .optional()
                    .map_err(map_err)?;
                return match exists {
                    Some(_) => Err(StoreError::Conflict(format!("request {id}"))),
                    None => Ok(false),
                };
            }
            // Closing a request removes the address it held.
            scrub(conn)?;
            Ok(true)
        })
        .await
    }

    async fn list_requests(&self) -> Result<Vec<SubjectRequest>, StoreError> {
        self.run(|conn| {
            query_bodies(
                conn,
                "SELECT body FROM requests ORDER BY id",
                [],
                request_from_json,
            )
        })
        .await
    }

    async fn key_state(&self) -> Result<KeyState, StoreError> {
        self.run(|conn| read_key_state(conn)).await
    }

    async fn set_key_state(&self, expected: &KeyState, new: &KeyState) -> Result<(), StoreError> {
        let expected = expected.clone();
        let new = new.clone();
        self.run(move |conn| set_key_state_blocking(conn, &expected, &new))
            .await
    }
}
