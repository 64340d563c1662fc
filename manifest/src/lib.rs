//! The consent manifest: what the published site asked people to agree to.
//!
//! `kelisim build` writes `consent-manifest.json` beside the pages. For every language it
//! records the privacy policy's version, effective date, URL and the SHA-256 of the exact
//! published policy text, plus the exact text and hash of each consent checkbox label. The
//! relay loads the same file and refuses a submission whose policy version or hash is not in
//! it, so every stored record points at a text that was really published (policy §7.1, §12.2).
//!
//! This crate is the one contract between the two sides: the generator writes these types and
//! the relay reads them through [`ConsentManifest::from_path`], so they cannot drift apart. It
//! depends on serde and a hash only, so neither side pulls the other's dependencies in.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The manifest format's version. Bump it when a field changes meaning.
pub const MANIFEST_SCHEMA_VERSION: u32 = 1;

/// Identifier of a processing purpose a visitor can consent to.
pub type PurposeId = String;

/// Purpose: answering the visitor's own request (policy §6, "feedback"). Required.
pub const PURPOSE_REPLY: &str = "reply";
/// Purpose: informational emails (policy §6). Optional and unticked (§4.1: prior consent).
pub const PURPOSE_NEWSLETTER: &str = "newsletter";

/// `consent-manifest.json`, as published by the generator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentManifest {
    /// Always [`MANIFEST_SCHEMA_VERSION`] for this crate version.
    pub schema_version: u32,
    /// The generator that wrote it, for example `kelisim 0.1.0`.
    pub generator: String,
    /// Absolute base URL of the site, without a trailing slash (`https://woow.kz`).
    pub base_url: String,
    /// The language served as `x-default` (`kk`).
    pub default_language: String,
    /// Who processes the data (the controller).
    pub operator: Operator,
    /// Where the contact form posts to.
    pub form_endpoint: String,
    /// Purposes in the order the form shows them.
    pub purposes: Vec<Purpose>,
    /// Per language tag (`kk`, `ru`): the policy and labels shown in that language.
    pub languages: BTreeMap<String, LanguageConsent>,
}

/// The operator (data controller) as named in the policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Operator {
    /// Legal name, for example «Z Distribution Company» ЖШС.
    pub name: String,
    /// The address for data-subject requests (policy §8.3, §8.4, §12.1).
    pub email: String,
    /// The operator's website.
    pub website: String,
}

/// A processing purpose and what it covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Purpose {
    /// Stable id, also the checkbox value in the form (`reply`, `newsletter`).
    pub id: PurposeId,
    /// Whether the form cannot be sent without it.
    pub required: bool,
    /// Legal basis, for example `consent (Law 94-V, Art. 8)`.
    pub legal_basis: String,
    /// The personal-data categories this purpose uses (policy §6).
    pub data_categories: Vec<String>,
    /// Whether the grant takes effect only once the address's owner confirms it through a
    /// mailed link (double opt-in): anyone can type someone else's address, so a newsletter
    /// consent nobody confirmed proves nothing (§4.1, §7.1).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub confirm_by_email: bool,
}

/// What a visitor reading the site in one language saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LanguageConsent {
    /// The policy published in this language.
    pub policy: PolicyVersion,
    /// Absolute URL of the contact page (where the form is).
    pub contact_url: String,
    /// Absolute URL of the thank-you page a plain form post is redirected to.
    pub thanks_url: String,
    /// Absolute URL of the form-error page a plain form post is redirected to on bad input.
    pub error_url: String,
    /// Consent checkbox labels, by purpose id.
    pub labels: BTreeMap<PurposeId, ConsentLabel>,
    /// Superseded versions of the policy in this language, newest first, each still published
    /// at its versioned URL with the hash it had when it was current, so records made under
    /// it stay verifiable (policy §7.1, §12.2). For proof and audits only: the relay accepts
    /// submissions against [`Self::policy`] alone. Absent in manifests without an archive.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub previous_policies: Vec<PolicyVersion>,
    /// Absolute URL of the page a confirmed double opt-in lands on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmed_url: Option<String>,
    /// Absolute URL of the page a bad, expired or used confirmation link lands on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirm_error_url: Option<String>,
    /// Absolute URL of the data-subject request page (`/<lang>/request/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_url: Option<String>,
    /// Absolute URL of the page a request post lands on ("check your mail").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_sent_url: Option<String>,
    /// Absolute URL of the page a confirmed request lands on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_confirmed_url: Option<String>,
    /// The relay's messages in this language: the Fluent source of `locales/<lang>/relay.ftl`
    /// (see the relay's `messages` module). Empty in manifests written before it was shipped.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub messages: String,
}

