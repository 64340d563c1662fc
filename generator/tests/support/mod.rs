//! Helpers shared by the generator's integration tests: fixture sites in temp folders and a
//! tiny attribute reader for the built HTML (the generator writes one tag per line, quoted
//! attributes, so no HTML parser is needed).
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

pub fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/site")
}

pub fn copy_tree(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.unwrap();
        let rel = entry.path().strip_prefix(from).unwrap();
        let target = to.join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The fixture site in a temp folder, with the repository's theme and UI strings beside it.
pub fn fixture_site() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&fixture_dir(), dir.path());
    copy_tree(&repo_root().join("themes"), &dir.path().join("themes"));
    copy_tree(&repo_root().join("locales"), &dir.path().join("locales"));
    dir
}

/// Builds a site root into `<root>/public` and returns the report.
pub fn build(root: &Path) -> Result<kelisim::BuildReport, kelisim::BuildError> {
    kelisim::build(&kelisim::BuildOptions::new(root))
}

/// Builds the repository's own site into `out` (its `site.toml` base URL unchanged).
pub fn build_real_site(out: &Path) -> kelisim::BuildReport {
    kelisim::build(&kelisim::BuildOptions {
        root: repo_root(),
        output: Some(out.to_path_buf()),
        base_url: None,
        precompress: true,
    })
    .unwrap()
}

pub fn read(root: &Path, rel: &str) -> String {
    std::fs::read_to_string(root.join("public").join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Every start tag beginning with `prefix` (e.g. `<link rel="alternate"`), as written.
pub fn tags<'a>(html: &'a str, prefix: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(at) = rest.find(prefix) {
        let tag = &rest[at..];
        let end = tag.find('>').map(|e| e + 1).unwrap_or(tag.len());
        out.push(&tag[..end]);
        rest = &tag[end..];
    }
    out
}

/// The value of `name="..."` in a start tag.
pub fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let needle = format!(" {name}=\"");
    let start = tag.find(&needle)? + needle.len();
    let len = tag[start..].find('"')?;
    Some(&tag[start..start + len])
}

/// `(hreflang, href)` of the page's alternate links.
pub fn alternates(html: &str) -> Vec<(String, String)> {
    tags(html, "<link rel=\"alternate\"")
        .iter()
        .map(|t| {
            (
                attr(t, "hreflang").unwrap().to_owned(),
                attr(t, "href").unwrap().to_owned(),
            )
        })
        .collect()
}

/// HTML files of a built site, relative to its output folder.
pub fn html_files(out: &Path) -> Vec<String> {
    let mut files: Vec<String> = walkdir::WalkDir::new(out)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().and_then(|x| x.to_str()) == Some("html"))
        .map(|e| {
            e.path()
                .strip_prefix(out)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/")
        })
        .collect();
    files.sort();
    files
}
