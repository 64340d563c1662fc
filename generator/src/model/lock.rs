//! `policy.lock`: the SHA-256 of every published policy version, so a published text can
//! never change without a new version.
//!
//! A consent record holds a policy version and the hash of its text (§7.1, §12.2). If an editor
//! changed `content/kk/privacy.md` without raising `version`, version 1.0 would silently stand
//! for another text and every record made under it would point at words nobody agreed to. So
//! the build writes each published version's language, version, effective date and hash into
//! `policy.lock` at the site root (committed with the site), and refuses to build when a locked
//! version's text or date no longer matches. A version seen for the first time is added.
//! Before launch an editor may still correct a version: deleting its entries from the lock
//! accepts the new text.

use std::path::Path;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::load::source::{Location, line_of, read_text};
use crate::model::policy::{PolicySet, PolicyText};

/// The lock's file name, at the site root.
pub const LOCK_FILE: &str = "policy.lock";

const HEADER: &str = "\
# policy.lock: written by `kelisim build`; commit it with the site.
# Each published version of the policy and the SHA-256 of its text, as consent records cite
# them. A build fails if a locked text changes: publish changes as a new version
# (`kelisim policy new-version X.Y`), never by editing a published one.
";

/// Every locked version.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyLock {
    #[serde(default, rename = "version")]
    pub versions: Vec<LockedVersion>,
}

/// One published version in one language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedVersion {
    pub lang: String,
    pub version: String,
    /// `YYYY-MM-DD`.
    pub effective_date: String,
    /// Hex SHA-256 of the rendered policy text, as in the consent manifest.
    pub sha256: String,
}

impl LockedVersion {
    fn of(text: &PolicyText) -> Self {
        Self {
            lang: text.lang.to_string(),
            version: text.version.clone(),
            effective_date: crate::load::dates::iso(text.effective_date),
            sha256: text.sha256.clone(),
        }
    }
}

/// A lock the site does not match; each message names the file and the command that fixes it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LockError {
    #[error(
        "{location}: policy.lock is not valid: {message}. Restore it (`git restore policy.lock`), or delete it and build again to write it anew."
    )]
    Syntax { location: Location, message: String },
    #[error(
        "{location}: the text of policy version {version} ({lang}) changed after it was published: policy.lock holds SHA-256 {locked}, the text now gives {now}. Consent records made under {version} cite the locked text. Undo the edit (`git restore {file}`), run `kelisim policy new-version {next}` and make the edit in the new version. If {version} was never published, delete its `{lang}` entry from policy.lock and build again.",
        file = .location.file.display()
    )]
    Drifted {
        location: Location,
        lang: String,
        version: String,
        locked: String,
        now: String,
        next: String,
    },
    #[error(
        "{location}: archived policy version {version} ({lang}) changed: policy.lock holds SHA-256 {locked}, the file now gives {now}. An archived text is the proof for the records made under it and never changes: restore it with `git restore {file}`.",
        file = .location.file.display()
    )]
    ArchiveDrifted {
        location: Location,
        lang: String,
        version: String,
        locked: String,
        now: String,
    },
    #[error(
        "{location}: the effective date of published policy version {version} ({lang}) changed from {locked} to {now}. Write `effective_date = \"{locked}\"` back; a new date belongs to a new version (`kelisim policy new-version {next} --effective {now}`)."
    )]
    DateChanged {
        location: Location,
        lang: String,
        version: String,
        locked: String,
        now: String,
        next: String,
    },
    #[error(
        "policy.lock: policy version {version} ({lang}) is locked but the site no longer publishes it, so records made under it would cite a missing page. Restore content/{lang}/privacy/archive/{version}.md (`git restore content/{lang}/privacy/archive/{version}.md`)."
    )]
    Missing { lang: String, version: String },
}

impl LockError {
    /// Where an editor fixes it.
    pub fn location(&self) -> Location {
        match self {
            Self::Syntax { location, .. }
            | Self::Drifted { location, .. }
            | Self::ArchiveDrifted { location, .. }
            | Self::DateChanged { location, .. } => location.clone(),
            Self::Missing { .. } => Location::new(LOCK_FILE, 1),
        }
    }
}

impl FromStr for PolicyLock {
    /// Boxed: the error type is large and this is a cold path.
    type Err = Box<LockError>;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        toml::from_str(text).map_err(|e| {
            Box::new(LockError::Syntax {
                location: Location::new(
                    LOCK_FILE,
                    e.span().map(|s| line_of(text, s.start)).unwrap_or(1),
                ),
                message: e.message().trim().replace('\n', "; "),
            })
        })
    }
}

impl PolicyLock {
    /// The site's lock; empty when it has none yet.
    pub fn load(root: &Path) -> Result<Self, Box<LockError>> {
        let path = root.join(LOCK_FILE);
        if !path.exists() {
            return Ok(Self::default());
        }
        let text = read_text(&path, Path::new(LOCK_FILE)).map_err(|e| {
            Box::new(LockError::Syntax {
                location: Location::new(LOCK_FILE, 1),
                message: e.to_string(),
            })
        })?;
        text.parse()
    }

