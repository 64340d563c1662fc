//! The build driver: **load** (`site.toml`, UI strings, templates, content) → **model**
//! ([`SiteModel`]: typed pages and the policy set) → **render** (the three consumers: HTML
//! [`pages`], [`seo`] and the consent [`manifest`]) → **emit** (each file handed to an
//! [`Emit`] sink as soon as it is made). The one module that calls every stage. [`build`] streams
//! them into the output folder; `serve` calls [`render_site`] after every change and answers
//! from the [`BuiltSite`] it keeps in memory.

use std::path::{Path, PathBuf};

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use kelisim_manifest::ConsentManifest;
use kelisim_manifest::receipt_keys::ReceiptKey;

use crate::emit::built::{BuiltSite, MemorySink};
use crate::emit::{Emit, MANIFEST_FILE, OutputDir};
use crate::error::BuildError;
use crate::load::config::SiteConfig;
use crate::load::content;
use crate::load::i18n::Locales;
use crate::load::receipt_keys::{self, ReceiptKeys};
use crate::load::source::{Location, Warnings, files_under, read_text, relative_name};
use crate::load::templates::{self, Renderer};
use crate::model::lock::{LOCK_FILE, LockError, PolicyLock};
use crate::model::page::HtmlPage;
use crate::model::{self, SiteModel};
use crate::render::manifest;
use crate::render::pages;
use crate::render::seo;

/// What to build.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// The site root (where `site.toml` is).
    pub root: PathBuf,
    /// Output folder; `<root>/public` when `None`.
    pub output: Option<PathBuf>,
    /// Replaces `base_url` from `site.toml` (for previews on another host).
    pub base_url: Option<String>,
    /// Writes `.br` and `.gz` beside each HTML, CSS and JS file (`build` only).
    pub precompress: bool,
}

impl BuildOptions {
    /// Build the site at `root` into `<root>/public`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            output: None,
            base_url: None,
            precompress: true,
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
    /// Whether `policy.lock` was written (a newly published version was locked).
    pub lock_updated: bool,
    pub elapsed: Duration,
}

/// Builds the site and writes it to the output folder, replacing it atomically. Pages are
/// written as they are rendered, so memory does not grow with the number of pages. A published
/// policy text that no longer matches `policy.lock`, or a placeholder policy, stops it before
/// anything is written; a consent label that no longer matches stops it before the new site
/// replaces the old one.
pub fn build(options: &BuildOptions) -> Result<BuildReport, BuildError> {
    let started = Instant::now();
    let loaded = load_checked(options, Placeholders::Refuse)?;
    let output = options.output_dir();
    let dir = OutputDir::create(&output)?
        .precompress(options.precompress)
        .cache_copies_under(&options.root);
    let done = render_loaded_into(&loaded, &dir)?;
    check_labels(&loaded, &done.manifest)?;
    dir.finish()?;
    let lock_updated = write_lock(&options.root, &done.policy_lock)?;
    Ok(BuildReport {
        output,
        pages_written: done.pages,
        files_written: done.files,
        warnings: done.warnings,
        lock_updated,
        elapsed: started.elapsed(),
    })
}

/// Writes `policy.lock` when its text changed (a version published for the first time).
fn write_lock(root: &Path, text: &str) -> Result<bool, BuildError> {
    let path = root.join(LOCK_FILE);
    if std::fs::read_to_string(&path).is_ok_and(|old| old == text) {
        return Ok(false);
    }
    std::fs::write(&path, text).map_err(|e| BuildError::io(&path, "write the policy lock", e))?;
    Ok(true)
}

/// Loads, models and renders the whole site in memory, static files included; nothing is
/// written. A published policy text or label that no longer matches `policy.lock`, or a
/// placeholder policy, stops it, as it stops [`build`].
pub fn render_site(options: &BuildOptions) -> Result<BuiltSite, BuildError> {
    let loaded = load_checked(options, Placeholders::Refuse)?;
    let site = render_loaded(&loaded)?;
    check_labels(&loaded, &site.manifest)?;
    Ok(site)
}

