//! [`AppState`]: the application's [`Relay`] plus what only HTTP needs (which origins may
//! post, where the form endpoint is, how the client's address is learnt, the messages the
//! answers are written in). Cheap to clone: clones share the rate limiter.

use std::sync::Arc;

use axum::http::{HeaderValue, header};
use kelisim_manifest::ConsentManifest;

use crate::app::Relay;
use crate::config::{ConfigError, RateLimitConfig, RelayConfig, origin_of};
use crate::domain::messages::{Messages, MessagesError};
use crate::domain::outbox::Channel;
use crate::domain::rate_limit::RateLimiter;
use crate::domain::secret::Secret;
use crate::domain::stamp::{IntakeSettings, MissingRetention};
use crate::store::Store;

/// What the router needs. Built from a [`RelayConfig`] by the binaries, or step by step by
/// tests and the preview.
#[derive(Clone)]
pub struct AppState {
    relay: Relay,
    pub(super) trust_forwarded_for: bool,
    allowed_origins: Arc<[String]>,
    endpoint_path: Arc<str>,
    messages: Messages,
    /// The CDN's client-address header (believed only on requests carrying the secret).
    pub(super) client_header: Option<Arc<ClientHeader>>,
    /// The secret the CDN sends in `X-Origin-Verify`: when set, a request without it did not
    /// come through the CDN and is refused.
    pub(super) origin_secret: Option<Arc<Secret<String>>>,
}

/// A trusted client-address header (see [`crate::config::ProxyConfig`]).
#[derive(Debug)]
pub struct ClientHeader {
    pub name: header::HeaderName,
    pub secret: Option<Secret<String>>,
}