    fn find(&self, lang: &str, version: &str) -> Option<&LockedVersion> {
        self.versions
            .iter()
            .find(|v| v.lang == lang && v.version == version)
    }

    /// Every way the published policies differ from the lock, in the site's order.
    pub fn problems(&self, policies: &PolicySet) -> Vec<LockError> {
        let mut problems = Vec::new();
        for text in policies.all() {
            let lang = text.lang.as_str();
            let Some(locked) = self.find(lang, &text.version) else {
                continue;
            };
            let archived = policies
                .current(lang)
                .is_none_or(|c| c.version != text.version);
            if locked.sha256 != text.sha256 {
                problems.push(if archived {
                    LockError::ArchiveDrifted {
                        location: text.source.clone(),
                        lang: lang.to_owned(),
                        version: text.version.clone(),
                        locked: locked.sha256.clone(),
                        now: text.sha256.clone(),
                    }
                } else {
                    LockError::Drifted {
                        location: text.source.clone(),
                        lang: lang.to_owned(),
                        version: text.version.clone(),
                        locked: locked.sha256.clone(),
                        now: text.sha256.clone(),
                        next: next_version(&text.version),
                    }
                });
            }
            let date = crate::load::dates::iso(text.effective_date);
            if locked.effective_date != date {
                problems.push(LockError::DateChanged {
                    location: text.source.clone(),
                    lang: lang.to_owned(),
                    version: text.version.clone(),
                    locked: locked.effective_date.clone(),
                    now: date,
                    next: next_version(&text.version),
                });
            }
        }
        for locked in &self.versions {
            if policies.version(&locked.lang, &locked.version).is_none() {
                problems.push(LockError::Missing {
                    lang: locked.lang.clone(),
                    version: locked.version.clone(),
                });
            }
        }
        problems
    }

    /// Published versions the lock does not hold yet (the next build adds them).
    pub fn unlocked<'p>(&self, policies: &'p PolicySet) -> Vec<&'p PolicyText> {
        policies
            .all()
            .filter(|t| self.find(t.lang.as_str(), &t.version).is_none())
            .collect()
    }

    /// This lock with every published version added (the locked entries kept as they are),
    /// sorted by language, then effective date and version.
    pub fn updated(&self, policies: &PolicySet) -> Self {
        let mut versions = self.versions.clone();
        versions.extend(self.unlocked(policies).into_iter().map(LockedVersion::of));
        versions.sort_by(|a, b| {
            (&a.lang, &a.effective_date, &a.version).cmp(&(&b.lang, &b.effective_date, &b.version))
        });
        Self { versions }
    }

    /// The file's text: a header saying what it is, then one `[[version]]` table per entry.
    pub fn to_toml(&self) -> String {
        let mut out = String::from(HEADER);
        for v in &self.versions {
            out.push_str(&format!(
                "\n[[version]]\nlang = {}\nversion = {}\neffective_date = {}\nsha256 = {}\n",
                quoted(&v.lang),
                quoted(&v.version),
                quoted(&v.effective_date),
                quoted(&v.sha256)
            ));
        }
        out
    }
}

fn quoted(value: &str) -> String {
    toml::Value::String(value.to_owned()).to_string()
}

/// The version after `version`, for messages: the last number raised (`1.0` → `1.1`,
/// `2` → `3`); anything else gets `.1` appended.
pub fn next_version(version: &str) -> String {
    let (head, last) = version.rsplit_once('.').unwrap_or(("", version));
    match last.parse::<u64>() {
        Ok(n) if head.is_empty() => format!("{}", n + 1),
        Ok(n) => format!("{head}.{}", n + 1),
        Err(_) => format!("{version}.1"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_versions() {
        assert_eq!(next_version("1.0"), "1.1");
        assert_eq!(next_version("1.9"), "1.10");
        assert_eq!(next_version("2"), "3");
        assert_eq!(next_version("2024-a"), "2024-a.1");
    }

    #[test]
    fn round_trips_and_names_the_line_of_a_syntax_error() {
        let lock = PolicyLock {
            versions: vec![LockedVersion {
                lang: "kk".into(),
                version: "1.0".into(),
                effective_date: "2026-11-25".into(),
                sha256: "ab".repeat(32),
            }],
        };
        let text = lock.to_toml();
        assert!(text.starts_with("# policy.lock"));
        assert_eq!(text.parse::<PolicyLock>().ok(), Some(lock));
        let broken = text.replace("version = \"1.0\"", "version = 1.0 x");
        let err = broken.parse::<PolicyLock>().expect_err("invalid");
        let line = broken
            .lines()
            .position(|l| l.starts_with("version = 1.0"))
            .map(|i| i + 1);
        assert_eq!(Some(err.location().line), line, "{err}");
        assert!(err.to_string().contains("git restore policy.lock"), "{err}");
    }
}
