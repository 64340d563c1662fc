//! The key-state role on DynamoDB: one item, `META#key_state`, replaced by compare-and-set.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;

use super::client::DynamoStore;
use super::errors::from_sdk;
use super::guards::{ATTR_WRITERS, writers_attribute};
use super::items::{ATTR_BODY, ATTR_KIND, ATTR_PK, KEY_STATE_PK, KIND_META, body_of, s};
use crate::domain::key_check::KeyState;
use crate::store::codec;
use crate::store::error::StoreError;
use crate::store::key_state::KeyStore;

#[async_trait]
impl KeyStore for DynamoStore {
    async fn get_key_state(&self) -> Result<KeyState, StoreError> {
        match self.get_item(KEY_STATE_PK, "GetItem (key state)").await? {
            Some(item) => body_of(&item, ATTR_BODY, "key-check state"),
            None => Ok(KeyState::default()),
        }
    }

    async fn set_key_state(&self, expected: &KeyState, new: &KeyState) -> Result<(), StoreError> {
        let mut item = HashMap::from([
            (ATTR_PK.to_owned(), s(KEY_STATE_PK)),
            (ATTR_KIND.to_owned(), s(KIND_META)),
            (ATTR_BODY.to_owned(), s(codec::encode("key state", new)?)),
        ]);
        // What a write's key guard reads (see `guards`).
        if let Some(writers) = writers_attribute(new) {
            item.insert(ATTR_WRITERS.to_owned(), writers);
        }
        let mut request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .expression_attribute_names("#body", ATTR_BODY)
            .expression_attribute_values(":old", s(codec::encode("key state", expected)?));
        // DynamoDB refuses names the expression does not use, so `#pk` only when it does.
        request = if *expected == KeyState::default() {
            request
                .condition_expression("attribute_not_exists(#pk) OR #body = :old")
                .expression_attribute_names("#pk", ATTR_PK)
        } else {
            request.condition_expression("#body = :old")
        };
        match request.send().await {
            Ok(_) => Ok(()),
            Err(err) if err.code() == Some("ConditionalCheckFailedException") => {
                Err(StoreError::Conflict("the key-check value".to_owned()))
            }
            Err(err) => Err(from_sdk("PutItem (key state)", err)),
        }
    }
}
