//! The rights log role on DynamoDB: audit entries and requests, read through the
//! `by_kind_sort` index.
//!
//! | item | `pk` | other attributes |
//! |---|---|---|
//! | audit entry | `AUDIT#<uuid>` | `kind=audit`, `sort_key` (time, then id), `body` (JSON) |
//! | data-subject request | `REQ#<uuid>` | `kind=request`, `sort_key` (the id), `revision`, `body` (JSON) |

use async_trait::async_trait;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use time::OffsetDateTime;

use super::client::DynamoStore;
use super::errors::{backend_error, from_sdk};
use super::items::{
    ATTR_BODY, ATTR_KIND, ATTR_PK, ATTR_REVISION, ATTR_SORT_KEY, INDEX_BY_KIND_SORT, Item,
    KIND_AUDIT, KIND_REQUEST, audit_pk, body_of, n, outbox_item, parse_request, request_item,
    request_pk, s,
};
use super::query::IndexQuery;
use crate::domain::audit::AuditEntry;
use crate::domain::outbox::OutboxItem;
use crate::domain::request::SubjectRequest;
use crate::store::codec;
use crate::store::error::StoreError;
use crate::store::rights_log::RightsLog;

/// A conditional put that may only create `item`, as one item of a transaction.
fn create_only(table: &str, item: Item) -> Result<TransactWriteItem, StoreError> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(#pk)")
        .expression_attribute_names("#pk", ATTR_PK)
        .build()
        .map_err(|e| backend_error("Put", &e))?;
    Ok(TransactWriteItem::builder().put(put).build())
}

impl DynamoStore {
    /// Every item of `kind` on the `by_kind_sort` index, from `from` on when given.
    async fn by_kind(
        &self,
        kind: &str,
        from: Option<String>,
        operation: &str,
    ) -> Result<Vec<Item>, StoreError> {
        let mut values = vec![(":kind", s(kind))];
        let has_from = from.is_some();
        if let Some(from) = from {
            values.push((":from", s(from)));
        }
        self.query_all(IndexQuery {
            index: INDEX_BY_KIND_SORT,
            condition: if has_from {
                "#kind = :kind AND #sk >= :from"
            } else {
                "#kind = :kind"
            },
            names: if has_from {
                &[("#kind", ATTR_KIND), ("#sk", ATTR_SORT_KEY)]
            } else {
                &[("#kind", ATTR_KIND)]
            },
            values,
            operation,
            limit: None,
        })
        .await
    }
}

#[async_trait]
impl RightsLog for DynamoStore {
    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item(ATTR_PK, s(audit_pk(entry)))
            .item(ATTR_KIND, s(KIND_AUDIT))
            .item(ATTR_SORT_KEY, s(entry.sort_key()))
            .item(ATTR_BODY, s(codec::encode("audit entry", entry)?))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", ATTR_PK)
            .send()
            .await
            .map_err(|e| from_sdk("PutItem (audit)", e))?;
        Ok(())
    }

    async fn list_audit(
        &self,
        since: Option<OffsetDateTime>,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let from = format!(
            "{:020}",
            since.map_or(0, |t| t.unix_timestamp_nanos().max(0))
        );
        let items = self
            .by_kind(KIND_AUDIT, Some(from), "Query (audit)")
            .await?;
        let mut entries = items
            .iter()
            .map(|item| body_of::<AuditEntry>(item, ATTR_BODY, "audit entry"))
            .collect::<Result<Vec<_>, _>>()?;
        entries.sort_by_key(AuditEntry::sort_key);
        Ok(entries)
    }

    async fn insert_request(
        &self,
        request: &SubjectRequest,
        outbox: &[OutboxItem],
    ) -> Result<(), StoreError> {
        let mut items = vec![create_only(
            &self.table,
            request_item(request, request.revision)?,
        )?];
        for entry in outbox {
            items.push(create_only(&self.table, outbox_item(entry)?)?);
        }
        self.client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .map_err(|e| from_sdk("TransactWriteItems (request)", e))?;
        Ok(())
    }

    async fn get_request(&self, id: uuid::Uuid) -> Result<Option<SubjectRequest>, StoreError> {
        self.get_item(&request_pk(id), "GetItem (request)")
            .await?
            .as_ref()
            .map(parse_request)
            .transpose()
    }

    async fn list_requests(&self) -> Result<Vec<SubjectRequest>, StoreError> {
        let items = self.by_kind(KIND_REQUEST, None, "Query (requests)").await?;
        let mut requests = items
            .iter()
            .map(parse_request)
            .collect::<Result<Vec<_>, _>>()?;
        requests.sort_by_key(|r| r.id);
        Ok(requests)
    }

    async fn update_request(&self, request: &SubjectRequest) -> Result<bool, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(request_item(request, request.revision + 1)?))
            .condition_expression("#rev = :old")
            .expression_attribute_names("#rev", ATTR_REVISION)
            .expression_attribute_values(":old", n(codec::revision(request.revision)))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err) if err.code() == Some("ConditionalCheckFailedException") => {
                match self.get_request(request.id).await? {
                    Some(_) => Err(StoreError::Conflict(format!("request {}", request.id))),
                    None => Ok(false),
                }
            }
            Err(err) => Err(from_sdk("PutItem (request)", err)),
        }
    }
}
