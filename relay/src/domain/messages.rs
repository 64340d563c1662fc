//! The relay's own words, in the visitor's (or the operator's) language: refusals, field
//! errors, the double opt-in mail, the operator's notification and the access report.
//!
//! They are Fluent messages in `locales/<lang>/relay.ftl`, the same place the site's strings
//! live, so editors translate them once. `kelisim build` ships each language's file to the
//! relay inside the consent manifest ([`kelisim_manifest::LanguageConsent::messages`]); the same
//! files are compiled in as a fallback for a manifest written before they were shipped. Any
//! message missing in a language falls back to the site's default language, then to Kazakh.

use std::collections::BTreeMap;
use std::sync::Arc;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};

use crate::domain::fields::ErrorCode;
use kelisim_manifest::ConsentManifest;

/// What the relay can tell a visitor, beyond the per-field codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// A field was refused.
    Field(ErrorCode),
    /// The store could not confirm the write (503).
    Unavailable,
    /// The body is over the size limit (413).
    PayloadTooLarge,
    /// A method other than POST or OPTIONS (405).
    MethodNotAllowed,
    /// A request from a page on another site (403).
    ForbiddenOrigin,
    /// Neither a form post nor JSON (415).
    UnsupportedMediaType,
}

impl Notice {
    /// The Fluent message id.
    fn key(self) -> String {
        match self {
            Self::Field(code) => format!("relay-field-{}", code.as_str()),
            Self::Unavailable => "relay-unavailable".to_owned(),
            Self::PayloadTooLarge => "relay-payload-too-large".to_owned(),
            Self::MethodNotAllowed => "relay-method-not-allowed".to_owned(),
            Self::ForbiddenOrigin => "relay-forbidden-origin".to_owned(),
            Self::UnsupportedMediaType => "relay-unsupported-media-type".to_owned(),
        }
    }
}

/// The files compiled in: the fallback for manifests that carry no messages.
const BUILT_IN: [(&str, &str); 2] = [
    ("kk", include_str!("../../../locales/kk/relay.ftl")),
    ("ru", include_str!("../../../locales/ru/relay.ftl")),
];

/// The words of the access report (`report-*`, see [`crate::views::access_report`]).
pub const REPORT_KEYS: [&str; 35] = [
    "report-title",
    "report-intro",
    "report-date",
    "report-contact",
    "report-none",
    "report-record",
    "report-received",
    "report-kept-until",
    "report-state",
    "report-state-active",
    "report-state-withdrawn",
    "report-state-anonymized",
    "report-blocked",
    "report-storage",
    "report-data-held",
    "report-field-surname",
    "report-field-first_name",
    "report-field-patronymic",
    "report-field-email",
    "report-field-phone",
    "report-field-message",
    "report-removed",
    "report-purposes",
    "report-purpose",
    "report-granted",
    "report-legal-basis",
    "report-until",
    "report-yes",
    "report-no",
    "report-pending",
    "report-lapsed",
    "report-withdrawn-on",
    "report-policy",
    "report-policy-version",
    "report-corrections",
];

/// The operator's console's words (`kelisim-relay console`), over the relay's own: built in
/// only, since they are the operator's, not the site's.
const CONSOLE: [(&str, &str); 2] = [
    ("kk", include_str!("../../../locales/kk/console.ftl")),
    ("ru", include_str!("../../../locales/ru/console.ftl")),
];

/// The languages the console speaks.
pub const CONSOLE_LANGUAGES: [&str; 2] = ["kk", "ru"];

/// Every message the relay uses; [`Messages::from_manifest`] refuses a set that lacks one.
pub fn required_keys() -> Vec<String> {
    let mut keys: Vec<String> = [
        Notice::Unavailable,
        Notice::PayloadTooLarge,
        Notice::MethodNotAllowed,
        Notice::ForbiddenOrigin,
        Notice::UnsupportedMediaType,
    ]
    .into_iter()
    .chain(ErrorCode::ALL.into_iter().map(Notice::Field))
    .map(Notice::key)
    .collect();
    keys.extend(
        [
            "relay-back-to-form",
            "mail-confirm-subject",
            "mail-confirm-body",
            "mail-notify-subject",
            "mail-notify-body",
            "mail-notify-personal",
            "relay-confirmed",
            "relay-confirm-failed",
            "relay-link-grant",
            "relay-link-request",
            "relay-link-button",
            "relay-request-confirmed",
            "mail-request-subject",
            "mail-request-body",
            "mail-request-notify-subject",
            "mail-request-notify-body",
            "request-kind-access",
            "request-kind-rectification",
            "request-kind-withdrawal",
            "request-kind-blocking",
            "request-kind-erasure",
        ]
        .map(str::to_owned),
    );
    keys.extend(REPORT_KEYS.map(str::to_owned));
    keys
}

