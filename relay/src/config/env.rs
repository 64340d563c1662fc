//! The environment on top of the file: every `KELISIM_*` variable the relay reads, and how
//! each one overrides its setting (empty values count as unset), so a container or Lambda
//! can change one value without a new file.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::{ConfigError, RelayConfig, StoreKind};
use crate::domain::secret::Secret;

pub const STORE: &str = "KELISIM_STORE";
pub const SQLITE_PATH: &str = "KELISIM_SQLITE_PATH";
pub const DYNAMODB_TABLE: &str = "KELISIM_DYNAMODB_TABLE";
pub const DYNAMODB_ENDPOINT: &str = "KELISIM_DYNAMODB_ENDPOINT";
pub const DYNAMODB_REGION: &str = "KELISIM_DYNAMODB_REGION";
pub const MANIFEST: &str = "KELISIM_MANIFEST";
pub const ENDPOINT_PATH: &str = "KELISIM_ENDPOINT_PATH";
/// Comma-separated origins, e.g. `https://woow.kz,https://www.woow.kz`.
pub const ALLOWED_ORIGINS: &str = "KELISIM_ALLOWED_ORIGINS";
/// Comma-separated `purpose=days`, and `reply_after_answer=days` (`[retention_days]`), e.g.
/// `reply=365,newsletter=1095,reply_after_answer=30`.
pub const RETENTION_DAYS: &str = "KELISIM_RETENTION_DAYS";
pub const FINGERPRINT_WINDOW_SECS: &str = "KELISIM_FINGERPRINT_WINDOW_SECS";
/// Comma-separated `kind=days`, e.g. `access=15,erasure=3`.
pub const REQUEST_DEADLINE_DAYS: &str = "KELISIM_REQUEST_DEADLINE_DAYS";
pub const STORAGE_LOCATION: &str = "KELISIM_STORAGE_LOCATION";
/// The key itself, hex or base64, at least 32 bytes.
pub const HMAC_KEY: &str = "KELISIM_HMAC_KEY";
/// A file holding the key (hex or base64).
pub const HMAC_KEY_FILE: &str = "KELISIM_HMAC_KEY_FILE";
/// The private receipt key itself (the JWK's JSON text). Never read from the TOML file.
pub const RECEIPT_KEY: &str = "KELISIM_RECEIPT_KEY";
/// A file holding the private receipt key.
pub const RECEIPT_KEY_FILE: &str = "KELISIM_RECEIPT_KEY_FILE";
/// `true`/`false`: `[rate_limit] enabled`.
pub const RATE_LIMIT_ENABLED: &str = "KELISIM_RATE_LIMIT_ENABLED";
pub const RATE_LIMIT_PER_CLIENT: &str = "KELISIM_RATE_LIMIT_PER_CLIENT";
pub const RATE_LIMIT_WINDOW_SECS: &str = "KELISIM_RATE_LIMIT_WINDOW_SECS";
pub const RATE_LIMIT_GLOBAL_PER_MINUTE: &str = "KELISIM_RATE_LIMIT_GLOBAL_PER_MINUTE";
/// `true`/`false`: `[rate_limit] trust_forwarded_for`.
pub const RATE_LIMIT_TRUST_FORWARDED_FOR: &str = "KELISIM_RATE_LIMIT_TRUST_FORWARDED_FOR";
/// `[proxy] client_address_header`, e.g. `CloudFront-Viewer-Address`.
pub const CLIENT_ADDRESS_HEADER: &str = "KELISIM_CLIENT_ADDRESS_HEADER";
/// The secret the CDN sends in `X-Origin-Verify`; never read from the TOML file.
pub const ORIGIN_SECRET: &str = "KELISIM_ORIGIN_SECRET";
/// The operator's SMTP server in lettre's URL form: `smtps://host:465`,
/// `smtp://host:587?tls=required`; plain `smtp://` only to a loopback address.
pub const SMTP_URL: &str = "KELISIM_SMTP_URL";
pub const SMTP_USER: &str = "KELISIM_SMTP_USER";
/// Never read from the TOML file.
pub const SMTP_PASSWORD: &str = "KELISIM_SMTP_PASSWORD";
/// The sender of every mail, e.g. `kelisim <relay@woow.kz>`.
pub const MAIL_FROM: &str = "KELISIM_MAIL_FROM";
/// Comma-separated addresses that receive the notifications.
pub const NOTIFY_TO: &str = "KELISIM_NOTIFY_TO";
pub const WEBHOOK_URL: &str = "KELISIM_WEBHOOK_URL";
/// The webhook signing secret. Never read from the TOML file.
pub const WEBHOOK_SECRET: &str = "KELISIM_WEBHOOK_SECRET";
/// Where the relay's endpoint is reachable from a visitor's mail client.
pub const PUBLIC_URL: &str = "KELISIM_PUBLIC_URL";

