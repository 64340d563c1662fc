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
//!   the published page alone.
//! * **Consent labels**: SHA-256 of the label's plain text, which is derived from the label
//!   HTML inside `<span class="consent-text" id="consent-text-<purpose>">` on the published
//!   contact page: tags removed, the entities the generator writes decoded, runs of white space
//!   collapsed into one space, trimmed. See [`plain_text`].

use std::collections::BTreeMap;
use std::path::PathBuf;

use kelisim_manifest::{
    ConsentLabel, ConsentManifest, LanguageConsent, MANIFEST_SCHEMA_VERSION, PolicyVersion,
};

use crate::load::i18n::Locales;
use crate::model::SiteModel;
use crate::model::page::{HtmlPage, Page, PageKind};
use crate::model::policy::PolicyText;

/// Marks the start of the published policy text on the policy page.
pub const POLICY_START: &str = "<!--policy-text-->";
/// Marks the end of the published policy text on the policy page.
pub const POLICY_END: &str = "<!--/policy-text-->";

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

/// Builds the manifest from the model and the rendered pages (the labels are read from each
/// language's contact page); each language's `relay.ftl` goes to the relay with it.
pub fn build(
    model: &SiteModel,
    pages: &[HtmlPage],
    locales: &Locales,
) -> Result<ConsentManifest, ManifestBuildError> {
    let config = &model.config;
    let mut out = BTreeMap::new();
    for lang in &model.languages {
        let lang = lang.as_str();
        out.insert(lang.to_owned(), language(model, pages, locales, lang)?);
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
    })
}

/// One language's part: its current and earlier policies, the URLs of its form's pages, the
/// consent labels read from its contact page, and its `relay.ftl` messages.
fn language(
    model: &SiteModel,
    pages: &[HtmlPage],
    locales: &Locales,
    lang: &str,
) -> Result<LanguageConsent, ManifestBuildError> {
    let policy_version = |policy: &PolicyText| PolicyVersion {
        version: policy.version.clone(),
        effective_date: crate::load::dates::iso(policy.effective_date),
        url: model.abs(&policy.url),
        sha256: policy.sha256.clone(),
        translation_of: policy.translation_of.clone(),
    };
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
    // The double opt-in result pages, when the site has them.
    let optional = |kind: PageKind| model.find(kind, lang).map(|p| model.abs(&p.url));
    Ok(LanguageConsent {
        policy: policy_version(policy),
        previous_policies: model
            .policies
            .archived_in(lang)
            .map(policy_version)
            .collect(),
        contact_url: model.abs(&contact.url),
        thanks_url: model.abs(&thanks.url),
        error_url: model.abs(&error.url),
        labels: labels(model, contact, pages)?,
        confirmed_url: optional(PageKind::Confirmed),
        confirm_error_url: optional(PageKind::ConfirmError),
        request_url: optional(PageKind::Request),
        request_sent_url: optional(PageKind::RequestSent),
        request_confirmed_url: optional(PageKind::RequestConfirmed),
        messages: locales.relay_source(lang).to_owned(),
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

/// The policy text published on a policy page (between the markers), if the page has it.
pub fn published_policy_text(page_html: &str) -> Option<&str> {
    let start = page_html.find(POLICY_START)? + POLICY_START.len();
    let len = page_html[start..].find(POLICY_END)?;
    Some(&page_html[start..start + len])
}

/// The inner HTML of a consent label on a contact page.
pub fn consent_label_html<'a>(page_html: &'a str, purpose: &str) -> Option<&'a str> {
    let open = format!("<span class=\"consent-text\" id=\"consent-text-{purpose}\">");
    let start = page_html.find(&open)? + open.len();
    let len = page_html[start..].find("</span>")?;
    let inner = &page_html[start..start + len];
    // A nested span would end the label early; refuse rather than hash half a label.
    (!inner.contains("<span")).then_some(inner)
}

/// Plain text of an HTML fragment, as described in the module documentation.
pub fn plain_text(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match (in_tag, c) {
            (false, '<') => in_tag = true,
            (true, '>') => in_tag = false,
            (false, c) => text.push(c),
            (true, _) => {}
        }
    }
    let decoded = decode_entities(&text);
    decoded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Decodes the entities [`crate::load::i18n::escape_html`] and pulldown-cmark write, plus numeric
/// ones; anything else is left as written.
fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let Some(end) = rest.find(';').filter(|&e| e <= 10) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..end];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "nbsp" => Some('\u{a0}'),
            _ => entity
                .strip_prefix("#x")
                .or_else(|| entity.strip_prefix("#X"))
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_strips_tags_and_decodes() {
        assert_eq!(
            plain_text(
                "Мен <a href=\"/kk/privacy/1/\">саясатқа</a>\n  сәйкес «A&amp;B» &#39;x&#x27; &lt;"
            ),
            "Мен саясатқа сәйкес «A&B» 'x' <"
        );
        assert_eq!(plain_text("a & b &unknown; c"), "a & b &unknown; c");
    }

    #[test]
    fn finds_label_and_policy_text() {
        let page = "<label><span class=\"consent-text\" id=\"consent-text-reply\">I <a href=\"/p\">agree</a></span></label>";
        assert_eq!(
            consent_label_html(page, "reply"),
            Some("I <a href=\"/p\">agree</a>")
        );
        assert_eq!(consent_label_html(page, "newsletter"), None);
        let policy = format!("<div>{POLICY_START}<h2>x</h2>\n{POLICY_END}</div>");
        assert_eq!(published_policy_text(&policy), Some("<h2>x</h2>\n"));
    }

    #[test]
    fn nested_span_is_refused() {
        let page =
            "<span class=\"consent-text\" id=\"consent-text-reply\">a <span>b</span> c</span>";
        assert_eq!(consent_label_html(page, "reply"), None);
    }
}
