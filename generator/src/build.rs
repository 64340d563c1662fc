//! The build driver: load (config, strings, templates, content) → Markdown → render pages in
//! parallel → consent manifest, sitemap, robots → write the output folder and copy static
//! files. [`build`] is the one entry point; `serve` calls it again after every change.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rayon::prelude::*;
use serde::Serialize;

use crate::archive::{self, Archive, ArchivedPolicy};
use crate::config::SiteConfig;
use crate::content::{self, SourcePage};
use crate::error::BuildError;
use crate::i18n::{Arg, Locales};
use crate::manifest::{self, LanguageFacts, ManifestBuildError, PolicyFacts};
use crate::markdown::{self, Rendered, TocEntry};
use crate::output::{OutputFile, write_output};
use crate::render::{self, RenderError, Renderer};
use crate::seo::{self, SitemapEntry};
use crate::source::{Location, Warnings};

/// Translation keys of the pages the site is built around.
pub mod keys {
    /// `_index.md`: a language's home page.
    pub const HOME: &str = "_index";
    /// `privacy.md`: the privacy policy (also published at its versioned URL).
    pub const PRIVACY: &str = "privacy";
    /// `contact.md`: operator details and the contact form.
    pub const CONTACT: &str = "contact";
    /// `thanks.md`: where a plain form post lands after success.
    pub const THANKS: &str = "thanks";
    /// `error.md`: where a plain form post lands after a validation error.
    pub const ERROR: &str = "error";
    /// `404.md`: the not-found page.
    pub const NOT_FOUND: &str = "404";
}

/// What to build.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// The site root (where `site.toml` is).
    pub root: PathBuf,
    /// Output folder; `<root>/public` when `None`.
    pub output: Option<PathBuf>,
    /// Replaces `base_url` from `site.toml` (for previews on another host).
    pub base_url: Option<String>,
}

impl BuildOptions {
    /// Build the site at `root` into `<root>/public`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            output: None,
            base_url: None,
        }
    }

    /// The folder the site is written to.
    pub fn output_dir(&self) -> PathBuf {
        self.output
            .clone()
            .unwrap_or_else(|| self.root.join("public"))
    }
}

/// What a build did.
#[derive(Debug, Clone)]
pub struct BuildReport {
    pub output: PathBuf,
    /// HTML pages written.
    pub pages_written: usize,
    /// All files written, pages, static assets, sitemap and manifest included.
    pub files_written: usize,
    /// Problems that did not stop the build (missing translations, ...), one sentence each.
    pub warnings: Vec<String>,
    pub elapsed: Duration,
}

/// The built site, in memory.
#[derive(Debug, Clone)]
pub struct BuiltSite {
    pub files: Vec<OutputFile>,
    pub warnings: Vec<String>,
    pub manifest: kelisim_relay::manifest::ConsentManifest,
    /// The theme the pages were rendered with (its `static/` is copied next to them).
    pub theme: String,
}

/// Builds the site and writes it to the output folder (the theme's `static/`, then the
/// site's own `static/`, whose files win, are copied under `static/`).
pub fn build(options: &BuildOptions) -> Result<BuildReport, BuildError> {
    let started = Instant::now();
    let site = render_site(options)?;
    let output = options.output_dir();
    let statics = [
        options.root.join("themes").join(&site.theme).join("static"),
        options.root.join("static"),
    ];
    let copied = write_output(&output, &site.files, &statics)?;
    Ok(BuildReport {
        output,
        pages_written: site
            .files
            .iter()
            .filter(|f| f.path.ends_with(".html"))
            .count(),
        files_written: site.files.len() + copied,
        warnings: site.warnings,
        elapsed: started.elapsed(),
    })
}

