//! The consent manifest (`consent-manifest.json`): what the published site asks people to
//! agree to, in each language, in the shape [`kelisim_manifest::ConsentManifest`]
//! defines.
//!
//! Two things are hashed, both taken from the very HTML the site publishes so that the record
//! can never drift from what a visitor saw:
//!
//! * **Policy text**: SHA-256 of the policy's rendered body, i.e. the bytes of the HTML
//!   fragment that the Markdown of `content/<lang>/privacy.md` renders to. The policy page
//!   publishes that fragment verbatim between the markers [`POLICY_START`] and
//!   [`POLICY_END`], and the build checks that it does, so anyone can recompute the hash from
//!   the published page alone ([`kelisim_manifest::policy_text_of`] shows how, with curl).
//! * **Consent labels**: SHA-256 of the label's plain text, which is derived from the label
//!   HTML inside `<span class="consent-text" id="consent-text-<purpose>">` on the published
//!   contact page: tags removed, the entities the generator writes decoded, runs of white space
//!   collapsed into one space, trimmed. See [`plain_text`]. Each version's labels are also
//!   published beside its permanent page ([`label_documents`]): the current version's as the
//!   contact page shows them, an archived version's as `policy.lock` kept them.
//!
//! The manifest also carries the documents the relay serves in the site's look (the link
//! pages, the thank-you page with its receipt link) and, when the site publishes receipt keys,
//! their URL.

use std::collections::BTreeMap;
use std::path::PathBuf;

use kelisim_manifest::{
    ConsentLabel, ConsentManifest, LABELS_FILE, LanguageConsent, MANIFEST_SCHEMA_VERSION,
    PolicyVersion, PublishedLabels,
};

use crate::load::i18n::Locales;
use crate::model::SiteModel;
use crate::model::lock::{LabelsByLang, PolicyLock};
use crate::model::page::{HtmlPage, Page, PageKind};
use crate::model::policy::PolicyText;
pub use crate::render::page_text::{
    POLICY_END, POLICY_START, consent_label_html, plain_text, published_policy_text,
};
use crate::render::pages::{LinkFlow, ManifestPages};

/// Why the manifest could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ManifestBuildError {
    #[error(
        "{file} is missing: every language needs it for the consent manifest. Add it (translate the {default} one)."
    )]
    MissingPage { file: PathBuf, default: String },
    #[error(
        "{template}: the contact form shows no label for the purpose `{purpose}` in `{lang}`. Each purpose needs <span class=\"consent-text\" id=\"consent-text-{purpose}\">...</span> inside its checkbox label."
    )]
    MissingLabel {
        template: String,
        purpose: String,
        lang: String,
    },
}

/// What the manifest is built from besides the model: the rendered pages it reads, the
/// UI strings (each language's `relay.ftl` goes to the relay), `policy.lock` (the archived
/// versions' labels) and whether the site publishes receipt keys.
#[derive(Debug, Clone, Copy)]
pub struct Sources<'s> {
    pub pages: &'s ManifestPages,
    pub locales: &'s Locales,
    pub lock: &'s PolicyLock,
    pub receipt_keys: bool,
}

/// Builds the manifest from the model and the rendered pages (the labels are read from each
/// language's contact page).
pub fn build(
    model: &SiteModel,
    sources: Sources<'_>,
) -> Result<ConsentManifest, ManifestBuildError> {
    let config = &model.config;
    let mut out = BTreeMap::new();
    for lang in &model.languages {
        let lang = lang.as_str();
        out.insert(lang.to_owned(), language(model, sources, lang)?);
    }
    Ok(ConsentManifest {
        schema_version: MANIFEST_SCHEMA_VERSION,
        generator: format!("kelisim {}", env!("CARGO_PKG_VERSION")),
        base_url: config.base_url.clone(),
        default_language: model.default_lang().to_string(),
        operator: config.operator.clone(),
        form_endpoint: config.form_endpoint.clone(),
        purposes: config.purposes.clone(),
        fields: kelisim_manifest::form::person_fields(),
        languages: out,
        policy_grace_hours: config.policy_grace_hours,
        receipt_keys_url: sources
            .receipt_keys
            .then(|| model.abs(kelisim_manifest::RECEIPT_KEYS_PATH)),
    })
}

/// Each language's current labels, as the manifest carries them: what `policy.lock` locks.
pub fn current_labels(manifest: &ConsentManifest) -> LabelsByLang {
    manifest
        .languages
        .iter()
        .map(|(lang, l)| (lang.clone(), l.labels.clone()))
        .collect()
}

