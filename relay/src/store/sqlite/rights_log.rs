//! The rights log role on SQLite: the audit table and the requests table.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use time::OffsetDateTime;

use super::database::SqliteStore;
use super::errors::map_err;
use super::quota;
use super::rows::check_writer;
use super::rows::{OutboxRow, missed_update, query_bodies};
use super::scrub::{mark_pending, scrub};
use crate::domain::audit::AuditEntry;
use crate::domain::outbox::{MailQuota, OutboxItem};
use crate::domain::request::SubjectRequest;
use crate::store::codec::{self, millis};
use crate::store::error::StoreError;
use crate::store::rights_log::{RequestInserted, RightsLog};

fn parse_request(body: &str) -> Result<SubjectRequest, StoreError> {
    codec::decode("request", body)
}

#[async_trait]
impl RightsLog for SqliteStore {
    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let row = AuditRow::new(entry)?;
        self.run(move |conn| row.insert(conn)).await
    }

    async fn list_audit(
        &self,
        since: Option<OffsetDateTime>,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let since = since.map_or(i64::MIN, millis);
        self.run(move |conn| {
            query_bodies(
                conn,
                "SELECT body FROM audit WHERE at_ms >= ?1 ORDER BY sort_key",
                [since],
                |body| codec::decode("audit entry", body),
            )
        })
        .await
    }

    async fn insert_request(
        &self,
        request: &SubjectRequest,
        outbox: &[OutboxItem],
        quota: Option<&MailQuota>,
    ) -> Result<RequestInserted, StoreError> {
        let row = RequestRow::new(request)?;
        let rows = outbox
            .iter()
            .map(OutboxRow::new)
            .collect::<Result<Vec<_>, _>>()?;
        let quota = quota.cloned();
        let (key_check, received) = (request.key_check.clone(), millis(request.received_at));
        self.run(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(map_err)?;
            check_writer(&tx, &key_check)?;
            if row.link_expires_ms.is_some() && awaiting(&tx, &row, received)? {
                return Ok(RequestInserted::AlreadyPending);
            }
            if let Some(quota) = &quota
                && !quota::take(&tx, quota)?
            {
                return Ok(RequestInserted::OverQuota);
            }
            row.insert(&tx)?;
            for item in &rows {
                item.insert(&tx)?;
            }
            tx.commit().map_err(map_err)?;
            Ok(RequestInserted::New)
        })
        .await
    }

    async fn get_request(&self, id: uuid::Uuid) -> Result<Option<SubjectRequest>, StoreError> {
        self.run(move |conn| {
            query_bodies(
                conn,
                "SELECT body FROM requests WHERE id = ?1",
                [id.to_string()],
                parse_request,
            )
            .map(|mut found| found.pop())
        })
        .await
    }

    async fn list_requests(&self) -> Result<Vec<SubjectRequest>, StoreError> {
        self.run(|conn| {
            query_bodies(
                conn,
                "SELECT body FROM requests ORDER BY id",
                [],
                parse_request,
            )
        })
        .await
    }

    async fn update_request_with(
        &self,
        request: &SubjectRequest,
        outbox: &[OutboxItem],
        audit: &[AuditEntry],
    ) -> Result<bool, StoreError> {
        let mut stored = request.clone();
        stored.revision = request.revision + 1;
        let row = RequestRow::new(&stored)?;
        let old = codec::revision(request.revision);
        let items = outbox
            .iter()
            .map(OutboxRow::new)
            .collect::<Result<Vec<_>, _>>()?;
        let entries = audit
            .iter()
            .map(AuditRow::new)
            .collect::<Result<Vec<_>, _>>()?;
        self.run(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(map_err)?;
            if !row.replace(&tx, old)? {
                return missed_update(&tx, "requests", "request", &row.id);
            }
            for item in &items {
                item.insert(&tx)?;
            }
            for entry in &entries {
                entry.insert(&tx)?;
            }
            // Closing a request removes the address it held.
            mark_pending(&tx)?;
            tx.commit().map_err(map_err)?;
            scrub(conn)?;
            Ok(true)
        })
        .await
    }

    async fn purge_unconfirmed_requests(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        self.run(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(map_err)?;
            let purged = tx
                .execute(
                    "DELETE FROM requests WHERE link_expires_ms IS NOT NULL AND link_expires_ms <= ?1",
                    [millis(now)],
                )
                .map_err(map_err)?;
            // The confirmation mails of those requests have nothing left to say.
            tx.execute(
                "DELETE FROM outbox WHERE subject_id NOT IN (SELECT id FROM records)
                     AND subject_id NOT IN (SELECT id FROM requests)",
                [],
            )
            .map_err(map_err)?;
            if purged > 0 {
                mark_pending(&tx)?;
            }
            tx.commit().map_err(map_err)?;
            scrub(conn)?;
            Ok(u64::try_from(purged).unwrap_or(u64::MAX))
        })
        .await
    }
}

