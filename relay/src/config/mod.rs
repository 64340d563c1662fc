//! The relay's settings: a TOML file, then environment variables on top (the environment
//! wins, so a container or Lambda can change one value without a new file).
//!
//! The HMAC key never comes from the TOML file itself, only from `KELISIM_HMAC_KEY` or a key
//! file, so the file can be committed or shown in a support ticket without leaking it.

pub mod env;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::domain::hmac_key::{HmacKey, KeyError};
use crate::domain::stamp::{DEFAULT_FINGERPRINT_WINDOW_SECS, DEFAULT_RETENTION_DAYS};

pub use crate::domain::stamp::MAX_RETENTION_DAYS;
/// The longest double-click window, rate-limit window and delivery interval: one week.
pub const MAX_WINDOW_SECS: u64 = 7 * 24 * 3600;
/// The longest wait for a double opt-in confirmation: one year.
pub const MAX_CONFIRM_WITHIN_DAYS: u32 = 365;

/// `[retention_days]`: how long each purpose's data are kept, and how long the reply purpose
/// lasts once its message is answered. Settings for the operator to confirm with counsel, not
/// legal advice.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct RetentionDays {
    /// Days after `records answer` until the reply purpose ends (`reply_after_answer`,
    /// default 30): once the person has their answer the purpose is met (§5.7: kept no longer
    /// than the purposes need), and the days leave room for a follow-up. The purpose never
    /// lasts longer than its own retention.
    pub reply_after_answer: u32,
    /// Days per purpose id, counted from the consent (every other key of the table).
    #[serde(flatten)]
    pub purposes: BTreeMap<String, u32>,
}

/// The key of `[retention_days]` (and of `KELISIM_RETENTION_DAYS`) that is not a purpose.
pub const REPLY_AFTER_ANSWER: &str = "reply_after_answer";

impl Default for RetentionDays {
    fn default() -> Self {
        Self {
            reply_after_answer: crate::domain::plan::DEFAULT_REPLY_AFTER_ANSWER_DAYS,
            purposes: DEFAULT_RETENTION_DAYS
                .iter()
                .map(|(p, d)| ((*p).to_owned(), *d))
                .collect(),
        }
    }
}

impl RetentionDays {
    /// Sets one key of the table: [`REPLY_AFTER_ANSWER`], or a purpose's days.
    pub fn set(&mut self, key: &str, days: u32) {
        if key == REPLY_AFTER_ANSWER {
            self.reply_after_answer = days;
        } else {
            self.purposes.insert(key.to_owned(), days);
        }
    }
}

/// Which [`crate::store::Store`] holds the records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    /// One file on the relay's own disk.
    #[default]
    Sqlite,
    /// A DynamoDB table, at AWS or at a compatible endpoint.
    Dynamodb,
}

/// `[sqlite]`
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SqliteConfig {
    pub path: PathBuf,
    /// How long a write waits for another writer's lock before the store reports busy (503).
    pub busy_timeout_ms: u64,
}

impl Default for SqliteConfig {
    fn default() -> Self {
        Self {
            path: PathBuf::from("kelisim-relay.sqlite"),
            busy_timeout_ms: 5000,
        }
    }
}

/// `[dynamodb]`: where the DynamoDB store (feature `dynamodb`) finds its table. The one
/// definition: the Lambda, the standalone binary's `--store dynamodb` and the tests all build
/// the store from it (`DynamoStore::from_config`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct DynamoConfig {
    /// Table name (also `KELISIM_DYNAMODB_TABLE`). Required by the DynamoDB store.
    pub table: Option<String>,
    /// AWS region, or whatever a compatible server expects. `None`: the SDK's usual chain
    /// (`AWS_REGION`, profile).
    pub region: Option<String>,
    /// A DynamoDB-compatible endpoint (`https://dynamo.example.kz`). Law 94-V Art. 12(2) wants
    /// the database on Kazakhstan's territory, where AWS has no region, so the relay must be
    /// able to talk to a compatible server hosted there. `None`: AWS's own endpoint.
    pub endpoint_url: Option<String>,
}

