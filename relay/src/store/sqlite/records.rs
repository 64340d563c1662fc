//! The records role on SQLite: inserts through the group commit, conditional updates, and
//! removals that are scrubbed from the files.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use time::OffsetDateTime;

use super::database::SqliteStore;
use super::errors::map_err;
use super::group_commit::NewRecord;
use super::rows::{missed_update, query_bodies};
use super::scrub::{finish_pending, mark_pending, scrub};
use crate::domain::dedup::DedupKeys;
use crate::domain::inbox::{InboxPage, InboxQuery, Shelf};
use crate::domain::outbox::{CONFIRMATION_WINDOW as MAX_QUOTA_WINDOW, MailQuota, OutboxItem};
use crate::domain::record::{ConsentRecord, RecordId, RecordState};
use crate::store::codec::{self, millis};
use crate::store::error::StoreError;
use crate::store::records::{Inserted, RecordStore};

fn parse_record(body: &str) -> Result<ConsentRecord, StoreError> {
    codec::decode("record", body)
}

/// Every record whose lookup column `column` holds `hmac`, oldest first.
async fn find_by(
    store: &SqliteStore,
    column: &'static str,
    hmac: &str,
) -> Result<Vec<ConsentRecord>, StoreError> {
    if hmac.is_empty() {
        return Ok(Vec::new());
    }
    let hmac = hmac.to_owned();
    store
        .run(move |conn| {
            query_bodies(
                conn,
                &format!("SELECT body FROM records WHERE {column} = ?1 ORDER BY id"),
                [hmac],
                parse_record,
            )
        })
        .await
}

#[async_trait]
impl RecordStore for SqliteStore {
    async fn insert_record_capped(
        &self,
        record: &ConsentRecord,
        dedup: &DedupKeys,
        outbox: &[OutboxItem],
        quota: Option<&MailQuota>,
    ) -> Result<Inserted, StoreError> {
        let row = NewRecord::new(record, dedup, outbox, quota)?;
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

    async fn get_record(&self, id: RecordId) -> Result<Option<ConsentRecord>, StoreError> {
        self.run(move |conn| {
            let body: Option<String> = conn
                .query_row(
                    "SELECT body FROM records WHERE id = ?1",
                    [id.to_string()],
                    |row| row.get(0),
                )
                .optional()
                .map_err(map_err)?;
            body.as_deref().map(parse_record).transpose()
        })
        .await
    }

    async fn list_records(&self) -> Result<Vec<ConsentRecord>, StoreError> {
        self.run(|conn| {
            query_bodies(
                conn,
                "SELECT body FROM records ORDER BY id",
                [],
                parse_record,
            )
        })
        .await
    }

    /// Each shelf of the filter read from its (shelf, id) index, at most a page each, then
    /// merged by id: a page costs the same however the records are spread over the shelves.
    async fn inbox_page(&self, query: &InboxQuery) -> Result<InboxPage, StoreError> {
        let size = query.page_size();
        let shelves: Vec<&'static str> =
            query.filter.shelves().iter().map(|s| s.as_str()).collect();
        // Ids are lower-case hyphenated UUIDv7 text, whose order is their time order; "" is
        // before every id.
        let after = query.after.map(|id| id.to_string()).unwrap_or_default();
        let limit = i64::try_from(size + 1).unwrap_or(i64::MAX);
        let mut records = self
            .run(move |conn| {
                let mut records = Vec::new();
                for shelf in shelves {
                    records.extend(query_bodies(
                        conn,
                        "SELECT body FROM records WHERE shelf = ?1 AND id > ?2
                         ORDER BY id LIMIT ?3",
                        params![shelf, after, limit],
                        parse_record,
                    )?);
                }
                Ok(records)
            })
            .await?;
        records.sort_by_key(|r| r.id);
        records.truncate(size + 1);
        Ok(InboxPage::from_overread(records, size))
    }

    async fn find_records_by_email(
        &self,
        email_hmac: &str,
    ) -> Result<Vec<ConsentRecord>, StoreError> {
        find_by(self, "email_hmac", email_hmac).await
    }

    async fn find_records_by_phone(
        &self,
        phone_hmac: &str,
    ) -> Result<Vec<ConsentRecord>, StoreError> {
        find_by(self, "phone_hmac", phone_hmac).await
    }

    async fn update_record(&self, record: &ConsentRecord) -> Result<bool, StoreError> {
        let mut stored = record.clone();
        stored.revision = record.revision + 1;
        let body = codec::encode("record", &stored)?;
        let record = record.clone();
        self.run(move |conn| update_blocking(conn, &record, &body))
            .await
    }

    async fn delete_record(&self, id: RecordId) -> Result<bool, StoreError> {
        self.run(move |conn| {
            let id = id.to_string();
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(map_err)?;
            // The person's place in the mail cap goes too: it is a keyed hash of the address.
            tx.execute(
                "DELETE FROM mail_quota WHERE recipient IN
                     (SELECT email_hmac FROM records WHERE id = ?1 AND email_hmac <> '')",
                [&id],
            )
            .map_err(map_err)?;
            // The dedup and outbox rows go with it (ON DELETE CASCADE, and a trigger).
            let changed = tx
                .execute("DELETE FROM records WHERE id = ?1", [&id])
                .map_err(map_err)?;
            if changed > 0 {
                mark_pending(&tx)?;
            }
            tx.commit().map_err(map_err)?;
            // Committed: the erasure has happened, whether or not a reader lets the WAL go now.
            scrub(conn)?;
            Ok(changed > 0)
        })
        .await
    }

    async fn finish_removals(&self) -> Result<bool, StoreError> {
        self.run(|conn| finish_pending(conn)).await
    }

    async fn purge_expired(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        self.run(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(map_err)?;
            let purged = tx
                .execute("DELETE FROM records WHERE expires_ms < ?1", [millis(now)])
                .map_err(map_err)?;
            // Housekeeping: fingerprints past their window block nothing, nor does a mail-quota
            // entry older than any window.
            tx.execute(
                "DELETE FROM fingerprints WHERE until_ms <= ?1",
                [millis(now)],
            )
            .map_err(map_err)?;
            tx.execute(
                "DELETE FROM mail_quota WHERE at_ms <= ?1",
                [millis(now - MAX_QUOTA_WINDOW)],
            )
            .map_err(map_err)?;
            mark_pending(&tx)?;
            tx.commit().map_err(map_err)?;
            scrub(conn)?;
            Ok(u64::try_from(purged).unwrap_or(u64::MAX))
        })
        .await
    }
}

/// The conditional update of one record: the new body and lookup columns if the stored
/// revision is still the one read; an anonymized record also loses its dedup rows.
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
                                revision = ?6, shelf = ?8
             WHERE id = ?1 AND revision = ?7",
            params![
                id,
                record.email_hmac,
                record.phone_hmac,
                millis(record.expires_at),
                body,
                codec::revision(record.revision + 1),
                codec::revision(record.revision),
                Shelf::of(record).as_str(),
            ],
        )
        .map_err(map_err)?;
    if changed == 0 {
        return missed_update(&tx, "records", "record", &id);
    }
    if record.state == RecordState::Anonymized {
        // The fingerprint is a keyed hash of the content, the key the script's: neither may
        // outlive the personal data they were made from.
        tx.execute("DELETE FROM fingerprints WHERE record_id = ?1", [&id])
            .map_err(map_err)?;
        tx.execute("DELETE FROM idempotency_keys WHERE record_id = ?1", [&id])
            .map_err(map_err)?;
    }
    mark_pending(&tx)?;
    tx.commit().map_err(map_err)?;
    scrub(conn)?;
    Ok(true)
}
