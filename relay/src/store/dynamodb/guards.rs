//! The guards a write of lookup hashes carries inside its own transaction: the check that its
//! key may write (the key state's `writers`, see [`KeyState::admits_writer`]), and one place
//! of the recipient's confirmation-mail cap. Both are items of the same `TransactWriteItems`,
//! so a write either passes them and is stored, or nothing is.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Put, TransactWriteItem};

use super::client::DynamoStore;
use super::errors::backend_error;
use super::items::{
    ATTR_BODY, ATTR_EXPIRES_AT, ATTR_KIND, ATTR_PK, ATTR_REVISION, Item, KEY_STATE_PK, n, s,
    string_attr,
};
use crate::domain::key_check::KeyState;
use crate::domain::outbox::MailQuota;
use crate::store::codec::{self, millis};
use crate::store::error::StoreError;

/// On the key state: the check values that may write now (string set; absent when none).
pub const ATTR_WRITERS: &str = "writers";
/// A recipient's confirmation-mail log.
pub const KIND_QUOTA: &str = "quota";

/// `QUOTA#<keyed hash of the address>`.
pub fn quota_pk(recipient: &str) -> String {
    format!("QUOTA#{recipient}")
}

/// The key state's `writers` attribute for `state` (none when it names no key).
pub fn writers_attribute(state: &KeyState) -> Option<AttributeValue> {
    let writers = state.writers();
    (!writers.is_empty()).then(|| AttributeValue::Ss(writers))
}

/// The condition check that a writer under the key with check value `mine` may write: a
/// store without key state (or with one from before `writers` existed) takes any; otherwise
/// `mine` must be one of its `writers`.
pub fn key_guard(table: &str, mine: &str) -> Result<TransactWriteItem, StoreError> {
    // An empty value may not be an attribute value; "-" is no key's check value.
    let mine = if mine.is_empty() { "-" } else { mine };
    let check = ConditionCheck::builder()
        .table_name(table)
        .key(ATTR_PK, s(KEY_STATE_PK))
        .condition_expression(
            "attribute_not_exists(#pk) OR attribute_not_exists(#w) OR contains(#w, :mine)",
        )
        .expression_attribute_names("#pk", ATTR_PK)
        .expression_attribute_names("#w", ATTR_WRITERS)
        .expression_attribute_values(":mine", s(mine))
        .build()
        .map_err(|e| backend_error("ConditionCheck", &e))?;
    Ok(TransactWriteItem::builder().condition_check(check).build())
}

impl DynamoStore {
    /// The put that takes one place of `quota`, conditional on the log being unchanged since
    /// it was read; `None` when the cap is full (nothing may be written).
    pub(super) async fn quota_put(
        &self,
        quota: &MailQuota,
    ) -> Result<Option<TransactWriteItem>, StoreError> {
        let pk = quota_pk(&quota.recipient);
        let stored = self.get_item(&pk, "GetItem (quota)").await?;
        let since = millis(quota.at - quota.window);
        let (mut sends, version) = match &stored {
            Some(item) => (
                codec::decode::<Vec<i64>>(
                    "mail quota",
                    string_attr(item, ATTR_BODY).unwrap_or("[]"),
                )?,
                item.get(ATTR_REVISION)
                    .and_then(|v| v.as_n().ok())
                    .and_then(|v| v.parse::<i64>().ok())
                    .unwrap_or(0),
            ),
            None => (Vec::new(), 0),
        };
        sends.retain(|at| *at > since);
        if sends.len() >= usize::try_from(quota.limit).unwrap_or(usize::MAX) {
            return Ok(None);
        }
        sends.push(millis(quota.at));
        let until = (quota.at + quota.window).unix_timestamp();
        let item: Item = HashMap::from([
            (ATTR_PK.to_owned(), s(pk)),
            (ATTR_KIND.to_owned(), s(KIND_QUOTA)),
            (
                ATTR_BODY.to_owned(),
                s(codec::encode("mail quota", &sends)?),
            ),
            (ATTR_REVISION.to_owned(), n(version + 1)),
            (ATTR_EXPIRES_AT.to_owned(), n(until)),
        ]);
        let mut put = Put::builder().table_name(&self.table).set_item(Some(item));
        // DynamoDB refuses names an expression does not use, so each branch names its own.
        put = if stored.is_some() {
            put.condition_expression("#rev = :seen")
                .expression_attribute_names("#rev", ATTR_REVISION)
                .expression_attribute_values(":seen", n(version))
        } else {
            put.condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", ATTR_PK)
        };
        let put = put.build().map_err(|e| backend_error("Put (quota)", &e))?;
        Ok(Some(TransactWriteItem::builder().put(put).build()))
    }
}
