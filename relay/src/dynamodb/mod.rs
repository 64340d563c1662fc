//! [`DynamoStore`]: consent records in DynamoDB or any DynamoDB-compatible server.
//!
//! # Table layout (single table, `relay/dynamodb-table.json`)
//!
//! | item | `pk` | other attributes |
//! |---|---|---|
//! | record | `REC#<uuid>` | `kind=record`, `record_id`, `record` (JSON), `email_hmac`, `expires_at`, `fp_pk`, `idem_pk` |
//! | idempotency key | `IDEM#<sha256 hex of the key>` | `kind=idempotency`, `record_id`, `expires_at` (the record's) |
//! | fingerprint | `FP#<fingerprint>` | `kind=fingerprint`, `record_id`, `expires_at` (end of the window) |
//! | outbox item | `OUT#<uuid>` | `kind=outbox`, `record_id`, `item` (JSON), `due_at`, `sort_key` (due time + id) |
//!
//! A record lists its outbox items in `out_pks`, so erasing it removes them too. GSI
//! `by_kind_sort` (`kind`, `sort_key`) finds the due outbox items without a scan; `due_at` is
//! deliberately not the TTL attribute, so an undelivered message never expires by itself.
//!
//! `expires_at` is epoch seconds and the table's TTL attribute, so DynamoDB deletes records
//! and dedup items by itself (lazily, within about two days); [`Store::purge_expired`] does it
//! on time, and is the only deletion on servers without TTL (moto never deletes).
//! GSI `by_email_hmac` serves data-subject requests; GSI `by_expiry` (`kind`, `expires_at`)
//! lets purging query instead of scanning the whole table.
//!
//! # Why the record is one JSON string attribute
//!
//! The record is nested (subject, consent stamp, purposes, operator) and versioned by
//! `schema_version`. Keeping it as the same serde JSON the other stores and exports use means
//! one serialization to keep right, no hand-written attribute mapping to drift, and exactly the
//! bytes that were accepted are what a data-subject request returns. Only what DynamoDB itself
//! must see (key, index keys, TTL) is lifted out into attributes. Nothing queries inside the
//! record, and updates replace it whole, so nothing is lost by not splitting it.

mod errors;
mod rights;
mod table;

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::AsyncSleep;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, CancellationReason, KeysAndAttributes, Put,
    ReturnValuesOnConditionCheckFailure, Select, TransactWriteItem,
};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

pub use errors::is_throttling;
pub use rights::{ATTR_PHONE_HMAC, ATTR_REVISION, INDEX_BY_PHONE_HMAC, KIND_AUDIT, audit_pk};
pub use table::{TABLE_DEFINITION_JSON, TableDefinition, create_table};

use crate::audit::AuditEntry;
pub use crate::config::DynamoConfig;
use crate::key_check::KeyState;
use crate::outbox::{LEASE, OutboxId, OutboxItem};
use crate::record::{ConsentRecord, RecordId};
use crate::requests::SubjectRequest;
use crate::store::{DedupKeys, Inserted, Store, StoreError};
use errors::{backend_error, from_sdk};

/// Partition key of every item.
pub const ATTR_PK: &str = "pk";
/// Item kind: [`KIND_RECORD`], [`KIND_IDEMPOTENCY`] or [`KIND_FINGERPRINT`].
pub const ATTR_KIND: &str = "kind";
/// The record's JSON.
pub const ATTR_RECORD: &str = "record";
/// The id of the record an item belongs to.
pub const ATTR_RECORD_ID: &str = "record_id";
/// The email HMAC (hash key of [`INDEX_BY_EMAIL_HMAC`]).
pub const ATTR_EMAIL_HMAC: &str = "email_hmac";
/// Epoch seconds after which the item may go; the table's TTL attribute.
pub const ATTR_EXPIRES_AT: &str = "expires_at";
/// On a record: the `pk` of its fingerprint item.
pub const ATTR_FP_PK: &str = "fp_pk";
/// On a record: the `pk` of its idempotency item, if it had a key.
pub const ATTR_IDEM_PK: &str = "idem_pk";

/// On a record: the `pk`s of its outbox items (string set).
pub const ATTR_OUT_PKS: &str = "out_pks";
/// On an outbox item: its JSON.
pub const ATTR_ITEM: &str = "item";
/// On an outbox item: epoch milliseconds when it is due.
pub const ATTR_DUE_AT: &str = "due_at";
/// Range key of [`INDEX_BY_KIND_SORT`]: for outbox items, the due time (zero-padded
/// milliseconds) then the id, so a range query returns the due items in order.
pub const ATTR_SORT_KEY: &str = "sort_key";

