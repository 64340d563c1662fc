//! Making a removal irrecoverable on disk: `secure_delete` zeroes the database pages, and a
//! truncating WAL checkpoint removes the page images the `-wal` file still holds.
//!
//! A removal's transaction marks a scrub as pending; after it commits, the checkpoint clears
//! the mark. A reader holding an old snapshot (the nightly backup, an `sqlite3` shell) keeps
//! the checkpoint from truncating: the removal has still happened (the rows are gone, the
//! pages zeroed), and the mark stays until a later try succeeds (the next write, the
//! retention purge, the deliverer's round), so `doctor` can tell.

use rusqlite::{Connection, OptionalExtension};

use super::errors::map_err;
use crate::store::error::StoreError;

/// Marks a scrub as pending, inside the removal's own transaction.
pub(super) fn mark_pending(tx: &Connection) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO meta (name, value) VALUES ('scrub_pending', '1')
         ON CONFLICT (name) DO NOTHING",
        [],
    )
    .map_err(map_err)?;
    Ok(())
}

/// Whether a scrub is pending in the file `conn` is open on.
/// (Cached: the writer asks after every batch.)
pub fn is_pending(conn: &Connection) -> Result<bool, StoreError> {
    conn.prepare_cached("SELECT 1 FROM meta WHERE name = 'scrub_pending'")
        .and_then(|mut s| s.query_row([], |_| Ok(())).optional())
        .map(|found| found.is_some())
        .map_err(map_err)
}

/// Copies the WAL back into the database and truncates it to zero bytes, so the page images
/// that still held removed data are gone from the `-wal` file too, then clears the mark. True
/// when done; false when a reader kept the WAL (the mark stays, and a later try finishes it).
pub(super) fn scrub(conn: &Connection) -> Result<bool, StoreError> {
    let busy: i64 = conn
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| row.get(0))
        .map_err(map_err)?;
    if busy != 0 {
        return Ok(false);
    }
    conn.execute("DELETE FROM meta WHERE name = 'scrub_pending'", [])
        .map_err(map_err)?;
    Ok(true)
}

/// Tries a pending scrub again. True while it is still pending.
pub(super) fn finish_pending(conn: &Connection) -> Result<bool, StoreError> {
    if !is_pending(conn)? {
        return Ok(false);
    }
    Ok(!scrub(conn)?)
}
