//! The preview's form relay: its settings (the local SQLite file, a per-site HMAC key, never
//! the operator's receipt key), the router each good build gets, with this run's throwaway
//! receipt key for its receipts and mail, that key's public half as the preview publishes it,
//! and the dispatch of the form endpoint's paths to the relay.

use std::path::Path;
use std::sync::{Arc, PoisonError};

use axum::Router;
use axum::extract::{Request, State};
use axum::response::Response;
use kelisim_manifest::ConsentManifest;
use kelisim_manifest::receipt_keys::ReceiptKey;
use kelisim_relay::config::RelayConfig;
use kelisim_relay::domain::outbox::Channel;
use kelisim_relay::web::AppState;
use tower::ServiceExt;

use super::{Preview, ServeError, files};

/// The member that marks the preview's own key in the published receipt keys.
pub const PREVIEW_KEY_MEMBER: &str = "kelisim_preview";

/// The relay settings for the preview: defaults, a local SQLite file, a per-site random HMAC
/// key kept in `.kelisim/hmac.key` (so lookups by email keep working across restarts), and
/// whatever `KELISIM_*` environment variables the editor set.
pub(super) fn preview_relay_config(state_dir: &Path, db: &Path) -> Result<RelayConfig, ServeError> {
    let key_file = state_dir.join("hmac.key");
    if !key_file.exists() {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key)
            .map_err(|e| ServeError::Relay(format!("no randomness for the HMAC key: {e}")))?;
        std::fs::write(&key_file, hex::encode(key)).map_err(|source| ServeError::StateDir {
            path: key_file.clone(),
            source,
        })?;
    }
    let mut config = RelayConfig {
        hmac_key_file: Some(key_file),
        storage_location: Some(format!(
            "kelisim serve preview: SQLite file {} on this computer",
            db.display()
        )),
        ..RelayConfig::default()
    };
    config.sqlite.path = db.to_owned();
    config
        .apply_env(|name| std::env::var(name).ok())
        .map_err(|e| ServeError::Relay(e.to_string()))?;
    // The preview is reached directly, never through a CDN that would add the secret.
    config.proxy.origin_secret = None;
    // The preview signs with its own throwaway key ([`Preview::receipts`]), never with the
    // operator's: a receipt from a trial form must not pass for a real one.
    config.receipt_key_file = None;
    config.receipt_key_env = None;
    Ok(config)
}

impl Preview {
    /// This run's public receipt key as the preview publishes it: marked as a preview key
    /// (`kelisim_preview`, besides the `preview-` kid), a member verifiers ignore (RFC 7517
    /// §4) and the key checks allow, since it is not a private one.
    pub(super) fn published_receipt_key(&self) -> ReceiptKey {
        let mut key = self.receipts.public_key();
        key.other
            .insert(PREVIEW_KEY_MEMBER.to_owned(), serde_json::Value::Bool(true));
        key
    }

    /// The relay router for a freshly built site, checking against its manifest.
    pub(super) fn relay_for(&self, manifest: ConsentManifest) -> Result<(String, Router), String> {
        let state = AppState::from_config(
            Arc::clone(&self.store),
            manifest.clone(),
            &self.relay_config,
        )
        .and_then(|s| s.with_allowed_origins(&self.origins))
        .map_err(|e| format!("the form relay cannot use this build: {e}"))?
        // The operator's notification is captured too, so the editor sees both mails.
        .with_notify_channels(&[Channel::Email])
        .with_delivery_kick(Arc::clone(&self.mailbox.kick))
        .with_receipts(Some(self.receipts.clone()));
        let endpoint = state.endpoint_path().to_owned();
        let key = self
            .relay_config
            .hmac_key()
            .map_err(|e| format!("the form relay has no key: {e}"))?;
        self.mailbox.use_build(
            Arc::clone(&self.store),
            key,
            &manifest,
            &endpoint,
            state.messages().clone(),
            self.receipts.clone(),
        );
        Ok((endpoint, kelisim_relay::web::app(state)))
    }
}

/// The form endpoint (and the relay's paths under it, like its confirmation links) goes to
/// the relay; everything else is a file of the last good build, from memory.
pub(super) async fn dispatch(State(preview): State<Arc<Preview>>, request: Request) -> Response {
    let relay = preview
        .relay
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    if let Some((endpoint, relay)) = relay
        && is_under(request.uri().path(), &endpoint)
    {
        return match relay.oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
    }
    files::answer(preview.site(), request).await
}

/// `path` is `endpoint` or below it.
fn is_under(path: &str, endpoint: &str) -> bool {
    path.strip_prefix(endpoint.trim_end_matches('/'))
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}
