//! The **emit** stage: where a build's files go, one at a time, as soon as each is rendered,
//! the [`Emit`] sink. `build` streams them into a staging folder beside the output
//! ([`OutputDir`]) and swaps it in when the build succeeded, so memory does not grow with the
//! number of pages and a server reading the output never sees a half-written site, with
//! precompressed `.br` and `.gz` copies beside each HTML, CSS and JS file ([`compress`]);
//! `serve` keeps them in memory ([`built::BuiltSite`]).
//!
//! A file whose bytes are the same as in the site being replaced is hard-linked from it
//! instead of written, with its `.br` and `.gz`: no new inode, no compression, and the old
//! file's modification time, so a sync to S3 or rsync skips it. On ext4 a fresh inode for
//! every file of every build (and freeing the old ones) was most of a rebuild's time.

pub mod built;
pub mod cache;
pub mod compress;
#[cfg(test)]
mod copies_tests;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::error::BuildError;
use cache::{Cached, CopyCache};

/// The name of the manifest file; its presence marks a folder kelisim wrote.
pub const MANIFEST_FILE: &str = "consent-manifest.json";

/// Receives the built site's files as they are made, from several threads at once.
pub trait Emit: Sync {
    /// One file, by its `/`-separated path relative to the site root (`kk/index.html`).
    /// A path is emitted once per build.
    fn emit(&self, path: &str, bytes: Vec<u8>) -> Result<(), BuildError>;
}

/// An output folder being written: files go into `.<name>.kelisim-new` beside it, and
/// [`OutputDir::finish`] swaps that folder in. Dropped unfinished (a failed build), it removes
/// the staging folder and leaves the previous site in place.
#[derive(Debug)]
pub struct OutputDir {
    output: PathBuf,
    /// The site being replaced, whose unchanged files are linked rather than written.
    previous: Option<PathBuf>,
    staging: PathBuf,
    old: PathBuf,
    /// Folders already created, so each file costs one write, not a walk up its path.
    made: Mutex<HashSet<PathBuf>>,
    /// Writes `.br` and `.gz` beside each HTML, CSS and JS file ([`compress`]).
    precompress: bool,
    /// Where copies made by earlier builds are found ([`cache`]).
    cache: Option<CopyCache>,
    finished: bool,
}

impl OutputDir {
    /// Prepares to replace `output`. Refuses a folder kelisim did not make.
    pub fn create(output: &Path) -> Result<Self, BuildError> {
        refuse_foreign(output)?;
        let (staging, old) = sibling_folders(output)?;
        std::fs::create_dir_all(&staging)
            .map_err(|e| BuildError::io(&staging, "create the folder", e))?;
        Ok(Self {
            output: output.to_path_buf(),
            previous: output
                .join(MANIFEST_FILE)
                .is_file()
                .then(|| output.to_path_buf()),
            made: Mutex::new(HashSet::from([staging.clone()])),
            staging,
            old,
            precompress: true,
            cache: None,
            finished: false,
        })
    }

    /// Whether to write `.br` and `.gz` copies (on unless turned off).
    pub fn precompress(mut self, on: bool) -> Self {
        self.precompress = on;
        if !on {
            self.cache = None;
        }
        self
    }

    /// Keeps the compressed copies in the cache under the site's `root` ([`cache`]), so a
    /// later build links those of unchanged files instead of compressing them again.
    pub fn cache_copies_under(mut self, root: &Path) -> Self {
        self.cache = self
            .precompress
            .then(|| CopyCache::open(root, compress::SETTINGS))
            .flatten();
        self
    }

    /// Swaps the written site in place of the previous one, in one step where the system
    /// can exchange two folders (Linux), else by moving the old one aside first.
    pub fn finish(mut self) -> Result<(), BuildError> {
        self.swap_in()?;
        if let Some(cache) = &self.cache {
            // Best effort: a cache left larger is no reason to fail a finished build.
            let _ = cache.prune();
        }
        Ok(())
    }

