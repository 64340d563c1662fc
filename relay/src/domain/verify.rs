//! Whether a record's consent stamp still leads to the exact texts its sender was shown
//! (issue #16): the policy text at the stamped version and each purpose's label, found
//! through the published consent manifest, hashed again and compared with the stamp.
//!
//! The burden of proof is the operator's (EDPB 05/2020 §104–108): a stamp only proves
//! something while the texts it hashes can still be produced. So every way this can fail is
//! said plainly: the site lists no such version, a text is not where the manifest says, or
//! it is there but hashes to something else. A record made before labels were locked names a
//! version with no labels file; that is reported as missing label text, never passed over.
//!
//! Pure: the caller fetches what [`locate`] names (once per URL), reads it with
//! [`policy_text_sha256`] and [`label_hashes`], and hands the results to [`check`]. What it
//! reports holds ids, languages, versions, purposes, URLs of the site and hashes: never
//! anything of the person.

use std::collections::BTreeMap;
use std::fmt;

use kelisim_manifest::{ConsentManifest, PublishedLabels, PurposeId, policy_text_of, sha256_hex};
use serde::Serialize;

use crate::domain::record::{ConsentStamp, RecordId};

/// Where the site publishes the texts a stamp names, as its consent manifest says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// The version's permanent page, with the policy text between the markers.
    pub policy_url: String,
    /// The version's `consent-labels.json`; `None` when the site publishes no labels for it
    /// (a version locked before labels were).
    pub labels_url: Option<String>,
}

/// The URLs of the stamp's version in the stamp's language, or `None` when the manifest
/// lists no such version (current or earlier) in that language.
pub fn locate(manifest: &ConsentManifest, stamp: &ConsentStamp) -> Option<Located> {
    let language = manifest.languages.get(&stamp.language)?;
    let version = std::iter::once(&language.policy)
        .chain(&language.previous_policies)
        .find(|v| v.version == stamp.policy_version)?;
    Some(Located {
        // Manifests written before permanent pages existed name the version's page in `url`.
        policy_url: version
            .permanent_url
            .clone()
            .unwrap_or_else(|| version.url.clone()),
        labels_url: version.labels_url.clone(),
    })
}

/// What the site gave for one URL, once read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Published<T> {
    /// There, and of the expected form.
    Found(T),
    /// The site has nothing at this URL.
    NotFound,
    /// Something is there, but not what the manifest says (a page without the policy-text
    /// markers, a file that is no labels document).
    Malformed,
    /// The site could not be read (a timeout, an HTTP error other than "not found", a path
    /// outside the site): nothing can be said about the text.
    Unreadable(String),
}

impl<T> Published<T> {
    /// Reads what was found with `read`; the other outcomes stay as they are.
    pub fn and_then<U>(self, read: impl FnOnce(T) -> Published<U>) -> Published<U> {
        match self {
            Self::Found(value) => read(value),
            Self::NotFound => Published::NotFound,
            Self::Malformed => Published::Malformed,
            Self::Unreadable(why) => Published::Unreadable(why),
        }
    }
}

/// The hash of a policy page's text: the bytes between the markers, exactly as the generator
/// hashed them ([`policy_text_of`]). Bytes that are not UTF-8 are replaced, so a damaged
/// page hashes to something else rather than passing. [`Published::Malformed`] without the
/// markers.
pub fn policy_text_sha256(page: &[u8]) -> Published<String> {
    let page = String::from_utf8_lossy(page);
    match policy_text_of(&page) {
        Some(text) => Published::Found(sha256_hex(text.as_bytes())),
        None => Published::Malformed,
    }
}

/// A published `consent-labels.json`, with each label's text hashed here (its own `sha256`
/// field is not trusted: the text is what was shown).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelsFile {
    pub lang: String,
    pub version: String,
    /// Hex SHA-256 of each label's text, by purpose.
    pub text_sha256: BTreeMap<PurposeId, String>,
}

