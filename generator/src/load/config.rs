//! `site.toml`: the site's settings, parsed into a typed [`SiteConfig`].

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::load::lang::Lang;
use crate::load::source::{Location, line_of};

/// The site's settings, as written in `site.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteConfig {
    /// Absolute URL the site is published at, without a trailing slash.
    pub base_url: String,
    /// Theme folder under `themes/`.
    #[serde(default = "default_theme")]
    pub theme: String,
    /// Where the contact form posts (a path on the same site, or an absolute URL).
    pub form_endpoint: String,
    /// Languages in menu order; the first is the default (and `x-default`).
    pub languages: Vec<Language>,
    /// The data controller, exactly as the policy names it.
    pub operator: kelisim_manifest::Operator,
    /// Purposes offered in the contact form, in the order shown.
    pub purposes: Vec<kelisim_manifest::Purpose>,
    /// Hours after a new policy version takes effect during which the relay still accepts the
    /// previous one from pages opened before the deploy (the manifest's `policy_grace_hours`).
    #[serde(default = "default_policy_grace_hours")]
    pub policy_grace_hours: u32,
    /// The public keys the relay signs receipts with (a JWK Set), relative to the site root;
    /// `receipt-keys.json` when absent and that file exists. Published at
    /// `/.well-known/kelisim-receipt-keys.json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_keys: Option<String>,
}

/// The receipt keys' file when `site.toml` names none.
pub const DEFAULT_RECEIPT_KEYS: &str = "receipt-keys.json";

/// The longest grace a site may set: a month covers any visitor who kept a tab open.
pub const MAX_POLICY_GRACE_HOURS: u32 = 720;

fn default_policy_grace_hours() -> u32 {
    kelisim_manifest::DEFAULT_POLICY_GRACE_HOURS
}

fn default_theme() -> String {
    "default".to_owned()
}

/// One language the site is published in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Language {
    /// BCP 47 tag used in URLs, `lang`, `hreflang` and Fluent (`kk`, `ru`).
    pub code: Lang,
    /// The language's name in itself (Қазақша), shown in the switcher.
    pub name: String,
    /// The operator's name as pages in this language write it (ТОО «…» in Russian for
    /// «…» ЖШС): footer, contact block and consent labels. `[operator] name` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator_name: Option<String>,
}

/// Why `site.toml` could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{location}: site.toml is not valid: {message}. Fix that line and build again.")]
    Syntax { location: Location, message: String },
    #[error("site.toml: {0}. Fix it and build again.")]
    Invalid(String),
    #[error("{location}: {message}.")]
    Incomplete { location: Location, message: String },
}

impl FromStr for SiteConfig {
    type Err = ConfigError;

    /// Parses and checks `site.toml`'s text. Errors carry `site.toml:<line>`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut config: SiteConfig = toml::from_str(text).map_err(|e| ConfigError::Syntax {
            location: Location::new(
                "site.toml",
                e.span().map(|s| line_of(text, s.start)).unwrap_or(1),
            ),
            message: e.message().trim().replace('\n', "; "),
        })?;
        config.base_url = config.base_url.trim_end_matches('/').to_owned();
        config.check()?;
        config.check_retention(text)?;
        Ok(config)
    }
}

impl SiteConfig {
    /// The default language: the first one listed.
    pub fn default_language(&self) -> &Language {
        // `check` guarantees at least one language; this index is therefore safe, but we still
        // avoid indexing so a future refactor cannot turn it into a panic.
        self.languages
            .first()
            .unwrap_or_else(|| unreachable_language())
    }

    /// The language with this code, if the site has it.
    pub fn language(&self, code: &str) -> Option<&Language> {
        self.languages.iter().find(|l| l.code == code)
    }

    /// The operator's name on pages in `lang`: the language's `operator_name`, else the
    /// legal name from `[operator]`.
    pub fn operator_name(&self, lang: &str) -> &str {
        self.language(lang)
            .and_then(|l| l.operator_name.as_deref())
            .unwrap_or(&self.operator.name)
    }

    /// Replaces the base URL (`--base-url`), normalised like the one in the file.
    pub fn set_base_url(&mut self, url: &str) -> Result<(), ConfigError> {
        self.base_url = url.trim_end_matches('/').to_owned();
        self.check()
    }

