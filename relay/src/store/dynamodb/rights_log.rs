//! The rights log role on DynamoDB: audit entries and requests, read through the
//! `by_kind_sort` index.
//!
//! | item | `pk` | other attributes |
//! |---|---|---|
//! | audit entry | `AUDIT#<uuid>` | `kind=audit`, `sort_key` (time, then id), `body` (JSON) |
//! | data-subject request | `REQ#<uuid>` | `kind=request`, `sort_key` (the id), `revision`, `body` (JSON), `expires_at` (while its link works) |
//! | waiting request | `PENDREQ#<kind>#<email hmac>` | `kind=pending_request`, `record_id` (the request), `expires_at` (its link's) |

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{CancellationReason, Put, TransactWriteItem};
use time::OffsetDateTime;

use super::client::DynamoStore;
use super::errors::{backend_error, from_sdk};
use super::guards::key_guard;
use super::items::{
    ATTR_BODY, ATTR_EXPIRES_AT, ATTR_KIND, ATTR_PK, ATTR_RECORD_ID, ATTR_REVISION, ATTR_SORT_KEY,
    INDEX_BY_KIND_SORT, Item, KIND_AUDIT, KIND_PENDING_REQUEST, KIND_REQUEST, audit_pk,
    awaiting_until, body_of, n, outbox_item, parse_request, pending_request_pk, request_item,
    request_pk, s,
};
use super::query::IndexQuery;
use crate::domain::audit::AuditEntry;
use crate::domain::outbox::{MailQuota, OutboxItem};
use crate::domain::request::SubjectRequest;
use crate::store::codec;
use crate::store::error::StoreError;
use crate::store::outbox::OutboxStore;
use crate::store::rights_log::{RequestInserted, RightsLog};

/// An audit entry's item.
fn audit_item(entry: &AuditEntry) -> Result<Item, StoreError> {
    Ok(HashMap::from([
        (ATTR_PK.to_owned(), s(audit_pk(entry))),
        (ATTR_KIND.to_owned(), s(KIND_AUDIT)),
        (ATTR_SORT_KEY.to_owned(), s(entry.sort_key())),
        (
            ATTR_BODY.to_owned(),
            s(codec::encode("audit entry", entry)?),
        ),
    ]))
}

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

/// How often a request insert reads the mail cap again after it changed under it.
const REQUEST_ATTEMPTS: u32 = 4;

#[async_trait]
impl RightsLog for DynamoStore {
    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(audit_item(entry)?))
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
        quota: Option<&MailQuota>,
    ) -> Result<RequestInserted, StoreError> {
        for attempt in 0..REQUEST_ATTEMPTS {
            match self.try_insert_request(request, outbox, quota).await? {
                Some(inserted) => return Ok(inserted),
                None => self.pause(attempt).await,
            }
        }
        Err(StoreError::Busy(
            "TransactWriteItems (request): the mail cap changed under it repeatedly".to_owned(),
        ))
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

    async fn update_request_with(
        &self,
        request: &SubjectRequest,
        outbox: &[OutboxItem],
        audit: &[AuditEntry],
    ) -> Result<bool, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(request_item(request, request.revision + 1)?))
            .condition_expression("#rev = :old")
            .expression_attribute_names("#rev", ATTR_REVISION)
            .expression_attribute_values(":old", n(codec::revision(request.revision)))
            .build()
            .map_err(|e| backend_error("Put (request)", &e))?;
        let mut items = vec![TransactWriteItem::builder().put(put).build()];
        for entry in outbox {
            items.push(create_only(&self.table, outbox_item(entry)?)?);
        }
        for entry in audit {
            items.push(create_only(&self.table, audit_item(entry)?)?);
        }
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        match result {
            Ok(_) => {}
            Err(err) if is_cancelled_at(&err, 0) => {
                return match self.get_request(request.id).await? {
                    Some(_) => Err(StoreError::Conflict(format!("request {}", request.id))),
                    None => Ok(false),
                };
            }
            Err(err) => return Err(from_sdk("TransactWriteItems (request)", err)),
        }
        if awaiting_until(request).is_none() {
            self.release_pending_marker(request).await?;
        }
        Ok(true)
    }

    async fn purge_unconfirmed_requests(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        let mut purged = 0;
        for pk in self
            .expired_keys(KIND_REQUEST, now.unix_timestamp())
            .await?
        {
            let Some(item) = self.get_item(&pk, "GetItem (request)").await? else {
                continue;
            };
            let request = parse_request(&item)?;
            if awaiting_until(&request).is_none_or(|until| until > now) {
                continue;
            }
            let deleted = self
                .client
                .delete_item()
                .table_name(&self.table)
                .key(ATTR_PK, s(pk))
                .condition_expression("#rev = :seen")
                .expression_attribute_names("#rev", ATTR_REVISION)
                .expression_attribute_values(":seen", n(codec::revision(request.revision)))
                .send()
                .await;
            match deleted {
                Ok(_) => purged += 1,
                Err(err) if err.code() == Some("ConditionalCheckFailedException") => continue,
                Err(err) => return Err(from_sdk("DeleteItem (request)", err)),
            }
            self.release_pending_marker(&request).await?;
            self.delete_items_about(request.id).await?;
        }
        Ok(purged)
    }
}