/// Reads a `consent-labels.json` ([`PublishedLabels`]); [`Published::Malformed`] when it is
/// not one.
pub fn label_hashes(file: &[u8]) -> Published<LabelsFile> {
    match serde_json::from_slice::<PublishedLabels>(file) {
        Ok(labels) => Published::Found(LabelsFile {
            lang: labels.lang,
            version: labels.version,
            text_sha256: labels
                .labels
                .into_iter()
                .map(|(purpose, label)| (purpose, sha256_hex(label.text.as_bytes())))
                .collect(),
        }),
        Err(_) => Published::Malformed,
    }
}

/// Why a text counts as missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Missing {
    /// The manifest names no labels file for this version.
    NotPublished,
    /// Nothing at the URL.
    NotFound,
    /// The page has no policy-text markers.
    NoMarkers,
    /// The file is not a labels document.
    NotLabels,
    /// The labels file is for another language or version.
    OtherVersion,
    /// The labels file has no label for this purpose.
    NoPurpose,
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotPublished => "the site publishes no labels for this version",
            Self::NotFound => "not found",
            Self::NoMarkers => "no policy-text markers on the page",
            Self::NotLabels => "not a consent-labels file",
            Self::OtherVersion => "the file is for another language or version",
            Self::NoPurpose => "no label for this purpose",
        })
    }
}

/// One reason a stamp cannot be verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Problem {
    /// The site's manifest lists no policy version of this name in this language.
    VersionUnknown,
    /// The policy text is not where the manifest says.
    PolicyTextMissing { url: String, why: Missing },
    /// The published policy text hashes to another value than the stamped one.
    PolicyHashDiffers {
        url: String,
        published_sha256: String,
        stamped_sha256: String,
    },
    /// The label shown for this purpose is not published for this version.
    LabelTextMissing {
        purpose: PurposeId,
        #[serde(skip_serializing_if = "Option::is_none")]
        url: Option<String>,
        why: Missing,
    },
    /// The published label for this purpose hashes to another value than the stamped one.
    LabelHashDiffers {
        purpose: PurposeId,
        url: String,
        published_sha256: String,
        stamped_sha256: String,
    },
    /// The site could not be read at this URL, so the text could not be checked.
    SiteUnreadable { url: String, error: String },
}

impl Problem {
    /// The short reason as the text report starts it (`policy hash differs`).
    pub fn reason(&self) -> &'static str {
        match self {
            Self::VersionUnknown => "version unknown",
            Self::PolicyTextMissing { .. } => "policy text missing",
            Self::PolicyHashDiffers { .. } => "policy hash differs",
            Self::LabelTextMissing { .. } => "label text missing",
            Self::LabelHashDiffers { .. } => "label hash differs",
            Self::SiteUnreadable { .. } => "site unreadable",
        }
    }

    /// The purpose a label problem is about.
    pub fn purpose(&self) -> Option<&str> {
        match self {
            Self::LabelTextMissing { purpose, .. } | Self::LabelHashDiffers { purpose, .. } => {
                Some(purpose)
            }
            _ => None,
        }
    }

    /// What the text report puts in brackets after the reason (and the purpose): where, and
    /// why. The hashes are cut to 12 digits; `--json` has them whole.
    pub fn detail(&self) -> String {
        let short = |hash: &str| hash.chars().take(12).collect::<String>();
        match self {
            Self::VersionUnknown => "not in the site's consent manifest".to_owned(),
            Self::PolicyTextMissing { url, why }
            | Self::LabelTextMissing {
                url: Some(url),
                why,
                ..
            } => format!("{url}: {why}"),
            Self::LabelTextMissing { url: None, why, .. } => why.to_string(),
            Self::PolicyHashDiffers {
                url,
                published_sha256,
                stamped_sha256,
            }
            | Self::LabelHashDiffers {
                url,
                published_sha256,
                stamped_sha256,
                ..
            } => format!(
                "{url}: published {}…, stamped {}…",
                short(published_sha256),
                short(stamped_sha256)
            ),
            Self::SiteUnreadable { url, error } => format!("{url}: {error}"),
        }
    }
}

