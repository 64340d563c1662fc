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
//!
//! The consent labels shown with a version are locked the same way: each entry holds the exact
//! text and hash of every label (`labels.reply = { text = "...", sha256 = "..." }`), written
//! when the version is first built (and added to an entry locked before labels were, while that
//! version is the current one). A label whose text changed under a locked version stops the
//! build; an archived version's labels come from here, so the labels a record cites stay
//! published with their version. An archived version locked before labels were has none: its
//! labels were never recorded, and the build does not invent them.

use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;

use kelisim_manifest::ConsentLabel;
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

/// Consent labels by language, then by purpose id.
pub type LabelsByLang = BTreeMap<String, BTreeMap<String, ConsentLabel>>;

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
    /// The consent labels shown with this version, by purpose id (empty for a version locked
    /// before labels were).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, ConsentLabel>,
}

impl LockedVersion {
    fn of(text: &PolicyText, labels: BTreeMap<String, ConsentLabel>) -> Self {
        Self {
            lang: text.lang.to_string(),
            version: text.version.clone(),
            effective_date: kelisim_manifest::dates::iso(text.effective_date),
            sha256: text.sha256.clone(),
            labels,
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
    #[error(
        "{location}: the consent label `{key}` ({lang}) changed while policy version {version} is published with it: policy.lock holds \"{locked}\", the contact page now shows \"{now}\". Records made under {version} cite the locked label. Restore the text (`git restore {file}`), or publish the new label with a new policy version: `kelisim policy new-version {next}` (version {version} keeps its locked label). If {version} was never published, delete its `{lang}` entry from policy.lock and build again.",
        file = .location.file.display()
    )]
    LabelChanged {
        location: Location,
        lang: String,
        version: String,
        key: String,
        locked: String,
        now: String,
        next: String,
    },
    #[error(
        "policy.lock: the `{purpose}` label of policy version {version} ({lang}) has a SHA-256 that is not the hash of its text, so the lock was edited by hand. Restore it (`git restore policy.lock`)."
    )]
    LabelHash {
        lang: String,
        version: String,
        purpose: String,
    },
}

impl LockError {
    /// Where an editor fixes it.
    pub fn location(&self) -> Location {
        match self {
            Self::Syntax { location, .. }
            | Self::Drifted { location, .. }
            | Self::ArchiveDrifted { location, .. }
            | Self::DateChanged { location, .. } => location.clone(),
            Self::LabelChanged { location, .. } => location.clone(),
            Self::Missing { .. } | Self::LabelHash { .. } => Location::new(LOCK_FILE, 1),
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
            let date = kelisim_manifest::dates::iso(text.effective_date);
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
            problems.extend(hand_edited_labels(locked));
        }
        problems
    }

    /// The labels `version` in `lang` was locked with (empty when it was locked without).
    pub fn labels(&self, lang: &str, version: &str) -> Option<&BTreeMap<String, ConsentLabel>> {
        self.find(lang, version).map(|v| &v.labels)
    }

    /// Every consent label of a current, locked version whose text differs from the lock's
    /// (`current`: each language's labels as its contact page shows them), or that was added
    /// or removed since. `origin` says where a purpose's label is written (its Fluent message).
    pub fn label_problems(
        &self,
        policies: &PolicySet,
        current: &LabelsByLang,
        origin: &dyn Fn(&str, &str) -> (Location, String),
    ) -> Vec<LockError> {
        let mut problems = Vec::new();
        for (lang, labels) in current {
            let Some(text) = policies.current(lang) else {
                continue;
            };
            let Some(locked) = self
                .find(lang, &text.version)
                .filter(|v| !v.labels.is_empty())
            else {
                continue;
            };
            let purposes: std::collections::BTreeSet<&String> =
                labels.keys().chain(locked.labels.keys()).collect();
            for purpose in purposes {
                let (was, now) = (locked.labels.get(purpose), labels.get(purpose));
                if was.map(|l| &l.sha256) == now.map(|l| &l.sha256) {
                    continue;
                }
                let (location, key) = origin(lang, purpose);
                let shown = |l: Option<&ConsentLabel>| {
                    l.map_or_else(|| "(no label)".to_owned(), |l| l.text.clone())
                };
                problems.push(LockError::LabelChanged {
                    location,
                    lang: lang.clone(),
                    version: text.version.clone(),
                    key,
                    locked: shown(was),
                    now: shown(now),
                    next: next_version(&text.version),
                });
            }
        }
        problems
    }

