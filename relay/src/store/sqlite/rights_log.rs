//! The rights log role on SQLite: the audit table and the requests table.

use async_trait::async_trait;
use rusqlite::{TransactionBehavior, params};
use time::OffsetDateTime;

use super::database::SqliteStore;
use super::errors::map_err;
use super::rows::{OutboxRow, missed_update, query_bodies};
use super::scrub::scrub;
use crate::domain::audit::AuditEntry;
use crate::domain::outbox::OutboxItem;
use crate::domain::request::SubjectRequest;
use crate::store::codec::{self, millis};
use crate::store::error::StoreError;
use crate::store::rights_log::RightsLog;

fn parse_request(body: &str) -> Result<SubjectRequest, StoreError> {
    codec::decode("request", body)
}

#[async_trait]
impl RightsLog for SqliteStore {
    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let body = codec::encode("audit entry", entry)?;
        let (id, sort_key, at) = (entry.id.to_string(), entry.sort_key(), millis(entry.at));
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
    ) -> Result<(), StoreError> {
        let body = codec::encode("request", request)?;
        let id = request.id.to_string();
        let revision = codec::revision(request.revision);
        let rows = outbox
            .iter()
            .map(OutboxRow::new)
            .collect::<Result<Vec<_>, _>>()?;
        self.run(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(map_err)?;
            tx.execute(
                "INSERT INTO requests (id, revision, body) VALUES (?1, ?2, ?3)",
                params![id, revision, body],
            )
            .map_err(map_err)?;
            for row in &rows {
                row.insert(&tx)?;
            }
            tx.commit().map_err(map_err)
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

    async fn update_request(&self, request: &SubjectRequest) -> Result<bool, StoreError> {
        let mut stored = request.clone();
        stored.revision = request.revision + 1;
        let body = codec::encode("request", &stored)?;
        let id = request.id.to_string();
        let (old, new) = (
            codec::revision(request.revision),
            codec::revision(stored.revision),
        );
        self.run(move |conn| {
            let changed = conn
                .execute(
                    "UPDATE requests SET body = ?2, revision = ?3 WHERE id = ?1 AND revision = ?4",
                    params![id, body, new, old],
                )
                .map_err(map_err)?;
            if changed == 0 {
                return missed_update(conn, "requests", "request", &id);
            }
            // Closing a request removes the address it held.
            scrub(conn)?;
            Ok(true)
        })
        .await
    }
}
