//! [`Relay`]: what the running relay's use cases share, built once by a transport (the
//! standalone server, `kelisim serve`, the Lambda function) and cloned cheaply per request.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, PoisonError, RwLock};

use kelisim_manifest::ConsentManifest;

use crate::domain::hmac_key::HmacKey;
use crate::domain::outbox::Channel;
use crate::domain::rate_limit::{Limits, RateLimiter};
use crate::domain::receipt::Receipt;
use crate::domain::receipt_key::ReceiptSigner;
use crate::domain::record::ConsentRecord;
use crate::domain::request::default_deadlines;
use crate::domain::stamp::{IntakeSettings, MissingRetention};
use crate::store::Store;

/// Called after a write that queued messages, so a background deliverer sends at once
/// instead of at its next round.
pub type Wake = Arc<dyn Fn() + Send + Sync>;

/// The store, the manifest it checks against, the record settings, the rate limiter and the
/// deadlines: everything a use case of the form, the request form or a mailed link needs.
/// Clones share the limiter.
#[derive(Clone)]
pub struct Relay {
    pub store: Arc<dyn Store>,
    pub manifest: Arc<ConsentManifest>,
    settings: Arc<RwLock<Arc<IntakeSettings>>>,
    /// Where the HMAC key comes from, when from a file: reloaded when the store says a rekey
    /// moved it (see [`Relay::reload_key`]).
    key_file: Option<PathBuf>,
    pub limiter: Arc<RateLimiter>,
    /// The channels each new record's notification is queued for.
    pub notify_channels: Arc<[Channel]>,
    /// Days to answer each kind of data-subject request.
    pub request_deadlines: Arc<BTreeMap<String, u32>>,
    /// Signs each stored record's consent receipt; none configured, no receipts.
    pub receipts: Option<Arc<ReceiptSigner>>,
    wake: Option<Wake>,
}

impl Relay {
    /// A relay on `store` for `manifest`, with the default rate limits, no notification
    /// channel and the default request deadlines. Fails when a purpose has no retention.
    pub fn new(
        store: Arc<dyn Store>,
        manifest: Arc<ConsentManifest>,
        settings: IntakeSettings,
    ) -> Result<Self, MissingRetention> {
        settings.check(&manifest)?;
        let limiter = RateLimiter::new(Limits::default(), settings.hmac_key.clone());
        Ok(Self {
            store,
            manifest,
            settings: Arc::new(RwLock::new(Arc::new(settings))),
            key_file: None,
            limiter: Arc::new(limiter),
            notify_channels: Arc::from(Vec::new()),
            request_deadlines: Arc::new(default_deadlines()),
            receipts: None,
            wake: None,
        })
    }

    /// Replaces the rate limiter (fresh counts) with one using `limits`.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        let key = self.settings().hmac_key.clone();
        self.limiter = Arc::new(RateLimiter::new(limits, key));
        self
    }

    /// Reloads the HMAC key from `path` when the store refuses the current one (see
    /// [`Relay::reload_key`]).
    pub fn with_key_file(mut self, path: Option<PathBuf>) -> Self {
        self.key_file = path;
        self
    }

    /// The record settings in force (the HMAC key among them).
    pub fn settings(&self) -> Arc<IntakeSettings> {
        Arc::clone(&self.settings.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// After the store refused a write made under the key whose check value is `refused`
    /// (a rekey moved the store on, and its `--install` put the new key in the file): reads
    /// the key file again if the key in force is still that one. True when the key in force
    /// now differs from `refused`, whether this call loaded it or a concurrent request did:
    /// the caller stamps again and retries once. Logs that it happened, never the key.
    pub fn reload_key(&self, refused: &str) -> bool {
        if self.settings().hmac_key.key_check() != refused {
            return true;
        }
        let Some(path) = &self.key_file else {
            return false;
        };
        let Some(key) = std::fs::read_to_string(path)
            .ok()
            .and_then(|text| HmacKey::parse(&text).ok())
        else {
            tracing::error!(path = %path.display(), "the HMAC key file cannot be read again");
            return false;
        };
        let mut settings = self
            .settings
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if settings.hmac_key.key_check() != refused {
            // Another request reloaded it meanwhile.
            return true;
        }
        if key.key_check() == refused {
            return false;
        }
        let mut next = IntakeSettings::clone(&settings);
        next.hmac_key = key;
        *settings = Arc::new(next);
        tracing::info!("the HMAC key was reloaded after a rekey");
        true
    }

    /// Queues a notification on each of `channels` with every new record.
    pub fn with_notify_channels(mut self, channels: &[Channel]) -> Self {
        self.notify_channels = Arc::from(channels.to_vec());
        self
    }

    /// Days to answer each kind of data-subject request.
    pub fn with_request_deadlines(mut self, deadlines: BTreeMap<String, u32>) -> Self {
        self.request_deadlines = Arc::new(deadlines);
        self
    }

    /// Signs a consent receipt for each stored record with `signer`.
    pub fn with_receipts(mut self, signer: Option<ReceiptSigner>) -> Self {
        self.receipts = signer.map(Arc::new);
        self
    }

    /// The signed receipt of `record` as stored, when receipts are configured. A signing
    /// failure is logged and gives none: the record is stored either way.
    pub fn receipt(&self, record: &ConsentRecord) -> Option<String> {
        let signer = self.receipts.as_ref()?;
        match signer.sign(&Receipt::of(record, &self.manifest)) {
            Ok(token) => Some(token),
            Err(error) => {
                tracing::error!(%error, id = %record.id, "no receipt");
                None
            }
        }
    }

    /// Calls `wake` after each write that queued messages.
    pub fn with_wake(mut self, wake: Wake) -> Self {
        self.wake = Some(wake);
        self
    }

    /// Wakes the background deliverer, if there is one.
    pub fn wake_delivery(&self) {
        if let Some(wake) = &self.wake {
            wake();
        }
    }

    /// The language to answer in: `wanted` when the site has it, else the site's default.
    pub fn language(&self, wanted: &str) -> String {
        let wanted = wanted.trim();
        if self.manifest.languages.contains_key(wanted) {
            wanted.to_owned()
        } else {
            self.manifest.default_language.clone()
        }
    }
}
