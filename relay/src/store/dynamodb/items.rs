//! The table's vocabulary: attribute and index names, partition keys, and the conversion of
//! each stored thing to and from its item (the JSON body through the shared codec, plus the
//! attributes DynamoDB itself must see: keys, index keys, TTL).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use sha2::{Digest, Sha256};

use crate::domain::audit::AuditEntry;
use crate::domain::outbox::{OutboxId, OutboxItem};
use crate::domain::record::{ConsentRecord, RecordId};
use crate::domain::request::SubjectRequest;
use crate::store::codec::{self, millis};
use crate::store::error::StoreError;

/// One item as the SDK sees it.
pub type Item = HashMap<String, AttributeValue>;

/// Partition key of every item.
pub const ATTR_PK: &str = "pk";
/// Item kind: one of the `KIND_*` values.
pub const ATTR_KIND: &str = "kind";
/// A record's JSON.
pub const ATTR_RECORD: &str = "record";
/// The id of the record (or request) an item belongs to.
pub const ATTR_RECORD_ID: &str = "record_id";
/// The email HMAC (hash key of [`INDEX_BY_EMAIL_HMAC`]).
pub const ATTR_EMAIL_HMAC: &str = "email_hmac";
/// On a record: the phone HMAC (hash key of [`INDEX_BY_PHONE_HMAC`]).
pub const ATTR_PHONE_HMAC: &str = "phone_hmac";
/// Epoch seconds after which the item may go; the table's TTL attribute.
pub const ATTR_EXPIRES_AT: &str = "expires_at";
/// On a record: the `pk` of its fingerprint item.
pub const ATTR_FP_PK: &str = "fp_pk";
/// On a record: the `pk` of its idempotency item, if it had a key.
pub const ATTR_IDEM_PK: &str = "idem_pk";
/// On a record: the `pk`s of its outbox items (string set).
pub const ATTR_OUT_PKS: &str = "out_pks";
/// On a record or request: its revision (updates are conditional on it).
pub const ATTR_REVISION: &str = "revision";
/// On an outbox item: its JSON.
pub const ATTR_ITEM: &str = "item";
/// On an outbox item: epoch milliseconds when it is due.
pub const ATTR_DUE_AT: &str = "due_at";
/// Range key of [`INDEX_BY_KIND_SORT`]: for outbox items the due time (zero-padded
/// milliseconds) then the id; for audit entries the time then the id; for requests the id.
pub const ATTR_SORT_KEY: &str = "sort_key";
/// An audit entry's, a request's or the key state's JSON.
pub const ATTR_BODY: &str = "body";

pub const KIND_RECORD: &str = "record";
pub const KIND_OUTBOX: &str = "outbox";
pub const KIND_IDEMPOTENCY: &str = "idempotency";
pub const KIND_FINGERPRINT: &str = "fingerprint";
pub const KIND_AUDIT: &str = "audit";
pub const KIND_META: &str = "meta";
pub const KIND_REQUEST: &str = "request";
pub const KIND_PENDING_REQUEST: &str = "pending_request";

/// GSI on `email_hmac`, projecting whole items.
pub const INDEX_BY_EMAIL_HMAC: &str = "by_email_hmac";
/// GSI on `phone_hmac`, projecting whole items.
pub const INDEX_BY_PHONE_HMAC: &str = "by_phone_hmac";
/// GSI on (`kind`, `expires_at`), keys only.
pub const INDEX_BY_EXPIRY: &str = "by_expiry";
/// GSI on (`kind`, `sort_key`), whole items: the outbox by due time, the audit log by time,
/// the requests by id.
pub const INDEX_BY_KIND_SORT: &str = "by_kind_sort";

/// The key-check state's partition key.
pub const KEY_STATE_PK: &str = "META#key_state";

pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub fn n(value: i64) -> AttributeValue {
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

/// `OUT#<uuid>`.
pub fn outbox_pk(id: OutboxId) -> String {
    format!("OUT#{id}")
}

/// `AUDIT#<uuid>`.
pub fn audit_pk(entry: &AuditEntry) -> String {
    format!("AUDIT#{}", entry.id)
}

/// `REQ#<uuid>`.
pub fn request_pk(id: uuid::Uuid) -> String {
    format!("REQ#{id}")
}

/// The string attribute `name` of `item`.
pub fn string_attr<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

/// The JSON in attribute `attr` of `item`, parsed as `what`.
pub fn body_of<T: serde::de::DeserializeOwned>(
    item: &Item,
    attr: &str,
    what: &str,
) -> Result<T, StoreError> {
    let body = string_attr(item, attr)
        .ok_or_else(|| StoreError::Corrupt(format!("a stored {what} has no `{attr}` attribute")))?;
    codec::decode(what, body)
}

/// The record attributes lifted out for DynamoDB besides the key and the JSON: set when
/// present, removed when empty (an empty string may not be an index key).
pub fn optional_index_attributes(
    record: &ConsentRecord,
) -> [(&'static str, Option<AttributeValue>); 2] {
    let present = |v: &str| (!v.is_empty()).then(|| s(v));
    [
        (ATTR_EMAIL_HMAC, present(&record.email_hmac)),
        (ATTR_PHONE_HMAC, present(&record.phone_hmac)),
    ]
}

/// The DynamoDB item of an outbox entry.
pub fn outbox_item(item: &OutboxItem) -> Result<Item, StoreError> {
    let due = millis(item.due_at);
    Ok(HashMap::from([
        (ATTR_PK.to_owned(), s(outbox_pk(item.id))),
        (ATTR_KIND.to_owned(), s(KIND_OUTBOX)),
        (
            ATTR_RECORD_ID.to_owned(),
            s(item.kind.subject().to_string()),
        ),
        (ATTR_ITEM.to_owned(), s(codec::encode("outbox item", item)?)),
        (ATTR_DUE_AT.to_owned(), n(due)),
        (
            ATTR_SORT_KEY.to_owned(),
            s(format!("{due:020}#{}", item.id)),
        ),
    ]))
}

pub fn parse_outbox(item: &Item) -> Result<OutboxItem, StoreError> {
    body_of(item, ATTR_ITEM, "outbox item")
}

/// The record inside a record item.
pub fn parse_record(item: &Item) -> Result<ConsentRecord, StoreError> {
    body_of(item, ATTR_RECORD, "record")
}

/// A request's item at `revision`. While it waits for its link, `expires_at` (the TTL
/// attribute, on the expiry index) is the link's expiry, so an unconfirmed request goes by
/// itself and the purge finds it.
pub fn request_item(request: &SubjectRequest, revision: u64) -> Result<Item, StoreError> {
    let mut stored = request.clone();
    stored.revision = revision;
    let mut item = HashMap::from([
        (ATTR_PK.to_owned(), s(request_pk(request.id))),
        (ATTR_KIND.to_owned(), s(KIND_REQUEST)),
        (ATTR_SORT_KEY.to_owned(), s(request.id.to_string())),
        (ATTR_REVISION.to_owned(), n(codec::revision(revision))),
        (ATTR_BODY.to_owned(), s(codec::encode("request", &stored)?)),
    ]);
    if let Some(until) = awaiting_until(request) {
        item.insert(ATTR_EXPIRES_AT.to_owned(), n(until.unix_timestamp()));
    }
    Ok(item)
}

/// Until when `request` waits for its link: set while it is neither confirmed nor closed.
pub fn awaiting_until(request: &SubjectRequest) -> Option<time::OffsetDateTime> {
    (request.confirmed_at.is_none() && request.closed_at.is_none())
        .then_some(request.link_expires_at)
        .flatten()
}

/// `PENDREQ#<kind>#<email hmac>`: the marker of a mailbox's request of a kind that waits for
/// its link (one at a time).
pub fn pending_request_pk(request: &SubjectRequest) -> String {
    format!("PENDREQ#{}#{}", request.kind.as_str(), request.email_hmac)
}

pub fn parse_request(item: &Item) -> Result<SubjectRequest, StoreError> {
    body_of(item, ATTR_BODY, "request")
}

/// A dedup item (fingerprint or idempotency key) pointing at `record_id`.
pub fn dedup_item(pk: &str, kind: &str, record_id: &AttributeValue, expires_at: i64) -> Item {
    HashMap::from([
        (ATTR_PK.to_owned(), s(pk)),
        (ATTR_KIND.to_owned(), s(kind)),
        (ATTR_RECORD_ID.to_owned(), record_id.clone()),
        (ATTR_EXPIRES_AT.to_owned(), n(expires_at)),
    ])
}

/// The `record_id` attribute of a dedup item; `Some(Err)` when present but unreadable.
pub fn record_id_of(item: &Item) -> Option<Result<RecordId, StoreError>> {
    let raw = item.get(ATTR_RECORD_ID)?;
    Some(
        raw.as_s()
            .ok()
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| StoreError::Corrupt("a dedup item's record_id is not a UUID".into())),
    )
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
