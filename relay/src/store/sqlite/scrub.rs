//! Making a removal irrecoverable on disk: `secure_delete` zeroes the database pages, and a
//! truncating WAL checkpoint removes the page images the `-wal` file still holds.

use rusqlite::Connection;

use super::errors::map_err;
use crate::store::error::StoreError;

/// Copies the WAL back into the database and truncates it to zero bytes, so the page images
/// that still held removed data are gone from the `-wal` file too. Run after every write that
/// removes personal data. A reader holding an old snapshot makes it report busy: the data is
/// removed from the database already, and the next removal (or a rerun) finishes the job.
pub(super) fn scrub(conn: &Connection) -> Result<(), StoreError> {
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
