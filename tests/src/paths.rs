//! Where things live in the repository, found from this crate's manifest directory so tests work
//! from any current directory (cargo runs each test binary in its own crate's folder).

use std::path::{Path, PathBuf};

use crate::HarnessError;

/// The repository root (the parent of `tests/`).
pub fn repo_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// `tests/browser/node_modules`, filled by `scripts/install-test-deps` (`npm ci`).
pub fn node_modules() -> PathBuf {
    repo_root()
        .join("tests")
        .join("browser")
        .join("node_modules")
}

/// `artifacts/` at the repository root (git-ignored): screenshots and other outputs a person
/// looks at after a run.
pub fn artifacts_dir() -> PathBuf {
    repo_root().join("artifacts")
}

/// Returns `path` if it exists, or the "run install-test-deps" error naming `what`.
pub fn require(what: &'static str, path: PathBuf) -> Result<PathBuf, HarnessError> {
    if path.exists() {
        Ok(path)
    } else {
        Err(HarnessError::Missing { what, path })
    }
}

/// Every `.html` file under `root`, sorted, so reports list pages in a stable order.
pub fn html_files(root: &Path) -> Result<Vec<PathBuf>, HarnessError> {
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(root) {
        let entry = entry.map_err(|e| {
            let context = format!("walking {}", root.display());
            HarnessError::io(context, std::io::Error::other(e))
        })?;
        if entry.file_type().is_file() && entry.path().extension().is_some_and(|e| e == "html") {
            files.push(entry.into_path());
        }
    }
    files.sort();
    Ok(files)
}

/// The `kelisim-relay` binary of the same build as the running test (cargo puts it beside the
/// test binary's `deps/` folder). It is built by `cargo test -p kelisim-relay` and by
/// `scripts/test` (`cargo test --workspace --all-features`).
pub fn relay_binary() -> Result<PathBuf, HarnessError> {
    let exe =
        std::env::current_exe().map_err(|e| HarnessError::io("finding the test binary", e))?;
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .unwrap_or_else(|| Path::new("."));
    let binary = profile_dir.join(format!("kelisim-relay{}", std::env::consts::EXE_SUFFIX));
    if binary.exists() {
        Ok(binary)
    } else {
        Err(HarnessError::NotBuilt {
            what: "kelisim-relay",
            path: binary,
            how: "cargo build -p kelisim-relay --all-features",
        })
    }
}