    fn swap_in(&mut self) -> Result<(), BuildError> {
        let output = &self.output;
        if output.exists() {
            if exchange(&self.staging, output) {
                // The staging path now holds the previous site.
                self.finished = true;
                return std::fs::remove_dir_all(&self.staging)
                    .map_err(|e| BuildError::io(&self.staging, "remove the old site", e));
            }
            std::fs::rename(output, &self.old)
                .map_err(|e| BuildError::io(output, "replace the folder", e))?;
        }
        std::fs::rename(&self.staging, output)
            .map_err(|e| BuildError::io(output, "move the new site into place", e))?;
        self.finished = true;
        if self.old.exists() {
            std::fs::remove_dir_all(&self.old)
                .map_err(|e| BuildError::io(&self.old, "remove the old site", e))?;
        }
        Ok(())
    }

    /// Creates `dir` and its parents unless this build already did.
    fn make_dir(&self, dir: &Path) -> Result<(), BuildError> {
        let known = |d: &Path| {
            self.made
                .lock()
                .map(|made| made.contains(d))
                .unwrap_or(false)
        };
        if known(dir) {
            return Ok(());
        }
        std::fs::create_dir_all(dir).map_err(|e| BuildError::io(dir, "create the folder", e))?;
        if let Ok(mut made) = self.made.lock() {
            made.insert(dir.to_path_buf());
        }
        Ok(())
    }
}

impl Emit for OutputDir {
    fn emit(&self, path: &str, bytes: Vec<u8>) -> Result<(), BuildError> {
        let target = self.staging.join(path);
        if let Some(dir) = target.parent() {
            self.make_dir(dir)?;
        }
        let before = self.previous.as_ref().map(|p| p.join(path));
        let linked = before.as_ref().is_some_and(|before| {
            same_bytes(before, &bytes) && std::fs::hard_link(before, &target).is_ok()
        });
        if !linked {
            write_file(&target, &bytes)?;
        }
        if self.precompress && compress::wanted(path) {
            // Without a cache, an unchanged file's copies come from the site being replaced.
            let before = before.filter(|_| linked && self.cache.is_none());
            self.write_copies(&target, &bytes, before.as_deref())?;
        }
        Ok(())
    }
}

/// [`compress::gzip`] or [`compress::brotli`].
type Compressor = fn(&[u8]) -> std::io::Result<Vec<u8>>;

impl OutputDir {
    /// Puts the `.gz` and `.br` forms of `bytes` beside `target`: linked from the cache (or
    /// from `before`, the same file in the site being replaced) when there, else compressed,
    /// and written only when worth it ([`compress::worth_keeping`]).
    fn write_copies(
        &self,
        target: &Path,
        bytes: &[u8],
        before: Option<&Path>,
    ) -> Result<(), BuildError> {
        let key = self.cache.as_ref().map(|_| CopyCache::key(bytes));
        let forms: [(&str, Compressor); 2] = [(".gz", compress::gzip), (".br", compress::brotli)];
        for (suffix, how) in forms {
            let copy = with_suffix(target, suffix);
            if let (Some(cache), Some(key)) = (&self.cache, &key) {
                if cache.link(key, suffix, &copy) != Cached::Missing {
                    continue;
                }
            } else if let Some(before) = before
                && std::fs::hard_link(with_suffix(before, suffix), &copy).is_ok()
            {
                continue;
            }
            let compressed =
                how(bytes).map_err(|e| BuildError::io(target, "compress the file", e))?;
            let worth = compress::worth_keeping(bytes.len(), compressed.len());
            if worth {
                write_file(&copy, &compressed)?;
            }
            if let (Some(cache), Some(key)) = (&self.cache, &key) {
                cache.add(key, suffix, worth.then_some(copy.as_path()));
            }
        }
        Ok(())
    }
}

fn write_file(target: &Path, bytes: &[u8]) -> Result<(), BuildError> {
    std::fs::write(target, bytes).map_err(|e| BuildError::io(target, "write the file", e))
}