    fn check(&self) -> Result<(), ConfigError> {
        if !(self.base_url.starts_with("https://") || self.base_url.starts_with("http://")) {
            return Err(ConfigError::Invalid(format!(
                "base_url must be an absolute http(s) URL such as https://example.kz, not `{}`",
                self.base_url
            )));
        }
        if self.policy_grace_hours > MAX_POLICY_GRACE_HOURS {
            return Err(ConfigError::Invalid(format!(
                "policy_grace_hours is {}, more than {MAX_POLICY_GRACE_HOURS} (30 days): a page opened before a deploy is reloaded long before that",
                self.policy_grace_hours
            )));
        }
        if self.languages.is_empty() {
            return Err(ConfigError::Invalid(
                "list at least one [[languages]] entry".to_owned(),
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        for lang in &self.languages {
            let code = lang.code.as_str();
            let valid = !code.is_empty()
                && code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && code.parse::<unic_langid::LanguageIdentifier>().is_ok();
            if !valid {
                return Err(ConfigError::Invalid(format!(
                    "language code `{}` is not a BCP 47 tag such as `kk` or `ru`",
                    lang.code
                )));
            }
            if !seen.insert(lang.code.as_str()) {
                return Err(ConfigError::Invalid(format!(
                    "language `{}` is listed twice",
                    lang.code
                )));
            }
        }
        if self.theme.is_empty() || self.theme.contains(['/', '\\']) || self.theme == ".." {
            return Err(ConfigError::Invalid(format!(
                "theme must be a folder name under themes/, not `{}`",
                self.theme
            )));
        }
        let mut purposes = std::collections::BTreeSet::new();
        for purpose in &self.purposes {
            if !purposes.insert(purpose.id.as_str()) {
                return Err(ConfigError::Invalid(format!(
                    "purpose `{}` is listed twice",
                    purpose.id
                )));
            }
        }
        Ok(())
    }
}

impl SiteConfig {
    /// Every purpose states how long its data are kept: its consent label says so, from this
    /// number, and the relay keeps them that long.
    fn check_retention(&self, text: &str) -> Result<(), ConfigError> {
        for purpose in &self.purposes {
            let days = purpose.retention_days;
            if days.is_some_and(|d| d > 0) {
                continue;
            }
            let id_line = format!("id = \"{}\"", purpose.id);
            let line = text
                .lines()
                .position(|l| l.trim() == id_line)
                .map_or(1, |at| at + 1);
            let what = if days.is_some() {
                "0 days"
            } else {
                "no retention_days"
            };
            return Err(ConfigError::Incomplete {
                location: Location::new("site.toml", line),
                message: format!(
                    "purpose `{}` has {what}. Add `retention_days = 365` (how many days its data are kept, counted from the consent) under its [[purposes]]; its consent label states the same period",
                    purpose.id
                ),
            });
        }
        Ok(())
    }
}

#[cold]
fn unreachable_language() -> &'static Language {
    static FALLBACK: std::sync::OnceLock<Language> = std::sync::OnceLock::new();
    FALLBACK.get_or_init(|| Language {
        code: Lang::new("kk"),
        name: "Қазақша".to_owned(),
        operator_name: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SITE: &str = r#"
base_url = "https://example.kz/"
form_endpoint = "/api/contact"
[[languages]]
code = "kk"
name = "Қазақша"
[[languages]]
code = "ru"
name = "Русский"
[operator]
name = "Op"
email = "op@example.kz"
website = "https://example.kz"
[[purposes]]
id = "reply"
required = true
legal_basis = "consent"
data_categories = ["email"]
retention_days = 365
"#;

    #[test]
    fn parses_and_normalises_base_url() {
        let config: SiteConfig = SITE.parse().expect("valid");
        assert_eq!(config.base_url, "https://example.kz");
        assert_eq!(config.theme, "default");
        assert_eq!(config.default_language().code, "kk");
        assert_eq!(
            config.language("ru").map(|l| l.name.as_str()),
            Some("Русский")
        );
        assert_eq!(config.operator_name("ru"), "Op");
        let named = SITE.replace(
            "name = \"Русский\"",
            "name = \"Русский\"\noperator_name = \"ТОО Op\"",
        );
        let config: SiteConfig = named.parse().expect("valid");
        assert_eq!(config.operator_name("ru"), "ТОО Op");
        assert_eq!(config.operator_name("kk"), "Op");
    }

    #[test]
    fn syntax_error_names_the_line() {
        let broken = SITE.replace("code = \"ru\"", "code = ru");
        let err = broken.parse::<SiteConfig>().expect_err("invalid");
        let text = err.to_string();
        assert!(text.starts_with("site.toml:8:"), "{text}");
    }

    #[test]
    fn every_purpose_needs_its_retention() {
        let config: SiteConfig = SITE.parse().expect("valid");
        assert_eq!(config.purposes[0].retention_days, Some(365));
        let without = SITE.replace("retention_days = 365\n", "");
        let err = without.parse::<SiteConfig>().expect_err("no retention");
        let text = err.to_string();
        assert!(text.starts_with("site.toml:15: "), "{text}");
        assert!(text.contains("Add `retention_days = 365`"), "{text}");
    }

    #[test]
    fn rejects_relative_base_url_and_bad_language() {
        let relative = SITE.replace("https://example.kz/\"", "/site\"");
        assert!(relative.parse::<SiteConfig>().is_err());
        let bad_lang = SITE.replace("code = \"ru\"", "code = \"r u\"");
        assert!(bad_lang.parse::<SiteConfig>().is_err());
        let twice = SITE.replace("code = \"ru\"", "code = \"kk\"");
        assert!(twice.parse::<SiteConfig>().is_err());
    }
}