impl DynamoConfig {
    /// The table's name, unless it is unset or blank.
    pub fn table_name(&self) -> Option<&str> {
        self.table
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
    }
}

/// `[rate_limit]`: abuse control in place of a CAPTCHA (see [`crate::domain::rate_limit`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitConfig {
    pub enabled: bool,
    /// Submissions one client (one IPv4 address or IPv6 /64) may make per window.
    pub per_client: u32,
    pub window_secs: u64,
    /// Submissions from everyone together per minute.
    pub global_per_minute: u32,
    /// Take the client address from the last `X-Forwarded-For` entry. Only behind a reverse
    /// proxy that sets it: otherwise any client could name any address.
    pub trust_forwarded_for: bool,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            per_client: crate::domain::rate_limit::DEFAULT_PER_CLIENT,
            window_secs: crate::domain::rate_limit::DEFAULT_WINDOW_SECS,
            global_per_minute: crate::domain::rate_limit::DEFAULT_GLOBAL_PER_MINUTE,
            trust_forwarded_for: false,
        }
    }
}

impl RateLimitConfig {
    /// The limiter's view of these settings.
    pub fn limits(&self) -> crate::domain::rate_limit::Limits {
        crate::domain::rate_limit::Limits {
            enabled: self.enabled,
            per_client: self.per_client,
            window: std::time::Duration::from_secs(self.window_secs),
            global_per_minute: self.global_per_minute,
        }
    }
}

/// `[notify]`: telling the operator about new records, and mailing double opt-in links.
/// Passwords and secrets come from the environment only, like the HMAC key.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotifyConfig {
    /// `smtps://host:465` or `smtp://host:587?tls=required` (lettre's URL form).
    pub smtp_url: Option<String>,
    pub smtp_user: Option<String>,
    #[serde(skip)]
    pub smtp_password: Option<crate::domain::secret::Secret<String>>,
    /// The `From` of every mail.
    pub mail_from: Option<String>,
    /// Who is told about each new record.
    pub notify_to: Vec<String>,
    /// Put the whole message (names, contacts, text) into the operator's mail. Off by
    /// default: the operator's mailbox may itself be a third party (§8.2).
    pub include_personal_data: bool,
    /// The language of the operator's notification; `None`: the site's default language.
    pub language: Option<String>,
    /// A URL that receives a signed JSON POST per record (non-personal fields only).
    pub webhook_url: Option<String>,
    #[serde(skip)]
    pub webhook_secret: Option<crate::domain::secret::Secret<String>>,
    /// Days a double opt-in grant waits for confirmation before it lapses.
    pub confirm_within_days: u32,
    /// The form endpoint as the visitor's mail client reaches it, for confirmation links;
    /// `None`: the manifest's base URL plus the endpoint path.
    pub public_url: Option<String>,
    /// Seconds between the server's background delivery rounds (retries of failed sends).
    pub deliver_interval_secs: u64,
    /// Seconds one delivery attempt may hold an item before another deliverer may take it
    /// over (from the claim). Longer than the slowest mail server's answer.
    pub lease_secs: u64,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        Self {
            smtp_url: None,
            smtp_user: None,
            smtp_password: None,
            mail_from: None,
            notify_to: Vec::new(),
            include_personal_data: false,
            language: None,
            webhook_url: None,
            webhook_secret: None,
            confirm_within_days: crate::domain::stamp::DEFAULT_CONFIRM_WITHIN_DAYS,
            public_url: None,
            deliver_interval_secs: 30,
            lease_secs: 120,
        }
    }
}

