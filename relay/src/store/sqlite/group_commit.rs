//! Group commit: concurrent inserts share one SQLite transaction and one fsync, and each is
//! answered only after that commit.
//!
//! With `synchronous=FULL` every commit costs an fsync of the WAL, milliseconds on most disks,
//! so one transaction per submission caps the relay at a few hundred submissions per second
//! whatever the CPU. Here an insert is queued; the first insert to find no writer running
//! becomes the writer (on tokio's blocking pool) and commits everything queued in one
//! transaction, then whatever queued meanwhile, until the queue is empty. No insert waits for
//! a timer: a lone submission is committed at once, and under load the batch is whatever
//! arrived during the previous fsync.
//!
//! One failing row (a constraint, a bad outbox item) is rolled back alone and answered with
//! its own error, while the others commit: a batch runs without savepoints, and one with a
//! failing row runs again with each insert in its own savepoint (see [`insert_batch`]). A
//! failure that ends the whole transaction (the commit itself, a full disk, a lock wait past
//! the busy timeout) answers every insert of the batch with that error: none is acknowledged
//! unless its own commit succeeded. A duplicate inside one batch sees the earlier row of the
//! same transaction, exactly as it would see a committed one.

use std::sync::{Arc, Mutex, PoisonError};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use time::OffsetDateTime;
use tokio::sync::oneshot;

use super::errors::map_err;
use super::rows::{OutboxRow, read_key_state};
use super::{quota, scrub};
use crate::domain::dedup::DedupKeys;
use crate::domain::inbox::Shelf;
use crate::domain::key_check::KeyState;
use crate::domain::outbox::{MailQuota, OutboxItem};
use crate::domain::record::{ConsentRecord, RecordId};
use crate::store::codec::{self, millis};
use crate::store::error::StoreError;
use crate::store::records::Inserted;

/// The most inserts one transaction takes. Keeps a batch's own time (and so the wait of the
/// inserts that queue behind it) to a few milliseconds; the rest go into the next one.
pub const MAX_BATCH: usize = 128;

/// One record to insert, already serialized (so the writer does no JSON work).
#[derive(Debug)]
pub struct NewRecord {
    pub id: String,
    pub email_hmac: String,
    pub phone_hmac: String,
    pub expires_ms: i64,
    pub revision: u64,
    /// The record's inbox shelf ([`crate::domain::inbox::Shelf`]).
    pub shelf: &'static str,
    pub body: String,
    pub dedup: DedupKeys,
    /// The outbox items owed about the record.
    pub outbox: Vec<OutboxRow>,
    /// The key-check value of the key the lookup hashes are under.
    pub key_check: String,
    /// The recipient's cap, when the record queues a confirmation mail.
    pub quota: Option<MailQuota>,
}

impl NewRecord {
    /// A record ready for the writer: its columns and JSON, and its outbox items'.
    pub fn new(
        record: &ConsentRecord,
        dedup: &DedupKeys,
        outbox: &[OutboxItem],
        quota: Option<&MailQuota>,
    ) -> Result<Self, StoreError> {
        Ok(Self {
            key_check: record.key_check.clone(),
            quota: quota.cloned(),
            id: record.id.to_string(),
            email_hmac: record.email_hmac.clone(),
            phone_hmac: record.phone_hmac.clone(),
            expires_ms: millis(record.expires_at),
            revision: record.revision,
            shelf: Shelf::of(record).as_str(),
            body: codec::encode("record", record)?,
            dedup: dedup.clone(),
            outbox: outbox
                .iter()
                .map(OutboxRow::new)
                .collect::<Result<_, _>>()?,
        })
    }
}

fn parse_id(text: &str) -> Result<RecordId, StoreError> {
    text.parse()
        .map_err(|_| StoreError::Corrupt("a stored record id is not a UUID".to_owned()))
}

/// A queued insert and where its answer goes.
struct Job {
    row: NewRecord,
    answer: oneshot::Sender<Result<Inserted, StoreError>>,
}

#[derive(Default)]
struct Queue {
    jobs: Vec<Job>,
    /// Whether a writer is running; it takes every job queued before it finds the queue empty.
    writing: bool,
}

/// The queue of inserts waiting for a transaction, shared by every clone of a store.
#[derive(Default)]
pub struct GroupCommit {
    queue: Mutex<Queue>,
    /// Insert transactions committed since the store was opened.
    commits: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for GroupCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommit").finish_non_exhaustive()
    }
}

