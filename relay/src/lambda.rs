//! Running the relay on AWS Lambda: configuration from the environment, the consent manifest
//! bundled in the zip, records in DynamoDB, and the same axum router as the standalone server.
//!
//! `lambda_http` turns function-URL and API Gateway HTTP API (payload 2.0) events into
//! `http::Request`s and the router's responses back into events, so the visitor sees exactly
//! the statuses the standalone relay sends. The router never returns an `Err`: every visitor
//! mistake is a 4xx response, and a store failure a 503 the page's script can retry, whereas
//! an `Err` would become a Lambda invocation error the browser can do nothing with.

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;

use crate::config::{ConfigError, RelayConfig, StoreKind, env};
use crate::dynamodb::{DynamoStore, NoTable};
use crate::http::{AppState, StateError};
use crate::manifest::{ConsentManifest, ManifestError};
use crate::router::app;
use crate::store::Store;

/// The manifest's file name inside the deployment zip, beside `bootstrap`.
pub const BUNDLED_MANIFEST: &str = "consent-manifest.json";

/// Optional TOML configuration file (the environment still wins over it).
pub const ENV_CONFIG_FILE: &str = "KELISIM_CONFIG";

/// Why the function could not start. Holds no personal data (there is none at start-up).
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    #[error(transparent)]
    NoTable(#[from] NoTable),
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error("cannot configure the relay: {0}")]
    State(#[from] StateError),
}

/// Reads the configuration as the function sees it: `KELISIM_CONFIG` (optional file), then
/// the `KELISIM_*` environment. Records always go to DynamoDB here (a Lambda has no disk that
/// outlives it), and the manifest defaults to the copy bundled in the zip.
pub fn load_config() -> Result<RelayConfig, SetupError> {
    let file = std::env::var_os(ENV_CONFIG_FILE).map(PathBuf::from);
    let mut config = RelayConfig::load(file.as_deref())?;
    config.store = StoreKind::Dynamodb;
    let manifest_set = std::env::var(env::MANIFEST).is_ok_and(|v| !v.trim().is_empty());
    if !manifest_set && file.is_none() {
        config.manifest = task_root().join(BUNDLED_MANIFEST);
    }
    Ok(config)
}

/// Where Lambda unpacked the zip (`/var/task`), or the working directory elsewhere.
fn task_root() -> PathBuf {
    std::env::var_os("LAMBDA_TASK_ROOT").map_or_else(|| PathBuf::from("."), PathBuf::from)
}

/// Builds the store once per cold start (the SDK client holds the connection pool and the
/// credentials cache that later invocations reuse).
pub async fn dynamo_store(config: &RelayConfig) -> Result<DynamoStore, SetupError> {
    Ok(DynamoStore::from_config(&config.dynamodb).await?)
}

/// The relay's router on `store`, configured by `config`: what `lambda_http::run` serves.
pub fn router(config: &RelayConfig, store: Arc<dyn Store>) -> Result<Router, SetupError> {
    let manifest = ConsentManifest::from_path(&config.manifest)?;
    Ok(app(AppState::from_config(store, manifest, config)?))
}
