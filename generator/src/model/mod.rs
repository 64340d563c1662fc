//! The **model** stage: the site model, built once from the loaded sources
//! ([`SiteModel::new`]) and only read afterwards, by the three consumers of
//! [`crate::render`]. Every published page, typed ([`page::PageKind`], [`Lang`], URL,
//! template, [`markdown`] body, translations), and the [`policy::PolicySet`] ([`archive`]:
//! the superseded versions; [`lock`]: `policy.lock`). It imports only the load stage.

pub mod archive;
pub mod lock;
pub mod markdown;
pub mod page;
pub mod policy;

use std::collections::HashMap;
use std::path::Path;

use rayon::prelude::*;

use crate::load::config::SiteConfig;
use crate::load::content::{ContentError, SourcePage};
use crate::load::lang::Lang;
use crate::load::source::{Location, Warnings};
use crate::load::templates::{RenderError, Renderer};
use crate::model::archive::ArchiveError;
use crate::model::page::{Body, Page, PageKind, Translation};
use crate::model::policy::{PolicyError, PolicySet};

/// Why the pages do not make a site.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error(transparent)]
    Content(#[from] ContentError),
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    #[error(transparent)]
    Policy(#[from] PolicyError),
    #[error(transparent)]
    Template(#[from] RenderError),
}

/// The whole site, typed, before anything is rendered.
#[derive(Debug)]
pub struct SiteModel {
    pub config: SiteConfig,
    /// In menu order; the first is the default language and every page's `x-default`.
    pub languages: Vec<Lang>,
    /// Published pages in the order their files sort, language by language.
    pub pages: Vec<Page>,
    pub policies: PolicySet,
    /// Where each built-in page ([`PageKind`] other than `Page`) is in `pages`, by language,
    /// so [`SiteModel::find`] does not scan every page.
    builtin: HashMap<(PageKind, Lang), usize>,
}

impl SiteModel {
    /// Builds the model from every content file of every language: drafts dropped, archived
    /// policies checked and set apart, URLs checked unique, templates resolved, bodies rendered
    /// (in parallel), translations joined and policies hashed once.
    pub fn new(
        config: SiteConfig,
        sources: Vec<SourcePage>,
        templates: &Renderer,
        warnings: &Warnings,
    ) -> Result<Self, ModelError> {
        let languages: Vec<Lang> = config.languages.iter().map(|l| l.code.clone()).collect();
        let sources: Vec<SourcePage> = sources.into_iter().filter(|p| !p.front.draft).collect();
        let (archived, current): (Vec<_>, Vec<_>) =
            sources.into_iter().partition(archive::is_archived);
        crate::load::content::check_unique_urls(&current)?;
        let archived = archive::collect(&current, archived, PageKind::Policy.file_stem())?;
        let mut pages = current
            .into_par_iter()
            .map(|source| {
                let kind = PageKind::of(&source.translation_key);
                page(source, kind, templates)
            })
            .collect::<Result<Vec<_>, _>>()?;
        join_translations(&mut pages, &languages, warnings);
        // Rendered exactly like the current policy, so the hash matches the one in old records.
        let archived = archived
            .into_par_iter()
            .map(|entry| {
                entry.try_map(|mut source| {
                    // An archived file is a version of the policy, not a page of its own, and
                    // never content for search engines: it exists as proof.
                    source.translation_key = PageKind::Policy.file_stem().to_owned();
                    source.front.noindex = Some(true);
                    page(source, PageKind::Policy, templates)
                })
            })
            .collect::<Result<Vec<_>, ModelError>>()?;
        let policies = PolicySet::new(&pages, archived, &languages)?;
        let mut builtin = HashMap::new();
        for (at, page) in pages.iter().enumerate() {
            if page.kind != PageKind::Page {
                builtin.entry((page.kind, page.lang.clone())).or_insert(at);
            }
        }
        Ok(Self {
            config,
            languages,
            pages,
            policies,
            builtin,
        })
    }

    /// The default language (the first in `site.toml`).
    pub fn default_lang(&self) -> &Lang {
        &self.config.default_language().code
    }

    /// The page of a built-in kind in `lang`, if the site has it.
    pub fn find(&self, kind: PageKind, lang: &str) -> Option<&Page> {
        if kind == PageKind::Page {
            return self.pages.iter().find(|p| p.kind == kind && p.lang == lang);
        }
        let at = self.builtin.get(&(kind, Lang::new(lang)))?;
        self.pages.get(*at)
    }

    /// A language's home page URL (`/<lang>/` when it has no `_index.md`).
    pub fn home_url(&self, lang: &str) -> String {
        self.find(PageKind::Home, lang)
            .map(|p| p.url.clone())
            .unwrap_or_else(|| format!("/{lang}/"))
    }

    /// The absolute URL of a site path.
    pub fn abs(&self, path: &str) -> String {
        crate::load::templates::functions::absolute(&self.config.base_url, path)
    }

    /// The root language chooser's alternates: every language's home page.
    pub fn home_translations(&self) -> Vec<Translation> {
        self.languages
            .iter()
            .map(|l| Translation {
                lang: l.clone(),
                url: self.home_url(l.as_str()),
                noindex: false,
            })
            .collect()
    }

    /// The `x-default` of a page, the same in its `<head>` and in the sitemap: the language
    /// chooser `/` for the home pages, otherwise the default language's version (or the first
    /// translation, or the page itself).
    pub fn x_default(&self, kind: PageKind, translations: &[Translation], own: &str) -> String {
        if kind == PageKind::Home {
            return self.abs("/");
        }
        let url = translations
            .iter()
            .find(|t| &t.lang == self.default_lang())
            .or_else(|| translations.first())
            .map_or(own, |t| t.url.as_str());
        self.abs(url)
    }
}

/// One content file as a page: its kind, template and rendered body (translations come later).
fn page(source: SourcePage, kind: PageKind, templates: &Renderer) -> Result<Page, ModelError> {
    let (template, line) = match &source.front.template {
        Some(name) => (name.clone(), source.front.template_line),
        None => (kind.default_template().to_owned(), 1),
    };
    if !templates.has_template(&template) {
        return Err(RenderError::UnknownTemplate {
            location: Location::new(&source.source, line),
            name: template,
            available: templates.template_names(),
        }
        .into());
    }
    Ok(Page {
        kind,
        lang: source.lang,
        key: source.translation_key,
        url: source.url,
        template,
        noindex: source.front.noindex.unwrap_or(kind.default_noindex()),
        // The policy's hash needs its rendered body before any page is rendered.
        body: if kind == PageKind::Policy {
            Body::Rendered(markdown::render_with_blocks(&source.body))
        } else {
            Body::Markdown(source.body)
        },
        front: source.front,
        source: source.source,
        translations: Vec::new(),
    })
}

/// Gives each page its translations (same key), warning once per page that lacks a language.
fn join_translations(pages: &mut [Page], languages: &[Lang], warnings: &Warnings) {
    // Pages by key, in file order: linear in the number of pages.
    let mut groups: HashMap<&str, Vec<&Page>> = HashMap::new();
    for page in pages.iter() {
        groups.entry(page.key.as_str()).or_default().push(page);
    }
    let translations: Vec<Vec<Translation>> = pages
        .iter()
        .map(|page| {
            let group = groups.get(page.key.as_str()).map_or(&[][..], Vec::as_slice);
            languages
                .iter()
                .filter_map(|lang| {
                    group.iter().find(|p| &p.lang == lang).map(|p| Translation {
                        lang: lang.clone(),
                        url: p.url.clone(),
                        noindex: p.noindex,
                    })
                })
                .collect()
        })
        .collect();
    for (page, found) in pages.iter().zip(&translations) {
        // Named after the first file of the group, so the group gets one warning.
        let first = groups
            .get(page.key.as_str())
            .and_then(|g| g.first())
            .map_or(&page.source, |p| &p.source);
        let key = &page.key;
        for lang in languages
            .iter()
            .filter(|l| !found.iter().any(|t| &t.lang == *l))
        {
            warnings.push(format!(
                "{}: no `{lang}` translation (content/{lang}/{key}.md or a page with translation_key = \"{key}\"); the language switcher links to the `{lang}` home page instead.",
                first.display()
            ));
        }
    }
    drop(groups);
    for (page, found) in pages.iter_mut().zip(translations) {
        page.translations = found;
    }
}

/// Content folders of languages `site.toml` does not list: their pages are not built.
pub fn warn_about_unknown_language_folders(root: &Path, languages: &[Lang], warnings: &Warnings) {
    let Ok(entries) = std::fs::read_dir(root.join("content")) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.path().is_dir() && !languages.iter().any(|l| l == name.as_str()) {
            warnings.push(format!(
                "content/{name}/: `{name}` is not a language in site.toml, so these pages are not built. Add it under [[languages]] or remove the folder."
            ));
        }
    }
}