pub const KIND_RECORD: &str = "record";
pub const KIND_OUTBOX: &str = "outbox";
pub const KIND_IDEMPOTENCY: &str = "idempotency";
pub const KIND_FINGERPRINT: &str = "fingerprint";

/// GSI on `email_hmac`, projecting whole items.
pub const INDEX_BY_EMAIL_HMAC: &str = "by_email_hmac";
/// GSI on (`kind`, `expires_at`), keys only.
pub const INDEX_BY_EXPIRY: &str = "by_expiry";
/// GSI on (`kind`, `sort_key`), whole items: the outbox by due time.
pub const INDEX_BY_KIND_SORT: &str = "by_kind_sort";

/// How often `insert` retries a transaction that lost a race (DynamoDB's
/// `TransactionConflict`, or a dedup item that vanished between the failed write and the read
/// of the earlier id) before telling the caller the store is busy.
const INSERT_ATTEMPTS: u32 = 4;

/// The configuration named no table (`[dynamodb] table`, or `KELISIM_DYNAMODB_TABLE`).
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error(
    "no DynamoDB table: set {} (or `[dynamodb] table` in the configuration file)",
    crate::config::env::DYNAMODB_TABLE
)]
pub struct NoTable;

/// An SDK client for the one `[dynamodb]` configuration: AWS's endpoint for the region, or a
/// DynamoDB-compatible server (on Kazakhstan's territory, as Law 94-V Art. 12(2) wants).
/// Credentials come from the SDK's usual chain (environment, Lambda's role, profile). HTTPS
/// uses rustls with ring, so the build needs no aws-lc C library.
pub async fn client(config: &DynamoConfig) -> Client {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(https_client())
        .timeout_config(timeouts());
    if let Some(region) = &config.region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    if let Some(endpoint) = &config.endpoint_url {
        loader = loader.endpoint_url(endpoint);
    }
    Client::new(&loader.load().await)
}

