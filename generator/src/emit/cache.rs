//! A content-addressed store of the precompressed copies, so a build compresses only the files
//! whose bytes no earlier build compressed: the copies of an unchanged page are hard-linked
//! from it even when the output folder was deleted (`rm -rf public`, a fresh CI checkout with
//! the cache restored).
//!
//! It lives in `<root>/.kelisim/precompressed/<settings>/` (`.kelisim/` is ignored by the
//! `.gitignore` that `kelisim init` writes), one entry per copy, named by the SHA-256 of the
//! original bytes: `<hex>.br` and `<hex>.gz`. An empty entry records that the copy was not
//! worth writing ([`super::compress::worth_keeping`]); a real copy is never empty.
//!
//! Entries are hard links to the copies in the output, so the cache takes no room of its own
//! while the output exists. An entry is only ever added by linking a copy that is completely
//! written, and linking fails rather than replaces when the name exists, so a build running at
//! the same time never sees half an entry. At the end of a build [`CopyCache::prune`] removes
//! every entry the build did not use (and other settings' folders), so the cache holds no more
//! than the copies of the last build. Hard links need one file system: when the output is on
//! another one than the site root, the first link that fails with `EXDEV` turns the cache off
//! for the rest of the build, which then compresses every file as it would without a cache.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use sha2::{Digest as _, Sha256};

/// The SHA-256 of a file's bytes, the name of its copies in the cache.
pub type Key = [u8; 32];

/// The cache of one site root's compressed copies (see the module documentation).
#[derive(Debug)]
pub struct CopyCache {
    /// `<root>/.kelisim/precompressed`.
    base: PathBuf,
    /// `base/<settings>`, where the entries are.
    dir: PathBuf,
    /// Entries this build linked from or added, kept by [`CopyCache::prune`].
    used: Mutex<HashSet<Key>>,
    /// False once the cache proved unusable (another file system, a folder it cannot write).
    on: AtomicBool,
}

/// What the cache holds for one copy.
#[derive(Debug, PartialEq, Eq)]
pub enum Cached {
    /// Linked into the output.
    Linked,
    /// Recorded as not worth writing: no copy in the output.
    NotWorth,
    /// Not in the cache (or the cache is off): compress.
    Missing,
}

impl CopyCache {
    /// The cache under `root` for copies made with `settings` (a folder name such as
    /// `br5-gz6`). `None` when its folder cannot be made: the build then compresses everything.
    pub fn open(root: &Path, settings: &str) -> Option<Self> {
        let base = root.join(".kelisim").join("precompressed");
        let dir = base.join(settings);
        std::fs::create_dir_all(&dir).ok()?;
        Some(Self {
            base,
            dir,
            used: Mutex::new(HashSet::new()),
            on: AtomicBool::new(true),
        })
    }

    /// The key of `bytes`.
    pub fn key(bytes: &[u8]) -> Key {
        Sha256::digest(bytes).into()
    }

    fn entry(&self, key: &Key, suffix: &str) -> PathBuf {
        self.dir.join(format!("{}{suffix}", hex::encode(key)))
    }

    fn mark_used(&self, key: &Key) {
        if let Ok(mut used) = self.used.lock() {
            used.insert(*key);
        }
    }

    fn turn_off_if_cross_device(&self, error: &std::io::Error) {
        if error.kind() == std::io::ErrorKind::CrossesDevices {
            self.on.store(false, Ordering::Relaxed);
        }
    }

    /// Links the cached `suffix` copy (`.br`, `.gz`) of the file with `key` to `target`.
    pub fn link(&self, key: &Key, suffix: &str, target: &Path) -> Cached {
        if !self.on.load(Ordering::Relaxed) {
            return Cached::Missing;
        }
        let entry = self.entry(key, suffix);
        let Ok(meta) = std::fs::symlink_metadata(&entry) else {
            return Cached::Missing;
        };
        if !meta.is_file() {
            return Cached::Missing;
        }
        if meta.len() == 0 {
            self.mark_used(key);
            return Cached::NotWorth;
        }
        match std::fs::hard_link(&entry, target) {
            Ok(()) => {
                self.mark_used(key);
                Cached::Linked
            }
            Err(e) => {
                self.turn_off_if_cross_device(&e);
                Cached::Missing
            }
        }
    }

