//! Screenshots of pages, saved under `artifacts/screenshots/` for a person to look at after a
//! run (CI keeps the folder; it is git-ignored).

use std::path::PathBuf;

use crate::paths::artifacts_dir;
use crate::{Browser, HarnessError};

/// Tallest screenshot taken, in CSS pixels: a runaway layout must not make a giant PNG.
const MAX_HEIGHT: u32 = 12_000;

/// Saves a full-page PNG of the current page as
/// `artifacts/screenshots/<lang>-<page>-<phone|desktop>.png` and returns its path.
///
/// WebDriver only captures the viewport, so the window is made as tall as the document first
/// and put back afterwards (the page is laid out at the same width either way).
pub async fn save_screenshot(
    browser: &Browser,
    lang: &str,
    page: &str,
) -> Result<PathBuf, HarnessError> {
    let viewport = browser.viewport();
    let (_, normal_height) = viewport.size();
    let document_height: u32 = browser
        .eval(
            "return Math.ceil(Math.max(document.documentElement.scrollHeight, \
             document.body ? document.body.scrollHeight : 0));",
            vec![],
        )
        .await?;
    let height = document_height.clamp(normal_height, MAX_HEIGHT);
    browser.resize(height).await?;
    let png = browser.client().screenshot().await;
    browser.resize(normal_height).await?;
    let png = png?;

    let dir = artifacts_dir().join("screenshots");
    std::fs::create_dir_all(&dir).map_err(|e| HarnessError::io(dir.display().to_string(), e))?;
    let path = dir.join(format!("{lang}-{page}-{}.png", viewport.name()));
    std::fs::write(&path, png).map_err(|e| HarnessError::io(path.display().to_string(), e))?;
    Ok(path)
}