/// One published version of the privacy policy in one language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyVersion {
    /// Editor-assigned version, from the policy's front matter (`version`).
    pub version: String,
    /// The date the version takes effect, `YYYY-MM-DD`.
    pub effective_date: String,
    /// Absolute URL of the policy page.
    pub url: String,
    /// Hex SHA-256 of the policy's rendered body HTML exactly as published (see [`sha256_hex`]).
    pub sha256: String,
    /// For a translation: the language of the original it was translated from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub translation_of: Option<String>,
}

/// The exact text of one consent checkbox label and its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentLabel {
    /// The label as plain text (no markup), exactly as shown.
    pub text: String,
    /// Hex SHA-256 of `text`'s UTF-8 bytes.
    pub sha256: String,
}

impl ConsentLabel {
    /// A label with its hash computed from the text.
    pub fn new(text: impl Into<String>) -> Self {
        let text = text.into();
        let sha256 = sha256_hex(text.as_bytes());
        Self { text, sha256 }
    }
}

/// Lowercase hex SHA-256, the one hash format used everywhere in the manifest and records.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Why a manifest could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("cannot read the consent manifest {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {source}", path.display())]
    InFile {
        path: PathBuf,
        #[source]
        source: Box<ManifestError>,
    },
    #[error("the consent manifest is not valid JSON for schema {MANIFEST_SCHEMA_VERSION}: {0}")]
    Parse(#[from] serde_json::Error),
    #[error(
        "the consent manifest has schema version {found}, this relay understands {MANIFEST_SCHEMA_VERSION}"
    )]
    SchemaVersion { found: u32 },
    #[error("the consent manifest is inconsistent: {0}")]
    Inconsistent(String),
}

impl ConsentManifest {
    /// Reads, parses and checks the manifest file at `path` (the site's
    /// `consent-manifest.json`); every error names the file. The one way the relay's binaries
    /// load it.
    pub fn from_path(path: &Path) -> Result<Self, ManifestError> {
        let text = std::fs::read_to_string(path).map_err(|source| ManifestError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_json(&text).map_err(|source| ManifestError::InFile {
            path: path.to_owned(),
            source: Box::new(source),
        })
    }

    /// Parses and checks a manifest: schema version, a default language that exists, and a
    /// label for every purpose in every language.
    pub fn from_json(json: &str) -> Result<Self, ManifestError> {
        let manifest: Self = serde_json::from_str(json)?;
        manifest.check()?;
        Ok(manifest)
    }

    fn check(&self) -> Result<(), ManifestError> {
        if self.schema_version != MANIFEST_SCHEMA_VERSION {
            return Err(ManifestError::SchemaVersion {
                found: self.schema_version,
            });
        }
        if !self.languages.contains_key(&self.default_language) {
            return Err(ManifestError::Inconsistent(format!(
                "default language `{}` has no entry",
                self.default_language
            )));
        }
        for (lang, consent) in &self.languages {
            for purpose in &self.purposes {
                if !consent.labels.contains_key(&purpose.id) {
                    return Err(ManifestError::Inconsistent(format!(
                        "language `{lang}` has no label for purpose `{}`",
                        purpose.id
                    )));
                }
            }
        }
        Ok(())
    }

    /// The purpose with this id, if the site offers it.
    pub fn purpose(&self, id: &str) -> Option<&Purpose> {
        self.purposes.iter().find(|p| p.id == id)
    }
}

#[cfg(test)]
mod tests {
    // A failed unwrap is a failed test, with the value in the message.
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn sha256_hex_matches_a_known_vector() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn label_hash_is_of_its_text() {
        let label = ConsentLabel::new("Келісемін");
        assert_eq!(label.sha256, sha256_hex("Келісемін".as_bytes()));
    }

    #[test]
    fn from_path_names_the_file_in_every_error() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("consent-manifest.json");
        let err = ConsentManifest::from_path(&missing).unwrap_err();
        assert!(matches!(err, ManifestError::Read { .. }));
        assert!(err.to_string().contains("consent-manifest.json"), "{err}");

        std::fs::write(&missing, "{not json").unwrap();
        let err = ConsentManifest::from_path(&missing).unwrap_err();
        assert!(
            matches!(&err, ManifestError::InFile { source, .. } if matches!(**source, ManifestError::Parse(_)))
        );
        assert!(err.to_string().contains("consent-manifest.json"), "{err}");
        assert!(err.to_string().contains("not valid JSON"), "{err}");
    }

    #[test]
    fn rejects_other_schema_versions() {
        let json = r#"{"schema_version":2,"generator":"x","base_url":"https://e","default_language":"kk",
            "operator":{"name":"n","email":"e@x","website":"https://e"},"form_endpoint":"/f",
            "purposes":[],"languages":{}}"#;
        assert!(matches!(
            ConsentManifest::from_json(json),
            Err(ManifestError::SchemaVersion { found: 2 })
        ));
    }
}
