//! The insert transaction: a record, its dedup items and its outbox items in one
//! `TransactWriteItems`, all written or none; a cancelled transaction is read reason by reason
//! to tell a duplicate from a race from throttling.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, CancellationReason, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
};
use time::OffsetDateTime;

use super::client::DynamoStore;
use super::errors::{backend_error, from_sdk, is_throttling};
use super::guards::key_guard;
use super::inbox::shelf_sort_key;
use super::items::{
    ATTR_EXPIRES_AT, ATTR_FP_PK, ATTR_IDEM_PK, ATTR_KIND, ATTR_OUT_PKS, ATTR_PK, ATTR_RECORD,
    ATTR_RECORD_ID, ATTR_REVISION, ATTR_SORT_KEY, Item, KIND_FINGERPRINT, KIND_IDEMPOTENCY,
    KIND_RECORD, dedup_item, fingerprint_pk, idempotency_pk, n, optional_index_attributes,
    outbox_item, outbox_pk, record_id_of, record_pk, s,
};
use crate::domain::dedup::DedupKeys;
use crate::domain::outbox::{MailQuota, OutboxItem};
use crate::domain::record::ConsentRecord;
use crate::store::codec;
use crate::store::error::StoreError;
use crate::store::records::Inserted;

/// How often an insert retries a transaction that lost a race (DynamoDB's
/// `TransactionConflict`, or a dedup item that vanished between the failed write and the read
/// of the earlier id) before telling the caller the store is busy.
const INSERT_ATTEMPTS: u32 = 4;

impl DynamoStore {
    /// The insert described by [`crate::store::RecordStore::insert_record`].
    pub(super) async fn transact_insert(
        &self,
        record: &ConsentRecord,
        dedup: &DedupKeys,
        outbox: &[OutboxItem],
        quota: Option<&MailQuota>,
    ) -> Result<Inserted, StoreError> {
        let now = dedup_clock().unix_timestamp();
        for attempt in 0..INSERT_ATTEMPTS {
            match self.try_insert(record, dedup, outbox, quota, now).await? {
                Attempt::Done(inserted) => return Ok(inserted),
                Attempt::Retry => self.pause(attempt).await,
            }
        }
        Err(StoreError::Busy(
            "TransactWriteItems: lost the race for the dedup keys repeatedly".to_owned(),
        ))
    }

    /// One attempt of the insert transaction: the record, its dedup items, its outbox items
    /// and its guards (the key check, the mail cap's place), all written or none.
    async fn try_insert(
        &self,
        record: &ConsentRecord,
        dedup: &DedupKeys,
        outbox: &[OutboxItem],
        quota: Option<&MailQuota>,
        now: i64,
    ) -> Result<Attempt, StoreError> {
        let keys = InsertKeys::new(record, dedup);
        let mut items = self.insert_items(record, dedup, outbox, &keys, now)?;
        let key_guard_at = items.len();
        items.push(key_guard(&self.table, &record.key_check)?);
        if let Some(quota) = quota {
            match self.quota_put(quota).await? {
                Some(put) => items.push(put),
                None => return Ok(Attempt::Done(Inserted::OverQuota)),
            }
        }
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        let err = match result {
            Ok(_) => return Ok(Attempt::Done(Inserted::New(record.id))),
            Err(err) => err,
        };
        let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
            err.as_service_error()
        else {
            return Err(from_sdk("TransactWriteItems", err));
        };
        let reasons = cancelled.cancellation_reasons();
        let failed = |i: usize| {
            reasons.get(i).and_then(CancellationReason::code) == Some("ConditionalCheckFailed")
        };
        if failed(key_guard_at) {
            return Err(StoreError::WrongKey);
        }
        // The mail cap's log changed since it was read: read it again.
        if quota.is_some() && failed(key_guard_at + 1) {
            return Ok(Attempt::Retry);
        }
        self.cancelled(record, &keys, reasons).await
    }

    /// The insert transaction's items, in the order [`Self::cancelled`] reads the
    /// cancellation reasons by: the record (0), the fingerprint (1), the idempotency key (2, if
    /// any), then the outbox items.
    fn insert_items(
        &self,
        record: &ConsentRecord,
        dedup: &DedupKeys,
        outbox: &[OutboxItem],
        keys: &InsertKeys,
        now: i64,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let item = record_item(record, keys, outbox)?;
        let mut items = vec![put(&self.table, item, "attribute_not_exists(#pk)", None)?];
        items.push(put(
            &self.table,
            dedup_item(
                &keys.fp_pk,
                KIND_FINGERPRINT,
                &keys.id,
                dedup.fingerprint_until.unix_timestamp(),
            ),
            "attribute_not_exists(#pk) OR #exp <= :now",
            Some(now),
        )?);
        if let Some(idem_pk) = &keys.idem_pk {
            items.push(put(
                &self.table,
                dedup_item(
                    idem_pk,
                    KIND_IDEMPOTENCY,
                    &keys.id,
                    record.expires_at.unix_timestamp(),
                ),
                "attribute_not_exists(#pk)",
                None,
            )?);
        }
        // After the dedup items, so the cancellation reasons keep their indexes above.
        for entry in outbox {
            items.push(put(
                &self.table,
                outbox_item(entry)?,
                "attribute_not_exists(#pk)",
                None,
            )?);
        }
        Ok(items)
    }