/// Loads and renders the whole site without writing anything.
pub fn render_site(options: &BuildOptions) -> Result<BuiltSite, BuildError> {
    let root = &options.root;
    let config_path = root.join("site.toml");
    let config_text = std::fs::read_to_string(&config_path)
        .map_err(|e| BuildError::io(Path::new("site.toml"), "read site.toml", e))?;
    let mut config: SiteConfig = config_text.parse()?;
    if let Some(base_url) = &options.base_url {
        config.set_base_url(base_url)?;
    }
    let languages: Vec<String> = config.languages.iter().map(|l| l.code.clone()).collect();
    let default = config.default_language().code.clone();
    let warnings = Warnings::default();

    let locales = Arc::new(Locales::load(root, &languages, &default)?);
    let templates = render::load_templates(root, &config.theme)?;
    let renderer = Renderer::new(
        templates,
        Arc::clone(&locales),
        &languages,
        &config.base_url,
        warnings.clone(),
    )?;

    let mut pages = Vec::new();
    for lang in &languages {
        pages.extend(content::load_language(root, lang)?);
    }
    warn_about_unknown_language_folders(root, &languages, &warnings);
    pages.retain(|p| !p.front.draft);
    let (archived, pages): (Vec<SourcePage>, Vec<SourcePage>) =
        pages.into_iter().partition(archive::is_archived);
    content::check_unique_urls(&pages)?;
    let archived = archive::collect(&pages, archived, keys::PRIVACY)?;

    let bodies: Vec<Rendered> = pages
        .par_iter()
        .map(|p| markdown::render(&p.body))
        .collect();
    // Rendered exactly like the current policy, so the hash matches the one in old records.
    let archive = Archive {
        bodies: archived
            .par_iter()
            .map(|a| markdown::render(&a.page.body))
            .collect(),
        entries: archived,
    };
    let site = Site {
        config: &config,
        languages: &languages,
        default: &default,
        locales: &locales,
        renderer: &renderer,
        pages: &pages,
        bodies: &bodies,
        archive: &archive,
        warnings: &warnings,
    };
    site.render()
}

struct Site<'a> {
    config: &'a SiteConfig,
    languages: &'a [String],
    default: &'a str,
    locales: &'a Locales,
    renderer: &'a Renderer,
    pages: &'a [SourcePage],
    bodies: &'a [Rendered],
    archive: &'a Archive,
    warnings: &'a Warnings,
}

/// Which copy of a page a job renders.
#[derive(Clone, Copy)]
enum Variant<'a> {
    /// The page at its own URL.
    Current,
    /// The current policy at its permanent `/<lang>/privacy/<version>/` URL.
    Versioned,
    /// A superseded policy from the archive, at its permanent URL.
    Superseded(&'a ArchivedPolicy),
}

/// One page to render.
struct Job<'a> {
    lang: String,
    template: String,
    url: String,
    context: tera::Context,
    /// For the policy pages: the fragment that must appear between the markers.
    policy_body: Option<&'a str>,
}

#[derive(Serialize)]
struct PageContext<'a> {
    key: &'a str,
    title: &'a str,
    description: String,
    lang: &'a str,
    /// Site-relative URL.
    url: &'a str,
    /// Absolute URL.
    permalink: String,
    template: &'a str,
    date: Option<String>,
    updated: Option<String>,
    content: &'a str,
    toc: &'a [TocEntry],
    show_toc: bool,
    /// Number of `h2` sections (for "12 sections" style counts).
    section_count: usize,
    version: Option<&'a str>,
    effective_date: Option<String>,
    translation_of: Option<&'a str>,
    /// Set on the permanent `/<lang>/privacy/<version>/` copy (current or superseded).
    is_versioned: bool,
    /// Set on an archived, superseded policy version.
    superseded: bool,
    /// Not content for search engines: `<meta name="robots" content="noindex">`, and not in
    /// the sitemap (see [`Site::is_noindex`]).
    noindex: bool,
    extra: &'a toml::Table,
}

#[derive(Serialize)]
struct LanguageLink<'a> {
    code: &'a str,
    name: &'a str,
    url: String,
    current: bool,
}

