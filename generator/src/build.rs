//! The build driver: **load** (`site.toml`, UI strings, templates, content) → **model**
//! ([`SiteModel`]: typed pages and the policy set) → **render** (the three consumers: HTML
//! [`pages`](crate::pages), [`seo`](crate::seo) and the consent [`manifest`](crate::manifest))
//! → **emit** (a [`BuiltSite`] in memory, which `build` writes to disk). [`build`] is the one
//! entry point; `serve` calls [`render_site`] after every change.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::SiteConfig;
use crate::content;
use crate::error::BuildError;
use crate::i18n::Locales;
use crate::manifest;
use crate::model::{self, SiteModel};
use crate::output::{OutputFile, write_output};
use crate::page::HtmlPage;
use crate::pages;
use crate::render::{self, Renderer};
use crate::seo;
use crate::source::{Warnings, read_text};

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

/// Loads, models and renders the whole site without writing anything.
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
    emit(&model, pages, manifest, warnings.take())
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
    manifest: kelisim_relay::manifest::ConsentManifest,
    warnings: Vec<String>,
) -> Result<BuiltSite, BuildError> {
    let mut files: Vec<OutputFile> = pages
        .into_iter()
        .map(|page| OutputFile {
            path: content::output_path(&page.url)
                .to_string_lossy()
                .replace('\\', "/"),
            bytes: page.html.into_bytes(),
        })
        .collect();
    files.push(OutputFile {
        path: "sitemap.xml".to_owned(),
        bytes: seo::sitemap(&seo::sitemap_entries(model)).into_bytes(),
    });
    files.push(OutputFile {
        path: "robots.txt".to_owned(),
        bytes: seo::robots(&model.config.base_url).into_bytes(),
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
        warnings,
        manifest,
        theme: model.config.theme.clone(),
    })
}
