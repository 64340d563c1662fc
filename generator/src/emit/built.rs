//! The built site in memory, what `serve` answers from: every file by its path (pages, static
//! assets, sitemap, robots.txt, the consent manifest) and the manifest itself. It is an
//! [`Emit`] sink ([`MemorySink`]) filled as the build renders; `build` streams to disk instead.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use kelisim_manifest::ConsentManifest;

use crate::emit::Emit;
use crate::error::BuildError;

pub use crate::emit::MANIFEST_FILE;

/// A built site, in memory.
#[derive(Debug, Clone)]
pub struct BuiltSite {
    /// File contents by path relative to the site root, `/`-separated (`kk/index.html`).
    files: BTreeMap<String, Arc<[u8]>>,
    /// What the relay checks submissions against (also in the files, as JSON).
    pub manifest: ConsentManifest,
    /// Problems that did not stop the build, one sentence each.
    pub warnings: Vec<String>,
    /// The text of `policy.lock` with every published version locked; `build` writes it to
    /// the site root (not into the output: it belongs with the sources).
    pub policy_lock: String,
}

impl BuiltSite {
    pub(crate) fn new(
        files: BTreeMap<String, Arc<[u8]>>,
        manifest: ConsentManifest,
        warnings: Vec<String>,
    ) -> Self {
        Self {
            files,
            manifest,
            warnings,
            policy_lock: String::new(),
        }
    }

    /// This site with some files replaced (a re-rendered page): the other files are shared,
    /// not copied.
    pub fn with_files(&self, replaced: impl IntoIterator<Item = (String, Vec<u8>)>) -> Self {
        let mut site = self.clone();
        for (path, bytes) in replaced {
            site.files.insert(path, bytes.into());
        }
        site
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
}

/// Collects emitted files in memory, for a [`BuiltSite`].
#[derive(Debug, Default)]
pub struct MemorySink {
    files: Mutex<BTreeMap<String, Arc<[u8]>>>,
    /// Once set, every further file is refused with [`BuildError::Stopped`].
    stop: Option<Arc<AtomicBool>>,
}

impl MemorySink {
    /// A sink that refuses files once `stop` is set: the build fails at its next page, so a
    /// preview asked to quit in the middle of a large rebuild need not wait for the rest.
    pub fn stoppable(stop: Arc<AtomicBool>) -> Self {
        Self {
            files: Mutex::default(),
            stop: Some(stop),
        }
    }

    /// The files collected.
    pub fn into_files(self) -> BTreeMap<String, Arc<[u8]>> {
        self.files
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Emit for MemorySink {
    fn emit(&self, path: &str, bytes: Vec<u8>) -> Result<(), BuildError> {
        if self
            .stop
            .as_ref()
            .is_some_and(|stop| stop.load(Ordering::Relaxed))
        {
            return Err(BuildError::Stopped);
        }
        self.files
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(path.to_owned(), bytes.into());
        Ok(())
    }
}
