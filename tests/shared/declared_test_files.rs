//! The guard each crate's single integration-test binary runs: every `*.rs` file directly in
//! its `tests/` folder must be declared as a module in `tests/main.rs`, because with
//! `autotests = false` Cargo would silently never build a file that is not. One copy for the
//! three crates, included with `#[path]`.

use std::collections::BTreeSet;
use std::path::Path;

/// Fails, naming the files, when a test file in `<manifest_dir>/tests/` has no `mod NAME;`
/// line in its `main.rs`; and when fewer than `at_least` files are found (a wrong folder would
/// otherwise pass with nothing to check).
pub fn assert_every_file_declared(manifest_dir: &str, at_least: usize) {
    let dir = Path::new(manifest_dir).join("tests");
    let main = std::fs::read_to_string(dir.join("main.rs")).expect("tests/main.rs");
    let declared: BTreeSet<&str> = main
        .lines()
        .filter_map(|line| line.strip_prefix("mod ")?.strip_suffix(';'))
        .collect();
    let mut missing = Vec::new();
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).expect("tests/") {
        let path = entry.expect("a directory entry").path();
        let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        if path.extension().is_some_and(|e| e == "rs") && stem != "main" {
            files += 1;
            if !declared.contains(stem) {
                missing.push(stem.to_owned());
            }
        }
    }
    assert!(
        files >= at_least,
        "found only {files} test files in {}",
        dir.display()
    );
    assert!(
        missing.is_empty(),
        "tests/{{{}}}.rs not in tests/main.rs: add `mod NAME;` there",
        missing.join(",")
    );
}