/// How long one DynamoDB call may take in all (retries included).
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one attempt of a call may take.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long connecting to the endpoint may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// The SDK's timeouts. Without them a hung DynamoDB-compatible endpoint would hold the
/// visitor's request (and a Lambda's whole run) open; with them the visitor gets a 503 with
/// `Retry-After` within seconds. A write that timed out may still have been committed: the
/// visitor's retry carries the same idempotency key (or fingerprint) and finds it, so an
/// ambiguous timeout never becomes a second record.
pub fn timeouts() -> aws_sdk_dynamodb::config::timeout::TimeoutConfig {
    aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
        .operation_timeout(OPERATION_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .connect_timeout(CONNECT_TIMEOUT)
        .build()
}

/// The HTTP client the SDK uses: hyper with rustls on ring (plain `http://` works too, for a
/// local test server). Build it once; clones share the connection pool.
pub fn https_client() -> aws_sdk_dynamodb::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// A [`Store`] on one DynamoDB table laid out as the module documentation describes.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    /// A store on `table` through an existing client (build clients once: they hold the
    /// connection pool and the credentials cache).
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// A store from configuration, with its own client; the table must be named.
    pub async fn from_config(config: &DynamoConfig) -> Result<Self, NoTable> {
        let table = config.table_name().ok_or(NoTable)?.to_owned();
        Ok(Self::new(client(config).await, table))
    }

    /// The SDK client, for setup steps such as [`create_table`].
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The table name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Creates this store's table (see [`create_table`]).
    pub async fn create_table(&self) -> Result<(), StoreError> {
        create_table(&self.client, &self.table).await
    }

    async fn pause(&self, attempt: u32) {
        if let Some(sleep) = self.client.config().sleep_impl() {
            sleep
                .sleep(Duration::from_millis(25 * u64::from(attempt + 1)))
                .await;
        }
    }

    /// One attempt of the insert transaction: the record, its dedup items and its outbox
    /// items, all written or none.
    async fn try_insert(
        &self,
        record: &ConsentRecord,
        dedup: &DedupKeys,
        outbox: &[OutboxItem],
        now: i64,
    ) -> Result<Attempt, StoreError> {
        let keys = InsertKeys::new(record, dedup);
        let items = self.insert_items(record, dedup, outbox, &keys, now)?;
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
        self.cancelled(record, &keys, cancelled.cancellation_reasons())
            .await
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

    async fn get_item(
        &self,
        pk: &str,
        operation: &str,
    ) -> Result<Option<HashMap<String, AttributeValue>>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(ATTR_PK, s(pk))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| from_sdk(operation, e))?;
        Ok(out.item)
    }

    /// Deletes a record and its dedup items. With `expired_before`, only if the record's
    /// `expires_at` is still before it (an update may have extended it since it was listed).
    /// Dedup items go first, each only while it still points at this record (a fingerprint
    /// may have been taken over by a later record), so a failure half-way leaves the record in
    /// place and a retry finishes the job.
    async fn remove_record(
        &self,
        id: RecordId,
        expired_before: Option<i64>,
    ) -> Result<bool, StoreError> {
        let rec_pk = record_pk(id);
        let Some(item) = self.get_item(&rec_pk, "GetItem").await? else {
            return Ok(false);
        };
        if let Some(limit) = expired_before {
            let expires = item.get(ATTR_EXPIRES_AT).and_then(|v| v.as_n().ok());
            if expires
                .and_then(|e| e.parse::<i64>().ok())
                .is_none_or(|e| e >= limit)
            {
                return Ok(false);
            }
        }
        if let Some(pks) = item.get(ATTR_OUT_PKS).and_then(|v| v.as_ss().ok()) {
            for pk in pks {
                self.client
                    .delete_item()
                    .table_name(&self.table)
                    .key(ATTR_PK, s(pk))
                    .send()
                    .await
                    .map_err(|e| from_sdk("DeleteItem (outbox)", e))?;
            }
        }
        self.delete_dedup_items(id, &item).await?;
        let mut request = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(ATTR_PK, s(rec_pk))
            .expression_attribute_names("#pk", ATTR_PK);
        request = match expired_before {
            Some(limit) => request
                .condition_expression("attribute_exists(#pk) AND #exp < :now")
                .expression_attribute_names("#exp", ATTR_EXPIRES_AT)
                .expression_attribute_values(":now", n(limit)),
            None => request.condition_expression("attribute_exists(#pk)"),
        };
        match request.send().await {
            Ok(_) => Ok(true),
            Err(err) if err.code() == Some("ConditionalCheckFailedException") => Ok(false),
            Err(err) => Err(from_sdk("DeleteItem", err)),
        }
    }

    /// Keys of every item of `kind` whose `expires_at` is before `now`, from the expiry index.
    async fn expired_keys(&self, kind: &str, now: i64) -> Result<Vec<String>, StoreError> {
        let mut keys = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(INDEX_BY_EXPIRY)
                .key_condition_expression(match kind {
                    // A record is due once its expiry has passed; a fingerprint's window
                    // ends at `fingerprint_until` itself (the same bounds as the SQLite store).
                    KIND_RECORD => "#kind = :kind AND #exp < :now",
                    _ => "#kind = :kind AND #exp <= :now",
                })
                .expression_attribute_names("#kind", ATTR_KIND)
                .expression_attribute_names("#exp", ATTR_EXPIRES_AT)
                .expression_attribute_values(":kind", s(kind))
                .expression_attribute_values(":now", n(now))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| from_sdk("Query (expiry)", e))?;
            keys.extend(
                out.items()
                    .iter()
                    .filter_map(|item| item.get(ATTR_PK)?.as_s().ok().cloned()),
            );
            match out.last_evaluated_key {
                Some(next) if !next.is_empty() => start = Some(next),
                _ => return Ok(keys),
            }
        }
    }
}

