//! The SQLite schema and its migrations: append-only, one per version, each in its own
//! transaction, so a file at any earlier version is brought up to date on open.

use rusqlite::{Connection, TransactionBehavior};

use super::errors::map_err;
use crate::store::error::StoreError;

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
const MIGRATIONS: [&str; 6] = [
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
    ABUSE_MIGRATION,
    INBOX_MIGRATION,
];

/// Abuse control and bounded life: the mail-quota log (confirmation mails per recipient, by
/// the keyed hash of the address), and the request columns that find a mailbox's pending
/// request of a kind and the unconfirmed requests whose link expired.
const ABUSE_MIGRATION: &str = r"
    CREATE TABLE mail_quota (
        recipient   TEXT NOT NULL,
        at_ms       INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX mail_quota_by_recipient ON mail_quota(recipient, at_ms);
    ALTER TABLE requests ADD COLUMN email_hmac TEXT NOT NULL DEFAULT '';
    ALTER TABLE requests ADD COLUMN kind TEXT NOT NULL DEFAULT '';
    ALTER TABLE requests ADD COLUMN link_expires_ms INTEGER;
    UPDATE requests SET
        email_hmac = COALESCE(json_extract(body, '$.email_hmac'), ''),
        kind = COALESCE(json_extract(body, '$.kind'), '');
    CREATE INDEX requests_awaiting ON requests(email_hmac, kind)
        WHERE link_expires_ms IS NOT NULL;
    CREATE INDEX requests_by_link_expiry ON requests(link_expires_ms)
        WHERE link_expires_ms IS NOT NULL;
";

/// The console's inbox, a page at a time: each record's shelf
/// ([`crate::domain::inbox::Shelf`]) beside it, indexed with the id, so a page of one shelf is
/// read in id order from the index. Earlier records get theirs from their JSON.
const INBOX_MIGRATION: &str = r"
    ALTER TABLE records ADD COLUMN shelf TEXT NOT NULL DEFAULT 'unanswered';
    UPDATE records SET shelf = CASE
        WHEN COALESCE(json_extract(body, '$.state'), 'active') <> 'active' THEN 'closed'
        WHEN json_extract(body, '$.blocked_at') IS NOT NULL THEN 'blocked'
        WHEN json_extract(body, '$.answered') IS NOT NULL THEN 'answered'
        ELSE 'unanswered' END;
    CREATE INDEX records_by_shelf ON records(shelf, id);
";

/// Brings the file's schema up to [`SCHEMA_VERSION`]; refuses a file from a newer relay.
pub(super) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
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