impl GroupCommit {
    /// How many insert transactions were committed so far.
    pub fn commits(&self) -> u64 {
        self.commits.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Queues `rows` (in order, so a batch sees them in that order) and waits for each one's
    /// answer. Starts a writer on the blocking pool when none is running.
    pub async fn insert(
        self: &Arc<Self>,
        conn: &Arc<Mutex<Connection>>,
        rows: Vec<NewRecord>,
    ) -> Vec<Result<Inserted, StoreError>> {
        let mut answers = Vec::with_capacity(rows.len());
        let start_writer = {
            let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
            for row in rows {
                let (answer, receiver) = oneshot::channel();
                queue.jobs.push(Job { row, answer });
                answers.push(receiver);
            }
            !std::mem::replace(&mut queue.writing, true)
        };
        if start_writer {
            let this = Arc::clone(self);
            let conn = Arc::clone(conn);
            // The writer answers through the channels; its join handle is not needed.
            drop(tokio::task::spawn_blocking(move || this.write(&conn)));
        }
        let mut results = Vec::with_capacity(answers.len());
        for receiver in answers {
            results.push(receiver.await.unwrap_or_else(|_| {
                Err(StoreError::Backend(
                    "the writer stopped before the insert was committed".to_owned(),
                ))
            }));
        }
        results
    }

    /// The writer: commits batches until the queue is empty, then stops (under the queue's
    /// lock, so an insert queued at that moment starts the next writer).
    fn write(&self, conn: &Mutex<Connection>) {
        let _stopped = WriterStopped(self);
        loop {
            let batch: Vec<Job> = {
                let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
                if queue.jobs.is_empty() {
                    queue.writing = false;
                    return;
                }
                let take = queue.jobs.len().min(MAX_BATCH);
                queue.jobs.drain(..take).collect()
            };
            let (rows, answers): (Vec<NewRecord>, Vec<_>) =
                batch.into_iter().map(|job| (job.row, job.answer)).unzip();
            let results = match conn.lock() {
                Ok(mut conn) => {
                    let results = insert_batch(&mut conn, &rows, OffsetDateTime::now_utc());
                    // A removal's scrub that a reader held off is tried again at each write.
                    if let Err(error) = scrub::finish_pending(&conn) {
                        tracing::warn!(%error, "a pending scrub could not be finished");
                    }
                    results
                }
                Err(_) => rows
                    .iter()
                    .map(|_| Err(StoreError::Backend("connection mutex poisoned".to_owned())))
                    .collect(),
            };
            if results.iter().any(Result::is_ok) {
                self.commits
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            for (answer, result) in answers.into_iter().zip(results) {
                // A receiver gone (its request was cancelled) needs no answer.
                let _ = answer.send(result);
            }
        }
    }
}

/// Clears the queue if the writer unwinds: the dropped jobs' callers get an error instead of
/// waiting forever, and the next insert starts a new writer.
struct WriterStopped<'a>(&'a GroupCommit);

impl Drop for WriterStopped<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut queue = self.0.queue.lock().unwrap_or_else(PoisonError::into_inner);
            queue.jobs.clear();
            queue.writing = false;
        }
    }
}

/// Inserts `rows` in one transaction; one answer per row, in order. An `Ok` is returned only
/// when the transaction committed.
///
/// A batch runs first without savepoints: a savepoint makes SQLite copy every page a row
/// then changes into the statement journal before changing it, about ten pages a record (its
/// table, four indexes, the dedup tables and theirs), which was a fifth of the writer's time
/// under load. Nearly every batch commits that way. When a row fails, the whole transaction is
/// rolled back and the batch runs again with a savepoint per row ([`insert_isolated`]), so
/// that row alone is rolled back and answered with its error while the others commit.
pub fn insert_batch(
    conn: &mut Connection,
    rows: &[NewRecord],
    now: OffsetDateTime,
) -> Vec<Result<Inserted, StoreError>> {
    let tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(error) => return all_failed(rows, &map_err(error)),
    };
    let mut key_state = KeyStateOnce::default();
    let mut results = Vec::with_capacity(rows.len());
    for row in rows {
        match insert_one(&tx, row, now, &mut key_state) {
            Ok(inserted) => results.push(Ok(inserted)),
            Err(_) => {
                // Whatever the row wrote before it failed goes with the rest (even when
                // SQLite already ended the transaction), then each row runs on its own.
                let _rolled_back = tx.rollback();
                return insert_isolated(conn, rows, now);
            }
        }
    }
    match tx.commit() {
        Ok(()) => results,
        Err(error) => all_failed(rows, &map_err(error)),
    }
}

fn all_failed(rows: &[NewRecord], error: &StoreError) -> Vec<Result<Inserted, StoreError>> {
    rows.iter().map(|_| Err(error.clone())).collect()
}

/// [`insert_batch`] for a batch with a failing row: one transaction, each row in its own
/// savepoint, so a failing row is rolled back alone.
fn insert_isolated(
    conn: &mut Connection,
    rows: &[NewRecord],
    now: OffsetDateTime,
) -> Vec<Result<Inserted, StoreError>> {
    let mut tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(error) => return all_failed(rows, &map_err(error)),
    };
    let mut key_state = KeyStateOnce::default();
    let mut results = Vec::with_capacity(rows.len());
    for row in rows {
        // An error that ended the transaction (SQLite rolls back on a full disk or an I/O
        // error) leaves nothing to add to: the rest fail with the batch below.
        if tx.is_autocommit() {
            return all_failed(
                rows,
                &StoreError::Backend("sqlite rolled the batch's transaction back".to_owned()),
            );
        }
        let result = tx.savepoint().map_err(map_err).and_then(|savepoint| {
            let inserted = insert_one(&savepoint, row, now, &mut key_state)?;
            savepoint.commit().map_err(map_err)?;
            Ok(inserted)
        });
        // A failed row's savepoint was rolled back when it was dropped.
        results.push(result);
    }
    if tx.is_autocommit() {
        return all_failed(
            rows,
            &StoreError::Backend("sqlite rolled the batch's transaction back".to_owned()),
        );
    }
    match tx.commit() {
        Ok(()) => results,
        Err(error) => all_failed(rows, &map_err(error)),
    }
}

