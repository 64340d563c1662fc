//! `kelisim new PATH`: one new page in every language of the site, front matter filled in.
//!
//! A page and its translations are linked by their relative path under `content/<lang>/`, so
//! creating them together at the same path is what keeps the language switcher, `hreflang`
//! and `kelisim check`'s "page without a translation" quiet from the start. Like Hugo's `hugo
//! new content`, the front matter gets a title from the file name and today's date; the
//! editor then translates the titles and writes the texts.

use std::path::{Component, Path, PathBuf};

use time::Date;

/// Why no page was created (nothing is written unless every language's file can be).
#[derive(Debug, thiserror::Error)]
pub enum NewPageError {
    #[error(
        "`{0}` is not a page path: give it relative to content/<lang>/, such as `about.md` or `help/faq.md`, without `..`, a language folder or a leading `/`."
    )]
    BadPath(String),
    #[error("{0}: the page already exists; nothing was created. Edit it, or pick another path.")]
    Exists(PathBuf),
    #[error("{0}")]
    Config(String),
    #[error("{path}: could not write it: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Creates `content/<lang>/<path>` for every language of the site at `root`, and returns the
/// files written. `title` defaults to the file name in words (`data-requests` → "Data
/// requests").
pub fn new_page(
    root: &Path,
    path: &str,
    title: Option<&str>,
    today: Date,
) -> Result<Vec<PathBuf>, NewPageError> {
    let rel = page_path(path)?;
    let config =
        crate::build::load_config(root, None).map_err(|e| NewPageError::Config(e.to_string()))?;
    let languages: Vec<&str> = config.languages.iter().map(|l| l.code.as_str()).collect();
    if languages.contains(&first_segment(&rel)) {
        return Err(NewPageError::BadPath(path.to_owned()));
    }
    let targets: Vec<PathBuf> = languages
        .iter()
        .map(|lang| root.join("content").join(lang).join(&rel))
        .collect();
    if let Some(existing) = targets.iter().find(|t| t.exists()) {
        return Err(NewPageError::Exists(existing.clone()));
    }
    let title = title.map_or_else(|| title_of(&rel), str::to_owned);
    let text = front_matter(&title, today);
    for target in &targets {
        let write = || -> std::io::Result<()> {
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)?;
            }
            // `create_new`: a file that appeared since the check above is still not replaced.
            use std::io::Write as _;
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(target)?
                .write_all(text.as_bytes())
        };
        write().map_err(|source| NewPageError::Write {
            path: target.clone(),
            source,
        })?;
    }
    Ok(targets)
}

/// The page's path under `content/<lang>/`, with `.md` added when missing.
fn page_path(path: &str) -> Result<PathBuf, NewPageError> {
    let bad = || NewPageError::BadPath(path.to_owned());
    let trimmed = path.trim();
    if trimmed.is_empty() || trimmed.ends_with('/') || trimmed.contains('\\') {
        return Err(bad());
    }
    let mut rel = PathBuf::from(trimmed);
    if !rel
        .components()
        .all(|c| matches!(c, Component::Normal(part) if !part.to_string_lossy().starts_with('.')))
    {
        return Err(bad());
    }
    if rel.extension().is_none_or(|e| e != "md") {
        let mut name = rel.file_name().ok_or_else(bad)?.to_os_string();
        name.push(".md");
        rel.set_file_name(name);
    }
    Ok(rel)
}

fn first_segment(rel: &Path) -> &str {
    rel.components()
        .next()
        .and_then(|c| c.as_os_str().to_str())
        .unwrap_or("")
}

/// `data-requests.md` → "Data requests"; `_index.md` in `help/` → "Help".
fn title_of(rel: &Path) -> String {
    let stem = rel.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    let stem = if stem == "_index" {
        rel.parent()
            .and_then(|p| p.file_name())
            .and_then(|s| s.to_str())
            .unwrap_or("")
    } else {
        stem
    };
    let words = stem.replace(['-', '_'], " ");
    let mut chars = words.trim().chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => "Untitled".to_owned(),
    }
}

fn front_matter(title: &str, today: Date) -> String {
    let title = toml::Value::String(title.to_owned());
    format!(
        "+++\ntitle = {title}\ndate = {}\n+++\n\n",
        kelisim_manifest::dates::iso(today)
    )
}
