//! Where editor-facing text comes from: a `file:line` [`Location`], [`line_of`] for byte
//! offsets, the one UTF-8 reader every loader uses ([`read_text`], [`read_tree`]) and the
//! [`Warnings`] a build collects. Every stage depends on this module and it on none of them,
//! so no stage needs the top-level error type to say where a problem is.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// A place in a source file an editor can open: `content/kk/privacy.md:3`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// Path relative to the site root where possible, so messages stay short.
    pub file: PathBuf,
    /// 1-based line number.
    pub line: usize,
}

impl Location {
    pub fn new(file: impl Into<PathBuf>, line: usize) -> Self {
        Self {
            file: file.into(),
            line: line.max(1),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// 1-based line number of a byte offset in `text`.
pub fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// A source file that could not be read as text.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{path}: could not read it: {source}. Check that the file exists and is readable.")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}: the file is not UTF-8 text. Save it as UTF-8 and build again.")]
    NotUtf8(PathBuf),
}

/// A text file read from a folder tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// Path inside the folder, `/`-separated (`privacy.md`, `partials/nav.html`).
    pub name: String,
    /// Path shown in messages, relative to the site root.
    pub shown: PathBuf,
    pub text: String,
}

/// Reads a UTF-8 file; errors name `shown` (the path relative to the site root).
pub fn read_text(path: &Path, shown: &Path) -> Result<String, SourceError> {
    let bytes = std::fs::read(path).map_err(|source| SourceError::Read {
        path: shown.to_path_buf(),
        source,
    })?;
    String::from_utf8(bytes).map_err(|_| SourceError::NotUtf8(shown.to_path_buf()))
}

/// The files under `dir` (following links, sorted by path so builds are reproducible) for
/// which `wanted` holds, without reading them. Paths come back absolute-or-as-given.
pub fn files_under(
    dir: &Path,
    wanted: impl Fn(&Path) -> bool,
) -> Result<Vec<PathBuf>, SourceError> {
    let mut files = Vec::new();
    if !dir.is_dir() {
        return Ok(files);
    }
    for entry in walkdir::WalkDir::new(dir)
        .follow_links(true)
        .sort_by_file_name()
    {
        let entry = entry.map_err(|error| {
            let path = error
                .path()
                .map_or_else(|| dir.to_path_buf(), Path::to_path_buf);
            // A walk error without an I/O cause is a symlink loop.
            let source = error
                .into_io_error()
                .unwrap_or_else(|| std::io::Error::other("file system loop"));
            SourceError::Read { path, source }
        })?;
        if entry.file_type().is_file() && wanted(entry.path()) {
            files.push(entry.into_path());
        }
    }
    Ok(files)
}

/// Reads every file under `dir` for which `wanted` holds, as UTF-8 text. `root` is the site
/// root: messages show paths relative to it.
pub fn read_tree(
    root: &Path,
    dir: &Path,
    wanted: impl Fn(&Path) -> bool,
) -> Result<Vec<SourceFile>, SourceError> {
    files_under(dir, wanted)?
        .into_iter()
        .map(|path| {
            let shown = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
            let text = read_text(&path, &shown)?;
            Ok(SourceFile {
                name: relative_name(dir, &path),
                shown,
                text,
            })
        })
        .collect()
}

/// `path` inside `dir`, `/`-separated on every platform.
pub fn relative_name(dir: &Path, path: &Path) -> String {
    path.strip_prefix(dir)
        .unwrap_or(path)
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// Problems that do not stop a build, collected from parallel stages (deduplicated, sorted).
#[derive(Debug, Default, Clone)]
pub struct Warnings(Arc<Mutex<BTreeSet<String>>>);

impl Warnings {
    pub fn push(&self, warning: String) {
        if let Ok(mut set) = self.0.lock() {
            set.insert(warning);
        }
    }

    pub fn take(&self) -> Vec<String> {
        self.0
            .lock()
            .map(|mut set| std::mem::take(&mut *set).into_iter().collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_count_from_one() {
        assert_eq!(line_of("a\nb\nc", 0), 1);
        assert_eq!(line_of("a\nb\nc", 2), 2);
        assert_eq!(line_of("a\nb\nc", 99), 3);
        assert_eq!(Location::new("x.md", 0).to_string(), "x.md:1");
    }

    #[test]
    fn reads_a_tree_sorted_with_short_paths() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        std::fs::create_dir_all(root.join("t/sub")).expect("mkdir");
        std::fs::write(root.join("t/sub/b.html"), "b").expect("write");
        std::fs::write(root.join("t/a.html"), "a").expect("write");
        std::fs::write(root.join("t/skip.txt"), "x").expect("write");
        std::fs::write(root.join("t/bad.html"), [0xff, 0xfe]).expect("write");
        let html = |p: &Path| p.extension().is_some_and(|e| e == "html");
        let err = read_tree(root, &root.join("t"), html).expect_err("not UTF-8");
        assert_eq!(err.to_string().split(':').next(), Some("t/bad.html"));
        std::fs::remove_file(root.join("t/bad.html")).expect("remove");
        let files = read_tree(root, &root.join("t"), html).expect("reads");
        let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["a.html", "sub/b.html"]);
        assert_eq!(files[1].shown, Path::new("t/sub/b.html"));
        assert_eq!(files[1].text, "b");
    }
}
