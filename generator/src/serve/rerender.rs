//! The preview's fast path: an edit to the text of ordinary pages re-renders those pages
//! only, instead of the whole site. It is part of `serve` because only the preview uses it
//! and it works on the driver's [`LoadedSite`] and [`BuiltSite`]: under `emit/` it would
//! import the driver, which imports emit.
//!
//! A page's HTML depends on its own body and front matter, and on what every page shares
//! (templates, strings, settings, the other pages' URLs and titles). When the only change is
//! the Markdown body of some ordinary pages (front matter untouched), nothing shared changed:
//! the hreflang and switcher links, the sitemap, the manifest and every other page stay what
//! a full build would make, and re-rendering the edited pages gives the same site. Anything
//! else (a front-matter edit, a new or removed file, a template, a string, the policy, the
//! contact page whose labels the manifest reads, the thank-you page it carries) is not taken
//! here, and the caller does a full build. So the fast path can only be fast, never different.
//!
//! The same holds for one template: the pages rendered with it are re-rendered with the
//! reloaded templates, when no other template extends, includes or imports it (a base or a
//! partial reaches every page that uses it, which takes the full build) and none of its pages
//! feeds the manifest.
//!
//! And for the UI strings: after an edit to `locales/<lang>/*.ftl`, the pages whose render
//! formatted a message whose text changed are re-rendered (each page's render notes the
//! messages it formats), unless such a message was formatted outside a page's own render
//! (the common context, the chooser, the policy's copies), is the relay's, or is referred to
//! by other messages; or a term changed.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::build::LoadedSite;
use crate::emit::built::BuiltSite;
use crate::load::content;
use crate::load::source::{Warnings, read_text, relative_name};
use crate::load::templates::{self, Renderer};
use crate::model::page::{Body, HtmlPage};
use crate::render::pages;

/// What a fast re-render made: the new site and how many pages it rendered.
#[derive(Debug)]
pub struct Rerendered {
    pub site: BuiltSite,
    pub pages: usize,
    pub warnings: Vec<String>,
}

impl Rerendered {
    /// `site` with the re-rendered `html` pages in place of their old files.
    fn new(
        site: &BuiltSite,
        html: impl IntoIterator<Item = HtmlPage>,
        pages: usize,
        warnings: &Warnings,
    ) -> Self {
        Self {
            site: site.with_files(
                html.into_iter()
                    .map(|page| (content::output_path(&page.url), page.html.into_bytes())),
            ),
            pages,
            warnings: warnings.take(),
        }
    }
}

/// Applies the edits of the files `changed` to `loaded` and `site` when this path can take
/// them (see the module doc): one template, or body-only edits of ordinary pages.
pub fn edits(
    loaded: &mut LoadedSite,
    site: &BuiltSite,
    root: &Path,
    changed: &[PathBuf],
) -> Option<Rerendered> {
    // The watcher may name files by absolute paths for a root given as a relative one.
    let root = &root.canonicalize().ok()?;
    let changed: &[PathBuf] = &present(loaded, root, changed)?;
    if changed.is_empty() {
        // Only an editor's temporary files came and went.
        return Some(Rerendered::new(site, [], 0, &Warnings::default()));
    }
    if let [path] = changed
        && let Some(name) = template_name(loaded, root, path)
    {
        return template_edit(loaded, site, root, &name);
    }
    if changed.iter().all(|p| is_strings_file(root, p)) {
        return string_edit(loaded, site, root);
    }
    body_edits(loaded, site, root, changed)
}

