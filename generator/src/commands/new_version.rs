//! `kelisim policy new-version X.Y`: archives the current policy text of every language and
//! raises `version` (and `effective_date`) in each `privacy.md`, so the editor edits a new
//! version instead of a published one.
//!
//! It refuses to run on a site that does not build, whose policy is still a placeholder, or
//! whose policy already differs from `policy.lock`: archiving an edited text would make the
//! archive lie about what was published. Before anything is archived it locks the current
//! version with its consent labels (when `policy.lock` does not hold them yet), so the old
//! version's labels stay reproducible from the lock; a label already edited for the new
//! version does not stop it, because the old version keeps the labels locked with it.

use std::path::{Path, PathBuf};

use time::Date;

use crate::build::{BuildOptions, LoadedSite, load_site, render_loaded};
use crate::error::BuildError;
use crate::model::archive::ARCHIVE_DIR;
use crate::model::lock::LOCK_FILE;
use crate::render::manifest::current_labels;

/// Why a new version could not be started.
#[derive(Debug, thiserror::Error)]
pub enum NewVersionError {
    #[error("the site does not build, so its policy cannot be archived yet: {0}")]
    Build(Box<BuildError>),
    #[error(
        "`{0}` is not a usable version: write digits, letters, dots or hyphens, such as 1.1 or 2."
    )]
    BadVersion(String),
    #[error("{file}: version {version} is already published here. Choose a version not used yet.")]
    Taken { file: PathBuf, version: String },
    #[error(
        "{file}: the front matter has no `{key} = ...` line to raise. Add it (for example `{key} = \"{example}\"`) and run the command again."
    )]
    NoKey {
        file: PathBuf,
        key: &'static str,
        example: String,
    },
    #[error("the site has no policy (content/<lang>/privacy.md) to raise.")]
    NoPolicy,
    #[error("{path}: could not {action}: {source}.")]
    Io {
        path: PathBuf,
        action: &'static str,
        source: std::io::Error,
    },
}

/// What the command did, per language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Raised {
    /// `content/<lang>/privacy.md`, now at the new version.
    pub policy: PathBuf,
    /// `content/<lang>/privacy/archive/<old>.md`, the unchanged copy.
    pub archived: PathBuf,
    pub old_version: String,
}

/// Archives every language's current policy and raises it to `version`, effective `effective`.
pub fn new_version(
    root: &Path,
    version: &str,
    effective: Date,
) -> Result<Vec<Raised>, NewVersionError> {
    check_version(version)?;
    let loaded =
        load_site(&BuildOptions::new(root)).map_err(|e| NewVersionError::Build(Box::new(e)))?;
    let plans = plan(&loaded, version)?;
    let lock = locked_with_labels(&loaded)?;
    // Read and rewrite everything first, so a front matter without `version` stops the command
    // before any file changed.
    let mut writes = Vec::new();
    for (shown, archived, old_version) in plans {
        let text =
            std::fs::read_to_string(root.join(&shown)).map_err(|source| NewVersionError::Io {
                path: shown.clone(),
                action: "read it",
                source,
            })?;
        let raised = raise(&text, &shown, version, effective)?;
        writes.push(Rewrite {
            shown,
            archived,
            old_version,
            text,
            raised,
        });
    }
    if let Some(lock) = lock {
        std::fs::write(root.join(LOCK_FILE), lock).map_err(|source| NewVersionError::Io {
            path: PathBuf::from(LOCK_FILE),
            action: "write the policy lock",
            source,
        })?;
    }
    writes.into_iter().map(|w| w.apply(root)).collect()
}

/// `policy.lock` with the current versions and their labels locked, when it does not hold
/// them yet (`None` when it does): the labels are read from the site rendered in memory.
fn locked_with_labels(loaded: &LoadedSite) -> Result<Option<String>, NewVersionError> {
    let site = render_loaded(loaded).map_err(|e| NewVersionError::Build(Box::new(e)))?;
    let policies = &loaded.model.policies;
    let lock = loaded
        .lock
        .updated(policies, &current_labels(&site.manifest));
    Ok((lock != loaded.lock).then(|| lock.to_toml()))
}

/// A version is digits, letters, dots and hyphens, not starting or ending with a dot.
fn check_version(version: &str) -> Result<(), NewVersionError> {
    let valid = !version.is_empty()
        && version
            .chars()
            .all(|c| c.is_alphanumeric() || c == '.' || c == '-')
        && !version.starts_with('.')
        && !version.ends_with('.');
    if valid {
        Ok(())
    } else {
        Err(NewVersionError::BadVersion(version.to_owned()))
    }
}