/// Whether a stamp leads to its texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Verified,
    Unverifiable,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Verified => "verified",
            Self::Unverifiable => "unverifiable",
        })
    }
}

/// One record's result: its id, the stamp's language and version, and every problem found
/// (none when verified). Serialized as it is for `records verify --json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StampCheck {
    pub id: RecordId,
    pub status: Status,
    pub language: String,
    pub policy_version: String,
    pub problems: Vec<Problem>,
}

impl StampCheck {
    pub fn is_verified(&self) -> bool {
        self.status == Status::Verified
    }
}

/// The texts found for a stamp's version: where they are ([`locate`]) and what the site
/// gave for each URL.
#[derive(Debug, Clone, Copy)]
pub struct Texts<'a> {
    pub located: &'a Located,
    pub policy: &'a Published<String>,
    /// What the labels URL gave; `None` when [`Located::labels_url`] is.
    pub labels: Option<&'a Published<LabelsFile>>,
}

/// Checks the stamp of record `id` against the texts found for its version (`None`: the
/// manifest lists no such version).
pub fn check(id: RecordId, stamp: &ConsentStamp, texts: Option<Texts<'_>>) -> StampCheck {
    let problems = match texts {
        None => vec![Problem::VersionUnknown],
        Some(texts) => {
            let mut problems: Vec<Problem> = policy_problem(stamp, texts).into_iter().collect();
            problems.extend(label_problems(stamp, texts));
            problems
        }
    };
    StampCheck {
        id,
        status: if problems.is_empty() {
            Status::Verified
        } else {
            Status::Unverifiable
        },
        language: stamp.language.clone(),
        policy_version: stamp.policy_version.clone(),
        problems,
    }
}

fn policy_problem(stamp: &ConsentStamp, texts: Texts<'_>) -> Option<Problem> {
    let url = texts.located.policy_url.clone();
    Some(match texts.policy {
        Published::Found(hash) if *hash == stamp.policy_sha256 => return None,
        Published::Found(hash) => Problem::PolicyHashDiffers {
            url,
            published_sha256: hash.clone(),
            stamped_sha256: stamp.policy_sha256.clone(),
        },
        Published::NotFound => Problem::PolicyTextMissing {
            url,
            why: Missing::NotFound,
        },
        Published::Malformed => Problem::PolicyTextMissing {
            url,
            why: Missing::NoMarkers,
        },
        Published::Unreadable(error) => Problem::SiteUnreadable {
            url,
            error: error.clone(),
        },
    })
}