/// The files of `changed` that exist now, canonical (`root` is). `None` when one that is gone
/// was a source of the site (a page, template, string, setting or static file by its
/// extension, or a folder that held pages): a removal or a rename takes the full build. Other vanished files are an
/// editor's temporary copies (`.sedX1y2z3`, `page.md~`, vim's `4913`) and are left out.
fn present(loaded: &LoadedSite, root: &Path, changed: &[PathBuf]) -> Option<Vec<PathBuf>> {
    const SOURCES: [&str; 8] = ["md", "html", "xml", "ftl", "toml", "css", "js", "svg"];
    let mut present = Vec::with_capacity(changed.len());
    for path in changed {
        if let Ok(path) = path.canonicalize() {
            present.push(path);
            continue;
        }
        let source = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| SOURCES.contains(&e));
        // A folder that is gone cannot be canonicalized: compare by its parent.
        let folder_of_pages = path
            .parent()
            .and_then(|parent| parent.canonicalize().ok())
            .and_then(|parent| Some(parent.join(path.file_name()?)))
            .and_then(|gone| gone.strip_prefix(root).ok().map(Path::to_path_buf))
            .is_none_or(|gone| {
                loaded
                    .model
                    .pages
                    .iter()
                    .any(|p| p.source.starts_with(&gone))
            });
        if source || folder_of_pages {
            return None;
        }
    }
    Some(present)
}

/// Applies body-only edits of the files `changed` (absolute paths) to `loaded` and `site`.
/// `None` when the change is not one this path takes (see the module doc); `loaded` is then
/// left as it was, and the caller builds the whole site.
pub fn body_edits(
    loaded: &mut LoadedSite,
    site: &BuiltSite,
    root: &Path,
    changed: &[PathBuf],
) -> Option<Rerendered> {
    // The watcher may name files by absolute paths for a root given as a relative one.
    let root = root.canonicalize().ok()?;
    let mut edits = Vec::with_capacity(changed.len());
    for path in changed {
        let path = path.canonicalize().ok()?;
        edits.push(body_edit(loaded, &root, &path)?);
    }
    let warnings = Warnings::default();
    let mut html = Vec::new();
    for (index, body) in &edits {
        let mut edited = loaded.model.pages[*index].clone();
        edited.body = Body::Markdown(body.clone());
        html.extend(
            pages::render_one(
                &loaded.model,
                &loaded.renderer,
                &loaded.locales,
                &warnings,
                &edited,
            )
            .ok()?,
        );
    }
    let rendered = edits.len();
    // Every edit rendered: only now does the model take the new bodies.
    for (index, body) in edits {
        loaded.model.pages[index].body = Body::Markdown(body);
    }
    Some(Rerendered::new(site, html, rendered, &warnings))
}

/// The page `path` is, and its new body, if the file is an ordinary page of the model whose
/// front matter (and so URL, title, template, translations) did not change.
fn body_edit(loaded: &LoadedSite, root: &Path, path: &Path) -> Option<(usize, String)> {
    let shown = path.strip_prefix(root).ok()?;
    if shown.extension().is_none_or(|e| e != "md") {
        return None;
    }
    let index = loaded.model.pages.iter().position(|p| p.source == shown)?;
    let page = &loaded.model.pages[index];
    // The policy's hash, the contact page's labels and the thank-you page feed the manifest.
    if page.kind.feeds_manifest() {
        return None;
    }
    let lang_dir = root.join("content").join(page.lang.as_str());
    let name = relative_name(&lang_dir, path);
    let rel = name.strip_suffix(".md")?;
    let text = read_text(path, shown).ok()?;
    let source = content::parse_page(page.lang.as_str(), shown, rel, &text).ok()?;
    let same_shape =
        source.front == page.front && source.url == page.url && source.translation_key == page.key;
    same_shape.then_some((index, source.body))
}

/// The template name (`thanks.html`) of `path`, if it is a file of the site's or the theme's
/// template folder (both paths canonical).
fn template_name(loaded: &LoadedSite, root: &Path, path: &Path) -> Option<String> {
    let theme = &loaded.model.config.theme;
    [
        root.join("templates"),
        root.join("themes").join(theme).join("templates"),
    ]
    .iter()
    .find(|dir| path.starts_with(dir))
    .map(|dir| relative_name(dir, path))
}