/// [`render_site`], ending with [`BuildError::Stopped`] as soon as `stop` is set (checked
/// after loading and before each file), for the preview's rebuilds. The loaded site comes
/// back too, for the preview's later re-render of edited pages ([`crate::serve::rerender`]).
/// Unlike a build, the preview shows a placeholder policy (its template marks it as one).
pub fn render_site_until(
    options: &BuildOptions,
    stop: &Arc<AtomicBool>,
) -> Result<(LoadedSite, BuiltSite), BuildError> {
    render_site_until_with_key(options, stop, None)
}

/// [`render_site_until`], publishing `preview_key` (the preview relay's own throwaway public
/// key) beside the site's receipt keys, as `kelisim serve` does on every build. The key is
/// checked like the site's own.
pub fn render_site_until_with_key(
    options: &BuildOptions,
    stop: &Arc<AtomicBool>,
    preview_key: Option<ReceiptKey>,
) -> Result<(LoadedSite, BuiltSite), BuildError> {
    let mut loaded = load_checked(options, Placeholders::Preview)?;
    if let Some(key) = preview_key {
        let keys = ReceiptKeys::with_extra_key(loaded.receipt_keys.as_ref(), key)?;
        loaded.receipt_keys = Some(keys);
    }
    if stop.load(Ordering::Relaxed) {
        return Err(BuildError::Stopped);
    }
    // The preview re-renders only the pages a string edit touches ([`crate::serve::rerender`]).
    loaded.locales.track_usage();
    let site = render_loaded_with(&loaded, MemorySink::stoppable(Arc::clone(stop)))?;
    check_labels(&loaded, &site.manifest)?;
    Ok((loaded, site))
}

/// Whether a placeholder policy stops the build ([`build`]) or is shown ([`render_site_until`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placeholders {
    Refuse,
    Preview,
}

/// [`load_site`], refusing a policy that drifted from `policy.lock` and, unless previewing, a
/// placeholder policy.
fn load_checked(
    options: &BuildOptions,
    placeholders: Placeholders,
) -> Result<LoadedSite, BuildError> {
    let loaded = load_site(options)?;
    if let Some(problem) = loaded
        .lock
        .problems(&loaded.model.policies)
        .into_iter()
        .next()
    {
        return Err(problem.into());
    }
    if placeholders == Placeholders::Refuse
        && let Some(placeholder) = loaded.model.policies.placeholders().next()
    {
        return Err(placeholder.clone().into());
    }
    Ok(loaded)
}

/// Every consent label that changed under a locked policy version, with the Fluent message
/// it is written in (`consent-<purpose>`, as the theme's contact form formats it).
pub fn label_problems(loaded: &LoadedSite, manifest: &ConsentManifest) -> Vec<LockError> {
    let origin = |lang: &str, purpose: &str| {
        let key = format!("consent-{purpose}");
        let location = loaded
            .locales
            .origin(lang, &key)
            .cloned()
            .unwrap_or_else(|| Location::new(format!("locales/{lang}/main.ftl"), 1));
        (location, key)
    };
    loaded.lock.label_problems(
        &loaded.model.policies,
        &manifest::current_labels(manifest),
        &origin,
    )
}

/// [`label_problems`]' first, as the error that stops a build.
fn check_labels(loaded: &LoadedSite, manifest: &ConsentManifest) -> Result<(), BuildError> {
    match label_problems(loaded, manifest).into_iter().next() {
        Some(problem) => Err(problem.into()),
        None => Ok(()),
    }
}

/// The site loaded and modelled, not yet rendered: what `kelisim check` and
/// `kelisim policy diff` read.
#[derive(Debug)]
pub struct LoadedSite {
    pub model: SiteModel,
    pub renderer: Renderer,
    pub locales: Arc<Locales>,
    /// Problems found so far; rendering adds its own.
    pub warnings: Warnings,
    /// `policy.lock` as committed (empty when the site has none yet).
    pub lock: PolicyLock,
    /// The receipt keys the site publishes, checked; `None` when it has none. The preview may
    /// add its own throwaway key ([`ReceiptKeys::with_extra_key`]) before rendering.
    pub receipt_keys: Option<ReceiptKeys>,
    /// The theme's and the site's static files.
    pub(crate) assets: StaticFiles,
}

/// What [`render_loaded_into`] made, besides the files it emitted.
#[derive(Debug)]
pub struct Rendered {
    /// The consent manifest (also emitted as [`MANIFEST_FILE`]).
    pub manifest: ConsentManifest,
    /// Problems that did not stop the build, one sentence each.
    pub warnings: Vec<String>,
    /// HTML pages emitted.
    pub pages: usize,
    /// Files emitted, pages included.
    pub files: usize,
    /// The text of `policy.lock` with every published version in it.
    pub policy_lock: String,
}