    /// Adds the copy just written at `written` (completely) as the `suffix` entry of `key`, or,
    /// with `None`, records that the copy was not worth writing. An entry another build added
    /// meanwhile is left as it is.
    pub fn add(&self, key: &Key, suffix: &str, written: Option<&Path>) {
        if !self.on.load(Ordering::Relaxed) {
            return;
        }
        let entry = self.entry(key, suffix);
        let added = match written {
            Some(file) => std::fs::hard_link(file, &entry),
            // An empty file is complete as soon as it exists.
            None => std::fs::File::create_new(&entry).map(drop),
        };
        match added {
            Ok(()) => self.mark_used(key),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => self.mark_used(key),
            Err(e) => self.turn_off_if_cross_device(&e),
        }
    }

    /// Removes every entry this build did not use and every other settings' folder. Entries
    /// another build is using at the same moment may go: that build's links already made stay
    /// valid, and its next build compresses those files again.
    pub fn prune(&self) -> std::io::Result<usize> {
        let used = self
            .used
            .lock()
            .map(|u| u.clone())
            .unwrap_or_else(|e| e.into_inner().clone());
        let mut removed = 0;
        for entry in std::fs::read_dir(&self.base)?.flatten() {
            let path = entry.path();
            if path != self.dir {
                let _ = std::fs::remove_dir_all(&path).or_else(|_| std::fs::remove_file(&path));
            }
        }
        for entry in std::fs::read_dir(&self.dir)?.flatten() {
            let name = entry.file_name();
            let keep = name
                .to_str()
                .and_then(|n| n.split_once('.'))
                .and_then(|(hex, _)| <Key>::try_from(hex::decode(hex).ok()?).ok())
                .is_some_and(|key| used.contains(&key));
            if !keep && std::fs::remove_file(entry.path()).is_ok() {
                removed += 1;
            }
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_linked_added_once_and_pruned_when_unused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().join("site");
        let out = dir.path().join("out");
        std::fs::create_dir_all(&out).expect("mkdir");
        let cache = CopyCache::open(&root, "t1").expect("open");
        let (a, b) = (CopyCache::key(b"a"), CopyCache::key(b"b"));
        assert_eq!(cache.link(&a, ".gz", &out.join("a.gz")), Cached::Missing);
        std::fs::write(out.join("a.gz"), b"gz of a").expect("write");
        cache.add(&a, ".gz", Some(&out.join("a.gz")));
        cache.add(&a, ".br", None);
        // Another build's entry for the same key: kept as it is.
        std::fs::write(out.join("other.gz"), b"other").expect("write");
        cache.add(&a, ".gz", Some(&out.join("other.gz")));
        cache.add(&b, ".gz", Some(&out.join("other.gz")));
        assert_eq!(cache.prune().expect("prune"), 0);

        // The next build uses only a.
        let next = CopyCache::open(&root, "t1").expect("open");
        assert_eq!(next.link(&a, ".gz", &out.join("again.gz")), Cached::Linked);
        assert_eq!(
            std::fs::read(out.join("again.gz")).expect("read"),
            b"gz of a"
        );
        assert_eq!(
            next.link(&a, ".br", &out.join("again.br")),
            Cached::NotWorth
        );
        assert!(!out.join("again.br").exists());
        assert_eq!(next.prune().expect("prune"), 1, "b's entry is gone");
        assert_eq!(next.link(&b, ".gz", &out.join("b.gz")), Cached::Missing);

        // Other settings: the old folder goes at the first prune.
        let other = CopyCache::open(&root, "t2").expect("open");
        other.prune().expect("prune");
        let left: Vec<_> = std::fs::read_dir(root.join(".kelisim/precompressed"))
            .expect("read")
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(left, ["t2"]);
    }
}