impl DynamoStore {
    /// The items with these `pk`s (consistent reads), retrying what the service leaves
    /// unprocessed.
    async fn batch_get(
        &self,
        pks: &[String],
    ) -> Result<Vec<HashMap<String, AttributeValue>>, StoreError> {
        let keys = pks
            .iter()
            .map(|pk| HashMap::from([(ATTR_PK.to_owned(), s(pk))]))
            .collect();
        let mut request = KeysAndAttributes::builder()
            .set_keys(Some(keys))
            .consistent_read(true)
            .build()
            .map_err(|e| backend_error("BatchGetItem", &e))?;
        let mut found = Vec::new();
        for attempt in 0..8 {
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.table, request)
                .send()
                .await
                .map_err(|e| from_sdk("BatchGetItem", e))?;
            if let Some(mut responses) = out.responses
                && let Some(items) = responses.remove(&self.table)
            {
                found.extend(items);
            }
            match out.unprocessed_keys.and_then(|mut u| u.remove(&self.table)) {
                Some(rest) if !rest.keys().is_empty() => {
                    request = rest;
                    self.pause(attempt).await;
                }
                _ => return Ok(found),
            }
        }
        Err(StoreError::Busy(
            "BatchGetItem: keys left unprocessed repeatedly".to_owned(),
        ))
    }

    /// Outbox items from the `by_kind_sort` index, up to `upper` (inclusive) when given.
    async fn outbox_query(
        &self,
        upper: Option<&str>,
        limit: usize,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(INDEX_BY_KIND_SORT)
                .expression_attribute_names("#kind", ATTR_KIND)
                .expression_attribute_values(":kind", s(KIND_OUTBOX))
                .set_exclusive_start_key(start);
            query = match upper {
                Some(upper) => query
                    .key_condition_expression("#kind = :kind AND #sk <= :upper")
                    .expression_attribute_names("#sk", ATTR_SORT_KEY)
                    .expression_attribute_values(":upper", s(upper)),
                None => query.key_condition_expression("#kind = :kind"),
            };
            let out = query
                .send()
                .await
                .map_err(|e| from_sdk("Query (outbox)", e))?;
            for item in out.items() {
                items.push(parse_outbox(item)?);
            }
            match out.last_evaluated_key {
                Some(next) if !next.is_empty() && items.len() < limit => start = Some(next),
                _ => return Ok(items),
            }
        }
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

/// `OUT#<uuid>`.
pub fn outbox_pk(id: OutboxId) -> String {
    format!("OUT#{id}")
}