impl Site<'_> {
    fn render(&self) -> Result<BuiltSite, BuildError> {
        let by_key = self.translation_groups();
        let policies = self.policies()?;
        let mut jobs = Vec::new();
        for (index, page) in self.pages.iter().enumerate() {
            let template = self.template_for(page)?;
            let body = &self.bodies[index];
            let is_policy = page.translation_key == keys::PRIVACY;
            jobs.push(self.page_job(
                page,
                body,
                &template,
                &by_key,
                &policies,
                Variant::Current,
            )?);
            if is_policy {
                jobs.push(self.page_job(
                    page,
                    body,
                    &template,
                    &by_key,
                    &policies,
                    Variant::Versioned,
                )?);
            }
        }
        for (old, body) in self.archive.entries.iter().zip(&self.archive.bodies) {
            let template = self.template_for(&old.page)?;
            jobs.push(self.page_job(
                &old.page,
                body,
                &template,
                &by_key,
                &policies,
                Variant::Superseded(old),
            )?);
        }
        jobs.push(self.chooser_job(&by_key, &policies)?);

        let rendered: Vec<(String, String)> = jobs
            .par_iter()
            .map(|job| {
                let html = self
                    .renderer
                    .render(&job.lang, &job.template, &job.context)?;
                if let Some(body) = job.policy_body
                    && manifest::published_policy_text(&html) != Some(body)
                {
                    return Err(BuildError::from(ManifestBuildError::PolicyMarkers {
                        template: job.template.clone(),
                    }));
                }
                Ok((job.url.clone(), html))
            })
            .collect::<Result<_, BuildError>>()?;
        let html_by_url: HashMap<&str, &str> = rendered
            .iter()
            .map(|(u, h)| (u.as_str(), h.as_str()))
            .collect();

        let manifest = self.manifest(&by_key, &policies, &html_by_url)?;
        let mut files: Vec<OutputFile> = rendered
            .iter()
            .map(|(url, html)| OutputFile {
                path: content::output_path(url)
                    .to_string_lossy()
                    .replace('\\', "/"),
                bytes: html.clone().into_bytes(),
            })
            .collect();
        // Servers look for /404.html at the root: the default language's not-found page.
        if let Some(page) = self.find(&by_key, keys::NOT_FOUND, self.default)
            && let Some(html) = html_by_url.get(page.url.as_str())
        {
            files.push(OutputFile {
                path: "404.html".to_owned(),
                bytes: html.as_bytes().to_vec(),
            });
        }
        files.push(OutputFile {
            path: "sitemap.xml".to_owned(),
            bytes: seo::sitemap(&self.sitemap_entries(&by_key)).into_bytes(),
        });
        files.push(OutputFile {
            path: "robots.txt".to_owned(),
            bytes: seo::robots(&self.config.base_url).into_bytes(),
        });
        let json = serde_json::to_string_pretty(&manifest).map_err(|e| {
            BuildError::io(
                Path::new("consent-manifest.json"),
                "serialize the manifest",
                std::io::Error::other(e),
            )
        })?;
        files.push(OutputFile {
            path: "consent-manifest.json".to_owned(),
            bytes: format!("{json}\n").into_bytes(),
        });
        Ok(BuiltSite {
            files,
            warnings: self.warnings.take(),
            manifest,
            theme: self.config.theme.clone(),
        })
    }

    /// Pages by translation key, then language.
    fn translation_groups(&self) -> BTreeMap<&str, BTreeMap<&str, &SourcePage>> {
        let mut groups: BTreeMap<&str, BTreeMap<&str, &SourcePage>> = BTreeMap::new();
        for page in self.pages {
            groups
                .entry(page.translation_key.as_str())
                .or_default()
                .insert(page.lang.as_str(), page);
        }
        for (key, group) in &groups {
            for lang in self.languages {
                if !group.contains_key(lang.as_str())
                    && let Some(other) = group.values().next()
                {
                    self.warnings.push(format!(
                        "{}: no `{lang}` translation (content/{lang}/{key}.md or a page with translation_key = \"{key}\"); the language switcher links to the `{lang}` home page instead.",
                        other.source.display()
                    ));
                }
            }
        }
        groups
    }

    fn find<'p>(
        &self,
        groups: &BTreeMap<&str, BTreeMap<&str, &'p SourcePage>>,
        key: &str,
        lang: &str,
    ) -> Option<&'p SourcePage> {
        groups.get(key).and_then(|g| g.get(lang)).copied()
    }

    fn policies(&self) -> Result<BTreeMap<String, (PolicyFacts, usize)>, BuildError> {
        let mut out = BTreeMap::new();
        for (index, page) in self.pages.iter().enumerate() {
            if page.translation_key != keys::PRIVACY {
                continue;
            }
            let (version, effective) = page.front.policy_version().map_err(|missing| {
                ManifestBuildError::MissingPolicyField {
                    location: Location::new(&page.source, 1),
                    field: missing.field,
                    example: missing.example,
                }
            })?;
            let versioned_url = format!("{}{version}/", page.url);
            let body = &self.bodies[index];
            out.insert(
                page.lang.clone(),
                (
                    PolicyFacts {
                        version,
                        effective_date: crate::dates::iso(effective),
                        versioned_url,
                        sha256: kelisim_relay::manifest::sha256_hex(body.html.as_bytes()),
                        translation_of: page.front.translation_of.clone(),
                    },
                    index,
                ),
            );
        }
        Ok(out)
    }

    /// Whether a page is kept out of search (`noindex` in its head, not in the sitemap): its
    /// front matter's `noindex` decides; without one, the result pages (`thanks`, `error`) and
    /// the not-found pages are not content, every other page is.
    fn is_noindex(&self, page: &SourcePage) -> bool {
        page.front.noindex.unwrap_or(matches!(
            page.translation_key.as_str(),
            keys::THANKS | keys::ERROR | keys::NOT_FOUND
        ))
    }

    fn template_for(&self, page: &SourcePage) -> Result<String, BuildError> {
        let (name, line) = match &page.front.template {
            Some(name) => (name.clone(), page.front.template_line),
            None => {
                let default = match page.translation_key.as_str() {
                    keys::HOME => "index.html",
                    keys::PRIVACY => "policy.html",
                    keys::CONTACT => "contact.html",
                    keys::THANKS => "thanks.html",
                    keys::ERROR => "form-error.html",
                    keys::NOT_FOUND => "404.html",
                    _ if archive::is_archived(page) => "policy.html",
                    _ => "page.html",
                };
                (default.to_owned(), 1)
            }
        };
        if self.renderer.has_template(&name) {
            Ok(name)
        } else {
            Err(RenderError::UnknownTemplate {
                location: Location::new(&page.source, line),
                name,
                available: self.renderer.template_names(),
            }
            .into())
        }
    }

    /// The `x-default` of a page, the same in its `<head>` and in the sitemap: the language
    /// chooser `/` for the home pages, otherwise the default language's version (or the first
    /// translation, or the page itself).
    fn x_default(&self, key: &str, translations: &[(String, String)], own_url: &str) -> String {
        if key == keys::HOME {
            return self.abs("/");
        }
        translations
            .iter()
            .find(|(l, _)| l == self.default)
            .or_else(|| translations.first())
            .map(|(_, u)| u.clone())
            .unwrap_or_else(|| self.abs(own_url))
    }

    fn abs(&self, path: &str) -> String {
        render::absolute(&self.config.base_url, path)
    }

    /// URL of `key` in `lang`, of the policy's versioned copy, or of the same superseded
    /// version in `lang` (current or archived there).
    fn url_in(
        &self,
        groups: &BTreeMap<&str, BTreeMap<&str, &SourcePage>>,
        policies: &BTreeMap<String, (PolicyFacts, usize)>,
        key: &str,
        lang: &str,
        variant: Variant<'_>,
    ) -> Option<String> {
        match variant {
            Variant::Current => self.find(groups, key, lang).map(|p| p.url.clone()),
            Variant::Versioned => policies.get(lang).map(|(p, _)| p.versioned_url.clone()),
            Variant::Superseded(old) => match policies.get(lang) {
                Some((p, _)) if p.version == old.version => Some(p.versioned_url.clone()),
                _ => self.archive.url_of(lang, &old.version).map(str::to_owned),
            },
        }
    }

    fn page_job<'p>(
        &self,
        page: &'p SourcePage,
        body: &'p Rendered,
        template: &str,
        groups: &BTreeMap<&str, BTreeMap<&str, &SourcePage>>,
        policies: &BTreeMap<String, (PolicyFacts, usize)>,
        variant: Variant<'_>,
    ) -> Result<Job<'p>, BuildError>
    where
        Self: 'p,
    {
        let key = page.translation_key.as_str();
        let lang = page.lang.as_str();
        let url = match variant {
            Variant::Versioned => self
                .url_in(groups, policies, key, lang, variant)
                .unwrap_or_else(|| page.url.clone()),
            Variant::Current | Variant::Superseded(_) => page.url.clone(),
        };
        // An archived page's own file is not a translation of the current policy.
        let key = match variant {
            Variant::Superseded(_) => keys::PRIVACY,
            _ => key,
        };
        let translations: Vec<(String, String)> = self
            .languages
            .iter()
            .filter_map(|l| {
                self.url_in(groups, policies, key, l, variant)
                    .map(|u| (l.clone(), self.abs(&u)))
            })
            .collect();
        let x_default = self.x_default(key, &translations, &url);
        let switcher = self.switcher(
            lang,
            |l| {
                self.url_in(groups, policies, key, l, variant).or_else(|| {
                    // No such old version in `l`: its current policy is the closest page.
                    matches!(variant, Variant::Superseded(_))
                        .then(|| self.find(groups, keys::PRIVACY, l).map(|p| p.url.clone()))
                        .flatten()
                })
            },
            groups,
        );
        let description = match &page.front.description {
            Some(d) => d.clone(),
            None => self.plain_string(lang, "site-description"),
        };
        let page_context = PageContext {
            key,
            title: &page.front.title,
            description,
            lang,
            url: &url,
            permalink: self.abs(&url),
            template,
            date: page.front.date.map(crate::dates::iso),
            updated: page.front.updated.map(crate::dates::iso),
            content: &body.html,
            toc: &body.toc,
            show_toc: page.front.toc,
            section_count: body.toc.len(),
            version: page.front.version.as_deref(),
            effective_date: page.front.effective_date.map(crate::dates::iso),
            translation_of: page.front.translation_of.as_deref(),
            is_versioned: !matches!(variant, Variant::Current),
            superseded: matches!(variant, Variant::Superseded(_)),
            noindex: matches!(variant, Variant::Superseded(_)) || self.is_noindex(page),
            extra: &page.front.extra,
        };
        let mut context = self.common_context(lang, groups, policies);
        context.insert("page", &page_context);
        if matches!(variant, Variant::Versioned) {
            // While a version is current, its permanent URL is a copy of the policy page:
            // search engines are pointed at `/<lang>/privacy/`, with that page's alternates.
            let current: Vec<(String, String)> = self
                .languages
                .iter()
                .filter_map(|l| {
                    self.find(groups, key, l)
                        .map(|p| (l.clone(), self.abs(&p.url)))
                })
                .collect();
            let x_default = self.x_default(key, &current, &page.url);
            context.insert("canonical", &self.abs(&page.url));
            context.insert("alternates", &seo::alternates(&current, &x_default));
        } else {
            context.insert("canonical", &self.abs(&url));
            context.insert("alternates", &seo::alternates(&translations, &x_default));
        }
        context.insert("languages", &switcher);
        Ok(Job {
            lang: lang.to_owned(),
            template: template.to_owned(),
            url,
            context,
            policy_body: (key == keys::PRIVACY).then_some(body.html.as_str()),
        })
    }

    fn chooser_job(
        &self,
        groups: &BTreeMap<&str, BTreeMap<&str, &SourcePage>>,
        policies: &BTreeMap<String, (PolicyFacts, usize)>,
    ) -> Result<Job<'static>, BuildError> {
        let template = "chooser.html";
        if !self.renderer.has_template(template) {
            return Err(RenderError::UnknownTemplate {
                location: Location::new(format!("themes/{}/templates", self.config.theme), 1),
                name: template.to_owned(),
                available: self.renderer.template_names(),
            }
            .into());
        }
        let translations: Vec<(String, String)> = self
            .languages
            .iter()
            .map(|l| (l.clone(), self.abs(&self.home_url(groups, l))))
            .collect();
        // No language is "current" on the chooser: it belongs to all of them.
        let switcher = self.switcher("", |_| None, groups);
        let mut context = self.common_context(self.default, groups, policies);
        context.insert("canonical", &self.abs("/"));
        context.insert(
            "alternates",
            &seo::alternates(&translations, &self.abs("/")),
        );
        context.insert("languages", &switcher);
        context.insert(
            "page",
            &serde_json::json!({
                "key": "",
                "url": "/",
                "permalink": self.abs("/"),
                "lang": self.default,
                "title": self.plain_string(self.default, "site-name"),
                "description": self.plain_string(self.default, "site-description"),
                "noindex": false,
            }),
        );
        Ok(Job {
            lang: self.default.to_owned(),
            template: template.to_owned(),
            url: "/".to_owned(),
            context,
            policy_body: None,
        })
    }

    fn home_url(&self, groups: &BTreeMap<&str, BTreeMap<&str, &SourcePage>>, lang: &str) -> String {
        self.find(groups, keys::HOME, lang)
            .map(|p| p.url.clone())
            .unwrap_or_else(|| format!("/{lang}/"))
    }

    /// The language switcher: every language, linking to the same page where it exists.
    fn switcher<'s>(
        &'s self,
        current: &str,
        same_page: impl Fn(&str) -> Option<String>,
        groups: &BTreeMap<&str, BTreeMap<&str, &SourcePage>>,
    ) -> Vec<LanguageLink<'s>> {
        self.config
            .languages
            .iter()
            .map(|l| LanguageLink {
                code: &l.code,
                name: &l.name,
                url: same_page(&l.code).unwrap_or_else(|| self.home_url(groups, &l.code)),
                current: l.code == current,
            })
            .collect()
    }

    fn common_context(
        &self,
        lang: &str,
        groups: &BTreeMap<&str, BTreeMap<&str, &SourcePage>>,
        policies: &BTreeMap<String, (PolicyFacts, usize)>,
    ) -> tera::Context {
        let mut context = tera::Context::new();
        context.insert("site", self.config);
        context.insert("lang", lang);
        let mut links = BTreeMap::new();
        links.insert("home", self.home_url(groups, lang));
        for (name, key) in [
            ("privacy", keys::PRIVACY),
            ("contact", keys::CONTACT),
            ("thanks", keys::THANKS),
            ("error", keys::ERROR),
        ] {
            if let Some(page) = self.find(groups, key, lang) {
                links.insert(name, page.url.clone());
            }
        }
        context.insert("links", &links);
        context.insert("previous_policies", &self.archive.links(lang));
        if let Some((policy, index)) = policies.get(lang) {
            context.insert(
                "policy",
                &serde_json::json!({
                    "version": policy.version,
                    "effective_date": policy.effective_date,
                    "url": policy.versioned_url,
                    "current_url": self.pages.get(*index).map(|p| p.url.as_str()),
                    "sha256": policy.sha256,
                    "translation_of": policy.translation_of,
                }),
            );
        }
        context
    }

    /// A UI string as plain text (for meta descriptions computed in code).
    fn plain_string(&self, lang: &str, key: &str) -> String {
        match self.locales.format(lang, key, &[] as &[(String, Arg)]) {
            Ok(t) => manifest::plain_text(&t.html),
            Err(_) => {
                self.warnings.push(format!(
                    "locales/{lang}/: add `{key} = ...`; it is used as the default page description."
                ));
                String::new()
            }
        }
    }

    fn manifest(
        &self,
        groups: &BTreeMap<&str, BTreeMap<&str, &SourcePage>>,
        policies: &BTreeMap<String, (PolicyFacts, usize)>,
        html_by_url: &HashMap<&str, &str>,
    ) -> Result<kelisim_relay::manifest::ConsentManifest, BuildError> {
        let mut facts = BTreeMap::new();
        for lang in self.languages {
            let missing = |key: &str| ManifestBuildError::MissingPage {
                file: PathBuf::from(format!("content/{lang}/{key}.md")),
                default: self.default.to_owned(),
            };
            let policy = policies
                .get(lang)
                .map(|(p, _)| p.clone())
                .ok_or_else(|| missing(keys::PRIVACY))?;
            let contact = self
                .find(groups, keys::CONTACT, lang)
                .ok_or_else(|| missing(keys::CONTACT))?;
            let thanks = self
                .find(groups, keys::THANKS, lang)
                .ok_or_else(|| missing(keys::THANKS))?;
            let error = self
                .find(groups, keys::ERROR, lang)
                .ok_or_else(|| missing(keys::ERROR))?;
            facts.insert(
                lang.clone(),
                LanguageFacts {
                    policy,
                    previous_policies: self.archive.facts(lang),
                    contact_url: contact.url.clone(),
                    thanks_url: thanks.url.clone(),
                    error_url: error.url.clone(),
                    contact_html: html_by_url
                        .get(contact.url.as_str())
                        .map(|h| (*h).to_owned())
                        .unwrap_or_default(),
                    contact_template: self.template_for(contact)?,
                },
            );
        }
        Ok(manifest::build(self.config, &facts)?)
    }

    fn sitemap_entries(
        &self,
        groups: &BTreeMap<&str, BTreeMap<&str, &SourcePage>>,
    ) -> Vec<SitemapEntry> {
        let mut entries = vec![SitemapEntry {
            loc: self.abs("/"),
            lastmod: None,
            alternates: seo::alternates(
                &self
                    .languages
                    .iter()
                    .map(|l| (l.clone(), self.abs(&self.home_url(groups, l))))
                    .collect::<Vec<_>>(),
                &self.abs("/"),
            ),
        }];
        for page in self.pages {
            if self.is_noindex(page) {
                continue;
            }
            let translations: Vec<(String, String)> = self
                .languages
                .iter()
                .filter_map(|l| {
                    self.find(groups, &page.translation_key, l)
                        .filter(|p| !self.is_noindex(p))
                        .map(|p| (l.clone(), self.abs(&p.url)))
                })
                .collect();
            let x_default = self.x_default(&page.translation_key, &translations, &page.url);
            let lastmod = page
                .front
                .updated
                .or(page.front.date)
                .or(page.front.effective_date)
                .map(crate::dates::iso);
            entries.push(SitemapEntry {
                loc: self.abs(&page.url),
                lastmod,
                alternates: seo::alternates(&translations, &x_default),
            });
        }
        entries
    }
}

fn warn_about_unknown_language_folders(root: &Path, languages: &[String], warnings: &Warnings) {
    let Ok(entries) = std::fs::read_dir(root.join("content")) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.path().is_dir() && !languages.contains(&name) {
            warnings.push(format!(
                "content/{name}/: `{name}` is not a language in site.toml, so these pages are not built. Add it under [[languages]] or remove the folder."
            ));
        }
    }
}
