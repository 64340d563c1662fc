//! The functions and filters every template can use: `t(key=...)` (a Fluent string, see
//! [`crate::load::i18n`]), `url(path=...)`, `asset(path=...)` and `| date`, each bound to a
//! page's language by the [`Renderer`](super::Renderer).

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use crate::load::i18n::{Arg, Locales};
use crate::load::source::Warnings;

/// `t(key="...", name=value, ...)`: a Fluent message in the page's language. Numbers stay
/// numbers (plural rules); strings are HTML-escaped; `lang="ru"` asks for another language
/// (the language chooser shows each language in itself).
pub(super) struct Translate {
    pub(super) locales: Arc<Locales>,
    pub(super) lang: String,
    pub(super) warnings: Warnings,
}

impl tera::Function for Translate {
    fn call(&self, args: &HashMap<String, Value>) -> tera::Result<Value> {
        let key = args
            .get("key")
            .and_then(Value::as_str)
            .ok_or_else(|| tera::Error::msg("t() needs key=\"message-id\""))?;
        let lang = args
            .get("lang")
            .and_then(Value::as_str)
            .unwrap_or(&self.lang);
        let mut fluent_args: Vec<(String, Arg)> = args
            .iter()
            .filter(|(name, _)| name.as_str() != "key" && name.as_str() != "lang")
            .map(|(name, value)| {
                let arg = match value {
                    Value::Number(n) => Arg::Number(n.as_f64().unwrap_or(0.0)),
                    Value::String(s) => Arg::Text(s.clone()),
                    Value::Null => Arg::Text(String::new()),
                    other => Arg::Text(other.to_string()),
                };
                (name.clone(), arg)
            })
            .collect();
        fluent_args.sort_by(|a, b| a.0.cmp(&b.0));
        let translation = self
            .locales
            .format(lang, key, &fluent_args)
            .map_err(|e| tera::Error::chain(format!("t(key=\"{key}\")"), e))?;
        if translation.fell_back {
            self.warnings.push(format!(
                "locales/{lang}/: the UI string `{key}` is missing; the {} text is shown instead. Add `{key} = ...` to locales/{lang}/*.ftl.",
                self.locales.default_language()
            ));
        }
        Ok(Value::String(translation.html))
    }

    fn is_safe(&self) -> bool {
        // The message text is trusted HTML and its arguments are escaped in `Locales::format`.
        true
    }
}

/// `url(path="/kk/privacy/")`: the absolute URL on the published site.
pub(super) struct UrlFor {
    pub(super) base_url: String,
}

impl tera::Function for UrlFor {
    fn call(&self, args: &HashMap<String, Value>) -> tera::Result<Value> {
        let path = args
            .get("path")
            .and_then(Value::as_str)
            .ok_or_else(|| tera::Error::msg("url() needs path=\"/...\""))?;
        Ok(Value::String(absolute(&self.base_url, path)))
    }
}

/// Joins the base URL and a site-relative path.
pub fn absolute(base_url: &str, path: &str) -> String {
    if path.starts_with("http://") || path.starts_with("https://") {
        return path.to_owned();
    }
    format!(
        "{}/{}",
        base_url.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

/// `asset(path="style.css")`: `/static/style.1a2b3c4d5e.css`, the name that changes with the
/// content, so servers can let browsers keep it for a year.
pub(super) struct AssetUrl {
    pub(super) assets: Arc<std::collections::BTreeMap<String, String>>,
}

impl tera::Function for AssetUrl {
    fn call(&self, args: &HashMap<String, Value>) -> tera::Result<Value> {
        let path = args
            .get("path")
            .and_then(Value::as_str)
            .ok_or_else(|| tera::Error::msg("asset() needs path=\"file in static/\""))?;
        let name = path.trim_start_matches('/').trim_start_matches("static/");
        match self.assets.get(name) {
            Some(url) => Ok(Value::String(url.clone())),
            None => Err(tera::Error::msg(format!(
                "asset(path=\"{path}\"): there is no static/{name}. Use one of: {}",
                self.assets.keys().cloned().collect::<Vec<_>>().join(", ")
            ))),
        }
    }

    fn is_safe(&self) -> bool {
        true
    }
}

/// `{{ "2024-02-11" | date }}`: the long date in the page's language.
pub(super) struct LocalDate {
    pub(super) lang: String,
}

impl tera::Filter for LocalDate {
    fn filter(&self, value: &Value, _args: &HashMap<String, Value>) -> tera::Result<Value> {
        let text = value.as_str().unwrap_or_default();
        let date = kelisim_manifest::dates::parse_date(text).ok_or_else(|| {
            tera::Error::msg(format!("the date filter needs YYYY-MM-DD, got `{text}`"))
        })?;
        Ok(Value::String(kelisim_manifest::dates::format_long(
            date, &self.lang,
        )))
    }
}
