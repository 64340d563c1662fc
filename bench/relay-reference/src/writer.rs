//! The group commit, the same scheme as the relay's (`relay/src/store/sqlite/group_commit.rs`):
//! an insert is queued; the first to find no writer running becomes the writer on tokio's
//! blocking pool and commits everything queued (at most [`MAX_BATCH`]) in one `BEGIN
//! IMMEDIATE` transaction, each row after its dedup lookups, then whatever queued meanwhile,
//! until the queue is empty. Each insert is answered only after its commit. A batch with a
//! failing row is rolled back and run again with a savepoint per row, so that row alone fails.

use std::sync::{Arc, Mutex, PoisonError};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use tokio::sync::oneshot;

/// The relay's `MAX_BATCH`.
pub const MAX_BATCH: usize = 128;

/// One record's rows, serialized before the writer sees them (as the relay's `NewRecord`).
#[derive(Debug)]
pub struct Row {
    pub id: String,
    pub email_hmac: String,
    pub phone_hmac: String,
    pub expires_ms: i64,
    pub body: String,
    pub idempotency_key: Option<String>,
    pub fingerprint: String,
    pub fingerprint_until_ms: i64,
    pub now_ms: i64,
}

/// What an insert did: stored, or found the earlier record it duplicates.
#[derive(Debug)]
pub enum Inserted {
    New,
    Duplicate(String),
}

type Answer = oneshot::Sender<Result<Inserted, String>>;

#[derive(Default)]
struct Queue {
    jobs: Vec<(Row, Answer)>,
    writing: bool,
}

/// The queue of inserts and the one connection they are written on.
pub struct GroupCommit {
    queue: Mutex<Queue>,
    conn: Mutex<Connection>,
}

impl GroupCommit {
    pub fn new(conn: Connection) -> Arc<Self> {
        Arc::new(Self {
            queue: Mutex::default(),
            conn: Mutex::new(conn),
        })
    }

    /// Queues `row` and waits until the transaction holding it committed (or failed).
    pub async fn insert(self: &Arc<Self>, row: Row) -> Result<Inserted, String> {
        let (answer, receiver) = oneshot::channel();
        let start_writer = {
            let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
            queue.jobs.push((row, answer));
            !std::mem::replace(&mut queue.writing, true)
        };
        if start_writer {
            let this = Arc::clone(self);
            drop(tokio::task::spawn_blocking(move || this.write()));
        }
        receiver
            .await
            .unwrap_or_else(|_| Err("the writer stopped".to_owned()))
    }

    fn write(&self) {
        loop {
            let batch: Vec<(Row, Answer)> = {
                let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
                if queue.jobs.is_empty() {
                    queue.writing = false;
                    return;
                }
                let take = queue.jobs.len().min(MAX_BATCH);
                queue.jobs.drain(..take).collect()
            };
            let (rows, answers): (Vec<Row>, Vec<Answer>) = batch.into_iter().unzip();
            let results = {
                let mut conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
                insert_batch(&mut conn, &rows)
            };
            for (answer, result) in answers.into_iter().zip(results) {
                let _ = answer.send(result);
            }
        }
    }
}

/// One transaction; an `Ok` only when it committed. Without savepoints first; when a row
/// fails, everything is rolled back and the batch runs again with a savepoint per row.
fn insert_batch(conn: &mut Connection, rows: &[Row]) -> Vec<Result<Inserted, String>> {
    let tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(error) => return all_failed(rows, &error),
    };
    let mut results = Vec::with_capacity(rows.len());
    for row in rows {
        match insert_one(&tx, row) {
            Ok(inserted) => results.push(Ok(inserted)),
            Err(_) => {
                let _rolled_back = tx.rollback();
                return insert_isolated(conn, rows);
            }
        }
    }
    match tx.commit() {
        Ok(()) => results,
        Err(error) => all_failed(rows, &error),
    }
}

fn all_failed(rows: &[Row], error: &rusqlite::Error) -> Vec<Result<Inserted, String>> {
    rows.iter().map(|_| Err(error.to_string())).collect()
}

/// One transaction, a savepoint per row.
fn insert_isolated(conn: &mut Connection, rows: &[Row]) -> Vec<Result<Inserted, String>> {
    let mut tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(error) => return all_failed(rows, &error),
    };
    let mut results = Vec::with_capacity(rows.len());
    for row in rows {
        let result = tx.savepoint().and_then(|savepoint| {
            let inserted = insert_one(&savepoint, row)?;
            savepoint.commit()?;
            Ok(inserted)
        });
        results.push(result.map_err(|e| e.to_string()));
    }
    match tx.commit() {
        Ok(()) => results,
        Err(error) => all_failed(rows, &error),
    }
}

/// The dedup lookups (idempotency key, fingerprint inside its window, record id), then the
/// record row, its idempotency key and its fingerprint (replacing an expired one).
fn insert_one(conn: &Connection, row: &Row) -> rusqlite::Result<Inserted> {
    if let Some(key) = &row.idempotency_key {
        let earlier: Option<String> = conn
            .prepare_cached("SELECT record_id FROM idempotency_keys WHERE key = ?1")?
            .query_row([key], |r| r.get(0))
            .optional()?;
        if let Some(earlier) = earlier {
            return Ok(Inserted::Duplicate(earlier));
        }
    }
    let earlier: Option<String> = conn
        .prepare_cached(
            "SELECT record_id FROM fingerprints WHERE fingerprint = ?1 AND until_ms > ?2",
        )?
        .query_row(params![row.fingerprint, row.now_ms], |r| r.get(0))
        .optional()?;
    if let Some(earlier) = earlier {
        return Ok(Inserted::Duplicate(earlier));
    }
    let earlier: Option<String> = conn
        .prepare_cached("SELECT id FROM records WHERE id = ?1")?
        .query_row([&row.id], |r| r.get(0))
        .optional()?;
    if let Some(earlier) = earlier {
        return Ok(Inserted::Duplicate(earlier));
    }
    conn.prepare_cached(
        "INSERT INTO records (id, email_hmac, phone_hmac, expires_ms, revision, body, shelf)
         VALUES (?1, ?2, ?3, ?4, 0, ?5, 'unanswered')",
    )?
    .execute(params![
        row.id,
        row.email_hmac,
        row.phone_hmac,
        row.expires_ms,
        row.body
    ])?;
    if let Some(key) = &row.idempotency_key {
        conn.prepare_cached("INSERT INTO idempotency_keys (key, record_id) VALUES (?1, ?2)")?
            .execute(params![key, row.id])?;
    }
    conn.prepare_cached(
        "INSERT INTO fingerprints (fingerprint, record_id, until_ms) VALUES (?1, ?2, ?3)
         ON CONFLICT (fingerprint) DO UPDATE SET record_id = excluded.record_id,
                                                 until_ms = excluded.until_ms",
    )?
    .execute(params![row.fingerprint, row.id, row.fingerprint_until_ms])?;
    Ok(Inserted::New)
}