/// Loads `site.toml`, the UI strings, the templates, the static files, the content and
/// `policy.lock`, and builds the site model.
pub fn load_site(options: &BuildOptions) -> Result<LoadedSite, BuildError> {
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
    let assets = StaticFiles::load(root, &config.theme)?;
    let mut renderer = Renderer::new(
        templates::load_templates(root, &config.theme)?,
        Arc::clone(&locales),
        &languages,
        &config.base_url,
        warnings.clone(),
    )?;
    renderer.set_assets(assets.urls());
    let mut sources = Vec::new();
    for language in &config.languages {
        sources.extend(content::load_language(root, &language.code)?);
    }
    let codes: Vec<_> = config.languages.iter().map(|l| l.code.clone()).collect();
    model::warn_about_unknown_language_folders(root, &codes, &warnings);
    let receipt_keys = ReceiptKeys::load(root, &config)?;
    let model = SiteModel::new(config, sources, &renderer, &warnings)?;
    let lock = PolicyLock::load(root)?;
    Ok(LoadedSite {
        model,
        renderer,
        locales,
        warnings,
        lock,
        receipt_keys,
        assets,
    })
}

/// Renders a loaded site into memory. Does not compare the lock (see [`render_site`]).
pub fn render_loaded(loaded: &LoadedSite) -> Result<BuiltSite, BuildError> {
    render_loaded_with(loaded, MemorySink::default())
}

fn render_loaded_with(loaded: &LoadedSite, files: MemorySink) -> Result<BuiltSite, BuildError> {
    let done = render_loaded_into(loaded, &files)?;
    let mut site = BuiltSite::new(files.into_files(), done.manifest, done.warnings);
    site.policy_lock = done.policy_lock;
    Ok(site)
}

/// Renders a loaded site, handing every file to `sink` as soon as it is made: pages, the
/// sitemap, robots.txt, the consent manifest, each policy version's labels, the receipt keys
/// and the static files. Does not compare the labels with the lock (see [`label_problems`]).
pub fn render_loaded_into(loaded: &LoadedSite, sink: &dyn Emit) -> Result<Rendered, BuildError> {
    let LoadedSite {
        model,
        renderer,
        locales,
        warnings,
        lock,
        receipt_keys,
        assets,
    } = loaded;
    let counted = Counted::new(sink);
    let emit_page = |page: HtmlPage| -> Result<(), BuildError> {
        counted.emit(&content::output_path(&page.url), page.html.into_bytes())
    };
    let for_manifest = pages::render(model, renderer, locales, warnings, &emit_page)?;
    let sources = manifest::Sources {
        pages: &for_manifest,
        locales,
        lock,
        receipt_keys: receipt_keys.is_some(),
    };
    let manifest = manifest::build(model, sources)?;
    let sitemap = seo::sitemap(model, renderer)?;
    counted.emit("sitemap.xml", sitemap.into_bytes())?;
    let robots = seo::robots(&model.config.base_url);
    counted.emit("robots.txt", robots.into_bytes())?;
    counted.emit(MANIFEST_FILE, json(&manifest, MANIFEST_FILE)?)?;
    for (path, labels) in manifest::label_documents(&manifest) {
        let bytes = json(&labels, &path)?;
        counted.emit(&path, bytes)?;
    }
    if let Some(keys) = receipt_keys {
        counted.emit(receipt_keys::PUBLISHED_PATH, keys.bytes.clone())?;
    }
    assets.emit(&counted)?;
    let current = manifest::current_labels(&manifest);
    Ok(Rendered {
        manifest,
        warnings: warnings.take(),
        pages: counted.pages.load(Ordering::Relaxed),
        files: counted.files.load(Ordering::Relaxed),
        policy_lock: lock.updated(&model.policies, &current).to_toml(),
    })
}

/// `value` as pretty JSON with a final newline, the way the build writes every JSON file.
fn json(value: &impl serde::Serialize, path: &str) -> Result<Vec<u8>, BuildError> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| BuildError::io(Path::new(path), "serialize", std::io::Error::other(e)))?;
    Ok(format!("{text}\n").into_bytes())
}