    /// Published versions the lock does not hold yet (the next build adds them). A placeholder
    /// is never locked.
    pub fn unlocked<'p>(&self, policies: &'p PolicySet) -> Vec<&'p PolicyText> {
        policies
            .all()
            .filter(|t| t.placeholder.is_none())
            .filter(|t| self.find(t.lang.as_str(), &t.version).is_none())
            .collect()
    }

    /// This lock with every published version added (the locked entries kept as they are),
    /// sorted by language, then effective date and version. Each current version gets its
    /// labels from `current` when it is new, or when its entry was locked without labels.
    pub fn updated(&self, policies: &PolicySet, current: &LabelsByLang) -> Self {
        let labels_of = |text: &PolicyText| {
            let is_current = policies
                .current(text.lang.as_str())
                .is_some_and(|c| c.version == text.version);
            match current.get(text.lang.as_str()) {
                Some(labels) if is_current && text.placeholder.is_none() => labels.clone(),
                _ => BTreeMap::new(),
            }
        };
        let mut versions = self.versions.clone();
        for locked in versions.iter_mut().filter(|v| v.labels.is_empty()) {
            if let Some(text) = policies.version(&locked.lang, &locked.version) {
                locked.labels = labels_of(text);
            }
        }
        versions.extend(
            self.unlocked(policies)
                .into_iter()
                .map(|t| LockedVersion::of(t, labels_of(t))),
        );
        versions.sort_by(|a, b| {
            (&a.lang, &a.effective_date, &a.version).cmp(&(&b.lang, &b.effective_date, &b.version))
        });
        Self { versions }
    }

    /// The file's text: a header saying what it is, then one `[[version]]` table per entry,
    /// each label on a line of its own (`labels.reply = { text = "...", sha256 = "..." }`).
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
            for (purpose, label) in &v.labels {
                out.push_str(&format!(
                    "labels.{} = {{ text = {}, sha256 = {} }}\n",
                    key(purpose),
                    quoted(&label.text),
                    quoted(&label.sha256)
                ));
            }
        }
        out
    }
}

/// A locked label whose hash is not its text's: the lock was edited by hand.
fn hand_edited_labels(locked: &LockedVersion) -> impl Iterator<Item = LockError> + '_ {
    locked
        .labels
        .iter()
        .filter(|(_, label)| ConsentLabel::new(label.text.as_str()).sha256 != label.sha256)
        .map(|(purpose, _)| LockError::LabelHash {
            lang: locked.lang.clone(),
            version: locked.version.clone(),
            purpose: purpose.clone(),
        })
}

fn quoted(value: &str) -> String {
    toml::Value::String(value.to_owned()).to_string()
}

/// A TOML key: bare when it can be, quoted otherwise.
fn key(name: &str) -> String {
    let bare = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if bare { name.to_owned() } else { quoted(name) }
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
                labels: BTreeMap::from([
                    (
                        "reply".into(),
                        ConsentLabel::new("Келісемін: «1 жыл», \"x\""),
                    ),
                    ("news letter".into(), ConsentLabel::new("Согласен")),
                ]),
            }],
        };
        let text = lock.to_toml();
        assert!(text.starts_with("# policy.lock"));
        assert!(
            text.contains("\nlabels.reply = { text = 'Келісемін: «1 жыл», \"x\"', sha256 = "),
            "{text}"
        );
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
