//! The DynamoDB table's definition (`relay/dynamodb-table.json`) and a helper that creates it.
//!
//! The JSON file is the single source of truth: operators feed it to
//! `aws dynamodb create-table --cli-input-json file://relay/dynamodb-table.json`, and
//! [`create_table`] (used by the tests and by the optional setup step) builds its request from
//! the very same file, embedded at compile time, so the two cannot drift apart.

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::AsyncSleep;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TableStatus, TimeToLiveSpecification,
};
use serde::Deserialize;

use super::errors::backend_error;
use super::items::ATTR_EXPIRES_AT;
use crate::store::error::StoreError;

/// The table definition in AWS CLI `--cli-input-json` form.
pub const TABLE_DEFINITION_JSON: &str = include_str!("../../../dynamodb-table.json");

/// The subset of CreateTable's input that the definition uses. Unknown keys are refused so a
/// field added to the JSON file cannot be silently ignored by [`create_table`].
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct TableDefinition {
    /// The default name; deployments may choose another (configuration wins).
    pub table_name: String,
    pub billing_mode: String,
    pub attribute_definitions: Vec<AttributeDef>,
    pub key_schema: Vec<KeyDef>,
    pub global_secondary_indexes: Vec<IndexDef>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct AttributeDef {
    pub attribute_name: String,
    pub attribute_type: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct KeyDef {
    pub attribute_name: String,
    pub key_type: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct IndexDef {
    pub index_name: String,
    pub key_schema: Vec<KeyDef>,
    pub projection: ProjectionDef,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ProjectionDef {
    pub projection_type: String,
}

impl TableDefinition {
    /// The embedded definition.
    pub fn bundled() -> Result<Self, StoreError> {
        serde_json::from_str(TABLE_DEFINITION_JSON).map_err(|e| {
            StoreError::Backend(format!("the bundled table definition is invalid: {e}"))
        })
    }
}

fn key_schema(keys: &[KeyDef]) -> Result<Vec<KeySchemaElement>, StoreError> {
    keys.iter()
        .map(|k| {
            KeySchemaElement::builder()
                .attribute_name(&k.attribute_name)
                .key_type(KeyType::from(k.key_type.as_str()))
                .build()
                .map_err(|e| backend_error("CreateTable", &e))
        })
        .collect()
}

/// Creates `table` as `relay/dynamodb-table.json` describes it, turns on TTL on
/// `expires_at`, and waits until the table is active. Fails if the table exists.
pub async fn create_table(client: &Client, table: &str) -> Result<(), StoreError> {
    let def = TableDefinition::bundled()?;
    client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::from(def.billing_mode.as_str()))
        .set_attribute_definitions(Some(attribute_definitions(&def)?))
        .set_key_schema(Some(key_schema(&def.key_schema)?))
        .set_global_secondary_indexes(Some(indexes(&def)?))
        .send()
        .await
        .map_err(|e| super::errors::from_sdk("CreateTable", e))?;
    wait_until_active(client, table).await?;
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name(ATTR_EXPIRES_AT)
                .build()
                .map_err(|e| backend_error("UpdateTimeToLive", &e))?,
        )
        .send()
        .await
        .map_err(|e| super::errors::from_sdk("UpdateTimeToLive", e))?;
    Ok(())
}

fn attribute_definitions(def: &TableDefinition) -> Result<Vec<AttributeDefinition>, StoreError> {
    def.attribute_definitions
        .iter()
        .map(|a| {
            AttributeDefinition::builder()
                .attribute_name(&a.attribute_name)
                .attribute_type(ScalarAttributeType::from(a.attribute_type.as_str()))
                .build()
                .map_err(|e| backend_error("CreateTable", &e))
        })
        .collect()
}

fn indexes(def: &TableDefinition) -> Result<Vec<GlobalSecondaryIndex>, StoreError> {
    let mut indexes = Vec::with_capacity(def.global_secondary_indexes.len());
    for index in &def.global_secondary_indexes {
        indexes.push(
            GlobalSecondaryIndex::builder()
                .index_name(&index.index_name)
                .set_key_schema(Some(key_schema(&index.key_schema)?))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::from(
                            index.projection.projection_type.as_str(),
                        ))
                        .build(),
                )
                .build()
                .map_err(|e| backend_error("CreateTable", &e))?,
        );
    }
    Ok(indexes)
}

/// Waits (up to a minute) until `table` is active: a new table is CREATING for a few seconds
/// on AWS (moto is ACTIVE at once). The SDK's own sleep is used so this module needs no
/// runtime of its own.
async fn wait_until_active(client: &Client, table: &str) -> Result<(), StoreError> {
    let sleep = client.config().sleep_impl();
    for _ in 0..120 {
        let described = client
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(|e| super::errors::from_sdk("DescribeTable", e))?;
        if described.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
            break;
        }
        match &sleep {
            Some(sleep) => sleep.sleep(Duration::from_millis(500)).await,
            None => break,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::dynamodb::items::{
        ATTR_PK, INDEX_BY_EMAIL_HMAC, INDEX_BY_EXPIRY, INDEX_BY_KIND_SORT, INDEX_BY_PHONE_HMAC,
    };

    #[test]
    fn bundled_definition_names_the_attributes_and_indexes_the_store_uses() {
        let def = TableDefinition::bundled().expect("the bundled JSON parses");
        assert_eq!(def.key_schema.len(), 1);
        assert_eq!(def.key_schema[0].attribute_name, ATTR_PK);
        let names: Vec<&str> = def
            .global_secondary_indexes
            .iter()
            .map(|i| i.index_name.as_str())
            .collect();
        assert_eq!(
            names,
            [
                INDEX_BY_EMAIL_HMAC,
                INDEX_BY_EXPIRY,
                INDEX_BY_PHONE_HMAC,
                INDEX_BY_KIND_SORT
            ]
        );
        let ttl = def
            .attribute_definitions
            .iter()
            .find(|a| a.attribute_name == ATTR_EXPIRES_AT)
            .expect("expires_at is defined");
        assert_eq!(ttl.attribute_type, "N", "TTL attributes are epoch seconds");
    }
}
