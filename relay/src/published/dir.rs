//! A built site directory as the published site: each path is a file under it, a folder's
//! path its `index.html`, exactly as the relay's and any static server's mapping.

use std::path::{Path, PathBuf};

use async_trait::async_trait;

use super::{PublishedSite, SiteError, SitePath};

/// A site directory (what `kelisim build` writes to `public/`).
#[derive(Debug, Clone)]
pub struct SiteDir {
    /// Canonical, so a file's canonical path can be checked to be inside it.
    root: PathBuf,
}

impl SiteDir {
    /// The directory at `dir`, which must exist.
    pub fn open(dir: &Path) -> Result<Self, SiteError> {
        let root = std::fs::canonicalize(dir)
            .ok()
            .filter(|root| root.is_dir())
            .ok_or_else(|| SiteError::NotADirectory(dir.display().to_string()))?;
        Ok(Self { root })
    }

    /// The file `path` names: its segments under the root, `index.html` for a folder.
    fn file(&self, path: &SitePath) -> PathBuf {
        let mut file = self.root.clone();
        for segment in path.segments().iter().filter(|s| !s.is_empty()) {
            file.push(segment);
        }
        if path.is_folder() {
            file.push("index.html");
        }
        file
    }
}

#[async_trait]
impl PublishedSite for SiteDir {
    async fn fetch(&self, path: &SitePath) -> Result<Option<Vec<u8>>, SiteError> {
        let mut file = self.file(path);
        if tokio::fs::metadata(&file).await.is_ok_and(|m| m.is_dir()) {
            file.push("index.html");
        }
        let real = match tokio::fs::canonicalize(&file).await {
            Ok(real) => real,
            Err(e) if is_absent(&e) => return Ok(None),
            Err(e) => return Err(SiteError::Io(e.kind())),
        };
        // The path's segments were checked; a symbolic link could still lead out.
        if !real.starts_with(&self.root) {
            return Err(SiteError::Escapes(path.as_str().to_owned()));
        }
        match tokio::fs::read(&real).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if is_absent(&e) => Ok(None),
            Err(e) => Err(SiteError::Io(e.kind())),
        }
    }

    fn describe(&self) -> String {
        self.root.display().to_string()
    }
}

/// Nothing there: no such file, or a file where the path needs a folder.
fn is_absent(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn paths_map_to_files_and_folders_to_their_index() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("kk/privacy/1.0")).unwrap();
        std::fs::write(dir.path().join("kk/privacy/1.0/index.html"), "page").unwrap();
        std::fs::write(dir.path().join("consent-manifest.json"), "{}").unwrap();
        let site = SiteDir::open(dir.path()).unwrap();
        let get = |url: &str| SitePath::under("https://woow.kz", url).unwrap();
        let fetched = site
            .fetch(&get("https://woow.kz/kk/privacy/1.0/"))
            .await
            .unwrap();
        assert_eq!(fetched.as_deref(), Some(&b"page"[..]));
        let fetched = site
            .fetch(&get("https://woow.kz/kk/privacy/1.0"))
            .await
            .unwrap();
        assert_eq!(
            fetched.as_deref(),
            Some(&b"page"[..]),
            "a folder without its slash"
        );
        let manifest = SitePath::root_file(kelisim_manifest::MANIFEST_FILE).unwrap();
        assert_eq!(
            site.fetch(&manifest).await.unwrap().as_deref(),
            Some(&b"{}"[..])
        );
        let missing = get("https://woow.kz/kk/privacy/2/");
        assert_eq!(site.fetch(&missing).await.unwrap(), None);
        let under_a_file = get("https://woow.kz/consent-manifest.json/x");
        assert_eq!(site.fetch(&under_a_file).await.unwrap(), None);
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_link_out_of_the_directory_is_refused() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "x").unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret"), dir.path().join("link")).unwrap();
        let site = SiteDir::open(dir.path()).unwrap();
        let path = SitePath::under("https://e", "https://e/link").unwrap();
        assert!(matches!(
            site.fetch(&path).await,
            Err(SiteError::Escapes(_))
        ));
        assert!(matches!(
            SiteDir::open(&dir.path().join("absent")),
            Err(SiteError::NotADirectory(_))
        ));
    }
}
