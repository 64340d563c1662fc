//! What the page templates see: `page`, `policy`, the form's fields, the language switcher's
//! entries, and the context every template of a language shares ([`common_context`]).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::load::i18n::Locales;
use crate::model::SiteModel;
use crate::model::markdown::TocEntry;
use crate::model::page::PageKind;

/// `page` in templates.
#[derive(Serialize)]
pub(super) struct PageContext<'a> {
    pub(super) key: &'a str,
    /// What the page is for (`thanks`, `request-error`, ...; `page` for any other).
    pub(super) kind: PageKind,
    pub(super) title: &'a str,
    pub(super) description: String,
    pub(super) lang: &'a str,
    /// Site-relative URL.
    pub(super) url: &'a str,
    /// Absolute URL.
    pub(super) permalink: String,
    pub(super) template: &'a str,
    pub(super) date: Option<String>,
    pub(super) updated: Option<String>,
    pub(super) content: &'a str,
    pub(super) toc: &'a [TocEntry],
    pub(super) show_toc: bool,
    /// Number of `h2` sections (for "12 sections" style counts).
    pub(super) section_count: usize,
    pub(super) version: Option<&'a str>,
    pub(super) effective_date: Option<String>,
    pub(super) translation_of: Option<&'a str>,
    /// Set on the permanent `/<lang>/privacy/<version>/` copy (current or superseded).
    pub(super) is_versioned: bool,
    /// Set on an archived, superseded policy version.
    pub(super) superseded: bool,
    /// Not content for search engines: `<meta name="robots" content="noindex">`.
    pub(super) noindex: bool,
    /// A policy that is still a placeholder (only `kelisim serve` shows one).
    pub(super) placeholder: bool,
    pub(super) extra: Option<&'a toml::Table>,
}

impl<'a> PageContext<'a> {
    /// A page made in code rather than from a content file (the chooser, the relay's
    /// documents): a title and URL, nothing else.
    pub(super) fn bare(
        title: &'a str,
        description: String,
        lang: &'a str,
        url: &'a str,
        permalink: String,
        template: &'a str,
    ) -> Self {
        Self {
            key: "",
            kind: PageKind::Page,
            title,
            description,
            lang,
            url,
            permalink,
            template,
            date: None,
            updated: None,
            content: "",
            toc: &[],
            show_toc: false,
            section_count: 0,
            version: None,
            effective_date: None,
            translation_of: None,
            is_versioned: false,
            superseded: false,
            noindex: false,
            placeholder: false,
            extra: None,
        }
    }
}

/// How long a purpose's data are kept, as its consent label states it: `days`, and `years`
/// when the days are a whole number of years (365 each), else 0.
#[derive(Serialize)]
struct Retention {
    days: u32,
    years: u32,
}

impl Retention {
    fn of(days: u32) -> Self {
        let years = if days.is_multiple_of(365) {
            days / 365
        } else {
            0
        };
        Self { days, years }
    }
}
/// `policy` in templates: the current policy of the page's language.
#[derive(Serialize)]
pub(super) struct PolicyContext<'a> {
    pub(super) version: &'a str,
    pub(super) effective_date: String,
    /// Site-relative permanent URL.
    pub(super) url: &'a str,
    pub(super) current_url: &'a str,
    sha256: &'a str,
    pub(super) translation_of: Option<&'a str>,
    /// The "what changed" page of this version, when an earlier version exists.
    pub(super) changes_url: Option<String>,
}

/// A form field as the theme renders it: the manifest's definition (name, kind, limit,
/// autocomplete) plus the Fluent keys of its label and, where the locales have one, its hint.
#[derive(Serialize)]
pub(super) struct FieldContext {
    #[serde(flatten)]
    pub(super) field: kelisim_manifest::form::FormField,
    pub(super) label_key: String,
    pub(super) hint_key: Option<String>,
}

/// One entry of the language switcher.
#[derive(Serialize)]
pub(super) struct LanguageLink<'a> {
    pub(super) code: &'a str,
    pub(super) name: &'a str,
    pub(super) url: String,
    pub(super) current: bool,
}

/// What every template sees: `site`, `lang`, `operator_name` (in that language),
/// `form_fields`, `retention` (each purpose's period: `days`, and `years` when whole, else 0,
/// for its consent label), `links` to the built-in pages, the current `policy` and the
/// `previous_policies`.
pub(super) fn common_context(model: &SiteModel, locales: &Locales, lang: &str) -> tera::Context {
    let mut context = tera::Context::new();
    context.insert("site", &model.config);
    context.insert("lang", lang);
    context.insert("operator_name", model.config.operator_name(lang));
    context.insert("form_fields", &form_fields(locales, lang));
    let retention: BTreeMap<&str, Retention> = model
        .config
        .purposes
        .iter()
        .filter_map(|p| Some((p.id.as_str(), Retention::of(p.retention_days?))))
        .collect();
    context.insert("retention", &retention);
    let mut links = BTreeMap::new();
    links.insert("home", model.home_url(lang));
    for (name, kind) in [
        ("privacy", PageKind::Policy),
        ("contact", PageKind::Contact),
        ("thanks", PageKind::Thanks),
        ("error", PageKind::FormError),
        ("request", PageKind::Request),
    ] {
        if let Some(page) = model.find(kind, lang) {
            links.insert(name, page.url.clone());
        }
    }
    context.insert("links", &links);
    context.insert("previous_policies", &model.policies.links(lang));
    if let Some(policy) = model.policies.current(lang) {
        context.insert(
            "policy",
            &PolicyContext {
                version: &policy.version,
                effective_date: kelisim_manifest::dates::iso(policy.effective_date),
                url: &policy.url,
                current_url: &policy.current_url,
                sha256: &policy.sha256,
                translation_of: policy.translation_of.as_deref(),
                changes_url: model
                    .policies
                    .archived_in(lang)
                    .next()
                    .map(|_| policy.changes_url()),
            },
        );
    }
    context
}

/// The contact form's fields, from the definition the manifest publishes and the relay
/// enforces ([`kelisim_manifest::form::person_fields`]): the page cannot drift from it.
fn form_fields(locales: &Locales, lang: &str) -> Vec<FieldContext> {
    kelisim_manifest::form::person_fields()
        .into_iter()
        .map(|field| {
            let key = format!("form-{}", field.name.replace('_', "-"));
            let hint = format!("{key}-hint");
            FieldContext {
                hint_key: locales.has(lang, &hint).then_some(hint),
                label_key: key,
                field,
            }
        })
        .collect()
}
