//! Where an editor-facing error happened (`file:line`), and the build's top-level error type.

use std::fmt;
use std::path::{Path, PathBuf};

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

/// Everything that can stop a build. Each variant's message names the file (and line where
/// there is one) and says what to do, because the reader is an editor, not a programmer.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Content(#[from] crate::content::ContentError),
    #[error(transparent)]
    Locale(#[from] crate::i18n::LocaleError),
    #[error(transparent)]
    Render(#[from] crate::render::RenderError),
    #[error(transparent)]
    Manifest(#[from] crate::manifest::ManifestBuildError),
    #[error(transparent)]
    Archive(#[from] crate::archive::ArchiveError),
    #[error("{path}: could not {action}: {source}. Check the path and its permissions.")]
    Io {
        path: PathBuf,
        action: &'static str,
        source: std::io::Error,
    },
    #[error(
        "{0}: the output folder already exists and was not made by kelisim (it has no consent-manifest.json). Choose another --output folder or empty this one."
    )]
    ForeignOutput(PathBuf),
}

impl BuildError {
    pub(crate) fn io(path: &Path, action: &'static str, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            action,
            source,
        }
    }
}

/// The path and I/O error behind a failed directory walk under `dir`, for the stages' own
/// "could not read" errors. A walk error without an I/O cause is a symlink loop.
pub fn walk_failure(error: walkdir::Error, dir: &Path) -> (PathBuf, std::io::Error) {
    let path = error
        .path()
        .map_or_else(|| dir.to_path_buf(), Path::to_path_buf);
    let source = error
        .into_io_error()
        .unwrap_or_else(|| std::io::Error::other("file system loop"));
    (path, source)
}
