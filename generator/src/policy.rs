//! The [`PolicySet`]: the privacy policy in every language and version, the current text (from
//! the policy page) and the archived ones (see [`crate::archive`]), each with its permanent
//! URL and the SHA-256 of its rendered body, hashed once here. The policy pages, the current
//! policy's list of earlier versions and the consent manifest all read these facts.

use serde::Serialize;
use time::Date;

use crate::archive::ArchiveEntry;
use crate::front_matter::MissingPolicyField;
use crate::lang::Lang;
use crate::page::{Page, PageKind, Translation};

/// A policy page without the facts the consent manifest needs.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error(
        "{}: the policy has no `{}`. Add `{} = {}` to its front matter.",
        .0.location, .0.field, .0.field, .0.example
    )]
    MissingField(MissingPolicyField),
}

/// One version of the policy in one language, as published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyText {
    pub lang: Lang,
    pub version: String,
    pub effective_date: Date,
    /// Site-relative permanent URL (`/kk/privacy/<version>/`).
    pub url: String,
    /// Site-relative URL of the current policy in the same language (`/kk/privacy/`).
    pub current_url: String,
    /// Hex SHA-256 of the rendered body fragment the page publishes.
    pub sha256: String,
    /// For a translation: the language of the original.
    pub translation_of: Option<String>,
}

impl PolicyText {
    fn new(
        page: &Page,
        version: String,
        effective_date: Date,
        url: String,
        current_url: String,
    ) -> Self {
        Self {
            lang: page.lang.clone(),
            version,
            effective_date,
            url,
            current_url,
            sha256: kelisim_manifest::sha256_hex(page.body.html.as_bytes()),
            translation_of: page.front.translation_of.clone(),
        }
    }
}

/// The facts of a current policy page (it needs `version` and `effective_date`).
fn current_text(page: &Page) -> Result<PolicyText, PolicyError> {
    let (version, effective) = page
        .front
        .policy_version(&page.source)
        .map_err(PolicyError::MissingField)?;
    let url = format!("{}{version}/", page.url);
    Ok(PolicyText::new(
        page,
        version,
        effective,
        url,
        page.url.clone(),
    ))
}

/// A superseded version: its facts and the page that republishes it (`noindex`).
#[derive(Debug, Clone)]
pub struct ArchivedPolicy {
    pub text: PolicyText,
    pub page: Page,
}

/// A link to an earlier version, as the policy template lists it.
#[derive(Debug, Clone, Serialize)]
pub struct PreviousLink {
    pub version: String,
    /// `YYYY-MM-DD`.
    pub effective_date: String,
    /// Site-relative permanent URL.
    pub url: String,
}

/// Every version of the policy the site publishes.
#[derive(Debug, Default)]
pub struct PolicySet {
    /// The current policy of each language that has one, in the site's language order.
    current: Vec<PolicyText>,
    /// Superseded versions, by language, newest first.
    archived: Vec<ArchivedPolicy>,
}

impl PolicySet {
    /// Hashes every language's current policy (from `pages`) and the archived versions, and
    /// gives each archived page its translations: the same version in the other languages.
    pub fn new(
        pages: &[Page],
        archived: Vec<ArchiveEntry<Page>>,
        languages: &[Lang],
    ) -> Result<Self, PolicyError> {
        let mut current = Vec::new();
        for lang in languages {
            if let Some(page) = pages
                .iter()
                .find(|p| p.kind == PageKind::Policy && &p.lang == lang)
            {
                current.push(current_text(page)?);
            }
        }
        let archived = archived
            .into_iter()
            .map(|entry| ArchivedPolicy {
                text: PolicyText::new(
                    &entry.page,
                    entry.version,
                    entry.effective_date,
                    entry.page.url.clone(),
                    entry.current_url,
                ),
                page: entry.page,
            })
            .collect();
        let mut set = Self { current, archived };
        let translations: Vec<Vec<Translation>> = set
            .archived
            .iter()
            .map(|old| set.versions_of(&old.text.version, languages))
            .collect();
        for (old, translations) in set.archived.iter_mut().zip(translations) {
            old.page.translations = translations;
        }
        Ok(set)
    }

    /// A version in every language that publishes it.
    fn versions_of(&self, version: &str, languages: &[Lang]) -> Vec<Translation> {
        languages
            .iter()
            .filter_map(|lang| {
                self.url_of_version(lang.as_str(), version)
                    .map(|url| Translation {
                        lang: lang.clone(),
                        url: url.to_owned(),
                        noindex: true,
                    })
            })
            .collect()
    }

    /// The current policy in `lang`.
    pub fn current(&self, lang: &str) -> Option<&PolicyText> {
        self.current.iter().find(|p| p.lang == lang)
    }

    /// Every superseded version, by language, newest first.
    pub fn archived(&self) -> &[ArchivedPolicy] {
        &self.archived
    }

    /// A language's superseded versions, newest first.
    pub fn archived_in<'s>(&'s self, lang: &'s str) -> impl Iterator<Item = &'s PolicyText> + 's {
        self.archived
            .iter()
            .map(|a| &a.text)
            .filter(move |t| t.lang == lang)
    }

    /// The permanent URL of `version` in `lang`: the current one's, or an archived one's.
    pub fn url_of_version<'s>(&'s self, lang: &'s str, version: &str) -> Option<&'s str> {
        self.current(lang)
            .into_iter()
            .chain(self.archived_in(lang))
            .find(|t| t.version == version)
            .map(|t| t.url.as_str())
    }

    /// Links to a language's earlier versions for the current policy page, newest first.
    pub fn links(&self, lang: &str) -> Vec<PreviousLink> {
        self.archived_in(lang)
            .map(|t| PreviousLink {
                version: t.version.clone(),
                effective_date: crate::dates::iso(t.effective_date),
                url: t.url.clone(),
            })
            .collect()
    }
}
