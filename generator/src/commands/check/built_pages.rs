//! The built site as the HTML checks read it: every page's HTML by its built path, the
//! content file each came from (so a finding points at the line an editor fixes), and the
//! small scanners they share (attributes, ids, which links stay inside the site).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::build::LoadedSite;
use crate::emit::built::BuiltSite;
use crate::load::source::{Location, line_of};

/// The built HTML pages, with the content file each came from (where there is one).
pub(super) struct Pages {
    /// Built path (`kk/privacy/index.html`) → HTML.
    pub(super) html: BTreeMap<String, String>,
    /// Built path → (content file, its text).
    sources: BTreeMap<String, (PathBuf, String)>,
    /// Every built file's path (static files included).
    pub(super) files: BTreeSet<String>,
}

impl Pages {
    pub(super) fn new(loaded: &LoadedSite, site: &BuiltSite, root: &Path) -> Self {
        let mut html = BTreeMap::new();
        for path in site.paths().filter(|p| p.ends_with(".html")) {
            if let Some(bytes) = site.file(path) {
                html.insert(path.to_owned(), String::from_utf8_lossy(bytes).into_owned());
            }
        }
        let mut sources = BTreeMap::new();
        let archived = loaded.model.policies.archived().iter().map(|a| &a.page);
        for page in loaded.model.pages.iter().chain(archived) {
            let built = built_path(&page.url);
            if let Ok(text) = std::fs::read_to_string(root.join(&page.source)) {
                sources.insert(built, (page.source.clone(), text));
            }
        }
        Self {
            html,
            sources,
            files: site.paths().map(str::to_owned).collect(),
        }
    }

    /// Where an editor fixes `needle` found at `offset` of the built page `path`: the content
    /// file's line that has it, or else the built page's line (it comes from a template).
    pub(super) fn locate(&self, path: &str, needle: &str, offset: usize) -> Location {
        if let Some((file, text)) = self.sources.get(path)
            && let Some(at) = text.find(needle)
        {
            return Location::new(file, line_of(text, at));
        }
        let html = self.html.get(path).map_or("", String::as_str);
        Location::new(format!("(built) {path}"), line_of(html, offset))
    }
}

/// `/kk/privacy/` → `kk/privacy/index.html`; `/404.html` → `404.html`.
pub(super) fn built_path(url: &str) -> String {
    let path = url.trim_start_matches('/');
    if path.is_empty() || path.ends_with('/') {
        format!("{path}index.html")
    } else {
        path.to_owned()
    }
}

/// Every `name="value"` attribute in `html`, with the offset of the value.
pub(super) fn attributes<'h>(html: &'h str, name: &str) -> Vec<(usize, &'h str)> {
    let needle = format!(" {name}=\"");
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(found) = html[from..].find(&needle) {
        let start = from + found + needle.len();
        let Some(len) = html[start..].find('"') else {
            break;
        };
        out.push((start, &html[start..start + len]));
        from = start + len;
    }
    out
}

/// The `id`s of a page.
pub(super) fn ids(html: &str) -> BTreeSet<&str> {
    attributes(html, "id").into_iter().map(|(_, v)| v).collect()
}

/// The site path of a link if it points into the site: relative to the root, or absolute on
/// the site's own base URL.
pub(super) fn internal<'u>(href: &'u str, base_url: &str) -> Option<&'u str> {
    if let Some(rest) = href.strip_prefix(base_url) {
        return Some(if rest.is_empty() { "/" } else { rest });
    }
    (href.starts_with('/') && !href.starts_with("//") || href.starts_with('#')).then_some(href)
}
