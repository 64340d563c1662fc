//! A published site written by hand in the generator's format, for the `records verify`
//! tests: for each language and policy version, the permanent page
//! `/<lang>/privacy/<version>/index.html` with the policy text between
//! `POLICY_TEXT_START` and `POLICY_TEXT_END` (as the theme writes it: the text right after the
//! start marker, the end marker right after the text), the version's `consent-labels.json`
//! (`PublishedLabels`) unless it was published before labels were locked, and
//! `consent-manifest.json` at the root. Everything is made with `kelisim_manifest`'s own
//! types, markers, file names and hash, so it cannot drift from what the generator writes
//! (`tests/tests/verify_records.rs` in kelisim-tests runs the same command on a site the real
//! generator built). Records are stamped by the real router, each under the manifest of its
//! day.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::common::{self, json_body, json_request, send, settings, valid_fields, with};
use kelisim_relay::domain::record::RecordId;
use kelisim_relay::manifest::{
    ConsentLabel, ConsentManifest, LABELS_FILE, MANIFEST_FILE, POLICY_TEXT_END, POLICY_TEXT_START,
    PolicyVersion, PublishedLabels, sha256_hex,
};
use kelisim_relay::store::Store;
use kelisim_relay::web::AppState;

/// The fixture manifest's languages.
pub const LANGS: [&str; 2] = ["kk", "ru"];

/// One policy version as the site published it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edition {
    pub version: &'static str,
    /// Which policy text it has: two editions with the same number have the same text.
    pub text: u32,
    /// Which labels were shown with it.
    pub labels: u32,
    /// Whether its labels were locked with it and are published beside it; false for a
    /// version published before labels were locked (its labels were not kept).
    pub labels_locked: bool,
}

/// The policy text of `edition` in `lang`, as the generator renders a body: HTML, Cyrillic.
pub fn policy_text(lang: &str, edition: &Edition) -> String {
    format!(
        "<h2>1. Жалпы ережелер ({lang})</h2>\n<p>«Z Distribution Company» ЖШС құпиялылық \
         саясаты, мәтін {}.</p>\n<ul>\n<li>§5.7: сақтау мерзімі</li>\n</ul>\n",
        edition.text
    )
}

/// The label shown for `purpose` with `edition` in `lang`.
pub fn label_text(lang: &str, purpose: &str, edition: &Edition) -> String {
    format!(
        "Келісемін ({lang}, {purpose}): деректерімді өңдеуге, нұсқа {}",
        edition.labels
    )
}

fn labels(lang: &str, edition: &Edition) -> BTreeMap<String, ConsentLabel> {
    common::manifest()
        .purposes
        .iter()
        .map(|p| {
            let text = label_text(lang, &p.id, edition);
            (p.id.clone(), ConsentLabel::new(text))
        })
        .collect()
}

/// `https://woow.kz/kk/privacy/2/`.
pub fn page_url(base: &str, lang: &str, edition: &Edition) -> String {
    format!("{base}/{lang}/privacy/{}/", edition.version)
}

fn policy_version(base: &str, lang: &str, edition: &Edition) -> PolicyVersion {
    let url = page_url(base, lang, edition);
    let locked = edition.labels_locked;
    PolicyVersion {
        version: edition.version.to_owned(),
        effective_date: "2024-02-11".to_owned(),
        url: url.clone(),
        sha256: sha256_hex(policy_text(lang, edition).as_bytes()),
        translation_of: (lang == "ru").then(|| "kk".to_owned()),
        labels: if locked {
            labels(lang, edition)
        } else {
            BTreeMap::new()
        },
        labels_url: locked.then(|| format!("{url}{LABELS_FILE}")),
        permanent_url: Some(url),
    }
}

/// The site's manifest on the day `current` was the current version, with `earlier`
/// (newest first) archived: the fixture manifest with the site's base URL and these
/// versions. The form shows `current`'s labels, locked or not.
pub fn manifest_at(base: &str, current: &Edition, earlier: &[Edition]) -> ConsentManifest {
    let mut manifest = common::manifest();
    manifest.base_url = base.to_owned();
    for lang in LANGS {
        let language = manifest.languages.get_mut(lang).unwrap();
        language.policy = policy_version(base, lang, current);
        language.labels = labels(lang, current);
        language.previous_policies = earlier
            .iter()
            .map(|e| policy_version(base, lang, e))
            .collect();
    }
    manifest
}

/// A policy page with the text between the markers.
pub fn page(lang: &str, text: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>Құпиялылық саясаты</title>\n</head>\n<body>\n<main>\n<article>\n\
         {POLICY_TEXT_START}{text}{POLICY_TEXT_END}\n</article>\n</main>\n</body>\n</html>\n"
    )
}

/// Writes the site of the day `current` was current into `dir`: every version's page and
/// labels, and the manifest. Returns the manifest.
pub fn write_site(
    dir: &Path,
    base: &str,
    current: &Edition,
    earlier: &[Edition],
) -> ConsentManifest {
    let manifest = manifest_at(base, current, earlier);
    for edition in std::iter::once(current).chain(earlier) {
        for lang in LANGS {
            let folder = dir.join(lang).join("privacy").join(edition.version);
            std::fs::create_dir_all(&folder).unwrap();
            let text = policy_text(lang, edition);
            std::fs::write(folder.join("index.html"), page(lang, &text)).unwrap();
            if edition.labels_locked {
                let published = PublishedLabels {
                    lang: lang.to_owned(),
                    version: edition.version.to_owned(),
                    labels: labels(lang, edition),
                };
                let json = serde_json::to_string_pretty(&published).unwrap();
                std::fs::write(folder.join(LABELS_FILE), json).unwrap();
            }
        }
    }
    let json = serde_json::to_string_pretty(&manifest).unwrap();
    std::fs::write(dir.join(MANIFEST_FILE), json).unwrap();
    manifest
}

/// The file of `edition`'s page in `lang`, or of its labels.
pub fn page_file(dir: &Path, lang: &str, edition: &Edition) -> PathBuf {
    dir.join(lang)
        .join("privacy")
        .join(edition.version)
        .join("index.html")
}

pub fn labels_file(dir: &Path, lang: &str, edition: &Edition) -> PathBuf {
    dir.join(lang)
        .join("privacy")
        .join(edition.version)
        .join(LABELS_FILE)
}

/// One contact form in `lang` (reply and newsletter granted) through the real router, under
/// `manifest`'s current version, stamped into `store`. Returns the record's id.
pub async fn post(store: Arc<dyn Store>, manifest: &ConsentManifest, lang: &str) -> RecordId {
    let state = AppState::new(store, manifest.clone(), settings()).unwrap();
    let policy = &manifest.languages[lang].policy;
    let fields = with(valid_fields(lang), "policy_version", Some(&policy.version));
    let fields = with(fields, "policy_hash", Some(&policy.sha256));
    // Another message each time, so no post is taken for a repeat of an earlier one.
    let message = format!(
        "{} {lang} {} {}",
        common::MESSAGE,
        policy.version,
        uuid::Uuid::now_v7()
    );
    let mut fields = with(fields, "message", Some(&message));
    fields.push(("consent".to_owned(), "newsletter".to_owned()));
    let answer = send(&state, json_request(json_body(&fields), None)).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    answer.json()["id"].as_str().unwrap().parse().unwrap()
}