/// Every published version's labels document (`/<lang>/privacy/<version>/consent-labels.json`,
/// by its path in the site), for each version that has labels: the current ones and every
/// archived one `policy.lock` kept labels for.
pub fn label_documents(manifest: &ConsentManifest) -> Vec<(String, PublishedLabels)> {
    let mut out = Vec::new();
    for (lang, language) in &manifest.languages {
        for version in std::iter::once(&language.policy).chain(&language.previous_policies) {
            let Some(url) = &version.labels_url else {
                continue;
            };
            let path = url
                .strip_prefix(&manifest.base_url)
                .unwrap_or(url)
                .trim_start_matches('/');
            out.push((
                path.to_owned(),
                PublishedLabels {
                    lang: lang.clone(),
                    version: version.version.clone(),
                    labels: version.labels.clone(),
                },
            ));
        }
    }
    out
}

/// One version as the manifest names it, with the labels it was shown with.
fn policy_version(
    model: &SiteModel,
    policy: &PolicyText,
    labels: BTreeMap<String, ConsentLabel>,
) -> PolicyVersion {
    PolicyVersion {
        version: policy.version.clone(),
        effective_date: kelisim_manifest::dates::iso(policy.effective_date),
        url: model.abs(&policy.url),
        sha256: policy.sha256.clone(),
        translation_of: policy.translation_of.clone(),
        labels_url: (!labels.is_empty())
            .then(|| model.abs(&format!("{}{LABELS_FILE}", policy.url))),
        labels,
        permanent_url: Some(model.abs(&policy.url)),
    }
}

/// One language's part: its current and earlier policies, the URLs of its form's pages, the
/// consent labels read from its contact page, its `relay.ftl` messages and the documents the
/// relay serves in it.
fn language(
    model: &SiteModel,
    sources: Sources<'_>,
    lang: &str,
) -> Result<LanguageConsent, ManifestBuildError> {
    let missing = |kind: PageKind| ManifestBuildError::MissingPage {
        file: PathBuf::from(format!("content/{lang}/{}.md", kind.file_stem())),
        default: model.default_lang().to_string(),
    };
    let policy = model
        .policies
        .current(lang)
        .ok_or_else(|| missing(PageKind::Policy))?;
    let page = |kind: PageKind| model.find(kind, lang).ok_or_else(|| missing(kind));
    let contact = page(PageKind::Contact)?;
    let thanks = page(PageKind::Thanks)?;
    let error = page(PageKind::FormError)?;
    // The double opt-in and request result pages, when the site has them.
    let optional = |kind: PageKind| model.find(kind, lang).map(|p| model.abs(&p.url));
    let labels = labels(model, contact, &sources.pages.contact)?;
    let archived = |old: &PolicyText| {
        let locked = sources.lock.labels(lang, &old.version).cloned();
        policy_version(model, old, locked.unwrap_or_default())
    };
    let link = |flow: LinkFlow| sources.pages.links.get(&(flow, lang.to_owned())).cloned();
    Ok(LanguageConsent {
        policy: policy_version(model, policy, labels.clone()),
        previous_policies: model.policies.archived_in(lang).map(archived).collect(),
        contact_url: model.abs(&contact.url),
        thanks_url: model.abs(&thanks.url),
        error_url: model.abs(&error.url),
        labels,
        confirmed_url: optional(PageKind::Confirmed),
        confirm_error_url: optional(PageKind::ConfirmError),
        request_url: optional(PageKind::Request),
        request_sent_url: optional(PageKind::RequestSent),
        request_confirmed_url: optional(PageKind::RequestConfirmed),
        request_confirm_error_url: optional(PageKind::RequestConfirmError),
        request_error_url: optional(PageKind::RequestError),
        grant_link_page: link(LinkFlow::Grant),
        request_link_page: link(LinkFlow::Request),
        thanks_page: sources.pages.thanks.get(lang).cloned(),
        messages: sources.locales.relay_source(lang).to_owned(),
        operator_name: model
            .config
            .language(lang)
            .and_then(|l| l.operator_name.clone()),
    })
}

/// Each purpose's consent label, as the contact page shows it.
fn labels(
    model: &SiteModel,
    contact: &Page,
    pages: &[HtmlPage],
) -> Result<BTreeMap<String, ConsentLabel>, ManifestBuildError> {
    let html = pages
        .iter()
        .find(|p| p.url == contact.url)
        .map_or("", |p| p.html.as_str());
    let mut labels = BTreeMap::new();
    for purpose in &model.config.purposes {
        let label = consent_label_html(html, &purpose.id).ok_or_else(|| {
            ManifestBuildError::MissingLabel {
                template: contact.template.clone(),
                purpose: purpose.id.clone(),
                lang: contact.lang.to_string(),
            }
        })?;
        labels.insert(purpose.id.clone(), ConsentLabel::new(plain_text(label)));
    }
    Ok(labels)
}
