//! The shape of `generator/src` (docs/architecture.md, "Site build"): each stage folder
//! imports only the stages before it (load → model → render → emit, then the driver, the
//! commands and serve), no source file is over 600 lines, and every module opens with a `//!`
//! line saying its one job.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

/// What the code under each folder (or top-level file) of `src/` may name as `crate::X`.
const ALLOWED: &[(&str, &[&str])] = &[
    ("load", &["load"]),
    ("model", &["load", "model"]),
    ("render", &["load", "model", "render"]),
    // `error` is the top-level error the sinks return; it names no emit type.
    ("emit", &["load", "model", "render", "emit", "error"]),
    ("error", &["load", "model", "render"]),
    ("build", &["load", "model", "render", "emit", "error"]),
    (
        "commands",
        &[
            "load", "model", "render", "emit", "error", "build", "commands",
        ],
    ),
    (
        "serve",
        &["load", "model", "render", "emit", "error", "build", "serve"],
    ),
];

/// The longest a source file of `src/` may be.
const MAX_LINES: usize = 600;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `src/`, with its path relative to `src/`.
fn sources() -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = walkdir::WalkDir::new(src())
        .into_iter()
        .map(Result::unwrap)
        .filter(|e| e.path().extension().is_some_and(|x| x == "rs"))
        .map(|e| {
            let rel = e.path().strip_prefix(src()).unwrap();
            let rel = rel.to_string_lossy().replace('\\', "/");
            (rel, std::fs::read_to_string(e.path()).unwrap())
        })
        .collect();
    files.sort();
    assert!(
        files.len() >= 30,
        "found only {} files in src/",
        files.len()
    );
    files
}

/// The first component of every `crate::a::b` path in `text`, outside `//` comments.
fn crate_paths(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (at, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or_default();
        for (start, _) in code.match_indices("crate::") {
            let rest = &code[start + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.push((at + 1, name));
            }
        }
    }
    found
}

#[test]
fn no_stage_imports_a_later_one() {
    let mut wrong = Vec::new();
    for (rel, text) in sources() {
        let top = rel.split(['/', '.']).next().unwrap();
        if top == "lib" || top == "main" {
            continue;
        }
        let allowed = ALLOWED
            .iter()
            .find(|(name, _)| *name == top)
            .unwrap_or_else(|| panic!("src/{rel}: `{top}` is no stage: add it to ALLOWED"))
            .1;
        for (line, name) in crate_paths(&text) {
            if !allowed.contains(&name.as_str()) {
                wrong.push(format!("src/{rel}:{line}: `{top}` uses crate::{name}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the stage order:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn no_source_file_is_over_600_lines() {
    let long: Vec<String> = sources()
        .into_iter()
        .map(|(rel, text)| (rel, text.lines().count()))
        .filter(|(_, lines)| *lines > MAX_LINES)
        .map(|(rel, lines)| format!("src/{rel}: {lines} lines"))
        .collect();
    assert!(
        long.is_empty(),
        "split along a real seam:\n{}",
        long.join("\n")
    );
}

#[test]
fn every_module_opens_with_a_doc_line() {
    let bare: Vec<String> = sources()
        .into_iter()
        .filter(|(_, text)| !text.starts_with("//! "))
        .map(|(rel, _)| format!("src/{rel}"))
        .collect();
    assert!(
        bare.is_empty(),
        "no `//!` line saying the module's job:\n{}",
        bare.join("\n")
    );
}

#[test]
fn crate_paths_are_read_outside_comments() {
    let text = "use crate::load::source;\n// crate::serve in a comment\nlet x = crate::model::abs(); // crate::build\n";
    assert_eq!(
        crate_paths(text),
        [(1, "load".to_owned()), (3, "model".to_owned())]
    );
}