/// Why the messages could not be loaded. Names the language and the problem.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MessagesError {
    #[error("the relay messages for `{lang}` are not valid Fluent: {detail}")]
    Syntax { lang: String, detail: String },
    #[error("`{0}` is not a language tag")]
    Lang(String),
    #[error(
        "the relay messages for the default language `{lang}` lack `{key}`: add it to locales/{lang}/relay.ftl and rebuild the site"
    )]
    Missing { lang: String, key: String },
}

/// One Fluent bundle per language, plus which language stands in for missing messages.
#[derive(Clone)]
pub struct Messages {
    bundles: Arc<BTreeMap<String, FluentBundle<FluentResource>>>,
    default_lang: String,
}

impl std::fmt::Debug for Messages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Messages")
            .field("languages", &self.bundles.keys().collect::<Vec<_>>())
            .field("default_lang", &self.default_lang)
            .finish()
    }
}

impl Messages {
    /// The manifest's messages for each of its languages, over the built-in files: a message
    /// the manifest lacks (one added to the relay after the site was last built) falls back
    /// to the built-in text of the same language. The default language must define every
    /// required message.
    pub fn from_manifest(manifest: &ConsentManifest) -> Result<Self, MessagesError> {
        let mut layers: BTreeMap<String, Vec<String>> = BUILT_IN
            .iter()
            .map(|(lang, text)| ((*lang).to_owned(), vec![(*text).to_owned()]))
            .collect();
        for (lang, consent) in &manifest.languages {
            if !consent.messages.trim().is_empty() {
                layers
                    .entry(lang.clone())
                    .or_default()
                    .push(consent.messages.clone());
            }
        }
        Self::from_layers(&layers, &manifest.default_language)
    }

    /// Bundles from `lang → Fluent source`.
    pub fn from_sources(
        sources: &BTreeMap<String, String>,
        default_lang: &str,
    ) -> Result<Self, MessagesError> {
        let layers = sources
            .iter()
            .map(|(lang, source)| (lang.clone(), vec![source.clone()]))
            .collect();
        Self::from_layers(&layers, default_lang)
    }

    /// Bundles from `lang → Fluent sources`, each later source overriding the earlier ones
    /// message by message.
    fn from_layers(
        layers: &BTreeMap<String, Vec<String>>,
        default_lang: &str,
    ) -> Result<Self, MessagesError> {
        let mut bundles = BTreeMap::new();
        for (lang, sources) in layers {
            let id: unic_langid::LanguageIdentifier = lang
                .parse()
                .map_err(|_| MessagesError::Lang(lang.clone()))?;
            let mut bundle = FluentBundle::new_concurrent(vec![id]);
            // Plain-text output: no U+2068/U+2069 isolation marks around placeables.
            bundle.set_use_isolating(false);
            for source in sources {
                let resource = FluentResource::try_new(source.clone()).map_err(|(_, errors)| {
                    MessagesError::Syntax {
                        lang: lang.clone(),
                        detail: format!(
                            "{} error(s), the first: {:?}",
                            errors.len(),
                            errors.first()
                        ),
                    }
                })?;
                bundle.add_resource_overriding(resource);
            }
            bundles.insert(lang.clone(), bundle);
        }
        let default_lang = if bundles.contains_key(default_lang) {
            default_lang.to_owned()
        } else {
            "kk".to_owned()
        };
        let messages = Self {
            bundles: Arc::new(bundles),
            default_lang,
        };
        for key in required_keys() {
            let has = messages
                .bundles
                .get(&messages.default_lang)
                .is_some_and(|b| b.has_message(&key));
            if !has {
                return Err(MessagesError::Missing {
                    lang: messages.default_lang.clone(),
                    key,
                });
            }
        }
        Ok(messages)
    }

    /// The console's messages: the relay's (the manifest's over the built-in files, as
    /// [`Messages::from_manifest`], for the purpose and language names and the field errors)
    /// with the console's files over them, in the console's languages. `kk` is the default.
    pub fn for_console(manifest: Option<&ConsentManifest>) -> Result<Self, MessagesError> {
        let mut layers: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (lang, text) in BUILT_IN.iter().chain(CONSOLE.iter()) {
            layers
                .entry((*lang).to_owned())
                .or_default()
                .push((*text).to_owned());
        }
        if let Some(manifest) = manifest {
            for lang in CONSOLE_LANGUAGES {
                let site = manifest.languages.get(lang).map(|l| l.messages.as_str());
                if let (Some(site), Some(layer)) = (site, layers.get_mut(lang))
                    && !site.trim().is_empty()
                {
                    // Between the relay's built-in words and the console's.
                    layer.insert(1, site.to_owned());
                }
            }
        }
        Self::from_layers(&layers, "kk")
    }