impl NotifyConfig {
    /// The channels a new record's notification goes out on, as configured.
    pub fn channels(&self) -> Vec<crate::domain::outbox::Channel> {
        let mut channels = Vec::new();
        if self.smtp_url.is_some() && self.mail_from.is_some() && !self.notify_to.is_empty() {
            channels.push(crate::domain::outbox::Channel::Email);
        }
        if self.webhook_url.is_some() && self.webhook_secret.is_some() {
            channels.push(crate::domain::outbox::Channel::Webhook);
        }
        channels
    }
}

/// `[server]`: the standalone server's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerLimits {
    pub header_read_timeout_secs: u64,
    pub body_read_timeout_secs: u64,
    pub request_timeout_secs: u64,
    pub max_connections: usize,
    pub shutdown_grace_secs: u64,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            header_read_timeout_secs: 10,
            body_read_timeout_secs: 20,
            request_timeout_secs: 30,
            max_connections: 512,
            shutdown_grace_secs: 10,
        }
    }
}

/// `[proxy]`: where the client's address comes from behind a CDN. Behind CloudFront every
/// request comes from an edge address, so per-client limits would count the edge; CloudFront
/// can send the viewer's address in `CloudFront-Viewer-Address` (`IP:port`) through an origin
/// request policy. A header is only as trustworthy as the path it came by: set `origin_secret`
/// (`KELISIM_ORIGIN_SECRET`) and have the distribution send it as the `X-Origin-Verify` custom
/// origin header, and the client header is believed only on requests carrying it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ProxyConfig {
    pub client_address_header: Option<String>,
    #[serde(skip)]
    pub origin_secret: Option<crate::domain::secret::Secret<String>>,
}

/// Everything the relay reads at start-up.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RelayConfig {
    pub store: StoreKind,
    pub sqlite: SqliteConfig,
    pub dynamodb: DynamoConfig,
    /// The generator's `consent-manifest.json`.
    pub manifest: PathBuf,
    /// Path the form posts to; `None`: the manifest's `form_endpoint`.
    pub endpoint_path: Option<String>,
    /// Origins whose pages may post (`https://woow.kz`). Empty: the manifest `base_url`'s.
    pub allowed_origins: Vec<String>,
    /// Days to keep each purpose's data (defaults: reply 365, newsletter 1095), and the reply
    /// purpose's days after the answer (default 30).
    pub retention_days: RetentionDays,
    /// Days to answer a data-subject request, per kind (`access`, `rectification`,
    /// `withdrawal`, `blocking`, `erasure`), counted from its confirmation. Settings, not
    /// legal advice: see [`crate::domain::request`].
    pub request_deadline_days: BTreeMap<String, u32>,
    /// Seconds during which an identical submission counts as a double click.
    pub fingerprint_window_secs: u64,
    /// Written into each consent stamp; `None`: a description of the configured store.
    pub storage_location: Option<String>,
    /// A file with the HMAC key (hex or base64).
    pub hmac_key_file: Option<PathBuf>,
    /// A file with the private receipt key (a JWK from `kelisim-relay receipt-key new`);
    /// unset and no `KELISIM_RECEIPT_KEY`: no receipts are issued.
    pub receipt_key_file: Option<PathBuf>,
    pub rate_limit: RateLimitConfig,
    pub notify: NotifyConfig,
    /// `[server]`: timeouts, connection cap and shutdown grace of `kelisim-relay serve`.
    pub server: ServerLimits,
    pub proxy: ProxyConfig,
    /// The key from `KELISIM_HMAC_KEY`; never read from the TOML file.
    #[serde(skip)]
    pub hmac_key_env: Option<crate::domain::secret::Secret<String>>,
    /// The private receipt key from `KELISIM_RECEIPT_KEY`; never read from the TOML file.
    #[serde(skip)]
    pub receipt_key_env: Option<crate::domain::secret::Secret<String>>,
}