/// Whether another request of `row`'s kind for its mailbox still waits for a link that works
/// at `now` (epoch milliseconds).
fn awaiting(conn: &Connection, row: &RequestRow, now: i64) -> Result<bool, StoreError> {
    conn.query_row(
        "SELECT 1 FROM requests WHERE email_hmac = ?1 AND kind = ?2
             AND link_expires_ms IS NOT NULL AND link_expires_ms > ?3 LIMIT 1",
        params![row.email_hmac, row.kind, now],
        |_| Ok(()),
    )
    .optional()
    .map(|found| found.is_some())
    .map_err(map_err)
}

/// A request as its row: the JSON and the columns the look-ups need. `link_expires_ms` is set
/// only while the request waits for its link.
struct RequestRow {
    id: String,
    revision: i64,
    email_hmac: String,
    kind: String,
    link_expires_ms: Option<i64>,
    body: String,
}

impl RequestRow {
    fn new(request: &SubjectRequest) -> Result<Self, StoreError> {
        let awaiting = request.closed_at.is_none() && request.confirmed_at.is_none();
        Ok(Self {
            id: request.id.to_string(),
            revision: codec::revision(request.revision),
            email_hmac: request.email_hmac.clone(),
            kind: request.kind.as_str().to_owned(),
            link_expires_ms: request.link_expires_at.filter(|_| awaiting).map(millis),
            body: codec::encode("request", request)?,
        })
    }

    fn insert(&self, conn: &Connection) -> Result<(), StoreError> {
        conn.execute(
            "INSERT INTO requests (id, revision, body, email_hmac, kind, link_expires_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                self.id,
                self.revision,
                self.body,
                self.email_hmac,
                self.kind,
                self.link_expires_ms
            ],
        )
        .map_err(map_err)?;
        Ok(())
    }

    /// Writes the row over the stored one if that is still at `old`; false otherwise.
    fn replace(&self, conn: &Connection, old: i64) -> Result<bool, StoreError> {
        let changed = conn
            .execute(
                "UPDATE requests SET body = ?2, revision = ?3, email_hmac = ?4,
                                     link_expires_ms = ?5
                 WHERE id = ?1 AND revision = ?6",
                params![
                    self.id,
                    self.body,
                    self.revision,
                    self.email_hmac,
                    self.link_expires_ms,
                    old
                ],
            )
            .map_err(map_err)?;
        Ok(changed > 0)
    }
}

/// An audit entry as its row.
struct AuditRow {
    id: String,
    sort_key: String,
    at_ms: i64,
    body: String,
}

impl AuditRow {
    fn new(entry: &AuditEntry) -> Result<Self, StoreError> {
        Ok(Self {
            id: entry.id.to_string(),
            sort_key: entry.sort_key(),
            at_ms: millis(entry.at),
            body: codec::encode("audit entry", entry)?,
        })
    }

    fn insert(&self, conn: &Connection) -> Result<(), StoreError> {
        conn.execute(
            "INSERT INTO audit (id, sort_key, at_ms, body) VALUES (?1, ?2, ?3, ?4)",
            params![self.id, self.sort_key, self.at_ms, self.body],
        )
        .map_err(map_err)?;
        Ok(())
    }
}
