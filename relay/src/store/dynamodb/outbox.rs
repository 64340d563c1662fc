//! The outbox role on DynamoDB: items on the `by_kind_sort` index by due time, claimed with
//! a conditional write so exactly one deliverer wins.

use async_trait::async_trait;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::client::DynamoStore;
use super::errors::from_sdk;
use super::items::{
    ATTR_DUE_AT, ATTR_KIND, ATTR_PK, ATTR_SORT_KEY, INDEX_BY_KIND_SORT, KIND_OUTBOX, n,
    outbox_item, outbox_pk, parse_outbox, s,
};
use super::query::IndexQuery;
use crate::domain::outbox::{OutboxId, OutboxItem, never};
use crate::store::codec::millis;
use crate::store::error::StoreError;
use crate::store::outbox::OutboxStore;

#[async_trait]
impl OutboxStore for DynamoStore {
    async fn enqueue_item(&self, item: &OutboxItem) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(outbox_item(item)?))
            .send()
            .await
            .map_err(|e| from_sdk("PutItem (outbox)", e))?;
        Ok(())
    }

    async fn list_due_items(
        &self,
        now: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        // '~' sorts after every character of an id, so this takes every item due at `now`.
        let upper = format!("{:020}#~", millis(now));
        let mut items = self.outbox_query(Some(&upper), limit).await?;
        items.truncate(limit);
        Ok(items)
    }

    async fn list_items(&self) -> Result<Vec<OutboxItem>, StoreError> {
        self.outbox_query(None, usize::MAX).await
    }

    /// Reads the item, then writes the claimed copy on condition that `due_at` is still the
    /// value read: of two deliverers, exactly one wins.
    async fn claim_item(
        &self,
        id: OutboxId,
        now: OffsetDateTime,
        lease: Duration,
    ) -> Result<Option<OutboxItem>, StoreError> {
        self.modify_item(id, |item| {
            if item.due_at > now || !item.is_live() {
                return false;
            }
            item.attempts = item.attempts.saturating_add(1);
            item.due_at = now + lease;
            true
        })
        .await
    }

    async fn remove_item(&self, id: OutboxId) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(ATTR_PK, s(outbox_pk(id)))
            .send()
            .await
            .map_err(|e| from_sdk("DeleteItem (outbox)", e))?;
        Ok(())
    }

    async fn reschedule_item(
        &self,
        id: OutboxId,
        due_at: OffsetDateTime,
        error: &str,
    ) -> Result<(), StoreError> {
        // A lost race means another deliverer has taken the item over; its outcome stands.
        self.modify_item(id, |item| {
            item.due_at = due_at;
            item.last_error = Some(error.to_owned());
            true
        })
        .await
        .map(|_| ())
    }

    async fn bury_item(
        &self,
        id: OutboxId,
        reason: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.modify_item(id, |item| {
            *item = item.clone().buried(reason, now);
            item.due_at = never();
            true
        })
        .await
        .map(|_| ())
    }

    async fn withhold_item(&self, id: OutboxId) -> Result<(), StoreError> {
        self.modify_item(id, |item| {
            item.withheld = true;
            item.due_at = never();
            true
        })
        .await
        .map(|_| ())
    }

    async fn release_items(&self, subject: Uuid, now: OffsetDateTime) -> Result<usize, StoreError> {
        let mut released = 0;
        for held in self.list_items().await? {
            if held.kind.subject() != subject || !held.withheld || held.dead.is_some() {
                continue;
            }
            let done = self
                .modify_item(held.id, |item| {
                    item.withheld = false;
                    item.due_at = now;
                    true
                })
                .await?;
            released += usize::from(done.is_some());
        }
        Ok(released)
    }

    async fn revive_item(&self, id: OutboxId, now: OffsetDateTime) -> Result<bool, StoreError> {
        let revived = self
            .modify_item(id, |item| {
                item.dead = None;
                item.withheld = false;
                item.attempts = 0;
                item.created_at = now;
                item.due_at = now;
                true
            })
            .await?;
        Ok(revived.is_some())
    }
}

impl DynamoStore {
    /// Reads the item, lets `change` change it (returning false leaves it as it is), and
    /// writes it back on condition that its `due_at` is still the one read. `None` when it is
    /// gone, `change` declined, or another writer changed it first.
    async fn modify_item(
        &self,
        id: OutboxId,
        change: impl FnOnce(&mut OutboxItem) -> bool,
    ) -> Result<Option<OutboxItem>, StoreError> {
        let Some(stored) = self.get_item(&outbox_pk(id), "GetItem (outbox)").await? else {
            return Ok(None);
        };
        let mut item = parse_outbox(&stored)?;
        let seen = millis(item.due_at);
        if !change(&mut item) {
            return Ok(None);
        }
        Ok(self.replace_outbox(&item, seen).await?.then_some(item))
    }

    /// Outbox items from the `by_kind_sort` index, up to `upper` (inclusive) when given.
    async fn outbox_query(
        &self,
        upper: Option<&str>,
        limit: usize,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        let mut values = vec![(":kind", s(KIND_OUTBOX))];
        if let Some(upper) = upper {
            values.push((":upper", s(upper)));
        }
        let items = self
            .query_all(IndexQuery {
                index: INDEX_BY_KIND_SORT,
                condition: if upper.is_some() {
                    "#kind = :kind AND #sk <= :upper"
                } else {
                    "#kind = :kind"
                },
                names: if upper.is_some() {
                    &[("#kind", ATTR_KIND), ("#sk", ATTR_SORT_KEY)]
                } else {
                    &[("#kind", ATTR_KIND)]
                },
                values,
                operation: "Query (outbox)",
                limit: Some(limit),
            })
            .await?;
        items.iter().map(parse_outbox).collect()
    }

    /// Writes `item` over the stored one if that one's `due_at` is still `seen` (epoch ms).
    /// False when it changed or vanished.
    async fn replace_outbox(&self, item: &OutboxItem, seen: i64) -> Result<bool, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(outbox_item(item)?))
            .condition_expression("#due = :seen")
            .expression_attribute_names("#due", ATTR_DUE_AT)
            .expression_attribute_values(":seen", n(seen))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err) if err.code() == Some("ConditionalCheckFailedException") => Ok(false),
            Err(err) => Err(from_sdk("PutItem (outbox)", err)),
        }
    }
}