impl Default for RelayConfig {
    fn default() -> Self {
        Self {
            store: StoreKind::default(),
            sqlite: SqliteConfig::default(),
            dynamodb: DynamoConfig::default(),
            manifest: PathBuf::from("public/consent-manifest.json"),
            endpoint_path: None,
            allowed_origins: Vec::new(),
            request_deadline_days: crate::domain::request::default_deadlines(),
            retention_days: RetentionDays::default(),
            fingerprint_window_secs: DEFAULT_FINGERPRINT_WINDOW_SECS,
            storage_location: None,
            hmac_key_file: None,
            receipt_key_file: None,
            rate_limit: RateLimitConfig::default(),
            notify: NotifyConfig::default(),
            server: ServerLimits::default(),
            proxy: ProxyConfig::default(),
            hmac_key_env: None,
            receipt_key_env: None,
        }
    }
}

/// Why the configuration cannot be used. Never contains the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid configuration file: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("invalid value in {var}: {reason}")]
    Env { var: &'static str, reason: String },
    #[error(
        "no HMAC key: set {} or {} (or `hmac_key_file`)",
        env::HMAC_KEY,
        env::HMAC_KEY_FILE
    )]
    NoHmacKey,
    #[error("invalid HMAC key: {0}")]
    HmacKey(#[from] KeyError),
    #[error("invalid receipt key: {0}")]
    ReceiptKey(#[from] crate::domain::receipt_key::ReceiptKeyError),
    #[error("invalid allowed origin `{0}`: expected scheme://host[:port]")]
    Origin(String),
    #[error("`{setting}` is {value}; it must be between {min} and {max}")]
    OutOfRange {
        setting: String,
        value: u64,
        min: u64,
        max: u64,
    },
}

impl RelayConfig {
    /// Parses a TOML configuration; missing keys take their defaults (a `[retention_days]`
    /// table naming only `reply` keeps the default for `newsletter`).
    pub fn from_toml_str(text: &str) -> Result<Self, ConfigError> {
        let mut config: Self = toml::from_str(text)?;
        for (purpose, days) in DEFAULT_RETENTION_DAYS {
            config
                .retention_days
                .purposes
                .entry(purpose.to_owned())
                .or_insert(days);
        }
        for (kind, days) in crate::domain::request::DEFAULT_DEADLINE_DAYS {
            config
                .request_deadline_days
                .entry(kind.to_owned())
                .or_insert(days);
        }
        Ok(config)
    }

    /// Reads `path` (if given), then applies the process environment.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let mut config = match path {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_owned(),
                    source,
                })?;
                Self::from_toml_str(&text)?
            }
            None => Self::default(),
        };
        config.apply_env(|name| std::env::var(name).ok())?;
        config.check_ranges()?;
        Ok(config)
    }

    /// Refuses durations that are zero where that makes no sense, or so large that adding
    /// them to a date could overflow: checked once at start-up, so a request never panics.
    /// Long because it is a flat list, one range per setting, kept in one place to read.
    pub fn check_ranges(&self) -> Result<(), ConfigError> {
        let check = |setting: &str, value: u64, min: u64, max: u64| {
            if (min..=max).contains(&value) {
                Ok(())
            } else {
                Err(ConfigError::OutOfRange {
                    setting: setting.to_owned(),
                    value,
                    min,
                    max,
                })
            }
        };
        for (purpose, days) in &self.retention_days.purposes {
            check(
                &format!("retention_days.{purpose}"),
                u64::from(*days),
                1,
                u64::from(MAX_RETENTION_DAYS),
            )?;
        }
        check(
            "retention_days.reply_after_answer",
            u64::from(self.retention_days.reply_after_answer),
            1,
            u64::from(MAX_RETENTION_DAYS),
        )?;
        check(
            "fingerprint_window_secs",
            self.fingerprint_window_secs,
            0,
            MAX_WINDOW_SECS,
        )?;
        check(
            "rate_limit.window_secs",
            self.rate_limit.window_secs,
            1,
            MAX_WINDOW_SECS,
        )?;
        check(
            "notify.confirm_within_days",
            u64::from(self.notify.confirm_within_days),
            1,
            u64::from(MAX_CONFIRM_WITHIN_DAYS),
        )?;
        check("notify.lease_secs", self.notify.lease_secs, 1, 3600)?;
        check(
            "notify.deliver_interval_secs",
            self.notify.deliver_interval_secs,
            1,
            MAX_WINDOW_SECS,
        )?;
        let server = &self.server;
        for (setting, value) in [
            (
                "server.header_read_timeout_secs",
                server.header_read_timeout_secs,
            ),
            (
                "server.body_read_timeout_secs",
                server.body_read_timeout_secs,
            ),
            ("server.request_timeout_secs", server.request_timeout_secs),
            ("server.shutdown_grace_secs", server.shutdown_grace_secs),
        ] {
            check(setting, value, 1, 3600)?;
        }
        check(
            "server.max_connections",
            u64::try_from(server.max_connections).unwrap_or(u64::MAX),
            1,
            1_000_000,
        )
    }

    /// Everything besides the submission and the manifest that goes into a record.
    pub fn intake_settings(&self) -> Result<crate::domain::stamp::IntakeSettings, ConfigError> {
        Ok(crate::domain::stamp::IntakeSettings {
            hmac_key: self.hmac_key()?,
            retention_days: self.retention_days.purposes.clone(),
            fingerprint_window: time::Duration::seconds(
                i64::try_from(self.fingerprint_window_secs).unwrap_or(i64::MAX / 2),
            ),
            storage_location: self.storage_location(),
            confirm_within: time::Duration::days(i64::from(self.notify.confirm_within_days)),
        })
    }

    /// The HMAC key: `KELISIM_HMAC_KEY` if set, else the key file.
    pub fn hmac_key(&self) -> Result<HmacKey, ConfigError> {
        if let Some(key) = &self.hmac_key_env {
            return Ok(HmacKey::parse(key.expose())?);
        }
        let path = self.hmac_key_file.as_ref().ok_or(ConfigError::NoHmacKey)?;
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.clone(),
            source,
        })?;
        Ok(HmacKey::parse(&text)?)
    }

    /// The receipt signer: `KELISIM_RECEIPT_KEY` if set, else the key file, else none (no
    /// receipts).
    pub fn receipt_signer(
        &self,
    ) -> Result<Option<crate::domain::receipt_key::ReceiptSigner>, ConfigError> {
        use crate::domain::receipt_key::ReceiptSigner;
        if let Some(key) = &self.receipt_key_env {
            return Ok(Some(ReceiptSigner::from_jwk(key.expose())?));
        }
        let Some(path) = &self.receipt_key_file else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.clone(),
            source,
        })?;
        Ok(Some(ReceiptSigner::from_jwk(&text)?))
    }

    /// The storage location stamped on records: the configured label, or a plain
    /// description of the store.
    pub fn storage_location(&self) -> String {
        if let Some(location) = &self.storage_location {
            return location.clone();
        }
        match self.store {
            StoreKind::Sqlite => "SQLite database on the relay's own host".to_owned(),
            StoreKind::Dynamodb => format!(
                "DynamoDB table {} ({})",
                self.dynamodb.table.as_deref().unwrap_or("unnamed"),
                self.dynamodb
                    .endpoint_url
                    .as_deref()
                    .or(self.dynamodb.region.as_deref())
                    .unwrap_or("default region"),
            ),
        }
    }
}

/// `scheme://host[:port]` of an absolute URL, lowercased: the form browsers send in `Origin`.
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.trim().split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    if scheme.is_empty() || authority.is_empty() || authority.contains('@') {
        return None;
    }
    Some(format!(
        "{}://{}",
        scheme.to_ascii_lowercase(),
        authority.to_ascii_lowercase()
    ))
}

#[cfg(test)]
mod tests;
