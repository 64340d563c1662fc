//! Writing a built site to disk: static files and pages into a fresh sibling folder, then an
//! atomic swap, so a server reading the output (like `kelisim serve`) never sees half a site.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::error::BuildError;
use crate::source::files_under;

/// A file of the built site, kept in memory until everything has rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputFile {
    /// Path relative to the output folder, `/`-separated.
    pub path: String,
    pub bytes: Vec<u8>,
}

/// Writes the site into a fresh sibling folder, then swaps it in, so a server reading the
/// output never sees a half-written site. Refuses to replace a folder kelisim did not make.
pub(crate) fn write_output(
    output: &Path,
    files: &[OutputFile],
    statics: &[PathBuf],
) -> Result<usize, BuildError> {
    if output.exists() && !output.join("consent-manifest.json").exists() {
        let empty = std::fs::read_dir(output)
            .map(|mut d| d.next().is_none())
            .unwrap_or(false);
        if !empty {
            return Err(BuildError::ForeignOutput(output.to_path_buf()));
        }
    }
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
    let mut copied = 0;
    for dir in statics {
        let files = files_under(dir, |_| true)
            .map_err(|e| BuildError::io(dir, "read the static folder", std::io::Error::other(e)))?;
        for file in files {
            let rel = file.strip_prefix(dir).unwrap_or(&file);
            let target = staging.join("static").join(rel);
            if let Some(p) = target.parent() {
                std::fs::create_dir_all(p)
                    .map_err(|e| BuildError::io(p, "create the folder", e))?;
            }
            std::fs::copy(&file, &target)
                .map_err(|e| BuildError::io(&file, "copy the static file", e))?;
            copied += 1;
        }
    }
    files
        .par_iter()
        .try_for_each(|file| -> Result<(), BuildError> {
            let target = staging.join(&file.path);
            if let Some(p) = target.parent() {
                std::fs::create_dir_all(p)
                    .map_err(|e| BuildError::io(p, "create the folder", e))?;
            }
            std::fs::write(&target, &file.bytes)
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
    Ok(copied)
}