/// Every purpose the stamp names, granted or not: each had its label shown beside it.
fn label_problems(stamp: &ConsentStamp, texts: Texts<'_>) -> Vec<Problem> {
    let url = texts.located.labels_url.clone();
    let missing = |why: Missing| -> Vec<Problem> {
        stamp
            .purposes
            .iter()
            .map(|p| Problem::LabelTextMissing {
                purpose: p.purpose.clone(),
                url: url.clone(),
                why,
            })
            .collect()
    };
    let (Some(labels), Some(url)) = (texts.labels, &url) else {
        return missing(Missing::NotPublished);
    };
    let file = match labels {
        Published::Found(file) => file,
        Published::NotFound => return missing(Missing::NotFound),
        Published::Malformed => return missing(Missing::NotLabels),
        Published::Unreadable(error) => {
            return vec![Problem::SiteUnreadable {
                url: url.clone(),
                error: error.clone(),
            }];
        }
    };
    if file.lang != stamp.language || file.version != stamp.policy_version {
        return missing(Missing::OtherVersion);
    }
    let mut problems = Vec::new();
    for purpose in &stamp.purposes {
        match file.text_sha256.get(&purpose.purpose) {
            None => problems.push(Problem::LabelTextMissing {
                purpose: purpose.purpose.clone(),
                url: Some(url.clone()),
                why: Missing::NoPurpose,
            }),
            Some(hash) if *hash != purpose.label_sha256 => {
                problems.push(Problem::LabelHashDiffers {
                    purpose: purpose.purpose.clone(),
                    url: url.clone(),
                    published_sha256: hash.clone(),
                    stamped_sha256: purpose.label_sha256.clone(),
                });
            }
            Some(_) => {}
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::domain::record::{CollectionMethod, PurposeConsent};
    use kelisim_manifest::{ConsentLabel, Operator, POLICY_TEXT_END, POLICY_TEXT_START};

    const POLICY: &str = "<h2>1.</h2>\n<p>Саясат</p>\n";
    const URL: &str = "https://e/kk/privacy/2/";
    const LABELS_URL: &str = "https://e/kk/privacy/2/consent-labels.json";

    fn stamp() -> ConsentStamp {
        let purpose = |id: &str, label: &str| PurposeConsent {
            purpose: id.to_owned(),
            granted: id == "reply",
            legal_basis: "consent".to_owned(),
            label_sha256: sha256_hex(label.as_bytes()),
            expires_at: None,
            withdrawn_at: None,
            confirm_by: None,
            confirmed_at: None,
            confirm_secret_sha256: None,
            data_categories: Vec::new(),
        };
        ConsentStamp {
            language: "kk".to_owned(),
            policy_version: "2".to_owned(),
            policy_sha256: sha256_hex(POLICY.as_bytes()),
            policy_url: URL.to_owned(),
            purposes: vec![purpose("newsletter", "Хаттар"), purpose("reply", "Жауап")],
            collection_method: CollectionMethod::Script,
            page_url: "https://e/kk/contact/".to_owned(),
            operator: Operator {
                name: "n".to_owned(),
                email: "e@x".to_owned(),
                website: "https://e".to_owned(),
            },
            storage_location: "test".to_owned(),
        }
    }

    fn page(text: &str) -> Vec<u8> {
        format!("<main>\n{POLICY_TEXT_START}{text}{POLICY_TEXT_END}\n</main>").into_bytes()
    }

    fn labels(lang: &str, version: &str, reply: &str) -> Vec<u8> {
        let labels = PublishedLabels {
            lang: lang.to_owned(),
            version: version.to_owned(),
            labels: [
                ("newsletter".to_owned(), ConsentLabel::new("Хаттар")),
                ("reply".to_owned(), ConsentLabel::new(reply)),
            ]
            .into(),
        };
        serde_json::to_vec(&labels).unwrap()
    }

    fn run(policy: &[u8], labels_file: Option<&[u8]>) -> StampCheck {
        let located = Located {
            policy_url: URL.to_owned(),
            labels_url: labels_file.map(|_| LABELS_URL.to_owned()),
        };
        let policy = policy_text_sha256(policy);
        let labels = labels_file.map(label_hashes);
        let texts = Texts {
            located: &located,
            policy: &policy,
            labels: labels.as_ref(),
        };
        check(RecordId::new(), &stamp(), Some(texts))
    }

    fn reasons(check: &StampCheck) -> Vec<(&'static str, Option<&str>)> {
        check
            .problems
            .iter()
            .map(|p| (p.reason(), p.purpose()))
            .collect()
    }

    #[test]
    fn the_published_texts_verify_the_stamp() {
        let check = run(&page(POLICY), Some(&labels("kk", "2", "Жауап")));
        assert!(check.is_verified(), "{check:?}");
        assert_eq!(check.status.to_string(), "verified");
    }

    #[test]
    fn an_edited_policy_text_or_label_differs() {
        let check = run(&page("<p>changed</p>"), Some(&labels("kk", "2", "Жауап!")));
        assert_eq!(
            reasons(&check),
            [
                ("policy hash differs", None),
                ("label hash differs", Some("reply"))
            ]
        );
        assert_eq!(check.status, Status::Unverifiable);
        let Problem::PolicyHashDiffers { stamped_sha256, .. } = &check.problems[0] else {
            panic!("{check:?}")
        };
        assert_eq!(*stamped_sha256, sha256_hex(POLICY.as_bytes()));
    }

    #[test]
    fn a_version_without_labels_or_markers_is_missing_text() {
        let check = run(b"<p>no markers</p>", None);
        assert_eq!(
            reasons(&check),
            [
                ("policy text missing", None),
                ("label text missing", Some("newsletter")),
                ("label text missing", Some("reply"))
            ]
        );
        assert_eq!(
            check.problems[0].detail(),
            format!("{URL}: no policy-text markers on the page")
        );
        assert_eq!(
            check.problems[1].detail(),
            "the site publishes no labels for this version"
        );
    }

    #[test]
    fn a_labels_file_of_another_version_or_form_is_missing_text() {
        let check = run(&page(POLICY), Some(&labels("kk", "3", "Жауап")));
        assert!(
            check.problems.iter().all(|p| matches!(
                p,
                Problem::LabelTextMissing {
                    why: Missing::OtherVersion,
                    ..
                }
            )),
            "{check:?}"
        );
        let check = run(&page(POLICY), Some(b"<html>"));
        assert_eq!(check.problems.len(), 2);
        assert!(
            check.problems[0]
                .detail()
                .ends_with("not a consent-labels file")
        );
    }

    #[test]
    fn an_unreadable_site_is_said_once_per_url() {
        let located = Located {
            policy_url: URL.to_owned(),
            labels_url: Some(LABELS_URL.to_owned()),
        };
        let down = Published::Unreadable("timeout".to_owned());
        let texts = Texts {
            located: &located,
            policy: &down,
            labels: Some(&Published::Unreadable("timeout".to_owned())),
        };
        let check = check(RecordId::new(), &stamp(), Some(texts));
        assert_eq!(
            reasons(&check),
            [("site unreadable", None), ("site unreadable", None)]
        );
        assert_eq!(check.problems[1].detail(), format!("{LABELS_URL}: timeout"));
    }

    #[test]
    fn locate_finds_current_and_earlier_versions_in_the_stamps_language() {
        let mut manifest: ConsentManifest = serde_json::from_str(&format!(
            r#"{{"schema_version":1,"generator":"x","base_url":"https://e","default_language":"kk",
            "operator":{{"name":"n","email":"e@x","website":"https://e"}},"form_endpoint":"/f",
            "purposes":[],"languages":{{"kk":{{"policy":{{"version":"3","effective_date":"2025-01-01",
            "url":"https://e/kk/privacy/","sha256":"00","permanent_url":"https://e/kk/privacy/3/"}},
            "previous_policies":[{{"version":"2","effective_date":"2024-01-01","url":"{URL}",
            "sha256":"00","labels_url":"{LABELS_URL}"}}],
            "contact_url":"c","thanks_url":"t","error_url":"e","labels":{{}}}}}}}}"#
        ))
        .unwrap();
        let mut stamp = stamp();
        assert_eq!(
            locate(&manifest, &stamp),
            Some(Located {
                policy_url: URL.to_owned(),
                labels_url: Some(LABELS_URL.to_owned())
            })
        );
        stamp.policy_version = "3".to_owned();
        assert_eq!(
            locate(&manifest, &stamp).unwrap().policy_url,
            "https://e/kk/privacy/3/"
        );
        stamp.policy_version = "1".to_owned();
        assert_eq!(locate(&manifest, &stamp), None);
        stamp.policy_version = "3".to_owned();
        stamp.language = "ru".to_owned();
        assert_eq!(locate(&manifest, &stamp), None);
        manifest.languages.clear();
        let check = check(RecordId::new(), &stamp, None);
        assert_eq!(reasons(&check), [("version unknown", None)]);
    }
}
