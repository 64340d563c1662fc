//! The build's top-level error: every stage's own error, plus writing the output. Load,
//! model and render never depend on this module (they say where a problem is with
//! [`crate::load::source`]), so it sits above them; the [`Emit`](crate::emit::Emit) sinks,
//! the driver, the commands and `serve` return it.

use std::path::{Path, PathBuf};

/// Everything that can stop a build. Each variant's message names the file (and line where
/// there is one) and says what to do, because the reader is an editor, not a programmer.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Config(#[from] crate::load::config::ConfigError),
    /// The caller asked the build to stop (the preview is quitting); nothing is wrong.
    #[error("the build was stopped before it finished")]
    Stopped,
    #[error(transparent)]
    Content(#[from] crate::load::content::ContentError),
    #[error(transparent)]
    Locale(#[from] crate::load::i18n::LocaleError),
    #[error(transparent)]
    Render(#[from] crate::load::templates::RenderError),
    #[error(transparent)]
    Model(#[from] crate::model::ModelError),
    #[error(transparent)]
    Pages(#[from] crate::render::pages::PagesError),
    #[error(transparent)]
    Manifest(#[from] crate::render::manifest::ManifestBuildError),
    #[error(transparent)]
    Source(#[from] crate::load::source::SourceError),
    /// Boxed: a lock problem carries two hashes and a location.
    #[error(transparent)]
    Lock(Box<crate::model::lock::LockError>),
    #[error(transparent)]
    Placeholder(#[from] crate::model::policy::PlaceholderPolicy),
    #[error(transparent)]
    ReceiptKeys(#[from] crate::load::receipt_keys::ReceiptKeysError),
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

impl From<Box<crate::model::lock::LockError>> for BuildError {
    fn from(error: Box<crate::model::lock::LockError>) -> Self {
        Self::Lock(error)
    }
}

impl From<crate::model::lock::LockError> for BuildError {
    fn from(error: crate::model::lock::LockError) -> Self {
        Self::Lock(Box::new(error))
    }
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
