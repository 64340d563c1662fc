//! Opening what a command works on: the configured store (after checking that the HMAC key
//! is the one its data was written with), the consent manifest, and the deliverer.

use std::sync::Arc;

use anyhow::Context;
use kelisim_relay::app::keys;
use kelisim_relay::config::{RelayConfig, StoreKind};
use kelisim_relay::delivery::Deliverer;
use kelisim_relay::domain::hmac_key::HmacKey;
use kelisim_relay::manifest::ConsentManifest;
use kelisim_relay::store::Store;
use kelisim_relay::store::sqlite::SqliteStore;

use crate::prompt::Confirm;

/// The store, after checking that the configured key is the one its data was written with.
pub async fn open_checked_store(
    config: &RelayConfig,
    confirm: &Confirm,
) -> anyhow::Result<(Arc<dyn Store>, HmacKey)> {
    let store = open_store(config).await?;
    let key = config.hmac_key()?;
    keys::check_key(store.as_ref(), &key, &confirm.actor()).await?;
    Ok((store, key))
}

/// The store for `serve`: the configured key must be one that may write now (the store's, or
/// the one a prepared rekey moves to), so a relay on the new key starts during a rekey.
pub async fn open_writer_store(
    config: &RelayConfig,
    confirm: &Confirm,
) -> anyhow::Result<Arc<dyn Store>> {
    let store = open_store(config).await?;
    let key = config.hmac_key()?;
    keys::check_writer_key(store.as_ref(), &key, &confirm.actor()).await?;
    Ok(store)
}

pub fn load_manifest(config: &RelayConfig) -> anyhow::Result<ConsentManifest> {
    Ok(ConsentManifest::from_path(&config.manifest)?)
}

pub async fn open_store(config: &RelayConfig) -> anyhow::Result<Arc<dyn Store>> {
    match config.store {
        StoreKind::Sqlite => {
            let store = SqliteStore::open_with_timeout(
                &config.sqlite.path,
                std::time::Duration::from_millis(config.sqlite.busy_timeout_ms),
            )
            .with_context(|| format!("opening {}", config.sqlite.path.display()))?;
            Ok(Arc::new(store))
        }
        #[cfg(feature = "dynamodb")]
        StoreKind::Dynamodb => {
            // The same store the Lambda `bootstrap` uses, so an operator can answer
            // data-subject requests (export, withdraw, erase, purge) from any machine.
            Ok(Arc::new(
                kelisim_relay::store::dynamodb::DynamoStore::from_config(&config.dynamodb).await?,
            ))
        }
        #[cfg(not(feature = "dynamodb"))]
        StoreKind::Dynamodb => {
            anyhow::bail!(
                "this kelisim-relay was built without the `dynamodb` feature; rebuild with --features dynamodb"
            )
        }
    }
}

/// The configured deliverer on `store` (checked here, so a bad SMTP or webhook URL stops the
/// command with a clear message).
pub fn deliverer(config: &RelayConfig, store: Arc<dyn Store>) -> anyhow::Result<Deliverer> {
    let manifest = load_manifest(config)?;
    kelisim_relay::delivery::senders::deliverer(config, store, manifest)
        .with_context(|| format!("setting up delivery with {}", config.manifest.display()))
}