/// Whether `file` is a regular file holding exactly `bytes` (its length is checked first, so a
/// changed page is rarely read).
fn same_bytes(file: &Path, bytes: &[u8]) -> bool {
    match std::fs::symlink_metadata(file) {
        Ok(meta) if meta.is_file() && meta.len() == bytes.len() as u64 => {
            std::fs::read(file).is_ok_and(|old| old == bytes)
        }
        _ => false,
    }
}

impl Drop for OutputDir {
    fn drop(&mut self) {
        if !self.finished {
            let _ = std::fs::remove_dir_all(&self.staging);
        }
    }
}

/// Exchanges two folders atomically (`renameat2` with `RENAME_EXCHANGE`): a server reading
/// `b` sees either the old site or the new one, never neither. False where the system or the
/// file system cannot (older kernels, some network file systems): the caller then renames.
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> bool {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE).is_ok()
}

#[cfg(not(target_os = "linux"))]
fn exchange(_: &Path, _: &Path) -> bool {
    false
}

/// `file.html` → `file.html.gz`.
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// An existing, non-empty output folder without a manifest was not made by kelisim.
fn refuse_foreign(output: &Path) -> Result<(), BuildError> {
    if output.exists() && !output.join(MANIFEST_FILE).exists() {
        let empty = std::fs::read_dir(output)
            .map(|mut d| d.next().is_none())
            .unwrap_or(false);
        if !empty {
            return Err(BuildError::ForeignOutput(output.to_path_buf()));
        }
    }
    Ok(())
}

