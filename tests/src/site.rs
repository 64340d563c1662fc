//! The real site, built from this repository's `site.toml`, `content/`, `locales/` and theme by
//! the generator library, for the tests that check what visitors actually get.

use std::path::{Path, PathBuf};

use crate::HarnessError;
use crate::paths::repo_root;

/// Builds the repository's site into `output` (emptied first) and returns the paths of its HTML
/// pages. The `base_url` stays the one in `site.toml`, so canonical and hreflang links are the
/// published ones; pages are served from loopback and load everything by root-relative paths.
pub fn build_real_site(output: &Path) -> Result<Vec<PathBuf>, HarnessError> {
    if output.exists() {
        std::fs::remove_dir_all(output)
            .map_err(|e| HarnessError::io(output.display().to_string(), e))?;
    }
    let mut options = kelisim::BuildOptions::new(repo_root());
    options.output = Some(output.to_path_buf());
    let report = kelisim::build(&options).map_err(|e| HarnessError::Tool {
        what: "kelisim build",
        detail: e.to_string(),
    })?;
    let pages = crate::paths::html_files(&report.output)?;
    if pages.is_empty() {
        return Err(HarnessError::Tool {
            what: "kelisim build",
            detail: format!("no HTML pages in {}", report.output.display()),
        });
    }
    Ok(pages)
}