/// A sink that counts what passes through it, for the build report.
struct Counted<'s> {
    sink: &'s dyn Emit,
    pages: AtomicUsize,
    files: AtomicUsize,
}

impl<'s> Counted<'s> {
    fn new(sink: &'s dyn Emit) -> Self {
        Self {
            sink,
            pages: AtomicUsize::new(0),
            files: AtomicUsize::new(0),
        }
    }
}

impl Emit for Counted<'_> {
    fn emit(&self, path: &str, bytes: Vec<u8>) -> Result<(), BuildError> {
        self.sink.emit(path, bytes)?;
        if path.ends_with(".html") {
            self.pages.fetch_add(1, Ordering::Relaxed);
        }
        self.files.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// `site.toml`, with `--base-url` applied.
pub fn load_config(root: &Path, base_url: Option<&str>) -> Result<SiteConfig, BuildError> {
    let shown = Path::new("site.toml");
    let text = read_text(&root.join(shown), shown)?;
    let mut config: SiteConfig = text.parse()?;
    if let Some(base_url) = base_url {
        config.set_base_url(base_url)?;
    }
    Ok(config)
}

/// The theme's `static/`, then the site's own `static/` (whose files win), published under
/// `static/` twice: at their own name and at a content-hashed one (`static/style.1a2b3c4d5e.css`)
/// that templates link with `asset(path=...)`, so a server can let browsers keep it for good.
#[derive(Debug)]
pub(crate) struct StaticFiles {
    /// By name inside `static/` (`style.css`): the file and its hashed name.
    files: std::collections::BTreeMap<String, (PathBuf, String)>,
}

impl StaticFiles {
    fn load(root: &Path, theme: &str) -> Result<Self, BuildError> {
        let mut found = std::collections::BTreeMap::new();
        for dir in [
            root.join("themes").join(theme).join("static"),
            root.join("static"),
        ] {
            let files = files_under(&dir, |_| true).map_err(|e| {
                BuildError::io(&dir, "read the static folder", std::io::Error::other(e))
            })?;
            for file in files {
                found.insert(relative_name(&dir, &file), file);
            }
        }
        let mut files = std::collections::BTreeMap::new();
        for (name, file) in found {
            let bytes = std::fs::read(&file)
                .map_err(|e| BuildError::io(&file, "read the static file", e))?;
            let hashed = hashed_name(&name, &kelisim_manifest::sha256_hex(&bytes));
            files.insert(name, (file, hashed));
        }
        Ok(Self { files })
    }

    /// `style.css` → `/static/style.1a2b3c4d5e.css`, for the `asset` template function.
    pub(crate) fn urls(&self) -> std::collections::BTreeMap<String, String> {
        self.files
            .iter()
            .map(|(name, (_, hashed))| (name.clone(), format!("/static/{hashed}")))
            .collect()
    }

    fn emit(&self, sink: &dyn Emit) -> Result<(), BuildError> {
        for (name, (file, hashed)) in &self.files {
            let bytes =
                std::fs::read(file).map_err(|e| BuildError::io(file, "read the static file", e))?;
            sink.emit(&format!("static/{hashed}"), bytes.clone())?;
            sink.emit(&format!("static/{name}"), bytes)?;
        }
        Ok(())
    }
}

/// The first 10 hex digits of the content's SHA-256 before the extension:
/// `css/style.css` → `css/style.1a2b3c4d5e.css` (a name without an extension gets it at the end).
pub fn hashed_name(name: &str, sha256_hex: &str) -> String {
    let hash = &sha256_hex[..10.min(sha256_hex.len())];
    let (dir, file) = match name.rsplit_once('/') {
        Some((dir, file)) => (format!("{dir}/"), file),
        None => (String::new(), name),
    };
    match file.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => format!("{dir}{stem}.{hash}.{ext}"),
        _ => format!("{dir}{file}.{hash}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_names_keep_folder_and_extension() {
        let hash = "0123456789abcdef";
        assert_eq!(hashed_name("style.css", hash), "style.0123456789.css");
        assert_eq!(hashed_name("img/a.b.png", hash), "img/a.b.0123456789.png");
        assert_eq!(hashed_name("LICENSE", hash), "LICENSE.0123456789");
        assert_eq!(hashed_name(".hidden", hash), ".hidden.0123456789");
    }
}
