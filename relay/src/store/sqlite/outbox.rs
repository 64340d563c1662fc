//! The outbox role on SQLite: one table of items, claimed under an immediate transaction.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::database::SqliteStore;
use super::errors::map_err;
use super::rows::{OutboxRow, query_bodies};
use crate::domain::outbox::{OutboxId, OutboxItem, never};
use crate::store::codec::{self, millis};
use crate::store::error::StoreError;
use crate::store::outbox::OutboxStore;

pub(super) fn parse_item(body: &str) -> Result<OutboxItem, StoreError> {
    codec::decode("outbox item", body)
}

/// The item with this id, read inside `tx`.
fn read_item(
    tx: &Connection,
    id: OutboxId,
    due_by: Option<i64>,
) -> Result<Option<OutboxItem>, StoreError> {
    let body: Option<String> = tx
        .query_row(
            "SELECT body FROM outbox WHERE id = ?1 AND due_ms <= ?2",
            params![id.to_string(), due_by.unwrap_or(i64::MAX)],
            |row| row.get(0),
        )
        .optional()
        .map_err(map_err)?;
    body.as_deref().map(parse_item).transpose()
}

/// Writes `item` over the stored row with the same id.
fn replace_item(tx: &Connection, item: &OutboxItem) -> Result<(), StoreError> {
    let body = codec::encode("outbox item", item)?;
    tx.execute(
        "UPDATE outbox SET due_ms = ?2, body = ?3 WHERE id = ?1",
        params![item.id.to_string(), millis(item.due_at), body],
    )
    .map_err(map_err)?;
    Ok(())
}

/// Reads, changes (with `change`) and writes back one item in an immediate transaction.
/// `None` when no item with this id is due by `due_by`.
fn modify_item(
    conn: &mut Connection,
    id: OutboxId,
    due_by: Option<i64>,
    change: impl FnOnce(&mut OutboxItem),
) -> Result<Option<OutboxItem>, StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(map_err)?;
    let Some(mut item) = read_item(&tx, id, due_by)? else {
        return Ok(None);
    };
    change(&mut item);
    replace_item(&tx, &item)?;
    tx.commit().map_err(map_err)?;
    Ok(Some(item))
}

#[async_trait]
impl OutboxStore for SqliteStore {
    async fn enqueue_item(&self, item: &OutboxItem) -> Result<(), StoreError> {
        let row = OutboxRow::new(item)?;
        self.run(move |conn| row.insert(conn)).await
    }

    async fn list_due_items(
        &self,
        now: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.run(move |conn| {
            query_bodies(
                conn,
                "SELECT body FROM outbox WHERE due_ms <= ?1 ORDER BY due_ms, id LIMIT ?2",
                params![millis(now), limit],
                parse_item,
            )
        })
        .await
    }

    async fn list_items(&self) -> Result<Vec<OutboxItem>, StoreError> {
        self.run(|conn| {
            query_bodies(
                conn,
                "SELECT body FROM outbox ORDER BY due_ms, id",
                [],
                parse_item,
            )
        })
        .await
    }

    async fn claim_item(
        &self,
        id: OutboxId,
        now: OffsetDateTime,
        lease: Duration,
    ) -> Result<Option<OutboxItem>, StoreError> {
        self.run(move |conn| {
            modify_item(conn, id, Some(millis(now)), |item| {
                item.attempts = item.attempts.saturating_add(1);
                item.due_at = now + lease;
            })
        })
        .await
    }

    async fn remove_item(&self, id: OutboxId) -> Result<(), StoreError> {
        self.run(move |conn| {
            conn.execute("DELETE FROM outbox WHERE id = ?1", [id.to_string()])
                .map_err(map_err)?;
            Ok(())
        })
        .await
    }

    async fn reschedule_item(
        &self,
        id: OutboxId,
        due_at: OffsetDateTime,
        error: &str,
    ) -> Result<(), StoreError> {
        let error = error.to_owned();
        self.run(move |conn| {
            modify_item(conn, id, None, |item| {
                item.due_at = due_at;
                item.last_error = Some(error);
            })
            .map(|_| ())
        })
        .await
    }

    async fn bury_item(
        &self,
        id: OutboxId,
        reason: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let reason = reason.to_owned();
        self.run(move |conn| {
            modify_item(conn, id, None, |item| {
                *item = item.clone().buried(&reason, now);
                item.due_at = never();
            })
            .map(|_| ())
        })
        .await
    }

    async fn withhold_item(&self, id: OutboxId) -> Result<(), StoreError> {
        self.run(move |conn| {
            modify_item(conn, id, None, |item| {
                item.withheld = true;
                item.due_at = never();
            })
            .map(|_| ())
        })
        .await
    }

    async fn release_items(&self, subject: Uuid, now: OffsetDateTime) -> Result<usize, StoreError> {
        self.run(move |conn| {
            let held = query_bodies(
                conn,
                "SELECT body FROM outbox WHERE subject_id = ?1",
                [subject.to_string()],
                parse_item,
            )?;
            let mut released = 0;
            for item in held.into_iter().filter(|i| i.withheld && i.dead.is_none()) {
                let done = modify_item(conn, item.id, None, |item| {
                    item.withheld = false;
                    item.due_at = now;
                })?;
                released += usize::from(done.is_some());
            }
            Ok(released)
        })
        .await
    }

    async fn revive_item(&self, id: OutboxId, now: OffsetDateTime) -> Result<bool, StoreError> {
        self.run(move |conn| {
            modify_item(conn, id, None, |item| {
                item.dead = None;
                item.withheld = false;
                item.attempts = 0;
                item.created_at = now;
                item.due_at = now;
            })
            .map(|found| found.is_some())
        })
        .await
    }
}
