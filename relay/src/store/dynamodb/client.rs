//! The SDK client as the relay configures it (timeouts, rustls on ring, a chosen endpoint)
//! and [`DynamoStore`], the handle every role's implementation works through.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::AsyncSleep;
use aws_sdk_dynamodb::types::KeysAndAttributes;

use super::errors::{backend_error, from_sdk};
use super::items::{ATTR_PK, Item, s};
use super::table::create_table;
use crate::config::DynamoConfig;
use crate::store::error::StoreError;

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

/// Every store role on one DynamoDB table laid out as the module documentation describes.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    pub(super) client: Client,
    pub(super) table: String,
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

    /// Waits a little longer after each lost race (`attempt` from 0).
    pub(super) async fn pause(&self, attempt: u32) {
        if let Some(sleep) = self.client.config().sleep_impl() {
            sleep
                .sleep(Duration::from_millis(25 * u64::from(attempt + 1)))
                .await;
        }
    }

    /// The item with this `pk`, read consistently.
    pub(super) async fn get_item(
        &self,
        pk: &str,
        operation: &str,
    ) -> Result<Option<Item>, StoreError> {
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

    /// The items with these `pk`s (consistent reads), retrying what the service leaves
    /// unprocessed.
    pub(super) async fn batch_get(&self, pks: &[String]) -> Result<Vec<Item>, StoreError> {
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
}
