//! The build driver: **load** (`site.toml`, UI strings, templates, content) → **model**
//! ([`SiteModel`]: typed pages and the policy set) → **render** (the three consumers: HTML
//! [`pages`](crate::pages), [`seo`](crate::seo) and the consent [`manifest`](crate::manifest))
//! → **emit** (a [`BuiltSite`] in memory, static files included). [`build`] writes it to
//! disk; `serve` calls [`render_site`] after every change and answers from memory.

use std::path::{Path, PathBuf};

use kelisim_manifest::ConsentManifest;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::built::{BuiltSite, MANIFEST_FILE};
use crate::config::SiteConfig;
use crate::content;
use crate::error::BuildError;
use crate::i18n::Locales;
use crate::manifest;
use crate::model::{self, SiteModel};
use crate::page::HtmlPage;
use crate::pages;
use crate::render::{self, Renderer};
use crate::seo;
use crate::source::{Warnings, files_under, read_text, relative_name};

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

/// Builds the site and writes it to the output folder, replacing it atomically.
pub fn build(options: &BuildOptions) -> Result<BuildReport, BuildError> {
    let started = Instant::now();
    let site = render_site(options)?;
    let output = options.output_dir();
    site.write_to(&output)?;
    Ok(BuildReport {
        output,
        pages_written: site.page_count(),
        files_written: site.file_count(),
        warnings: site.warnings,
        elapsed: started.elapsed(),
    })
}

/// Loads, models and renders the whole site in memory, static files included; nothing is
/// written.
pub fn render_site(options: &BuildOptions) -> Result<BuiltSite, BuildError> {
    let root = &options.root;
    let config = load_config(root, options.base_url.as_deref())?;
    let languages: Vec<String> = config
        .languages
        .iter()
        .map(|l| l.code.to_string())
        .collect();
    let warnings = Warnings::default();
    let locales = Arc::new(Locales::load(
        root,
        &languages,
        config.default_language().code.as_str(),
    )?);
    let renderer = Renderer::new(
        render::load_templates(root, &config.theme)?,
        Arc::clone(&locales),
        &languages,
        &config.base_url,
        warnings.clone(),
    )?;
    let mut sources = Vec::new();
    for language in &config.languages {
        sources.extend(content::load_language(root, &language.code)?);
    }
    let codes: Vec<_> = config.languages.iter().map(|l| l.code.clone()).collect();
    model::warn_about_unknown_language_folders(root, &codes, &warnings);
    let model = SiteModel::new(config, sources, &renderer, &warnings)?;
    let pages = pages::render(&model, &renderer, &locales, &warnings)?;
    let manifest = manifest::build(&model, &pages, &locales)?;
    let sitemap = seo::sitemap(&model, &renderer)?;
    let mut site = emit(&model, pages, sitemap, manifest, warnings.take())?;
    add_static_files(&mut site, root, &model.config.theme)?;
    Ok(site)
}

/// `site.toml`, with `--base-url` applied.
fn load_config(root: &Path, base_url: Option<&str>) -> Result<SiteConfig, BuildError> {
    let shown = Path::new("site.toml");
    let text = read_text(&root.join(shown), shown)?;
    let mut config: SiteConfig = text.parse()?;
    if let Some(base_url) = base_url {
        config.set_base_url(base_url)?;
    }
    Ok(config)
}

/// The built site's files: every page, the sitemap, robots.txt and the consent manifest.
fn emit(
    model: &SiteModel,
    pages: Vec<HtmlPage>,
    sitemap: String,
    manifest: ConsentManifest,
    warnings: Vec<String>,
) -> Result<BuiltSite, BuildError> {
    let json = serde_json::to_string_pretty(&manifest).map_err(|e| {
        BuildError::io(
            Path::new(MANIFEST_FILE),
            "serialize the manifest",
            std::io::Error::other(e),
        )
    })?;
    let mut site = BuiltSite::new(manifest, warnings);
    for page in pages {
        let path = content::output_path(&page.url)
            .to_string_lossy()
            .replace('\\', "/");
        site.insert(path, page.html.into_bytes());
    }
    site.insert("sitemap.xml".to_owned(), sitemap.into_bytes());
    let robots = seo::robots(&model.config.base_url);
    site.insert("robots.txt".to_owned(), robots.into_bytes());
    site.insert(MANIFEST_FILE.to_owned(), format!("{json}\n").into_bytes());
    Ok(site)
}

/// The theme's `static/`, then the site's own `static/` (whose files win), under `static/`.
fn add_static_files(site: &mut BuiltSite, root: &Path, theme: &str) -> Result<(), BuildError> {
    for dir in [
        root.join("themes").join(theme).join("static"),
        root.join("static"),
    ] {
        let files = files_under(&dir, |_| true).map_err(|e| {
            BuildError::io(&dir, "read the static folder", std::io::Error::other(e))
        })?;
        for file in files {
            let bytes = std::fs::read(&file)
                .map_err(|e| BuildError::io(&file, "read the static file", e))?;
            site.insert(format!("static/{}", relative_name(&dir, &file)), bytes);
        }
    }
    Ok(())
}