/// The store's key state, read once per batch: the batch's transaction holds the write lock
/// and none of its rows changes it, so every row sees the same state the first one read.
#[derive(Default)]
struct KeyStateOnce(Option<KeyState>);

impl KeyStateOnce {
    /// Refuses a row whose lookup hashes are under a key the store does not take now (see
    /// [`KeyState::admits_writer`]).
    fn check(&mut self, conn: &Connection, check: &str) -> Result<(), StoreError> {
        let state = match &mut self.0 {
            Some(state) => state,
            empty => empty.insert(read_key_state(conn)?),
        };
        if state.admits_writer(check) {
            Ok(())
        } else {
            Err(StoreError::WrongKey)
        }
    }
}

/// The dedup checks and the writes of one record (inside the batch's transaction): an
/// earlier record with the same idempotency key, with the same fingerprint inside its window,
/// or with the same id makes it a duplicate, and nothing is written; so does a key the store
/// no longer takes (an error) or a recipient whose confirmation-mail cap is full.
fn insert_one(
    conn: &Connection,
    row: &NewRecord,
    now: OffsetDateTime,
    key_state: &mut KeyStateOnce,
) -> Result<Inserted, StoreError> {
    if let Some(id) = earlier_record(conn, row, now)? {
        return Ok(Inserted::Duplicate(parse_id(&id)?));
    }
    key_state.check(conn, &row.key_check)?;
    if let Some(quota) = &row.quota
        && !quota::take(conn, quota)?
    {
        return Ok(Inserted::OverQuota);
    }
    let record_id = parse_id(&row.id)?;
    write_record(conn, row)?;
    Ok(Inserted::New(record_id))
}

/// The id of an earlier record this one duplicates: by idempotency key first, then by a
/// fingerprint still inside its window, then by the record id itself.
fn earlier_record(
    conn: &Connection,
    row: &NewRecord,
    now: OffsetDateTime,
) -> Result<Option<String>, StoreError> {
    if let Some(key) = &row.dedup.idempotency_key {
        let by_key = conn
            .prepare_cached("SELECT record_id FROM idempotency_keys WHERE key = ?1")
            .and_then(|mut s| s.query_row([key], |r| r.get::<_, String>(0)).optional())
            .map_err(map_err)?;
        if by_key.is_some() {
            return Ok(by_key);
        }
    }
    let by_fingerprint = conn
        .prepare_cached(
            "SELECT record_id FROM fingerprints WHERE fingerprint = ?1 AND until_ms > ?2",
        )
        .and_then(|mut s| {
            s.query_row(params![row.dedup.fingerprint, millis(now)], |r| r.get(0))
                .optional()
        })
        .map_err(map_err)?;
    if by_fingerprint.is_some() {
        return Ok(by_fingerprint);
    }
    conn.prepare_cached("SELECT id FROM records WHERE id = ?1")
        .and_then(|mut s| s.query_row([&row.id], |r| r.get(0)).optional())
        .map_err(map_err)
}

/// Writes the record, its idempotency key, its fingerprint (replacing an expired one) and its
/// outbox items.
fn write_record(conn: &Connection, row: &NewRecord) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO records (id, email_hmac, phone_hmac, expires_ms, revision, body, shelf)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .and_then(|mut s| {
        s.execute(params![
            row.id,
            row.email_hmac,
            row.phone_hmac,
            row.expires_ms,
            codec::revision(row.revision),
            row.body,
            row.shelf
        ])
    })
    .map_err(map_err)?;
    if let Some(key) = &row.dedup.idempotency_key {
        conn.prepare_cached("INSERT INTO idempotency_keys (key, record_id) VALUES (?1, ?2)")
            .and_then(|mut s| s.execute(params![key, row.id]))
            .map_err(map_err)?;
    }
    conn.prepare_cached(
        "INSERT INTO fingerprints (fingerprint, record_id, until_ms) VALUES (?1, ?2, ?3)
         ON CONFLICT (fingerprint) DO UPDATE SET record_id = excluded.record_id,
                                                 until_ms = excluded.until_ms",
    )
    .and_then(|mut s| {
        s.execute(params![
            row.dedup.fingerprint,
            row.id,
            millis(row.dedup.fingerprint_until)
        ])
    })
    .map_err(map_err)?;
    for item in &row.outbox {
        item.insert(conn)?;
    }
    Ok(())
}
