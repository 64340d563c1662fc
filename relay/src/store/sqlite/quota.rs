//! The per-recipient cap on confirmation mails, inside the write that queues one.

use rusqlite::{Connection, params};

use super::errors::map_err;
use crate::domain::outbox::MailQuota;
use crate::store::codec::millis;
use crate::store::error::StoreError;

/// Takes one place of `quota` inside the caller's transaction: false, with nothing written,
/// when its recipient already has `limit` confirmation mails in the window.
pub(super) fn take(conn: &Connection, quota: &MailQuota) -> Result<bool, StoreError> {
    let since = millis(quota.at - quota.window);
    let used: i64 = conn
        .prepare_cached("SELECT count(*) FROM mail_quota WHERE recipient = ?1 AND at_ms > ?2")
        .and_then(|mut s| s.query_row(params![quota.recipient, since], |r| r.get(0)))
        .map_err(map_err)?;
    if used >= i64::from(quota.limit) {
        return Ok(false);
    }
    conn.prepare_cached("INSERT INTO mail_quota (recipient, at_ms) VALUES (?1, ?2)")
        .and_then(|mut s| s.execute(params![quota.recipient, millis(quota.at)]))
        .map_err(map_err)?;
    Ok(true)
}
