//! The records role on DynamoDB: look-ups through the indexes, conditional updates, and
//! removals that take the record's dedup and outbox items with it.

use async_trait::async_trait;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::ReturnValue;
use time::OffsetDateTime;

use super::client::DynamoStore;
use super::errors::from_sdk;
use super::guards::KIND_QUOTA;
use super::inbox::shelf_sort_key;
use super::items::{
    ATTR_EMAIL_HMAC, ATTR_EXPIRES_AT, ATTR_FP_PK, ATTR_IDEM_PK, ATTR_KIND, ATTR_OUT_PKS,
    ATTR_PHONE_HMAC, ATTR_PK, ATTR_RECORD, ATTR_RECORD_ID, ATTR_REVISION, ATTR_SORT_KEY,
    INDEX_BY_EMAIL_HMAC, INDEX_BY_EXPIRY, INDEX_BY_PHONE_HMAC, Item, KIND_FINGERPRINT,
    KIND_PENDING_REQUEST, KIND_RECORD, n, optional_index_attributes, parse_record, record_pk, s,
    string_attr,
};
use super::query::IndexQuery;
use crate::domain::dedup::DedupKeys;
use crate::domain::inbox::{InboxPage, InboxQuery};
use crate::domain::outbox::{MailQuota, OutboxItem};
use crate::domain::record::{ConsentRecord, RecordId, RecordState};
use crate::store::codec;
use crate::store::error::StoreError;
use crate::store::records::{Inserted, RecordStore};

#[async_trait]
impl RecordStore for DynamoStore {
    async fn insert_record_capped(
        &self,
        record: &ConsentRecord,
        dedup: &DedupKeys,
        outbox: &[OutboxItem],
        quota: Option<&MailQuota>,
    ) -> Result<Inserted, StoreError> {
        self.transact_insert(record, dedup, outbox, quota).await
    }

    async fn get_record(&self, id: RecordId) -> Result<Option<ConsentRecord>, StoreError> {
        match self.get_item(&record_pk(id), "GetItem").await? {
            Some(item) => parse_record(&item).map(Some),
            None => Ok(None),
        }
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

    /// Reads the `by_email_hmac` index. On AWS a GSI is eventually consistent: a record
    /// written a moment ago may be missing for a second or so, which a data-subject request
    /// (answered in days) does not notice.
    async fn find_records_by_email(
        &self,
        email_hmac: &str,
    ) -> Result<Vec<ConsentRecord>, StoreError> {
        self.find_by(
            INDEX_BY_EMAIL_HMAC,
            ATTR_EMAIL_HMAC,
            email_hmac,
            "Query (email)",
        )
        .await
    }

    async fn find_records_by_phone(
        &self,
        phone_hmac: &str,
    ) -> Result<Vec<ConsentRecord>, StoreError> {
        self.find_by(
            INDEX_BY_PHONE_HMAC,
            ATTR_PHONE_HMAC,
            phone_hmac,
            "Query (phone)",
        )
        .await
    }

    async fn inbox_page(&self, query: &InboxQuery) -> Result<InboxPage, StoreError> {
        self.read_inbox_page(query).await
    }

    async fn shelve_older_records(&self) -> Result<u64, StoreError> {
        self.shelve().await
    }

    async fn update_record(&self, record: &ConsentRecord) -> Result<bool, StoreError> {
        self.conditional_update(record).await
    }

    async fn delete_record(&self, id: RecordId) -> Result<bool, StoreError> {
        self.remove_record(id, None).await
    }

    /// Deletes expired records (with their dedup items), and the fingerprints, mail-cap logs
    /// and waiting-request markers past their time (TTL removes them too, lazily). Idempotency
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
        let mut ended = self.expired_keys(KIND_FINGERPRINT, now).await?;
        ended.extend(self.expired_keys(KIND_QUOTA, now).await?);
        ended.extend(self.expired_keys(KIND_PENDING_REQUEST, now).await?);
        for pk in ended {
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
                return Err(from_sdk("DeleteItem (expired)", err));
            }
        }
        Ok(purged)
    }
}

impl DynamoStore {
    /// Every record whose lookup attribute `attr` (the hash key of `index`) is `hmac`.
    async fn find_by(
        &self,
        index: &str,
        attr: &str,
        hmac: &str,
        operation: &str,
    ) -> Result<Vec<ConsentRecord>, StoreError> {
        if hmac.is_empty() {
            return Ok(Vec::new());
        }
        let items = self
            .query_all(IndexQuery {
                index,
                condition: "#h = :h",
                names: &[("#h", attr)],
                values: vec![(":h", s(hmac))],
                operation,
                limit: None,
            })
            .await?;
        let mut records = items
            .iter()
            .map(parse_record)
            .collect::<Result<Vec<_>, _>>()?;
        records.sort_by_key(|r| r.id);
        Ok(records)
    }

    /// Keys of every item of `kind` whose `expires_at` is before `now`, from the expiry index.
    /// A record is due once its expiry has passed; a fingerprint's window ends at
    /// `fingerprint_until` itself (the same bounds as the SQLite store).
    pub(super) async fn expired_keys(
        &self,
        kind: &str,
        now: i64,
    ) -> Result<Vec<String>, StoreError> {
        let items = self
            .query_all(IndexQuery {
                index: INDEX_BY_EXPIRY,
                condition: if kind == KIND_RECORD {
                    "#kind = :kind AND #exp < :now"
                } else {
                    "#kind = :kind AND #exp <= :now"
                },
                names: &[("#kind", ATTR_KIND), ("#exp", ATTR_EXPIRES_AT)],
                values: vec![(":kind", s(kind)), (":now", n(now))],
                operation: "Query (expiry)",
                limit: None,
            })
            .await?;
        Ok(items
            .iter()
            .filter_map(|item| string_attr(item, ATTR_PK).map(str::to_owned))
            .collect())
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

    /// The conditional `UpdateItem` of [`Self::update_record`]: the new body, expiry and
    /// revision if the stored revision is still the record's, the lookup attributes set or
    /// removed, and (for an anonymized record) the pointers to its dedup items removed.
    fn update_expression(
        &self,
        record: &ConsentRecord,
    ) -> Result<UpdateItemFluentBuilder, StoreError> {
        let mut stored = record.clone();
        stored.revision = record.revision + 1;
        let body = codec::encode("record", &stored)?;
        let revision = codec::revision(record.revision);
        let mut set = vec!["#rec = :rec", "#exp = :exp", "#rev = :new", "#sk = :sk"];
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
            .expression_attribute_names("#sk", ATTR_SORT_KEY)
            .expression_attribute_values(":sk", s(shelf_sort_key(record)))
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

    /// The conditional update described by [`crate::store::RecordStore::update_record`].
    async fn conditional_update(&self, record: &ConsentRecord) -> Result<bool, StoreError> {
        let old = match self.update_expression(record)?.send().await {
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
    async fn delete_dedup_items(&self, id: RecordId, item: &Item) -> Result<(), StoreError> {
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
}
