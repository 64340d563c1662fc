//! The [`PolicySet`]: the privacy policy in every language and version, the current text (from
//! the policy page) and the archived ones (see [`crate::model::archive`]), each with its permanent
//! URL and the SHA-256 of its rendered body, hashed once here. The policy pages, the current
//! policy's list of earlier versions and the consent manifest all read these facts.

use serde::Serialize;
use time::Date;

use crate::load::front_matter::MissingPolicyField;
use crate::load::lang::Lang;
use crate::load::source::Location;
use crate::model::archive::ArchiveEntry;
use crate::model::page::{Page, PageKind, Translation};

/// A policy page without the facts the consent manifest needs.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error(
        "{}: the policy has no `{}`. Add `{} = {}` to its front matter.",
        .0.location, .0.field, .0.field, .0.example
    )]
    MissingField(MissingPolicyField),
}

/// A policy that is still a placeholder (`placeholder = true`, what `kelisim init` writes):
/// `kelisim build` refuses to publish it, and it is never written into `policy.lock`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{location}: this policy is a placeholder (`placeholder = true`), not the operator's policy, so it is neither published nor locked. Write the operator's policy text into {file} under its section headings, delete the `placeholder = true` line, and build again (`kelisim serve` previews it meanwhile, marked as a placeholder).",
    file = .location.file.display()
)]
pub struct PlaceholderPolicy {
    /// The policy file, at its `placeholder` line.
    pub location: Location,
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
    /// The file the text comes from, at its `version` line (for `policy.lock` messages).
    pub source: Location,
    /// The plain text of each block, for word-level diffs between versions.
    pub blocks: Vec<String>,
    /// Set when the text is a placeholder, not the operator's policy.
    pub placeholder: Option<PlaceholderPolicy>,
}

impl PolicyText {
    /// Site-relative URL of the page that shows what changed in this version since the one
    /// before it (`/kk/privacy/1.1/changes/`): under the permanent URL, so it never moves.
    pub fn changes_url(&self) -> String {
        format!("{}changes/", self.url)
    }

    fn new(
        page: &Page,
        version: String,
        effective_date: Date,
        url: String,
        current_url: String,
    ) -> Self {
        let rendered = page.body.rendered();
        Self {
            lang: page.lang.clone(),
            version,
            effective_date,
            url,
            current_url,
            sha256: kelisim_manifest::sha256_hex(rendered.html.as_bytes()),
            translation_of: page.front.translation_of.clone(),
            source: Location::new(&page.source, page.front.version_line),
            blocks: rendered.blocks.clone(),
            placeholder: page.front.placeholder.then(|| PlaceholderPolicy {
                location: Location::new(&page.source, page.front.placeholder_line),
            }),
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

    /// Every published text: the current ones, then the archived ones.
    pub fn all(&self) -> impl Iterator<Item = &PolicyText> {
        self.current
            .iter()
            .chain(self.archived.iter().map(|a| &a.text))
    }

    /// Every text that is still a placeholder, current or archived.
    pub fn placeholders(&self) -> impl Iterator<Item = &PlaceholderPolicy> {
        self.all().filter_map(|t| t.placeholder.as_ref())
    }

    /// `version` in `lang`, current or archived.
    pub fn version(&self, lang: &str, version: &str) -> Option<&PolicyText> {
        self.all().find(|t| t.lang == lang && t.version == version)
    }

    /// A language's versions, newest first: the current one, then the archived ones.
    pub fn history<'s>(&'s self, lang: &'s str) -> impl Iterator<Item = &'s PolicyText> + 's {
        self.current(lang).into_iter().chain(self.archived_in(lang))
    }

    /// Every (older, newer) pair of consecutive versions in `lang`, newest first: each newer
    /// version gets a "what changed" page.
    pub fn changes<'s>(&'s self, lang: &'s str) -> Vec<(&'s PolicyText, &'s PolicyText)> {
        let history: Vec<&PolicyText> = self.history(lang).collect();
        history.windows(2).map(|w| (w[1], w[0])).collect()
    }

    /// Links to a language's earlier versions for the current policy page, newest first.
    pub fn links(&self, lang: &str) -> Vec<PreviousLink> {
        self.archived_in(lang)
            .map(|t| PreviousLink {
                version: t.version.clone(),
                effective_date: kelisim_manifest::dates::iso(t.effective_date),
                url: t.url.clone(),
            })
            .collect()
    }
}