/// `.<name>.kelisim-new` (where the site is written) and `.<name>.kelisim-old` (where the
/// previous one waits to be removed), next to `output`, cleared of any leftovers.
fn sibling_folders(output: &Path) -> Result<(PathBuf, PathBuf), BuildError> {
    let name = output
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "public".to_owned());
    let parent = output
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| BuildError::io(parent, "create the folder", e))?;
    let staging = parent.join(format!(".{name}.kelisim-new"));
    let old = parent.join(format!(".{name}.kelisim-old"));
    for leftover in [&staging, &old] {
        if leftover.exists() {
            std::fs::remove_dir_all(leftover)
                .map_err(|e| BuildError::io(leftover, "remove the leftover folder", e))?;
        }
    }
    Ok((staging, old))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_build_leaves_the_old_site_and_no_staging_folder() {
        let dir = tempfile::tempdir().expect("temp dir");
        let output = dir.path().join("public");
        let first = OutputDir::create(&output).expect("create");
        first.emit(MANIFEST_FILE, b"{}".to_vec()).expect("emit");
        first
            .emit("kk/a/index.html", b"old".to_vec())
            .expect("emit");
        first.finish().expect("finish");

        let second = OutputDir::create(&output).expect("create");
        second
            .emit("kk/a/index.html", b"new".to_vec())
            .expect("emit");
        drop(second);
        assert_eq!(
            std::fs::read(output.join("kk/a/index.html")).expect("read"),
            b"old"
        );
        assert!(!dir.path().join(".public.kelisim-new").exists());

        let third = OutputDir::create(&output).expect("create");
        third.emit(MANIFEST_FILE, b"{}".to_vec()).expect("emit");
        third.emit("kk/b/index.html", b"b".to_vec()).expect("emit");
        third.finish().expect("finish");
        assert!(
            !output.join("kk/a/index.html").exists(),
            "the old site is gone"
        );
        assert_eq!(
            std::fs::read(output.join("kk/b/index.html")).expect("read"),
            b"b"
        );
    }

    /// The inode number of `file`.
    #[cfg(unix)]
    fn inode_of(file: &Path) -> u64 {
        use std::os::unix::fs::MetadataExt as _;
        std::fs::metadata(file).expect("stat").ino()
    }

    /// The text of the gzip file `file`.
    #[cfg(unix)]
    fn gunzipped(file: &Path) -> String {
        let mut back = String::new();
        let file = std::fs::File::open(file).expect("open");
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(file), &mut back)
            .expect("gunzip");
        back
    }

    #[cfg(unix)]
    #[test]
    fn unchanged_files_are_linked_from_the_previous_site_with_their_copies() {
        let dir = tempfile::tempdir().expect("temp dir");
        let output = dir.path().join("public");
        let inode = |path: &str| inode_of(&output.join(path));
        let gunzip = |path: &str| gunzipped(&output.join(path));
        let page = "<p>Дербес деректер</p>\n".repeat(50);
        let build = |changed: &str, precompress: bool| {
            let out = OutputDir::create(&output)
                .expect("create")
                .precompress(precompress);
            out.emit(MANIFEST_FILE, b"{}".to_vec()).expect("emit");
            out.emit("kk/same.html", page.clone().into_bytes())
                .expect("emit");
            // Long enough for its copies to be worth writing.
            out.emit("kk/changed.html", changed.repeat(20).into_bytes())
                .expect("emit");
            out.finish().expect("finish");
        };
        // The first build had no copies: the second must make them, not link nothing.
        build("one", false);
        assert!(!output.join("kk/same.html.br").exists());
        let first = inode("kk/same.html");
        build("two", true);
        assert_eq!(inode("kk/same.html"), first, "unchanged: linked");
        assert_eq!(gunzip("kk/same.html.gz"), page);
        let (same, br, gz) = (
            inode("kk/same.html"),
            inode("kk/same.html.br"),
            inode("kk/same.html.gz"),
        );
        build("three, longer", true);
        assert_eq!(
            (
                inode("kk/same.html"),
                inode("kk/same.html.br"),
                inode("kk/same.html.gz")
            ),
            (same, br, gz),
            "the page and its copies are linked"
        );
        assert_eq!(gunzip("kk/changed.html.gz"), "three, longer".repeat(20));
        assert_eq!(
            std::fs::read(output.join("kk/changed.html")).expect("read"),
            "three, longer".repeat(20).as_bytes()
        );
        // Same length, other bytes: written, not linked.
        let before = inode("kk/changed.html");
        build("three, LONGER", true);
        assert_ne!(inode("kk/changed.html"), before);
        assert_eq!(
            std::fs::read(output.join("kk/changed.html")).expect("read"),
            "three, LONGER".repeat(20).as_bytes()
        );
        assert_eq!(gunzip("kk/changed.html.gz"), "three, LONGER".repeat(20));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_reader_never_finds_the_site_missing_while_it_is_replaced() {
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        let dir = tempfile::tempdir().expect("temp dir");
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::create_dir(&a).expect("mkdir");
        std::fs::create_dir(&b).expect("mkdir");
        if !exchange(&a, &b) {
            eprintln!("skipped: the temp folder's file system cannot exchange two folders");
            return;
        }
        let output = dir.path().join("public");
        let build = |n: usize| {
            let out = OutputDir::create(&output).expect("create");
            out.emit(MANIFEST_FILE, format!("{{\"n\":{n}}}").into_bytes())
                .expect("emit");
            out.finish().expect("finish");
        };
        build(0);
        let done = AtomicBool::new(false);
        let (looks, missing) = (AtomicUsize::new(0), AtomicUsize::new(0));
        std::thread::scope(|scope| {
            scope.spawn(|| {
                let manifest = output.join(MANIFEST_FILE);
                while !done.load(Ordering::Relaxed) {
                    if !manifest.exists() {
                        missing.fetch_add(1, Ordering::Relaxed);
                    }
                    looks.fetch_add(1, Ordering::Relaxed);
                }
            });
            for n in 1..=300 {
                build(n);
            }
            done.store(true, Ordering::Relaxed);
        });
        assert!(looks.load(Ordering::Relaxed) > 300, "the reader ran");
        assert_eq!(missing.load(Ordering::Relaxed), 0, "the site was missing");
    }

    #[test]
    fn refuses_a_folder_kelisim_did_not_make() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("notes.txt"), "mine").expect("write");
        let err = OutputDir::create(dir.path()).expect_err("foreign");
        assert!(matches!(err, BuildError::ForeignOutput(_)));
    }
}
