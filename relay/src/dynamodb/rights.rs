//! The DynamoDB side of data-subject rights: conditional record updates, the phone look-up,
//! listing every record, the audit log and the key-check value.
//!
//! | item | `pk` | other attributes |
//! |---|---|---|
//! | audit entry | `AUDIT#<uuid>` | `kind=audit`, `sort_key` (time, then id), `body` (JSON) |
//! | key-check state | `META#key_state` | `kind=meta`, `body` (JSON) |
//! | data-subject request | `REQ#<uuid>` | `kind=request`, `sort_key` (the id), `revision`, `body` (JSON) |
//!
//! Audit entries are read through the GSI `by_kind_sort` (`kind`, `sort_key`), records by
//! phone through `by_phone_hmac`: no look-up scans the table.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, Select};
use time::OffsetDateTime;

use super::errors::{backend_error, from_sdk};
use super::{
    ATTR_EMAIL_HMAC, ATTR_EXPIRES_AT, ATTR_FP_PK, ATTR_IDEM_PK, ATTR_KIND, ATTR_PK, ATTR_RECORD,
    ATTR_RECORD_ID, ATTR_SORT_KEY, ClassifyName, DynamoStore, INDEX_BY_EXPIRY, INDEX_BY_KIND_SORT,
    n, parse_record, record_pk, s,
};
use crate::audit::AuditEntry;
use crate::key_check::KeyState;
use crate::record::{ConsentRecord, RecordId, RecordState};
use crate::requests::SubjectRequest;
use crate::store::StoreError;

/// On a record: its revision (see [`crate::store::Store::update`]).
pub const ATTR_REVISION: &str = "revision";
/// On a record: the phone HMAC (hash key of [`INDEX_BY_PHONE_HMAC`]).
pub const ATTR_PHONE_HMAC: &str = "phone_hmac";
/// An audit entry's or the key state's JSON.
pub const ATTR_BODY: &str = "body";
pub const KIND_AUDIT: &str = "audit";
pub const KIND_META: &str = "meta";
pub const KIND_REQUEST: &str = "request";
/// GSI on `phone_hmac`, projecting whole items.
pub const INDEX_BY_PHONE_HMAC: &str = "by_phone_hmac";
const KEY_STATE_PK: &str = "META#key_state";

/// `AUDIT#<uuid>`.
pub fn audit_pk(entry: &AuditEntry) -> String {
    format!("AUDIT#{}", entry.id)
}