fn millis(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// The DynamoDB item of an outbox entry.
fn outbox_item(item: &OutboxItem) -> Result<HashMap<String, AttributeValue>, StoreError> {
    let body = serde_json::to_string(item)
        .map_err(|e| backend_error("serialize outbox item", &e.classify_name()))?;
    let due = millis(item.due_at);
    Ok(HashMap::from([
        (ATTR_PK.to_owned(), s(outbox_pk(item.id))),
        (ATTR_KIND.to_owned(), s(KIND_OUTBOX)),
        (
            ATTR_RECORD_ID.to_owned(),
            s(item.kind.subject().to_string()),
        ),
        (ATTR_ITEM.to_owned(), s(body)),
        (ATTR_DUE_AT.to_owned(), n(due)),
        (
            ATTR_SORT_KEY.to_owned(),
            s(format!("{due:020}#{}", item.id)),
        ),
    ]))
}

fn parse_outbox(item: &HashMap<String, AttributeValue>) -> Result<OutboxItem, StoreError> {
    let body = item
        .get(ATTR_ITEM)
        .and_then(|v| v.as_s().ok())
        .ok_or_else(|| StoreError::Corrupt("an outbox item has no `item` attribute".into()))?;
    serde_json::from_str(body).map_err(|e| {
        StoreError::Corrupt(format!(
            "outbox item JSON {} at line {} column {}",
            e.classify_name(),
            e.line(),
            e.column()
        ))
    })
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
) -> Result<HashMap<String, AttributeValue>, StoreError> {
    let body = serde_json::to_string(record)
        .map_err(|e| backend_error("serialize record", &e.classify_name()))?;
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
            n(i64::try_from(record.revision).unwrap_or(i64::MAX)),
        ),
        (ATTR_FP_PK.to_owned(), s(keys.fp_pk.clone())),
    ]);
    for (attr, value) in rights::optional_index_attributes(record) {
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

#[async_trait]
impl Store for DynamoStore {
    async fn insert_with_outbox(
        &self,
        record: &ConsentRecord,
        dedup: &DedupKeys,
        outbox: &[OutboxItem],
    ) -> Result<Inserted, StoreError> {
        let now = dedup_clock().unix_timestamp();
        for attempt in 0..INSERT_ATTEMPTS {
            match self.try_insert(record, dedup, outbox, now).await? {
                Attempt::Done(inserted) => return Ok(inserted),
                Attempt::Retry => self.pause(attempt).await,
            }
        }
        Err(StoreError::Busy(
            "TransactWriteItems: lost the race for the dedup keys repeatedly".to_owned(),
        ))
    }

    /// Lists record keys through the expiry index (no scan), then reads the records in
    /// batches of 100 with consistent reads.
    async fn list_records(&self) -> Result<Vec<ConsentRecord>, StoreError> {
        let keys = self.expired_keys(KIND_RECORD, i64::MAX).await?;
        let mut records = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(100) {
            for item in self.batch_get(chunk).await? {
                records.push(parse_record(&item)?);
            }
        }
        records.sort_by_key(|r| r.id);
        Ok(records)
    }

    async fn enqueue(&self, item: &OutboxItem) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(outbox_item(item)?))
            .send()
            .await
            .map_err(|e| from_sdk("PutItem (outbox)", e))?;
        Ok(())
    }

    async fn outbox_due(
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

    async fn outbox_all(&self) -> Result<Vec<OutboxItem>, StoreError> {
        self.outbox_query(None, usize::MAX).await
    }

    /// Reads the item, then writes the claimed copy on condition that `due_at` is still the
    /// value read: of two deliverers, exactly one wins.
    async fn outbox_claim(
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

    async fn outbox_done(&self, id: OutboxId) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(ATTR_PK, s(outbox_pk(id)))
            .send()
            .await
            .map_err(|e| from_sdk("DeleteItem (outbox)", e))?;
        Ok(())
    }

    async fn outbox_retry(
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

    async fn get(&self, id: RecordId) -> Result<Option<ConsentRecord>, StoreError> {
        match self.get_item(&record_pk(id), "GetItem").await? {
            Some(item) => parse_record(&item).map(Some),
            None => Ok(None),
        }
    }

    /// Reads the `by_email_hmac` index. On AWS a GSI is eventually consistent: a record
    /// written a moment ago may be missing for a second or so, which a data-subject request
    /// (answered in days) does not notice.
    async fn find_by_email_hmac(&self, email_hmac: &str) -> Result<Vec<ConsentRecord>, StoreError> {
        if email_hmac.is_empty() {
            return Ok(Vec::new());
        }
        let mut records = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(INDEX_BY_EMAIL_HMAC)
                .key_condition_expression("#h = :h")
                .expression_attribute_names("#h", ATTR_EMAIL_HMAC)
                .expression_attribute_values(":h", s(email_hmac))
                .select(Select::AllProjectedAttributes)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| from_sdk("Query (email)", e))?;
            for item in out.items() {
                records.push(parse_record(item)?);
            }
            match out.last_evaluated_key {
                Some(next) if !next.is_empty() => start = Some(next),
                _ => break,
            }
        }
        records.sort_by_key(|r| r.id);
        Ok(records)
    }

    async fn find_by_phone_hmac(&self, phone_hmac: &str) -> Result<Vec<ConsentRecord>, StoreError> {
        self.find_by_phone(phone_hmac).await
    }

    async fn update(&self, record: &ConsentRecord) -> Result<bool, StoreError> {
        self.update_record(record).await
    }

    async fn delete(&self, id: RecordId) -> Result<bool, StoreError> {
        self.remove_record(id, None).await
    }

    /// Deletes expired records (with their dedup items) and expired fingerprints. Idempotency
    /// items are left to their record's deletion and to TTL, because an update may have
    /// extended the record past the expiry its idempotency item was written with.
    async fn purge_expired(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        let now = now.unix_timestamp();
        let mut purged = 0;
        for pk in self.expired_keys(KIND_RECORD, now).await? {
            let Some(id) = pk.strip_prefix("REC#").and_then(|id| id.parse().ok()) else {
                continue;
            };
            if self.remove_record(RecordId(id), Some(now)).await? {
                purged += 1;
            }
        }
        for pk in self.expired_keys(KIND_FINGERPRINT, now).await? {
            let result = self
                .client
                .delete_item()
                .table_name(&self.table)
                .key(ATTR_PK, s(pk))
                .condition_expression("#exp <= :now")
                .expression_attribute_names("#exp", ATTR_EXPIRES_AT)
                .expression_attribute_values(":now", n(now))
                .send()
                .await;
            if let Err(err) = result
                && err.code() != Some("ConditionalCheckFailedException")
            {
                return Err(from_sdk("DeleteItem (fingerprint)", err));
            }
        }
        Ok(purged)
    }

    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        self.put_audit(entry).await
    }

    async fn audit_since(
        &self,
        since: Option<OffsetDateTime>,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        self.audit_entries(since).await
    }

    async fn insert_request(&self, request: &SubjectRequest) -> Result<(), StoreError> {
        self.put_request(request).await
    }

    async fn get_request(&self, id: uuid::Uuid) -> Result<Option<SubjectRequest>, StoreError> {
        self.read_request(id).await
    }

    async fn update_request(&self, request: &SubjectRequest) -> Result<bool, StoreError> {
        self.replace_request(request).await
    }

    async fn list_requests(&self) -> Result<Vec<SubjectRequest>, StoreError> {
        self.every_request().await
    }

    async fn key_state(&self) -> Result<KeyState, StoreError> {
        self.read_key_state().await
    }

    async fn set_key_state(&self, expected: &KeyState, new: &KeyState) -> Result<(), StoreError> {
        self.write_key_state(expected, new).await
    }
}