impl RelayConfig {
    /// Overrides settings from environment variables (see [`env`]); empty values count as
    /// unset. `lookup` is `std::env::var` in production and a map in tests.
    pub fn apply_env(
        &mut self,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<(), ConfigError> {
        let var = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        self.apply_store_env(&var)?;
        if let Some(path) = var(MANIFEST) {
            self.manifest = PathBuf::from(path);
        }
        if let Some(path) = var(ENDPOINT_PATH) {
            self.endpoint_path = Some(path);
        }
        if let Some(origins) = var(ALLOWED_ORIGINS) {
            self.allowed_origins = origins
                .split(',')
                .map(str::trim)
                .filter(|o| !o.is_empty())
                .map(str::to_owned)
                .collect();
        }
        if let Some(list) = var(RETENTION_DAYS) {
            let mut days = BTreeMap::new();
            set_days(
                &mut days,
                RETENTION_DAYS,
                &list,
                "`purpose=days` or `reply_after_answer=days`",
                |purpose| Some(purpose.to_owned()),
            )?;
            for (key, days) in days {
                self.retention_days.set(&key, days);
            }
        }
        if let Some(list) = var(REQUEST_DEADLINE_DAYS) {
            set_days(
                &mut self.request_deadline_days,
                REQUEST_DEADLINE_DAYS,
                &list,
                "`kind=days` with a known kind",
                |kind| {
                    crate::domain::request::RequestKind::parse(kind).map(|k| k.as_str().to_owned())
                },
            )?;
        }
        if let Some(secs) = var(FINGERPRINT_WINDOW_SECS) {
            self.fingerprint_window_secs = secs.trim().parse().map_err(|_| ConfigError::Env {
                var: FINGERPRINT_WINDOW_SECS,
                reason: "not a whole number of seconds".to_owned(),
            })?;
        }
        self.apply_rate_limit_env(&var)?;
        self.apply_notify_env(&var);
        if let Some(location) = var(STORAGE_LOCATION) {
            self.storage_location = Some(location);
        }
        if let Some(path) = var(HMAC_KEY_FILE) {
            self.hmac_key_file = Some(PathBuf::from(path));
        }
        if let Some(key) = var(HMAC_KEY) {
            self.hmac_key_env = Some(Secret::new(key));
        }
        if let Some(path) = var(RECEIPT_KEY_FILE) {
            self.receipt_key_file = Some(PathBuf::from(path));
        }
        if let Some(key) = var(RECEIPT_KEY) {
            self.receipt_key_env = Some(Secret::new(key));
        }
        Ok(())
    }

    /// The store's settings: which store, the SQLite file, the DynamoDB table, endpoint and
    /// region.
    fn apply_store_env(
        &mut self,
        var: &impl Fn(&str) -> Option<String>,
    ) -> Result<(), ConfigError> {
        if let Some(kind) = var(STORE) {
            self.store = match kind.trim() {
                "sqlite" => StoreKind::Sqlite,
                "dynamodb" => StoreKind::Dynamodb,
                other => {
                    return Err(ConfigError::Env {
                        var: STORE,
                        reason: format!("`{other}` is not `sqlite` or `dynamodb`"),
                    });
                }
            };
        }
        if let Some(path) = var(SQLITE_PATH) {
            self.sqlite.path = PathBuf::from(path);
        }
        if let Some(table) = var(DYNAMODB_TABLE) {
            self.dynamodb.table = Some(table);
        }
        if let Some(endpoint) = var(DYNAMODB_ENDPOINT) {
            self.dynamodb.endpoint_url = Some(endpoint);
        }
        if let Some(region) = var(DYNAMODB_REGION) {
            self.dynamodb.region = Some(region);
        }
        Ok(())
    }

    fn apply_notify_env(&mut self, var: &impl Fn(&str) -> Option<String>) {
        let notify = &mut self.notify;
        let text = |name: &str| var(name).map(|v| v.trim().to_owned());
        if let Some(v) = text(SMTP_URL) {
            notify.smtp_url = Some(v);
        }
        if let Some(v) = text(SMTP_USER) {
            notify.smtp_user = Some(v);
        }
        if let Some(v) = var(SMTP_PASSWORD) {
            notify.smtp_password = Some(Secret::new(v));
        }
        if let Some(v) = text(MAIL_FROM) {
            notify.mail_from = Some(v);
        }
        if let Some(v) = text(NOTIFY_TO) {
            notify.notify_to = v
                .split(',')
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(str::to_owned)
                .collect();
        }
        if let Some(v) = text(WEBHOOK_URL) {
            notify.webhook_url = Some(v);
        }
        if let Some(v) = var(WEBHOOK_SECRET) {
            notify.webhook_secret = Some(Secret::new(v));
        }
        if let Some(v) = text(PUBLIC_URL) {
            notify.public_url = Some(v);
        }
        if let Some(v) = text(CLIENT_ADDRESS_HEADER) {
            self.proxy.client_address_header = Some(v);
        }
        if let Some(v) = var(ORIGIN_SECRET) {
            self.proxy.origin_secret = Some(Secret::new(v));
        }
    }

    fn apply_rate_limit_env(
        &mut self,
        var: &impl Fn(&str) -> Option<String>,
    ) -> Result<(), ConfigError> {
        fn number<T: std::str::FromStr>(name: &'static str, text: &str) -> Result<T, ConfigError> {
            text.trim().parse().map_err(|_| ConfigError::Env {
                var: name,
                reason: "not a whole number".to_owned(),
            })
        }
        fn flag(name: &'static str, text: &str) -> Result<bool, ConfigError> {
            match text.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => Ok(true),
                "false" | "0" | "no" => Ok(false),
                _ => Err(ConfigError::Env {
                    var: name,
                    reason: "not `true` or `false`".to_owned(),
                }),
            }
        }
        let limit = &mut self.rate_limit;
        if let Some(v) = var(RATE_LIMIT_ENABLED) {
            limit.enabled = flag(RATE_LIMIT_ENABLED, &v)?;
        }
        if let Some(v) = var(RATE_LIMIT_PER_CLIENT) {
            limit.per_client = number(RATE_LIMIT_PER_CLIENT, &v)?;
        }
        if let Some(v) = var(RATE_LIMIT_WINDOW_SECS) {
            limit.window_secs = number(RATE_LIMIT_WINDOW_SECS, &v)?;
        }
        if let Some(v) = var(RATE_LIMIT_GLOBAL_PER_MINUTE) {
            limit.global_per_minute = number(RATE_LIMIT_GLOBAL_PER_MINUTE, &v)?;
        }
        if let Some(v) = var(RATE_LIMIT_TRUST_FORWARDED_FOR) {
            limit.trust_forwarded_for = flag(RATE_LIMIT_TRUST_FORWARDED_FOR, &v)?;
        }
        Ok(())
    }
}

/// Sets `days` from an environment variable's `key=days,key=days` list; `key` gives the key to
/// store (`None` refuses it), `expected` names the form in the refusal.
fn set_days(
    days: &mut BTreeMap<String, u32>,
    var: &'static str,
    list: &str,
    expected: &str,
    key: impl Fn(&str) -> Option<String>,
) -> Result<(), ConfigError> {
    for item in list.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let parsed = item
            .split_once('=')
            .and_then(|(k, d)| Some((key(k.trim())?, d.trim().parse::<u32>().ok()?)));
        let Some((k, d)) = parsed else {
            return Err(ConfigError::Env {
                var,
                reason: format!("`{item}` is not {expected}"),
            });
        };
        days.insert(k, d);
    }
    Ok(())
}
