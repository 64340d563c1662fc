//! The translation checks: `translations` (a page without a version in one of the site's
//! languages) and `fluent` (a UI string defined in one language only, or used by nothing).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::{Finding, Severity};
use crate::build::LoadedSite;
use crate::load::source::Location;
use crate::render::pages::LinkFlow;

/// Keys the generator formats in code rather than in a template.
const KEYS_USED_IN_CODE: &[&str] = &[
    "site-name",
    "site-description",
    "policy-changes-title",
    "policy-changes-intro",
    "policy-changes-none",
    "policy-changes-added",
    "policy-changes-removed",
    "policy-changes-changed",
];

/// Pages that lack a version in one of the site's languages.
pub(super) fn translations(loaded: &LoadedSite) -> Vec<Finding> {
    let model = &loaded.model;
    let mut findings = Vec::new();
    for page in &model.pages {
        for lang in &model.languages {
            if !page.translations.iter().any(|t| &t.lang == lang) {
                findings.push(Finding::new(
                    Severity::Warning,
                    "translations",
                    Location::new(&page.source, 1),
                    format!(
                        "{} has no `{lang}` translation: add content/{lang}/{}.md (or a page with translation_key = \"{}\").",
                        page.url, page.key, page.key
                    ),
                ));
            }
        }
    }
    findings
}

/// Fluent keys defined in one language only, and `main.ftl` keys nothing uses.
pub(super) fn fluent(loaded: &LoadedSite, root: &Path) -> Vec<Finding> {
    let locales = &loaded.locales;
    let languages: Vec<&str> = loaded.model.languages.iter().map(|l| l.as_str()).collect();
    let keys: BTreeMap<&str, BTreeSet<String>> = languages
        .iter()
        .map(|l| (*l, locales.keys(l).into_iter().collect()))
        .collect();
    let all: BTreeSet<&String> = keys.values().flatten().collect();
    let mut findings = missing_translations(locales, &languages, &keys, &all);
    let used = used_keys(loaded, root);
    for key in &all {
        if used.contains(key.as_str()) {
            continue;
        }
        for lang in &languages {
            let Some(at) = locales.origin(lang, key) else {
                continue;
            };
            if at.file.file_name().is_some_and(|n| {
                n == crate::load::i18n::RELAY_FILE || n == crate::load::i18n::CONSOLE_FILE
            }) {
                continue; // the relay's and its console's own messages
            }
            findings.push(Finding::new(
                Severity::Warning,
                "fluent",
                at.clone(),
                format!("`{key}` is not used by any template. Remove it, or use it with t(key=\"{key}\")."),
            ));
        }
    }
    findings
}

/// A finding for each Fluent key that some language defines and another lacks.
fn missing_translations(
    locales: &crate::load::i18n::Locales,
    languages: &[&str],
    keys: &BTreeMap<&str, BTreeSet<String>>,
    all: &BTreeSet<&String>,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    for key in all {
        let has: Vec<&str> = languages
            .iter()
            .copied()
            .filter(|l| keys[l].contains(*key))
            .collect();
        for lang in languages.iter().filter(|l| !has.contains(l)) {
            let Some(at) = has.first().and_then(|l| locales.origin(l, key)) else {
                continue;
            };
            findings.push(Finding::new(
                Severity::Warning,
                "fluent",
                at.clone(),
                format!(
                    "`{key}` has no `{lang}` text: add `{key} = ...` to locales/{lang}/{}.",
                    at.file
                        .file_name()
                        .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
                ),
            ));
        }
    }
    findings
}

/// Every Fluent key the site may use: those named in code, any key-shaped word in a
/// template, the form fields' labels and hints, and one consent label per purpose.
fn used_keys(loaded: &LoadedSite, root: &Path) -> BTreeSet<String> {
    let templates = crate::load::templates::load_templates(root, &loaded.model.config.theme)
        .unwrap_or_default();
    let mut used: BTreeSet<String> = KEYS_USED_IN_CODE.iter().map(|k| (*k).to_owned()).collect();
    // Any key-shaped word in a template counts as a use: `t(key="…")`, and macro arguments
    // such as `label_key="form-surname"` that reach t() later.
    for template in &templates {
        used.extend(
            template
                .text
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
                .filter(|w| !w.is_empty())
                .map(str::to_owned),
        );
    }
    // The form's labels and hints are named in code from the fields the manifest defines.
    for field in kelisim_manifest::form::person_fields() {
        let key = format!("form-{}", field.name.replace('_', "-"));
        used.insert(format!("{key}-hint"));
        used.insert(key);
    }
    // `t(key="consent-" ~ purpose.id)` names one key per purpose.
    for purpose in &loaded.model.config.purposes {
        used.insert(format!("consent-{}", purpose.id));
    }
    // The confirmation-link pages name theirs by flow (`t(key="link-" ~ flow ~ "-text")`).
    for flow in [LinkFlow::Grant, LinkFlow::Request] {
        for part in ["title", "text", "button", "ignore"] {
            used.insert(format!("link-{}-{part}", flow.name()));
        }
    }
    used
}