/// Why an [`AppState`] could not be built.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error(transparent)]
    Retention(#[from] MissingRetention),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("the form endpoint path `{0}` must start with `/` and be a plain path")]
    EndpointPath(String),
    #[error("the manifest's base_url `{0}` has no origin to allow")]
    BaseUrl(String),
    #[error("the manifest URL `{0}` cannot be sent in a Location header")]
    ManifestUrl(String),
    #[error(transparent)]
    Messages(#[from] MessagesError),
    #[error("`{0}` is not a header name ([proxy] client_address_header)")]
    ClientHeader(String),
}

impl AppState {
    /// A state serving `manifest.form_endpoint`, allowing posts from the manifest
    /// `base_url`'s origin only, with the default rate limits.
    pub fn new(
        store: Arc<dyn Store>,
        manifest: ConsentManifest,
        settings: IntakeSettings,
    ) -> Result<Self, StateError> {
        let messages = Messages::from_manifest(&manifest)?;
        check_manifest_urls(&manifest)?;
        let origin = origin_of(&manifest.base_url)
            .ok_or_else(|| StateError::BaseUrl(manifest.base_url.clone()))?;
        let path = manifest.form_endpoint.clone();
        let relay = Relay::new(store, Arc::new(manifest), settings)?;
        let state = Self {
            relay,
            trust_forwarded_for: false,
            endpoint_path: Arc::from(""),
            allowed_origins: Arc::from(vec![origin]),
            messages,
            client_header: None,
            origin_secret: None,
        };
        state.with_endpoint_path(path)
    }

    /// A state from the relay's configuration (HMAC key, retention, window, origins, path,
    /// rate limits, notification channels, request deadlines, proxy headers).
    pub fn from_config(
        store: Arc<dyn Store>,
        manifest: ConsentManifest,
        config: &RelayConfig,
    ) -> Result<Self, StateError> {
        config.check_ranges()?;
        let mut state = Self::new(store, manifest, config.intake_settings()?)?
            .with_rate_limit(&config.rate_limit)
            .with_notify_channels(&config.notify.channels());
        // A key from a file is read again when a rekey moves the store on (an environment
        // key cannot change under a running process).
        let key_file = config
            .hmac_key_env
            .is_none()
            .then(|| config.hmac_key_file.clone())
            .flatten();
        state.relay = state
            .relay
            .with_request_deadlines(config.request_deadline_days.clone())
            .with_key_file(key_file)
            .with_receipts(config.receipt_signer()?);
        state.origin_secret = config.proxy.origin_secret.clone().map(Arc::new);
        if let Some(name) = &config.proxy.client_address_header {
            let name = header::HeaderName::from_bytes(name.trim().as_bytes())
                .map_err(|_| StateError::ClientHeader(name.clone()))?;
            state.client_header = Some(Arc::new(ClientHeader {
                name,
                secret: config.proxy.origin_secret.clone(),
            }));
        }
        if !config.allowed_origins.is_empty() {
            state = state.with_allowed_origins(&config.allowed_origins)?;
        }
        if let Some(path) = &config.endpoint_path {
            state = state.with_endpoint_path(path.clone())?;
        }
        Ok(state)
    }

    /// Replaces the rate limiter (fresh counts) with one using `config`'s limits.
    pub fn with_rate_limit(mut self, config: &RateLimitConfig) -> Self {
        self.relay = self.relay.with_limits(config.limits());
        self.trust_forwarded_for = config.trust_forwarded_for;
        self
    }

    /// Signs a consent receipt for each stored record with `signer` (none: no receipts).
    pub fn with_receipts(
        mut self,
        signer: Option<crate::domain::receipt_key::ReceiptSigner>,
    ) -> Self {
        self.relay = self.relay.with_receipts(signer);
        self
    }

    /// Queues a notification on each of `channels` with every new record.
    pub fn with_notify_channels(mut self, channels: &[Channel]) -> Self {
        self.relay = self.relay.with_notify_channels(channels);
        self
    }

    /// Notifies `kick` after each write that queued messages, so a background deliverer
    /// sends at once instead of at its next round.
    pub fn with_delivery_kick(mut self, kick: Arc<tokio::sync::Notify>) -> Self {
        self.relay = self.relay.with_wake(Arc::new(move || kick.notify_one()));
        self
    }

    /// Replaces the allowed origins (each `scheme://host[:port]`).
    pub fn with_allowed_origins(mut self, origins: &[String]) -> Result<Self, StateError> {
        let parsed = origins
            .iter()
            .map(|o| origin_of(o).ok_or_else(|| ConfigError::Origin(o.clone())))
            .collect::<Result<Vec<_>, _>>()?;
        self.allowed_origins = Arc::from(parsed);
        Ok(self)
    }

    /// Serves the form at `path` instead of the manifest's `form_endpoint`.
    pub fn with_endpoint_path(mut self, path: String) -> Result<Self, StateError> {
        let plain = path.starts_with('/')
            && path
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"/-_.~".contains(&b));
        if !plain {
            return Err(StateError::EndpointPath(path));
        }
        self.endpoint_path = Arc::from(path);
        Ok(self)
    }

    /// The use cases' shared context.
    pub fn relay(&self) -> &Relay {
        &self.relay
    }

    /// The relay's messages, as loaded from the manifest.
    pub fn messages(&self) -> &Messages {
        &self.messages
    }

    /// The store records go to.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.relay.store
    }

    /// The limiter this state (and its clones) counts submissions with.
    pub fn rate_limiter(&self) -> &RateLimiter {
        &self.relay.limiter
    }

    /// The path the form endpoint is served at.
    pub fn endpoint_path(&self) -> &str {
        &self.endpoint_path
    }

    pub fn manifest(&self) -> &ConsentManifest {
        &self.relay.manifest
    }

    pub fn allowed_origins(&self) -> &[String] {
        &self.allowed_origins
    }

    pub(super) fn allows(&self, origin: &str) -> bool {
        self.allowed_origins
            .iter()
            .any(|o| o.eq_ignore_ascii_case(origin))
    }
}

/// Every URL of the manifest that an answer redirects to must fit a `Location` header.
fn check_manifest_urls(manifest: &ConsentManifest) -> Result<(), StateError> {
    for language in manifest.languages.values() {
        let optional = [
            &language.confirmed_url,
            &language.confirm_error_url,
            &language.request_sent_url,
            &language.request_confirmed_url,
        ];
        let urls = [&language.thanks_url, &language.error_url]
            .into_iter()
            .chain(optional.into_iter().flatten());
        for url in urls {
            if HeaderValue::from_str(url).is_err() {
                return Err(StateError::ManifestUrl(url.clone()));
            }
        }
    }
    Ok(())
}
