//! The built site in memory, the build's only output: every file by its path (pages, static
//! assets, sitemap, robots.txt, the consent manifest) and the manifest itself. `build` writes
//! it to disk atomically ([`BuiltSite::write_to`]); `serve` answers from it directly.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use kelisim_manifest::ConsentManifest;
use rayon::prelude::*;

use crate::error::BuildError;

/// The name of the manifest file; its presence marks a folder kelisim wrote.
pub const MANIFEST_FILE: &str = "consent-manifest.json";

/// A built site, in memory.
#[derive(Debug, Clone)]
pub struct BuiltSite {
    /// File contents by path relative to the site root, `/`-separated (`kk/index.html`).
    files: BTreeMap<String, Arc<[u8]>>,
    /// What the relay checks submissions against (also in the files, as JSON).
    pub manifest: ConsentManifest,
    /// Problems that did not stop the build, one sentence each.
    pub warnings: Vec<String>,
}

impl BuiltSite {
    pub(crate) fn new(manifest: ConsentManifest, warnings: Vec<String>) -> Self {
        Self {
            files: BTreeMap::new(),
            manifest,
            warnings,
        }
    }

    /// Adds (or replaces) a file.
    pub(crate) fn insert(&mut self, path: String, bytes: Vec<u8>) {
        self.files.insert(path, bytes.into());
    }

    /// A file's contents, by its path relative to the site root (`kk/index.html`).
    pub fn file(&self, path: &str) -> Option<&Arc<[u8]>> {
        self.files.get(path)
    }

    /// Every file's path, sorted.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }

    /// How many HTML pages the site has.
    pub fn page_count(&self) -> usize {
        self.paths().filter(|p| p.ends_with(".html")).count()
    }

    /// How many files the site has.
    pub fn file_count(&self) -> usize {
        self.files.len()
    }

    /// Writes the site into a fresh sibling folder, then swaps it in, so a server reading the
    /// output never sees a half-written site. Refuses to replace a folder kelisim did not make.
    pub fn write_to(&self, output: &Path) -> Result<(), BuildError> {
        refuse_foreign(output)?;
        let (staging, old) = sibling_folders(output)?;
        self.files
            .par_iter()
            .try_for_each(|(path, bytes)| -> Result<(), BuildError> {
                let target = staging.join(path);
                if let Some(p) = target.parent() {
                    std::fs::create_dir_all(p)
                        .map_err(|e| BuildError::io(p, "create the folder", e))?;
                }
                std::fs::write(&target, bytes)
                    .map_err(|e| BuildError::io(&target, "write the file", e))
            })?;
        if output.exists() {
            std::fs::rename(output, &old)
                .map_err(|e| BuildError::io(output, "replace the folder", e))?;
        }
        std::fs::rename(&staging, output)
            .map_err(|e| BuildError::io(output, "move the new site into place", e))?;
        if old.exists() {
            std::fs::remove_dir_all(&old)
                .map_err(|e| BuildError::io(&old, "remove the old site", e))?;
        }
        Ok(())
    }
}

/// An existing, non-empty output folder without a manifest was not made by kelisim.
fn refuse_foreign(output: &Path) -> Result<(), BuildError> {
    if output.exists() && !output.join(MANIFEST_FILE).exists() {
        let empty = std::fs::read_dir(output)
            .map(|mut d| d.next().is_none())
            .unwrap_or(false);
        if !empty {
            return Err(BuildError::ForeignOutput(output.to_path_buf()));
        }
    }
    Ok(())
}

/// `.<name>.kelisim-new` (where the site is written) and `.<name>.kelisim-old` (where the
/// previous one waits to be removed), next to `output`, cleared of any leftovers.
fn sibling_folders(output: &Path) -> Result<(PathBuf, PathBuf), BuildError> {
    let name = output
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "public".to_owned());
    let parent = output
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| BuildError::io(parent, "create the folder", e))?;
    let staging = parent.join(format!(".{name}.kelisim-new"));
    let old = parent.join(format!(".{name}.kelisim-old"));
    for leftover in [&staging, &old] {
        if leftover.exists() {
            std::fs::remove_dir_all(leftover)
                .map_err(|e| BuildError::io(leftover, "remove the leftover folder", e))?;
        }
    }
    Ok((staging, old))
}
