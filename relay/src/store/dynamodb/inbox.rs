//! The inbox a page at a time on DynamoDB: each record item carries `sort_key =
//! <shelf>#<id>`, so the `by_kind_sort` index (kind `record`) holds every shelf in id order,
//! and a page of one shelf is one bounded `Query` (two for the filter that lists two
//! shelves, merged by id). Records written before the sort key existed get theirs once
//! ([`DynamoStore::shelve`]).

use std::collections::HashMap;

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::Select;

use super::client::DynamoStore;
use super::errors::from_sdk;
use super::items::{
    ATTR_BODY, ATTR_KIND, ATTR_PK, ATTR_SORT_KEY, INDEX_BY_KIND_SORT, Item, KIND_META, KIND_RECORD,
    parse_record, s, string_attr,
};
use crate::domain::inbox::{InboxPage, InboxQuery, Shelf};
use crate::domain::record::{ConsentRecord, RecordId};
use crate::store::error::StoreError;

/// The marker that every record has its sort key.
const SHELVED_PK: &str = "META#inbox_shelves";

/// Above every character of a hyphenated UUID, so `<shelf>#~` ends a shelf's range.
const SHELF_END: &str = "~";

/// A record item's `sort_key`: its shelf, then its id.
pub fn shelf_sort_key(record: &ConsentRecord) -> String {
    format!("{}#{}", Shelf::of(record).as_str(), record.id)
}

impl DynamoStore {
    /// One page of the inbox (see [`crate::store::RecordStore::inbox_page`]).
    pub(super) async fn read_inbox_page(
        &self,
        query: &InboxQuery,
    ) -> Result<InboxPage, StoreError> {
        let size = query.page_size();
        let mut records = Vec::new();
        for shelf in query.filter.shelves() {
            records.extend(self.shelf_page(*shelf, query.after, size + 1).await?);
        }
        records.sort_by_key(|r| r.id);
        records.truncate(size + 1);
        Ok(InboxPage::from_overread(records, size))
    }

    /// Up to `want` records of `shelf` with ids after `after`, in id order.
    async fn shelf_page(
        &self,
        shelf: Shelf,
        after: Option<RecordId>,
        want: usize,
    ) -> Result<Vec<ConsentRecord>, StoreError> {
        let from = match after {
            Some(id) => format!("{}#{id}", shelf.as_str()),
            None => format!("{}#", shelf.as_str()),
        };
        let to = format!("{}#{SHELF_END}", shelf.as_str());
        // BETWEEN is inclusive: the record `after` itself may come back, so one more.
        let limit = i32::try_from(want + 1).unwrap_or(i32::MAX);
        let mut records = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(INDEX_BY_KIND_SORT)
                .key_condition_expression("#kind = :kind AND #sk BETWEEN :from AND :to")
                .expression_attribute_names("#kind", ATTR_KIND)
                .expression_attribute_names("#sk", ATTR_SORT_KEY)
                .expression_attribute_values(":kind", s(KIND_RECORD))
                .expression_attribute_values(":from", s(from.clone()))
                .expression_attribute_values(":to", s(to.clone()))
                .select(Select::AllProjectedAttributes)
                .limit(limit)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| from_sdk("Query (inbox)", e))?;
            for item in out.items() {
                let record = parse_record(item)?;
                if after.is_none_or(|after| record.id > after) {
                    records.push(record);
                }
            }
            match out.last_evaluated_key {
                Some(next) if !next.is_empty() && records.len() < want => start = Some(next),
                _ => break,
            }
        }
        records.truncate(want);
        Ok(records)
    }

    /// Gives every record item without a sort key (written before it existed) its shelf's,
    /// once: afterwards a marker item says so. Returns how many records it placed.
    pub(super) async fn shelve(&self) -> Result<u64, StoreError> {
        if self
            .get_item(SHELVED_PK, "GetItem (inbox)")
            .await?
            .is_some()
        {
            return Ok(0);
        }
        let keys = self.expired_keys(KIND_RECORD, i64::MAX).await?;
        let mut placed = 0;
        for chunk in keys.chunks(100) {
            for item in self.batch_get(chunk).await? {
                if string_attr(&item, ATTR_SORT_KEY).is_none() && self.place(&item).await? {
                    placed += 1;
                }
            }
        }
        let marker = HashMap::from([
            (ATTR_PK.to_owned(), s(SHELVED_PK)),
            (ATTR_KIND.to_owned(), s(KIND_META)),
            (ATTR_BODY.to_owned(), s("{}")),
        ]);
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(marker))
            .send()
            .await
            .map_err(|e| from_sdk("PutItem (inbox)", e))?;
        Ok(placed)
    }

    /// Sets one record item's sort key, unless it got one meanwhile (an update sets it) or
    /// is gone.
    async fn place(&self, item: &Item) -> Result<bool, StoreError> {
        let record = parse_record(item)?;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(ATTR_PK, s(super::items::record_pk(record.id)))
            .update_expression("SET #sk = :sk")
            .condition_expression("attribute_exists(#pk) AND attribute_not_exists(#sk)")
            .expression_attribute_names("#pk", ATTR_PK)
            .expression_attribute_names("#sk", ATTR_SORT_KEY)
            .expression_attribute_values(":sk", s(shelf_sort_key(&record)))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err) if err.code() == Some("ConditionalCheckFailedException") => Ok(false),
            Err(err) => Err(from_sdk("UpdateItem (inbox)", err)),
        }
    }
}