    /// Whether `lang` defines `key` itself (no fallback).
    pub fn defines(&self, lang: &str, key: &str) -> bool {
        self.bundles.get(lang).is_some_and(|b| b.has_message(key))
    }

    /// The built-in files alone (tests, and tools that have no manifest).
    pub fn built_in() -> Self {
        let sources = BUILT_IN
            .iter()
            .map(|(lang, text)| ((*lang).to_owned(), (*text).to_owned()))
            .collect();
        // The built-in files are checked by this crate's tests; should they ever break, an
        // empty set still answers (with message ids) rather than panicking.
        Self::from_sources(&sources, "kk").unwrap_or_else(|_| Self {
            bundles: Arc::new(BTreeMap::new()),
            default_lang: "kk".to_owned(),
        })
    }

    /// `key` in `lang` with `args`; falls back to the default language, then to the key.
    pub fn format(&self, lang: &str, key: &str, args: &[(&str, FluentValue<'_>)]) -> String {
        self.lookup(lang, key, args)
            .unwrap_or_else(|| key.to_owned())
    }

    /// A name the site may give in words (`purpose-<id>`, `language-<tag>`): `key` in `lang`
    /// (or the default language), else `fallback`, the bare identifier. The site's purposes
    /// are its own, so a name missing from an older build is not an error.
    pub fn name_or(&self, lang: &str, key: &str, fallback: &str) -> String {
        self.lookup(lang, key, &[])
            .unwrap_or_else(|| fallback.to_owned())
    }

    /// `key` in `lang` itself, with no fallback to another language: for the words a site
    /// gives about itself in a document that must read in one language throughout (the
    /// access report). `None` when `lang` does not define it.
    pub fn in_language(&self, lang: &str, key: &str) -> Option<String> {
        let bundle = self.bundles.get(lang)?;
        let pattern = bundle.get_message(key)?.value()?;
        let mut errors = Vec::new();
        Some(
            bundle
                .format_pattern(pattern, None, &mut errors)
                .into_owned(),
        )
    }

    /// The words `lang` gives for a value the relay stamped from its own settings: message
    /// `key` in `lang`, but only when its `.stamped` attribute is exactly `stamped` (trimmed).
    /// A setting can change between records, so words tied to the value they translate never
    /// describe a record stamped with another.
    pub fn stamped_in_language(&self, lang: &str, key: &str, stamped: &str) -> Option<String> {
        let bundle = self.bundles.get(lang)?;
        let message = bundle.get_message(key)?;
        let mut errors = Vec::new();
        let attribute = message.get_attribute("stamped")?;
        let original = bundle.format_pattern(attribute.value(), None, &mut errors);
        if original.trim() != stamped.trim() {
            return None;
        }
        let pattern = message.value()?;
        Some(
            bundle
                .format_pattern(pattern, None, &mut errors)
                .into_owned(),
        )
    }

    fn lookup(&self, lang: &str, key: &str, args: &[(&str, FluentValue<'_>)]) -> Option<String> {
        let mut fluent_args = FluentArgs::new();
        for (name, value) in args {
            fluent_args.set(*name, value.clone());
        }
        for candidate in [lang, self.default_lang.as_str()] {
            let Some(bundle) = self.bundles.get(candidate) else {
                continue;
            };
            let Some(pattern) = bundle.get_message(key).and_then(|m| m.value()) else {
                continue;
            };
            let mut errors = Vec::new();
            let text = bundle.format_pattern(pattern, Some(&fluent_args), &mut errors);
            return Some(text.into_owned());
        }
        None
    }

    /// The text of `notice` in `lang`.
    pub fn text(&self, lang: &str, notice: Notice) -> String {
        self.format(lang, &notice.key(), &[])
    }

    /// The link text back to the contact form, on the relay's own HTML error pages.
    pub fn back_to_form(&self, lang: &str) -> String {
        self.format(lang, "relay-back-to-form", &[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_distinct_kazakh_and_russian_texts() {
        let messages = Messages::built_in();
        for code in ErrorCode::ALL {
            let kk = messages.text("kk", Notice::Field(code));
            let ru = messages.text("ru", Notice::Field(code));
            assert_ne!(kk, ru, "{code}");
            assert!(
                kk.ends_with('.') && ru.ends_with('.'),
                "{code}: {kk} / {ru}"
            );
        }
        assert_eq!(
            messages.text("de", Notice::Unavailable),
            messages.text("kk", Notice::Unavailable)
        );
    }

    #[test]
    fn both_console_languages_define_the_same_console_messages() {
        let keys = |text: &str| -> std::collections::BTreeSet<String> {
            text.lines()
                .filter_map(|l| l.split_once(" = ").map(|(k, _)| k.trim().to_owned()))
                .filter(|k| k.starts_with("console-") && !k.contains(' '))
                .collect()
        };
        let kk = keys(CONSOLE[0].1);
        assert!(kk.len() > 100, "{} console keys", kk.len());
        assert_eq!(kk, keys(CONSOLE[1].1), "kk and ru console.ftl");
        let messages = Messages::for_console(None).expect("console messages");
        for key in &kk {
            for lang in CONSOLE_LANGUAGES {
                assert!(messages.defines(lang, key), "{lang} lacks {key}");
            }
        }
        assert_ne!(
            messages.format("kk", "console-inbox-title", &[]),
            messages.format("ru", "console-inbox-title", &[])
        );
        assert!(
            messages
                .format("ru", "console-age-days", &[("days", FluentValue::from(3))])
                .contains("3 дня")
        );
    }

    #[test]
    fn a_name_the_site_does_not_give_falls_back_to_its_identifier() {
        let messages = Messages::built_in();
        assert_eq!(
            messages.name_or("ru", "purpose-newsletter", "newsletter"),
            "отправка информационных писем"
        );
        assert_eq!(
            messages.name_or("ru", "purpose-loyalty", "loyalty"),
            "loyalty"
        );
    }

    #[test]
    fn both_built_in_languages_define_every_message() {
        for (lang, _) in BUILT_IN {
            let messages = Messages::built_in();
            let bundle = messages.bundles.get(lang).expect("bundle");
            for key in required_keys() {
                assert!(bundle.has_message(&key), "{lang} lacks {key}");
            }
        }
    }

    #[test]
    fn plurals_follow_each_language() {
        let messages = Messages::built_in();
        let body = |lang: &str, days: i64| {
            messages.format(
                lang,
                "mail-confirm-body",
                &[
                    ("days", FluentValue::from(days)),
                    ("link", FluentValue::from("L")),
                    ("operator", FluentValue::from("O")),
                    ("website", FluentValue::from("W")),
                    ("policy_url", FluentValue::from("P")),
                ],
            )
        };
        assert!(body("ru", 1).contains("1 день"));
        assert!(body("ru", 3).contains("3 дня"));
        assert!(body("ru", 7).contains("7 дней"));
        assert!(body("kk", 7).contains("7 күн"));
        assert!(!body("kk", 7).contains('\u{2068}'), "no isolation marks");
    }

    #[test]
    fn the_manifest_overrides_built_in_messages_and_built_in_fills_gaps() {
        let mut manifest: ConsentManifest = serde_json::from_str(
            r#"{"schema_version":1,"generator":"x","base_url":"https://e.kz","default_language":"kk",
            "operator":{"name":"n","email":"e@e.kz","website":"https://e.kz"},"form_endpoint":"/f",
            "purposes":[],"languages":{}}"#,
        )
        .expect("manifest");
        let language: kelisim_manifest::LanguageConsent =
            serde_json::from_value(serde_json::json!({
                "policy": {"version":"1","effective_date":"2024-01-01","url":"u","sha256":"h"},
                "contact_url":"c","thanks_url":"t","error_url":"e","labels":{},
                "messages":"relay-unavailable = Edited by the editor.\n"
            }))
            .expect("language");
        manifest.languages.insert("kk".to_owned(), language);
        let messages = Messages::from_manifest(&manifest).expect("messages");
        assert_eq!(
            messages.text("kk", Notice::Unavailable),
            "Edited by the editor."
        );
        assert_eq!(
            messages.text("kk", Notice::ForbiddenOrigin),
            Messages::built_in().text("kk", Notice::ForbiddenOrigin),
            "a message the manifest lacks comes from the built-in file"
        );
    }

    #[test]
    fn a_default_language_without_a_message_is_refused() {
        let sources = BTreeMap::from([("kk".to_owned(), "relay-unavailable = x\n".to_owned())]);
        let error = Messages::from_sources(&sources, "kk").expect_err("incomplete");
        assert!(matches!(error, MessagesError::Missing { .. }), "{error}");
        let broken = BTreeMap::from([("kk".to_owned(), "= nope".to_owned())]);
        assert!(matches!(
            Messages::from_sources(&broken, "kk"),
            Err(MessagesError::Syntax { .. })
        ));
    }
}
