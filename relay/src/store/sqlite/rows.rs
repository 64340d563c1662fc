//! Rows as every role writes and reads them: an outbox item serialized for its row, the
//! query that parses the `body` column of each row it selects, and the key state that every
//! write of lookup hashes checks inside its own transaction.

use rusqlite::{Connection, OptionalExtension, params};

use super::errors::map_err;
use crate::domain::key_check::KeyState;
use crate::domain::outbox::OutboxItem;
use crate::store::codec::{self, millis};
use crate::store::error::StoreError;

/// An outbox item ready for its row: serialized before any lock is taken, so a writer does
/// no JSON work.
#[derive(Debug)]
pub(super) struct OutboxRow {
    id: String,
    subject: String,
    due_ms: i64,
    body: String,
}

impl OutboxRow {
    pub(super) fn new(item: &OutboxItem) -> Result<Self, StoreError> {
        Ok(Self {
            id: item.id.to_string(),
            subject: item.kind.subject().to_string(),
            due_ms: millis(item.due_at),
            body: codec::encode("outbox item", item)?,
        })
    }

    /// Inserts the row (inside the caller's transaction, when there is one).
    pub(super) fn insert(&self, conn: &Connection) -> Result<(), StoreError> {
        conn.prepare_cached(
            "INSERT INTO outbox (id, subject_id, due_ms, body) VALUES (?1, ?2, ?3, ?4)",
        )
        .and_then(|mut s| s.execute(params![self.id, self.subject, self.due_ms, self.body]))
        .map_err(map_err)?;
        Ok(())
    }
}

/// Reads the `body` column of every row `sql` selects (with `params`) and parses each.
pub(super) fn query_bodies<T>(
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

/// Why a conditional update changed no row: `what` (`record`, `request`) with this `id` in
/// `table` was changed by someone else since it was read ([`StoreError::Conflict`]), or there
/// is none (`Ok(false)`).
pub(super) fn missed_update(
    conn: &Connection,
    table: &str,
    what: &str,
    id: &str,
) -> Result<bool, StoreError> {
    let exists: Option<i64> = conn
        .query_row(
            &format!("SELECT 1 FROM {table} WHERE id = ?1"),
            [id],
            |row| row.get(0),
        )
        .optional()
        .map_err(map_err)?;
    match exists {
        Some(_) => Err(StoreError::Conflict(format!("{what} {id}"))),
        None => Ok(false),
    }
}

/// The key state stored in the file `conn` is open on (also read by `backup` and `doctor`
/// from a file no relay has open).
pub fn read_key_state(conn: &Connection) -> Result<KeyState, StoreError> {
    // Cached: the writer reads it in every batch.
    let value: Option<String> = conn
        .prepare_cached("SELECT value FROM meta WHERE name = 'key_state'")
        .and_then(|mut s| s.query_row([], |row| row.get(0)).optional())
        .map_err(map_err)?;
    match value {
        Some(text) => codec::decode("key-check state", &text),
        None => Ok(KeyState::default()),
    }
}

/// Refuses a write whose lookup hashes are under a key the store does not take now (see
/// [`KeyState::admits_writer`]), inside the write's transaction.
pub(super) fn check_writer(conn: &Connection, check: &str) -> Result<(), StoreError> {
    if read_key_state(conn)?.admits_writer(check) {
        Ok(())
    } else {
        Err(StoreError::WrongKey)
    }
}