    /// What a cancelled insert transaction means, from its cancellation reasons: throttled
    /// (busy), a duplicate of an earlier record (by idempotency key first, then fingerprint,
    /// then the record id itself), a conflict with a concurrent transaction (retry), or an error.
    async fn cancelled(
        &self,
        record: &ConsentRecord,
        keys: &InsertKeys,
        reasons: &[CancellationReason],
    ) -> Result<Attempt, StoreError> {
        let code = |i: usize| reasons.get(i).and_then(CancellationReason::code);
        if let Some(busy) = reasons
            .iter()
            .filter_map(CancellationReason::code)
            .find(|c| is_throttling(c))
        {
            return Err(StoreError::Busy(format!("TransactWriteItems: {busy}")));
        }
        // The idempotency key decides first: it is the script's own statement that this is
        // the same submission; the fingerprint only guesses so.
        let failed = |i: usize| code(i) == Some("ConditionalCheckFailed");
        if keys.idem_pk.is_some() && failed(2) {
            return self
                .earlier_id(reasons.get(2), keys.idem_pk.as_deref())
                .await;
        }
        if failed(1) {
            return self.earlier_id(reasons.get(1), Some(&keys.fp_pk)).await;
        }
        if failed(0) {
            // The same record id is stored already: this is a retry of an insert whose
            // acknowledgement was lost.
            return Ok(Attempt::Done(Inserted::Duplicate(record.id)));
        }
        if reasons
            .iter()
            .any(|r| r.code() == Some("TransactionConflict"))
        {
            return Ok(Attempt::Retry);
        }
        let codes: Vec<&str> = reasons
            .iter()
            .filter_map(CancellationReason::code)
            .collect();
        Err(StoreError::Backend(format!(
            "TransactWriteItems: TransactionCanceledException ({})",
            codes.join(", ")
        )))
    }

    /// The record id held by a dedup item whose condition failed: from the cancellation
    /// reason when the server returned the item, otherwise read with a consistent read.
    async fn earlier_id(
        &self,
        reason: Option<&CancellationReason>,
        pk: Option<&str>,
    ) -> Result<Attempt, StoreError> {
        if let Some(id) = reason
            .and_then(CancellationReason::item)
            .and_then(record_id_of)
        {
            return Ok(Attempt::Done(Inserted::Duplicate(id?)));
        }
        let Some(pk) = pk else {
            return Ok(Attempt::Retry);
        };
        let item = self.get_item(pk, "GetItem (dedup)").await?;
        match item.as_ref().and_then(record_id_of) {
            Some(id) => Ok(Attempt::Done(Inserted::Duplicate(id?))),
            // Deleted or expired between the failed write and this read: try again.
            None => Ok(Attempt::Retry),
        }
    }
}

/// The keys one insert writes: the record's, its fingerprint's and its idempotency key's
/// partition keys, and the record id every dedup item points to.
struct InsertKeys {
    rec_pk: String,
    fp_pk: String,
    idem_pk: Option<String>,
    id: AttributeValue,
}

impl InsertKeys {
    fn new(record: &ConsentRecord, dedup: &DedupKeys) -> Self {
        Self {
            rec_pk: record_pk(record.id),
            fp_pk: fingerprint_pk(&dedup.fingerprint),
            idem_pk: dedup.idempotency_key.as_deref().map(idempotency_pk),
            id: s(record.id.to_string()),
        }
    }
}

/// The record's own item: its JSON, expiry, revision, the lookup attributes, and the
/// partition keys of its dedup and outbox items (so an erasure can find them).
fn record_item(
    record: &ConsentRecord,
    keys: &InsertKeys,
    outbox: &[OutboxItem],
) -> Result<Item, StoreError> {
    let body = codec::encode("record", record)?;
    let mut item = HashMap::from([
        (ATTR_PK.to_owned(), s(keys.rec_pk.clone())),
        (ATTR_KIND.to_owned(), s(KIND_RECORD)),
        (ATTR_RECORD_ID.to_owned(), keys.id.clone()),
        (ATTR_RECORD.to_owned(), s(body)),
        (
            ATTR_EXPIRES_AT.to_owned(),
            n(record.expires_at.unix_timestamp()),
        ),
        (
            ATTR_REVISION.to_owned(),
            n(codec::revision(record.revision)),
        ),
        (ATTR_FP_PK.to_owned(), s(keys.fp_pk.clone())),
        (ATTR_SORT_KEY.to_owned(), s(shelf_sort_key(record))),
    ]);
    for (attr, value) in optional_index_attributes(record) {
        if let Some(value) = value {
            item.insert(attr.to_owned(), value);
        }
    }
    if let Some(idem_pk) = &keys.idem_pk {
        item.insert(ATTR_IDEM_PK.to_owned(), s(idem_pk.clone()));
    }
    if !outbox.is_empty() {
        let pks = outbox.iter().map(|o| outbox_pk(o.id)).collect();
        item.insert(ATTR_OUT_PKS.to_owned(), AttributeValue::Ss(pks));
    }
    Ok(item)
}

/// The outcome of one insert attempt.
enum Attempt {
    Done(Inserted),
    Retry,
}

/// The clock that decides whether a fingerprint window has run out. Wall-clock time, as in
/// the SQLite store: a window is closed once `fingerprint_until <= now`.
fn dedup_clock() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// One conditional put of the insert transaction. `now` is bound as `:now` when given.
fn put(
    table: &str,
    item: HashMap<String, AttributeValue>,
    condition: &str,
    now: Option<i64>,
) -> Result<TransactWriteItem, StoreError> {
    let mut put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression(condition)
        .expression_attribute_names("#pk", ATTR_PK)
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
    if let Some(now) = now {
        put = put
            .expression_attribute_names("#exp", ATTR_EXPIRES_AT)
            .expression_attribute_values(":now", n(now));
    }
    let put = put.build().map_err(|e| backend_error("Put", &e))?;
    Ok(TransactWriteItem::builder().put(put).build())
}