/// Re-renders the pages that use template `name`, with every template reloaded.
fn template_edit(
    loaded: &mut LoadedSite,
    site: &BuiltSite,
    root: &Path,
    name: &str,
) -> Option<Rerendered> {
    // Rendered outside the model's pages, or into the sitemap.
    if name == "chooser.html" || !name.ends_with(".html") {
        return None;
    }
    let sources = templates::load_templates(root, &loaded.model.config.theme).ok()?;
    let quoted = [format!("\"{name}\""), format!("'{name}'")];
    let referenced = sources
        .iter()
        .any(|s| s.name != name && quoted.iter().any(|q| s.text.contains(q.as_str())));
    let model = &loaded.model;
    let users: Vec<&crate::model::page::Page> =
        model.pages.iter().filter(|p| p.template == name).collect();
    let feeds_manifest = users.iter().any(|p| p.kind.feeds_manifest());
    if referenced || users.is_empty() || feeds_manifest {
        return None;
    }
    let warnings = Warnings::default();
    let languages: Vec<String> = model.languages.iter().map(|l| l.to_string()).collect();
    let mut renderer = Renderer::new(
        sources,
        std::sync::Arc::clone(&loaded.locales),
        &languages,
        &model.config.base_url,
        warnings.clone(),
    )
    .ok()?;
    renderer.set_assets(loaded.assets.urls());
    let locales = &loaded.locales;
    let rendered: Vec<Vec<HtmlPage>> = users
        .par_iter()
        .map(|page| pages::render_one(model, &renderer, locales, &warnings, page))
        .collect::<Result<_, _>>()
        .ok()?;
    let mut html: Vec<HtmlPage> = rendered.into_iter().flatten().collect();
    if name == "page.html" {
        html.extend(pages::render_changes(model, &renderer, locales, &warnings).ok()?);
    }
    let pages = users.len();
    loaded.renderer = renderer;
    Some(Rerendered::new(site, html, pages, &warnings))
}

/// Whether `path` is a Fluent file of the site's `locales/` (both paths canonical).
fn is_strings_file(root: &Path, path: &Path) -> bool {
    path.starts_with(root.join("locales")) && path.extension().is_some_and(|e| e == "ftl")
}

/// Re-renders the pages that formatted a message whose text changed, with the strings and
/// templates reloaded.
fn string_edit(loaded: &mut LoadedSite, site: &BuiltSite, root: &Path) -> Option<Rerendered> {
    let model = &loaded.model;
    let languages: Vec<String> = model.languages.iter().map(|l| l.to_string()).collect();
    let default = model.default_lang().to_string();
    let locales =
        std::sync::Arc::new(crate::load::i18n::Locales::load(root, &languages, &default).ok()?);
    locales.track_usage();
    let changed = loaded.locales.changed_keys(&locales)?;
    let users: Vec<&crate::model::page::Page> = loaded.locales.with_usage(|usage| {
        if changed.iter().any(|k| usage.elsewhere.contains(k)) {
            return None;
        }
        let touched = |url: &str| {
            usage
                .by_page
                .get(url)
                .is_some_and(|keys| keys.iter().any(|k| changed.contains(k)))
        };
        Some(model.pages.iter().filter(|p| touched(&p.url)).collect())
    })?;
    if users.iter().any(|p| p.kind.feeds_manifest()) {
        return None;
    }
    let warnings = Warnings::default();
    let mut renderer = Renderer::new(
        templates::load_templates(root, &model.config.theme).ok()?,
        std::sync::Arc::clone(&locales),
        &languages,
        &model.config.base_url,
        warnings.clone(),
    )
    .ok()?;
    renderer.set_assets(loaded.assets.urls());
    let rendered: Vec<Vec<HtmlPage>> = users
        .par_iter()
        .map(|page| pages::render_one(model, &renderer, &locales, &warnings, page))
        .collect::<Result<_, _>>()
        .ok()?;
    let pages = users.len();
    locales.adopt_usage(&loaded.locales);
    loaded.renderer = renderer;
    loaded.locales = locales;
    Some(Rerendered::new(
        site,
        rendered.into_iter().flatten(),
        pages,
        &warnings,
    ))
}