/// The record attributes lifted out for DynamoDB besides the key and the JSON: set when
/// present, removed when empty (an empty string may not be an index key).
pub(super) fn optional_index_attributes(
    record: &ConsentRecord,
) -> [(&'static str, Option<AttributeValue>); 2] {
    let present = |v: &str| (!v.is_empty()).then(|| s(v));
    [
        (ATTR_EMAIL_HMAC, present(&record.email_hmac)),
        (ATTR_PHONE_HMAC, present(&record.phone_hmac)),
    ]
}

impl DynamoStore {
    /// Every item of an index query, following pages.
    async fn query_all(
        &self,
        index: &str,
        condition: &str,
        names: &[(&str, &str)],
        values: &[(&str, AttributeValue)],
        operation: &str,
    ) -> Result<Vec<HashMap<String, AttributeValue>>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(index)
                .key_condition_expression(condition)
                .set_exclusive_start_key(start);
            for (k, v) in names {
                query = query.expression_attribute_names(*k, *v);
            }
            for (k, v) in values {
                query = query.expression_attribute_values(*k, v.clone());
            }
            if index != INDEX_BY_EXPIRY {
                query = query.select(Select::AllProjectedAttributes);
            }
            let out = query.send().await.map_err(|e| from_sdk(operation, e))?;
            items.extend(out.items().iter().cloned());
            match out.last_evaluated_key {
                Some(next) if !next.is_empty() => start = Some(next),
                _ => return Ok(items),
            }
        }
    }

    pub(super) async fn find_by_phone(
        &self,
        phone_hmac: &str,
    ) -> Result<Vec<ConsentRecord>, StoreError> {
        if phone_hmac.is_empty() {
            return Ok(Vec::new());
        }
        let items = self
            .query_all(
                INDEX_BY_PHONE_HMAC,
                "#h = :h",
                &[("#h", ATTR_PHONE_HMAC)],
                &[(":h", s(phone_hmac))],
                "Query (phone)",
            )
            .await?;
        let mut records = items
            .iter()
            .map(parse_record)
            .collect::<Result<Vec<_>, _>>()?;
        records.sort_by_key(|r| r.id);
        Ok(records)
    }

    /// The conditional `UpdateItem` of [`Self::update_record`]: the new body, expiry and
    /// revision if the stored revision is still the record's, the lookup attributes set or
    /// removed, and (for an anonymized record) the pointers to its dedup items removed.
    fn update_request(
        &self,
        record: &ConsentRecord,
    ) -> Result<UpdateItemFluentBuilder, StoreError> {
        let mut stored = record.clone();
        stored.revision = record.revision + 1;
        let body = serde_json::to_string(&stored)
            .map_err(|e| backend_error("serialize record", &e.classify_name()))?;
        let revision = i64::try_from(record.revision).unwrap_or(i64::MAX);
        let mut set = vec!["#rec = :rec", "#exp = :exp", "#rev = :new"];
        let mut remove = Vec::new();
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(ATTR_PK, s(record_pk(record.id)))
            .expression_attribute_names("#pk", ATTR_PK)
            .expression_attribute_names("#rec", ATTR_RECORD)
            .expression_attribute_names("#exp", ATTR_EXPIRES_AT)
            .expression_attribute_names("#rev", ATTR_REVISION)
            .expression_attribute_values(":rec", s(body))
            .expression_attribute_values(":exp", n(record.expires_at.unix_timestamp()))
            .expression_attribute_values(":new", n(revision + 1))
            .expression_attribute_values(":old", n(revision))
            // Records written before revisions existed have no attribute: they are at 0.
            .condition_expression(if revision == 0 {
                "attribute_exists(#pk) AND (attribute_not_exists(#rev) OR #rev = :old)"
            } else {
                "attribute_exists(#pk) AND #rev = :old"
            })
            .return_values(ReturnValue::AllOld);
        for (i, (attr, value)) in optional_index_attributes(record).into_iter().enumerate() {
            let name = format!("#ix{i}");
            request = request.expression_attribute_names(&name, attr);
            match value {
                Some(value) => {
                    let placeholder = format!(":ix{i}");
                    request = request.expression_attribute_values(&placeholder, value);
                    set.push(if i == 0 { "#ix0 = :ix0" } else { "#ix1 = :ix1" });
                }
                None => remove.push(if i == 0 { "#ix0" } else { "#ix1" }),
            }
        }
        let anonymized = record.state == RecordState::Anonymized;
        if anonymized {
            request = request
                .expression_attribute_names("#fp", ATTR_FP_PK)
                .expression_attribute_names("#idem", ATTR_IDEM_PK);
            remove.extend(["#fp", "#idem"]);
        }
        let mut expression = format!("SET {}", set.join(", "));
        if !remove.is_empty() {
            expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        Ok(request.update_expression(expression))
    }

    /// The conditional update described by [`crate::store::Store::update`].
    pub(super) async fn update_record(&self, record: &ConsentRecord) -> Result<bool, StoreError> {
        let old = match self.update_request(record)?.send().await {
            Ok(out) => out.attributes.unwrap_or_default(),
            Err(err) if err.code() == Some("ConditionalCheckFailedException") => {
                return match self.get_item(&record_pk(record.id), "GetItem").await? {
                    Some(_) => Err(StoreError::Conflict(format!("record {}", record.id))),
                    None => Ok(false),
                };
            }
            Err(err) => return Err(from_sdk("UpdateItem", err)),
        };
        if record.state == RecordState::Anonymized {
            // The fingerprint (a keyed hash of the content) and the script's key may not
            // outlive the personal data they were made from.
            self.delete_dedup_items(record.id, &old).await?;
        }
        Ok(true)
    }

    /// Deletes the dedup items a record item names, each only while it still points at
    /// this record (a fingerprint may have been taken over by a later record).
    pub(super) async fn delete_dedup_items(
        &self,
        id: RecordId,
        item: &HashMap<String, AttributeValue>,
    ) -> Result<(), StoreError> {
        let id_value = s(id.to_string());
        for attr in [ATTR_FP_PK, ATTR_IDEM_PK] {
            let Some(dedup_pk) = item.get(attr).and_then(|v| v.as_s().ok()) else {
                continue;
            };
            let result = self
                .client
                .delete_item()
                .table_name(&self.table)
                .key(ATTR_PK, s(dedup_pk))
                .condition_expression("#rid = :rid")
                .expression_attribute_names("#rid", ATTR_RECORD_ID)
                .expression_attribute_values(":rid", id_value.clone())
                .send()
                .await;
            if let Err(err) = result
                && err.code() != Some("ConditionalCheckFailedException")
            {
                return Err(from_sdk("DeleteItem (dedup)", err));
            }
        }
        Ok(())
    }

    pub(super) async fn put_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let body = serde_json::to_string(entry)
            .map_err(|e| backend_error("serialize audit entry", &e.classify_name()))?;
        self.client
            .put_item()
            .table_name(&self.table)
            .item(ATTR_PK, s(audit_pk(entry)))
            .item(ATTR_KIND, s(KIND_AUDIT))
            .item(ATTR_SORT_KEY, s(entry.sort_key()))
            .item(ATTR_BODY, s(body))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", ATTR_PK)
            .send()
            .await
            .map_err(|e| from_sdk("PutItem (audit)", e))?;
        Ok(())
    }

    pub(super) async fn audit_entries(
        &self,
        since: Option<OffsetDateTime>,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let from = format!(
            "{:020}",
            since.map_or(0, |t| t.unix_timestamp_nanos().max(0))
        );
        let items = self
            .query_all(
                INDEX_BY_KIND_SORT,
                "#kind = :kind AND #sk >= :from",
                &[("#kind", ATTR_KIND), ("#sk", ATTR_SORT_KEY)],
                &[(":kind", s(KIND_AUDIT)), (":from", s(from))],
                "Query (audit)",
            )
            .await?;
        let mut entries = items
            .iter()
            .map(|item| {
                item.get(ATTR_BODY)
                    .and_then(|v| v.as_s().ok())
                    .and_then(|b| serde_json::from_str::<AuditEntry>(b).ok())
                    .ok_or_else(|| StoreError::Corrupt("an audit entry".to_owned()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        entries.sort_by_key(AuditEntry::sort_key);
        Ok(entries)
    }

    pub(super) async fn read_key_state(&self) -> Result<KeyState, StoreError> {
        let Some(item) = self.get_item(KEY_STATE_PK, "GetItem (key state)").await? else {
            return Ok(KeyState::default());
        };
        item.get(ATTR_BODY)
            .and_then(|v| v.as_s().ok())
            .and_then(|b| serde_json::from_str(b).ok())
            .ok_or_else(|| StoreError::Corrupt("the stored key-check state".to_owned()))
    }

    pub(super) async fn write_key_state(
        &self,
        expected: &KeyState,
        new: &KeyState,
    ) -> Result<(), StoreError> {
        let json = |state: &KeyState| {
            serde_json::to_string(state)
                .map_err(|e| backend_error("serialize key state", &e.classify_name()))
        };
        let mut request = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(ATTR_PK, s(KEY_STATE_PK))
            .item(ATTR_KIND, s(KIND_META))
            .item(ATTR_BODY, s(json(new)?))
            .expression_attribute_names("#body", ATTR_BODY)
            .expression_attribute_values(":old", s(json(expected)?));
        // DynamoDB refuses names the expression does not use, so `#pk` only when it does.
        request = if *expected == KeyState::default() {
            request
                .condition_expression("attribute_not_exists(#pk) OR #body = :old")
                .expression_attribute_names("#pk", ATTR_PK)
        } else {
            request.condition_expression("#body = :old")
        };
        let result = request.send().await;
        match result {
            Ok(_) => Ok(()),
            Err(err) if err.code() == Some("ConditionalCheckFailedException") => {
                Err(StoreError::Conflict("the key-check value".to_owned()))
            }
            Err(err) => Err(from_sdk("PutItem (key state)", err)),
        }
    }

    fn request_item(
        request: &SubjectRequest,
        revision: u64,
    ) -> Result<HashMap<String, AttributeValue>, StoreError> {
        let mut stored = request.clone();
        stored.revision = revision;
        let body = serde_json::to_string(&stored)
            .map_err(|e| backend_error("serialize request", &e.classify_name()))?;
        Ok(HashMap::from([
            (ATTR_PK.to_owned(), s(request_pk(request.id))),
            (ATTR_KIND.to_owned(), s(KIND_REQUEST)),
            (ATTR_SORT_KEY.to_owned(), s(request.id.to_string())),
            (
                ATTR_REVISION.to_owned(),
                n(i64::try_from(revision).unwrap_or(i64::MAX)),
            ),
            (ATTR_BODY.to_owned(), s(body)),
        ]))
    }

    fn parse_request(item: &HashMap<String, AttributeValue>) -> Result<SubjectRequest, StoreError> {
        item.get(ATTR_BODY)
            .and_then(|v| v.as_s().ok())
            .and_then(|b| serde_json::from_str(b).ok())
            .ok_or_else(|| StoreError::Corrupt("a stored request".to_owned()))
    }

    pub(super) async fn put_request(&self, request: &SubjectRequest) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(Self::request_item(request, request.revision)?))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", ATTR_PK)
            .send()
            .await
            .map_err(|e| from_sdk("PutItem (request)", e))?;
        Ok(())
    }

    pub(super) async fn read_request(
        &self,
        id: uuid::Uuid,
    ) -> Result<Option<SubjectRequest>, StoreError> {
        self.get_item(&request_pk(id), "GetItem (request)")
            .await?
            .as_ref()
            .map(Self::parse_request)
            .transpose()
    }

    pub(super) async fn replace_request(
        &self,
        request: &SubjectRequest,
    ) -> Result<bool, StoreError> {
        let revision = i64::try_from(request.revision).unwrap_or(i64::MAX);
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(Self::request_item(request, request.revision + 1)?))
            .condition_expression("#rev = :old")
            .expression_attribute_names("#rev", ATTR_REVISION)
            .expression_attribute_values(":old", n(revision))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err) if err.code() == Some("ConditionalCheckFailedException") => {
                match self.read_request(request.id).await? {
                    Some(_) => Err(StoreError::Conflict(format!("request {}", request.id))),
                    None => Ok(false),
                }
            }
            Err(err) => Err(from_sdk("PutItem (request)", err)),
        }
    }

    pub(super) async fn every_request(&self) -> Result<Vec<SubjectRequest>, StoreError> {
        let items = self
            .query_all(
                INDEX_BY_KIND_SORT,
                "#kind = :kind",
                &[("#kind", ATTR_KIND)],
                &[(":kind", s(KIND_REQUEST))],
                "Query (requests)",
            )
            .await?;
        let mut requests = items
            .iter()
            .map(Self::parse_request)
            .collect::<Result<Vec<_>, _>>()?;
        requests.sort_by_key(|r| r.id);
        Ok(requests)
    }
}

/// `REQ#<uuid>`.
pub fn request_pk(id: uuid::Uuid) -> String {
    format!("REQ#{id}")
}