/// Each language's current policy file, its archive path and its version, once the site
/// builds, has the operator's policy (not a placeholder), matches `policy.lock`, and has no
/// policy at `version` yet.
fn plan(
    loaded: &LoadedSite,
    version: &str,
) -> Result<Vec<(PathBuf, PathBuf, String)>, NewVersionError> {
    if let Some(placeholder) = loaded.model.policies.placeholders().next() {
        return Err(NewVersionError::Build(Box::new(placeholder.clone().into())));
    }
    if let Some(problem) = loaded
        .lock
        .problems(&loaded.model.policies)
        .into_iter()
        .next()
    {
        return Err(NewVersionError::Build(Box::new(problem.into())));
    }
    let policies = &loaded.model.policies;
    let mut plans = Vec::new();
    for lang in &loaded.model.languages {
        let Some(current) = policies.current(lang.as_str()) else {
            continue;
        };
        let shown = current.source.file.clone();
        if policies.version(lang.as_str(), version).is_some() {
            return Err(NewVersionError::Taken {
                file: shown,
                version: version.to_owned(),
            });
        }
        let archived = PathBuf::from(format!(
            "content/{lang}/{ARCHIVE_DIR}/{}.md",
            current.version
        ));
        plans.push((shown, archived, current.version.clone()));
    }
    if plans.is_empty() {
        return Err(NewVersionError::NoPolicy);
    }
    Ok(plans)
}

/// One language's change, read and prepared before anything is written.
struct Rewrite {
    /// `content/<lang>/privacy.md`.
    shown: PathBuf,
    /// Where its current text is archived.
    archived: PathBuf,
    old_version: String,
    /// The current text, archived unchanged.
    text: String,
    /// The text with the raised front matter.
    raised: String,
}

impl Rewrite {
    /// Writes the archived copy, then the raised policy.
    fn apply(self, root: &Path) -> Result<Raised, NewVersionError> {
        let Self {
            shown,
            archived,
            old_version,
            text,
            raised,
        } = self;
        let archive_path = root.join(&archived);
        if let Some(dir) = archive_path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| NewVersionError::Io {
                path: archived.clone(),
                action: "create its folder",
                source,
            })?;
        }
        std::fs::write(&archive_path, &text).map_err(|source| NewVersionError::Io {
            path: archived.clone(),
            action: "write the archived copy",
            source,
        })?;
        std::fs::write(root.join(&shown), raised).map_err(|source| NewVersionError::Io {
            path: shown.clone(),
            action: "write the raised version",
            source,
        })?;
        Ok(Raised {
            policy: shown,
            archived,
            old_version,
        })
    }
}

/// The policy file's text with `version` and `effective_date` replaced in its front matter
/// (the `+++` block), every other byte unchanged.
pub fn raise(
    text: &str,
    file: &Path,
    version: &str,
    effective: Date,
) -> Result<String, NewVersionError> {
    let date = kelisim_manifest::dates::iso(effective);
    let mut out = String::with_capacity(text.len() + 8);
    let mut fences = 0;
    let (mut saw_version, mut saw_date) = (false, false);
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end();
        if bare == "+++" {
            fences += 1;
        }
        let in_front = fences == 1 && bare != "+++";
        let ending = &line[bare.len()..];
        if in_front && is_key(bare, "version") {
            out.push_str(&format!("version = {}{ending}", quoted(version)));
            saw_version = true;
        } else if in_front && is_key(bare, "effective_date") {
            out.push_str(&format!("effective_date = {}{ending}", quoted(&date)));
            saw_date = true;
        } else {
            out.push_str(line);
        }
    }
    let missing = |key, example: &str| NewVersionError::NoKey {
        file: file.to_path_buf(),
        key,
        example: example.to_owned(),
    };
    if !saw_version {
        return Err(missing("version", version));
    }
    if !saw_date {
        return Err(missing("effective_date", &date));
    }
    Ok(out)
}

fn is_key(line: &str, key: &str) -> bool {
    line.strip_prefix(key)
        .is_some_and(|rest| rest.trim_start().starts_with('='))
}

fn quoted(value: &str) -> String {
    toml::Value::String(value.to_owned()).to_string()
}

/// Today's date in UTC, the default effective date of a new version.
pub fn today() -> Date {
    time::OffsetDateTime::now_utc().date()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raises_only_the_front_matter_keys() {
        let text = "+++\ntitle = \"P\"\nversion = \"1.0\"\neffective_date = \"2026-11-25\"\n+++\n\nversion = kept in the body\n";
        let date = Date::from_calendar_date(2027, time::Month::January, 5).expect("date");
        let raised = raise(text, Path::new("content/kk/privacy.md"), "1.1", date).expect("raises");
        assert_eq!(
            raised,
            "+++\ntitle = \"P\"\nversion = \"1.1\"\neffective_date = \"2027-01-05\"\n+++\n\nversion = kept in the body\n"
        );
        let err = raise("+++\ntitle = \"P\"\n+++\n", Path::new("x.md"), "2", date)
            .expect_err("no version line")
            .to_string();
        assert!(
            err.starts_with("x.md: the front matter has no `version"),
            "{err}"
        );
    }
}
