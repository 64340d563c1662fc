//! The precompressed copies in the output folder: which files get them, and how the cache of
//! copies ([`super::cache`]) is reused, renewed and kept bounded across builds.

use std::io::Read as _;
use std::path::Path;

use super::*;

fn build(root: &Path, output: &Path, files: &[(&str, &[u8])]) {
    let out = OutputDir::create(output)
        .expect("create")
        .cache_copies_under(root);
    out.emit(MANIFEST_FILE, b"{}".to_vec()).expect("emit");
    for (path, bytes) in files {
        out.emit(path, bytes.to_vec()).expect("emit");
    }
    out.finish().expect("finish");
}

fn gunzip(file: &Path) -> Vec<u8> {
    let mut back = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(file).expect("open"))
        .read_to_end(&mut back)
        .expect("gunzip");
    back
}

fn unbrotli(file: &Path) -> Vec<u8> {
    let mut back = Vec::new();
    let bytes = std::fs::read(file).expect("read");
    brotli::BrotliDecompress(&mut &bytes[..], &mut back).expect("unbrotli");
    back
}

fn cache_entries(root: &Path) -> usize {
    let base = root.join(".kelisim/precompressed").join(compress::SETTINGS);
    std::fs::read_dir(base).map(|d| d.count()).unwrap_or(0)
}

#[test]
fn a_file_compression_does_not_shrink_by_a_tenth_gets_no_copies() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (root, output) = (dir.path().join("site"), dir.path().join("public"));
    let page = "<p>Дербес деректер</p>\n".repeat(50);
    let tiny = b"<p>x</p>".as_slice();
    for _ in 0..2 {
        // The second build finds the tiny file's "no copy" in the cache.
        build(
            &root,
            &output,
            &[("kk/index.html", page.as_bytes()), ("tiny.html", tiny)],
        );
        assert!(!output.join("tiny.html.gz").exists() && !output.join("tiny.html.br").exists());
        assert_eq!(std::fs::read(output.join("tiny.html")).expect("read"), tiny);
        assert_eq!(gunzip(&output.join("kk/index.html.gz")), page.as_bytes());
        assert_eq!(unbrotli(&output.join("kk/index.html.br")), page.as_bytes());
    }
}

#[cfg(unix)]
#[test]
fn copies_come_from_the_cache_after_the_output_is_deleted_and_change_with_the_page() {
    use std::os::unix::fs::MetadataExt as _;
    let dir = tempfile::tempdir().expect("temp dir");
    let (root, output) = (dir.path().join("site"), dir.path().join("public"));
    let inode = |path: &str| std::fs::metadata(output.join(path)).expect("stat").ino();
    let page = "<p>Дербес деректер</p>\n".repeat(50);
    let other = "<p>Персональные данные</p>\n".repeat(50);
    build(&root, &output, &[("kk/index.html", page.as_bytes())]);
    let fresh = (
        std::fs::read(output.join("kk/index.html.br")).expect("read"),
        std::fs::read(output.join("kk/index.html.gz")).expect("read"),
    );
    assert_eq!(fresh.0, compress::brotli(page.as_bytes()).expect("brotli"));
    assert_eq!(fresh.1, compress::gzip(page.as_bytes()).expect("gzip"));
    let inodes = (inode("kk/index.html.br"), inode("kk/index.html.gz"));

    std::fs::remove_dir_all(&output).expect("rm -rf public");
    // The same page at another path: its copies are the same bytes, linked from the cache.
    build(
        &root,
        &output,
        &[
            ("kk/index.html", page.as_bytes()),
            ("ru/index.html", other.as_bytes()),
        ],
    );
    assert_eq!(
        (inode("kk/index.html.br"), inode("kk/index.html.gz")),
        inodes,
        "linked from the cache, not compressed again"
    );
    assert_eq!(
        std::fs::read(output.join("kk/index.html.br")).expect("read"),
        fresh.0
    );
    assert_eq!(
        std::fs::read(output.join("kk/index.html.gz")).expect("read"),
        fresh.1
    );
    assert_eq!(gunzip(&output.join("ru/index.html.gz")), other.as_bytes());

    // A changed page gets new copies; the old page's stay only if still used.
    let changed = page.replace("Дербес", "Жеке");
    build(&root, &output, &[("kk/index.html", changed.as_bytes())]);
    assert_ne!(inode("kk/index.html.gz"), inodes.1);
    assert_eq!(gunzip(&output.join("kk/index.html.gz")), changed.as_bytes());
    assert_eq!(
        unbrotli(&output.join("kk/index.html.br")),
        changed.as_bytes()
    );
    assert_eq!(
        cache_entries(&root),
        2,
        "only the last build's copies are kept"
    );
}

#[test]
fn the_cache_holds_no_more_than_the_last_build() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (root, output) = (dir.path().join("site"), dir.path().join("public"));
    for n in 0..20 {
        let pages: Vec<(String, Vec<u8>)> = (0..3)
            .map(|i| {
                let text = format!("<p>build {n}, page {i}</p>\n").repeat(40);
                (format!("kk/p{i}/index.html"), text.into_bytes())
            })
            .collect();
        let files: Vec<(&str, &[u8])> = pages
            .iter()
            .map(|(p, b)| (p.as_str(), b.as_slice()))
            .collect();
        build(&root, &output, &files);
        assert_eq!(cache_entries(&root), 6, "build {n}: 3 pages, 2 copies each");
    }
}

#[test]
fn without_copies_there_is_no_cache() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (root, output) = (dir.path().join("site"), dir.path().join("public"));
    let out = OutputDir::create(&output)
        .expect("create")
        .precompress(false)
        .cache_copies_under(&root);
    out.emit("kk/index.html", "<p>a</p>".repeat(40).into_bytes())
        .expect("emit");
    out.finish().expect("finish");
    assert!(!output.join("kk/index.html.gz").exists());
    assert!(!root.join(".kelisim").exists());
}
