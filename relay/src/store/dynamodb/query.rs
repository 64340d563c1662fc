//! The one paginated `Query` loop: every look-up of the store goes through an index with it
//! (no look-up scans the table), following `LastEvaluatedKey` until the end or a limit.

use aws_sdk_dynamodb::types::{AttributeValue, Select};

use super::client::DynamoStore;
use super::errors::from_sdk;
use super::items::{INDEX_BY_EXPIRY, Item};
use crate::store::error::StoreError;

/// One query on an index: its key condition with its names and values.
pub struct IndexQuery<'a> {
    pub index: &'a str,
    pub condition: &'a str,
    pub names: &'a [(&'a str, &'a str)],
    pub values: Vec<(&'a str, AttributeValue)>,
    /// Named in errors: `Query (email)`.
    pub operation: &'a str,
    /// Stop following pages once this many items were read (the last page is kept whole).
    pub limit: Option<usize>,
}

impl DynamoStore {
    /// Every item the query matches, in the index's order, page after page.
    pub(super) async fn query_all(&self, query: IndexQuery<'_>) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let mut request = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(query.index)
                .key_condition_expression(query.condition)
                .set_exclusive_start_key(start);
            for (k, v) in query.names {
                request = request.expression_attribute_names(*k, *v);
            }
            for (k, v) in &query.values {
                request = request.expression_attribute_values(*k, v.clone());
            }
            // The expiry index projects keys only; the others whole items.
            if query.index != INDEX_BY_EXPIRY {
                request = request.select(Select::AllProjectedAttributes);
            }
            let out = request
                .send()
                .await
                .map_err(|e| from_sdk(query.operation, e))?;
            items.extend(out.items().iter().cloned());
            let more = query.limit.is_none_or(|limit| items.len() < limit);
            match out.last_evaluated_key {
                Some(next) if !next.is_empty() && more => start = Some(next),
                _ => return Ok(items),
            }
        }
    }
}
