//! Where a site's files come from: the one trait a server implements, and the directory on
//! disk that production serves.

use axum::body::Bytes;

/// Where a site's files come from: a directory ([`DirFiles`]) or a build in memory.
pub trait SiteFiles: Send + Sync + 'static {
    /// The bytes of the regular file at `path`: relative, `/`-separated, already checked to
    /// have no `..` or `.` segment. `None` when there is no such file.
    fn read(&self, path: &str) -> Option<Bytes>;
}

/// A built site on disk (`public/`).
#[derive(Debug, Clone)]
pub struct DirFiles {
    root: std::path::PathBuf,
}

impl DirFiles {
    /// Serves the files under `root`.
    pub fn new(root: impl Into<std::path::PathBuf>) -> Self {
        Self { root: root.into() }
    }
}

impl SiteFiles for DirFiles {
    fn read(&self, path: &str) -> Option<Bytes> {
        let file = self.root.join(path);
        // A directory is not a file: `/kk` is answered by the redirect to `/kk/`.
        if !std::fs::metadata(&file).ok()?.is_file() {
            return None;
        }
        std::fs::read(file).ok().map(Bytes::from)
    }
}

/// A site held in memory, for the tests of the paths and the service.
#[cfg(test)]
pub(crate) struct Memory(pub std::collections::BTreeMap<&'static str, &'static str>);

#[cfg(test)]
impl SiteFiles for Memory {
    fn read(&self, path: &str) -> Option<Bytes> {
        self.0.get(path).map(|s| Bytes::from_static(s.as_bytes()))
    }
}