/// The clock that decides whether a fingerprint window has run out. Wall-clock time, as in
/// the SQLite store: a window is closed once `fingerprint_until <= now`.
fn dedup_clock() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// `REC#<uuid>`.
pub fn record_pk(id: RecordId) -> String {
    format!("REC#{id}")
}

/// `IDEM#<sha256 hex>`. The key is visitor-supplied: hashing bounds its length and alphabet
/// for use as a partition key.
pub fn idempotency_pk(key: &str) -> String {
    format!("IDEM#{}", hex::encode(Sha256::digest(key.as_bytes())))
}

/// `FP#<fingerprint>` (the fingerprint is already a keyed hash).
pub fn fingerprint_pk(fingerprint: &str) -> String {
    format!("FP#{fingerprint}")
}

fn dedup_item(
    pk: &str,
    kind: &str,
    record_id: &AttributeValue,
    expires_at: i64,
) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (ATTR_PK.to_owned(), s(pk)),
        (ATTR_KIND.to_owned(), s(kind)),
        (ATTR_RECORD_ID.to_owned(), record_id.clone()),
        (ATTR_EXPIRES_AT.to_owned(), n(expires_at)),
    ])
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

/// The `record_id` attribute of a dedup item; `Some(Err)` when present but unreadable.
fn record_id_of(item: &HashMap<String, AttributeValue>) -> Option<Result<RecordId, StoreError>> {
    let raw = item.get(ATTR_RECORD_ID)?;
    Some(
        raw.as_s()
            .ok()
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| StoreError::Corrupt("a dedup item's record_id is not a UUID".into())),
    )
}

/// The record inside a record item. Errors name where the JSON broke, never what it held.
fn parse_record(item: &HashMap<String, AttributeValue>) -> Result<ConsentRecord, StoreError> {
    let pk = item
        .get(ATTR_PK)
        .and_then(|v| v.as_s().ok())
        .map_or("?", String::as_str);
    let body = item
        .get(ATTR_RECORD)
        .and_then(|v| v.as_s().ok())
        .ok_or_else(|| StoreError::Corrupt(format!("{pk}: no `record` string attribute")))?;
    serde_json::from_str(body).map_err(|e| {
        StoreError::Corrupt(format!(
            "{pk}: record JSON {} at line {} column {}",
            e.classify_name(),
            e.line(),
            e.column()
        ))
    })
}

/// A short name for a serde_json error's category; its `Display` may quote the data.
trait ClassifyName {
    fn classify_name(&self) -> &'static str;
}

impl ClassifyName for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "i/o error",
            serde_json::error::Category::Syntax => "syntax error",
            serde_json::error::Category::Data => "does not match the record schema",
            serde_json::error::Category::Eof => "ends early",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_prefixed_and_idempotency_keys_are_hashed() {
        let id: RecordId = "0190f4c6-5a3e-7cc0-8000-000000000001"
            .parse()
            .expect("valid uuid");
        assert_eq!(record_pk(id), "REC#0190f4c6-5a3e-7cc0-8000-000000000001");
        assert_eq!(fingerprint_pk("ab12"), "FP#ab12");
        let idem = idempotency_pk("key with spaces");
        assert!(idem.starts_with("IDEM#"));
        assert_eq!(idem.len(), "IDEM#".len() + 64);
        assert!(!idem.contains("spaces"));
    }

    #[test]
    fn corrupt_record_errors_do_not_quote_the_stored_text() {
        let item = HashMap::from([
            (ATTR_PK.to_owned(), s("REC#x")),
            (ATTR_RECORD.to_owned(), s(r#"{"id": "Aigerim Nurlanovna"}"#)),
        ]);
        let err = parse_record(&item).expect_err("not a record");
        let text = err.to_string();
        assert!(matches!(err, StoreError::Corrupt(_)));
        assert!(!text.contains("Aigerim"), "{text}");
    }
}