impl DynamoStore {
    /// One attempt at storing a request with its guards: `Some` with what happened, `None`
    /// when the mail cap's log changed under it (read it again).
    async fn try_insert_request(
        &self,
        request: &SubjectRequest,
        outbox: &[OutboxItem],
        quota: Option<&MailQuota>,
    ) -> Result<Option<RequestInserted>, StoreError> {
        let mut items = vec![create_only(
            &self.table,
            request_item(request, request.revision)?,
        )?];
        for entry in outbox {
            items.push(create_only(&self.table, outbox_item(entry)?)?);
        }
        let key_at = items.len();
        items.push(key_guard(&self.table, &request.key_check)?);
        let pending_at = items.len();
        if let Some(until) = awaiting_until(request) {
            items.push(pending_marker(&self.table, request, until)?);
        }
        let quota_at = items.len();
        if let Some(quota) = quota {
            match self.quota_put(quota).await? {
                Some(put) => items.push(put),
                None => return Ok(Some(RequestInserted::OverQuota)),
            }
        }
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        let err = match result {
            Ok(_) => return Ok(Some(RequestInserted::New)),
            Err(err) => err,
        };
        if is_cancelled_at(&err, key_at) {
            return Err(StoreError::WrongKey);
        }
        if awaiting_until(request).is_some() && is_cancelled_at(&err, pending_at) {
            return Ok(Some(RequestInserted::AlreadyPending));
        }
        if quota.is_some() && is_cancelled_at(&err, quota_at) {
            return Ok(None);
        }
        Err(from_sdk("TransactWriteItems (request)", err))
    }

    /// Removes the waiting-request marker `request` holds, if it still holds it.
    async fn release_pending_marker(&self, request: &SubjectRequest) -> Result<(), StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(ATTR_PK, s(pending_request_pk(request)))
            .condition_expression("#rid = :rid")
            .expression_attribute_names("#rid", ATTR_RECORD_ID)
            .expression_attribute_values(":rid", s(request.id.to_string()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) if err.code() == Some("ConditionalCheckFailedException") => Ok(()),
            Err(err) => Err(from_sdk("DeleteItem (pending request)", err)),
        }
    }

    /// Deletes the outbox items about `subject` (a request that is gone has nothing to say).
    async fn delete_items_about(&self, subject: uuid::Uuid) -> Result<(), StoreError> {
        for item in self.list_items().await? {
            if item.kind.subject() == subject {
                self.remove_item(item.id).await?;
            }
        }
        Ok(())
    }
}

/// The marker that `request` is its mailbox's one request of its kind waiting for a link:
/// created unless one exists whose link still works at the request's receipt.
fn pending_marker(
    table: &str,
    request: &SubjectRequest,
    until: OffsetDateTime,
) -> Result<TransactWriteItem, StoreError> {
    let item = HashMap::from([
        (ATTR_PK.to_owned(), s(pending_request_pk(request))),
        (ATTR_KIND.to_owned(), s(KIND_PENDING_REQUEST)),
        (ATTR_RECORD_ID.to_owned(), s(request.id.to_string())),
        (ATTR_EXPIRES_AT.to_owned(), n(until.unix_timestamp())),
    ]);
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(#pk) OR #exp <= :now")
        .expression_attribute_names("#pk", ATTR_PK)
        .expression_attribute_names("#exp", ATTR_EXPIRES_AT)
        .expression_attribute_values(":now", n(request.received_at.unix_timestamp()))
        .build()
        .map_err(|e| backend_error("Put (pending request)", &e))?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// Whether `err` is a cancelled transaction whose item `index` failed its condition.
fn is_cancelled_at<R>(
    err: &aws_sdk_dynamodb::error::SdkError<TransactWriteItemsError, R>,
    index: usize,
) -> bool {
    match err.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => {
            cancelled
                .cancellation_reasons()
                .get(index)
                .and_then(CancellationReason::code)
                == Some("ConditionalCheckFailed")
        }
        _ => false,
    }
}
