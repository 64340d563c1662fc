//! The outbox role on DynamoDB: items on the `by_kind_sort` index by due time, claimed with
//! a conditional write so exactly one deliverer wins.

use async_trait::async_trait;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use time::OffsetDateTime;

use super::client::DynamoStore;
use super::errors::from_sdk;
use super::items::{
    ATTR_DUE_AT, ATTR_KIND, ATTR_PK, ATTR_SORT_KEY, INDEX_BY_KIND_SORT, KIND_OUTBOX, n,
    outbox_item, outbox_pk, parse_outbox, s,
};
use super::query::IndexQuery;
use crate::domain::outbox::{LEASE, OutboxId, OutboxItem};
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
    ) -> Result<Option<OutboxItem>, StoreError> {
        let Some(stored) = self.get_item(&outbox_pk(id), "GetItem (outbox)").await? else {
            return Ok(None);
        };
        let mut item = parse_outbox(&stored)?;
        if item.due_at > now {
            return Ok(None);
        }
        let seen = millis(item.due_at);
        item.attempts = item.attempts.saturating_add(1);
        item.due_at = now + LEASE;
        match self.replace_outbox(&item, seen).await? {
            true => Ok(Some(item)),
            false => Ok(None),
        }
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
        let Some(stored) = self.get_item(&outbox_pk(id), "GetItem (outbox)").await? else {
            return Ok(());
        };
        let mut item = parse_outbox(&stored)?;
        let seen = millis(item.due_at);
        item.due_at = due_at;
        item.last_error = Some(error.to_owned());
        // A lost race means another deliverer has taken the item over; its outcome stands.
        self.replace_outbox(&item, seen).await.map(|_| ())
    }
}

impl DynamoStore {
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
