//! The consent manifest: what the published site asked people to agree to.
//!
//! `kelisim build` writes `consent-manifest.json` beside the pages. For every language it
//! records the privacy policy's version, effective date, URL and the SHA-256 of the exact
//! published policy text, plus the exact text and hash of each consent checkbox label. The
//! relay loads the same file and refuses a submission whose policy version or hash is not in
//! it, so every stored record points at a text that was really published (policy §7.1, §12.2).
//!
//! Every published version (current and archived) also has a permanent page,
//! `/<lang>/privacy/<version>/`, on which the exact bytes hashed into
//! [`PolicyVersion::sha256`] stand between [`POLICY_TEXT_START`] and [`POLICY_TEXT_END`]
//! ([`policy_text_of`] reads them back), and a `consent-labels.json` beside it
//! ([`PublishedLabels`]) with the labels shown with that version, so anyone can check a
//! record's hashes against the published site, forever.
//!
//! Besides facts, the manifest carries a few complete HTML documents the relay serves in the
//! site's look: the page a mailed confirmation link opens ([`LanguageConsent::grant_link_page`],
//! [`LanguageConsent::request_link_page`], with [`TOKEN_PLACEHOLDER`]) and the thank-you page
//! with a receipt link ([`LanguageConsent::thanks_page`], with [`RECEIPT_URL_PLACEHOLDER`]).
//!
//! This crate is the one contract between the two sides: the generator writes these types and
//! the relay reads them through [`ConsentManifest::from_path`], so they cannot drift apart.
//! What both sides print the same way lives here too: HTML escaping ([`html`]) and dates
//! ([`dates`]). It depends on serde, a hash and `time` (which both sides already use) only, so
//! neither side pulls the other's dependencies in. Every
//! field added after the first version is optional, so older manifests still parse.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub mod dates;
pub mod form;
pub mod html;
mod published;
pub mod receipt_keys;

pub use published::{
    LABELS_FILE, MANIFEST_FILE, POLICY_TEXT_END, POLICY_TEXT_START, PublishedLabels,
    RECEIPT_KEYS_PATH, RECEIPT_URL_PLACEHOLDER, TOKEN_PLACEHOLDER, policy_text_of,
};

/// The manifest format's version. Bump it when a field changes meaning.
pub const MANIFEST_SCHEMA_VERSION: u32 = 1;

/// Identifier of a processing purpose a visitor can consent to.
pub type PurposeId = String;

/// Hours the relay keeps accepting the previous policy version after the current one takes
/// effect, unless `site.toml` sets `policy_grace_hours`.
pub const DEFAULT_POLICY_GRACE_HOURS: u32 = 24;

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
    /// The fields a person fills in, in form order, with their limits ([`form::person_fields`]):
    /// what the page renders and the relay accepts. Absent in manifests written before it was.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<form::FormField>,
    /// Per language tag (`kk`, `ru`): the policy and labels shown in that language.
    pub languages: BTreeMap<String, LanguageConsent>,
    /// For how many hours after the current policy version's effective date (from 00:00 UTC)
    /// the relay still accepts a submission naming the previous version and its hash. A visitor
    /// who opened the contact page just before a new version was deployed agreed to the text
    /// they were shown; the record is stamped with that version, not the new one. After the
    /// window such a submission gets the "the policy changed, please reload" answer.
    #[serde(default = "default_policy_grace_hours")]
    pub policy_grace_hours: u32,
    /// Absolute URL of the site's receipt keys ([`RECEIPT_KEYS_PATH`]): a JWK Set of the
    /// public Ed25519 keys receipts are signed with, rotated-out ones included. Absent when the
    /// site publishes none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_keys_url: Option<String>,
}

fn default_policy_grace_hours() -> u32 {
    DEFAULT_POLICY_GRACE_HOURS
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
    /// For how many days the data kept for this purpose are kept, counted from the consent
    /// (`retention_days` in `site.toml`); the purpose's consent label states the same period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_days: Option<u32>,
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
    /// it stay verifiable (policy §7.1, §12.2). The relay accepts submissions against
    /// [`Self::policy`], and against the newest entry here only within
    /// [`ConsentManifest::policy_grace_hours`]. Absent in manifests without an archive.
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
    /// Absolute URL of the page a bad, expired or used request confirmation link lands on
    /// (`?reason=invalid|expired|used`, as for [`Self::confirm_error_url`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_confirm_error_url: Option<String>,
    /// Absolute URL of the page a refused request form lands on (`?errors=field:code,...`,
    /// as for [`Self::error_url`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_error_url: Option<String>,
    /// The page a mailed newsletter confirmation link opens (double opt-in): a complete HTML
    /// document in this language, `noindex`, with a short explanation and one button in a
    /// `<form method="post">` to `<form_endpoint>/confirm`, with the hidden fields `token`
    /// (value [`TOKEN_PLACEHOLDER`]) and `lang`. The relay answers the link's `GET` with it,
    /// the placeholder replaced; only the `POST` confirms, so a mail scanner that follows
    /// links confirms nothing. Works without JavaScript.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_link_page: Option<String>,
    /// The page a mailed data-subject request confirmation link opens: as
    /// [`Self::grant_link_page`], posting to `<form_endpoint>/request/confirm`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_link_page: Option<String>,
    /// The thank-you page as a complete HTML document with a "download your receipt" link
    /// whose `href` is [`RECEIPT_URL_PLACEHOLDER`]: what the relay answers a plain (no
    /// JavaScript) form post with, the placeholder replaced by the receipt's URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thanks_page: Option<String>,
    /// The operator's name as this language writes it (ТОО «…» in Russian for «…» ЖШС), for
    /// the relay's mails; absent when it is [`Operator::name`] (see
    /// [`ConsentManifest::operator_name`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator_name: Option<String>,
    /// The relay's messages in this language: the Fluent source of `locales/<lang>/relay.ftl`
    /// (see the relay's `messages` module). Empty in manifests written before it was shipped.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub messages: String,
}

impl LanguageConsent {
    /// Each HTML document holds the placeholder the relay fills in, so the relay never serves
    /// a link page without its token or a receipt page without its link.
    fn check_documents(&self, lang: &str) -> Result<(), ManifestError> {
        let documents = [
            ("grant_link_page", &self.grant_link_page, TOKEN_PLACEHOLDER),
            (
                "request_link_page",
                &self.request_link_page,
                TOKEN_PLACEHOLDER,
            ),
            ("thanks_page", &self.thanks_page, RECEIPT_URL_PLACEHOLDER),
        ];
        for (name, page, placeholder) in documents {
            if page.as_ref().is_some_and(|p| !p.contains(placeholder)) {
                return Err(ManifestError::Inconsistent(format!(
                    "the `{lang}` {name} has no {placeholder} to fill in"
                )));
            }
        }
        Ok(())
    }
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
    /// The consent labels shown with this version in this language, by purpose: for the
    /// current version the same as [`LanguageConsent::labels`], for an archived one the labels
    /// it was published with (from `policy.lock`). Empty for a version locked before labels
    /// were (its labels were not kept).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<PurposeId, ConsentLabel>,
    /// Absolute, permanent URL of this version's labels as published ([`PublishedLabels`] at
    /// `/<lang>/privacy/<version>/consent-labels.json`); absent when it has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels_url: Option<String>,
    /// Absolute URL of this version's permanent page, `/<lang>/privacy/<version>/`, on which
    /// the hashed text stands between [`POLICY_TEXT_START`] and [`POLICY_TEXT_END`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permanent_url: Option<String>,
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
    #[error(
        "the consent manifest's form fields differ from this relay's ({0}): rebuild the site with the kelisim of the same version"
    )]
    FormFields(String),
}

impl ConsentManifest {
    /// The operator's name in `lang`: the language's own spelling, else the legal name.
    pub fn operator_name(&self, lang: &str) -> &str {
        self.languages
            .get(lang)
            .and_then(|l| l.operator_name.as_deref())
            .unwrap_or(&self.operator.name)
    }

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
        self.check_fields()?;
        for (lang, consent) in &self.languages {
            consent.check_documents(lang)?;
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

    /// A page built for other fields or limits than [`form::person_fields`] would offer what
    /// the relay refuses (or miss what it requires), so such a manifest is refused whole.
    fn check_fields(&self) -> Result<(), ManifestError> {
        if self.fields.is_empty() {
            return Ok(());
        }
        let ours = form::person_fields();
        for field in &self.fields {
            match ours.iter().find(|f| f.name == field.name) {
                None => {
                    return Err(ManifestError::FormFields(format!(
                        "unknown field `{}`",
                        field.name
                    )));
                }
                Some(own) if own != field => {
                    return Err(ManifestError::FormFields(format!(
                        "field `{}` has other settings",
                        field.name
                    )));
                }
                Some(_) => {}
            }
        }
        match ours
            .iter()
            .find(|f| !self.fields.iter().any(|g| g.name == f.name))
        {
            Some(missing) => Err(ManifestError::FormFields(format!(
                "field `{}` is missing",
                missing.name
            ))),
            None => Ok(()),
        }
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
    fn the_new_fields_are_optional_and_round_trip() {
        // A manifest written before labels, documents and keys were carried still parses.
        let old = ConsentManifest::from_json(&minimal("")).unwrap();
        assert_eq!(old.receipt_keys_url, None);
        let kk = &old.languages["kk"];
        assert!(kk.policy.labels.is_empty() && kk.policy.labels_url.is_none());
        assert!(kk.grant_link_page.is_none() && kk.thanks_page.is_none());
        let mut new = old.clone();
        new.receipt_keys_url = Some(format!("https://e{RECEIPT_KEYS_PATH}"));
        let language = new.languages.get_mut("kk").unwrap();
        language
            .policy
            .labels
            .insert("reply".into(), ConsentLabel::new("Келісемін"));
        language.policy.labels_url = Some(format!("https://e/kk/privacy/1/{LABELS_FILE}"));
        language.thanks_page = Some(format!("<a href=\"{RECEIPT_URL_PLACEHOLDER}\">"));
        let json = serde_json::to_string(&new).unwrap();
        assert_eq!(ConsentManifest::from_json(&json).unwrap(), new);
        // A document without its placeholder is refused.
        let mut broken = new.clone();
        broken.languages.get_mut("kk").unwrap().thanks_page = Some("<p>".into());
        let err = ConsentManifest::from_json(&serde_json::to_string(&broken).unwrap());
        assert!(err.unwrap_err().to_string().contains("thanks_page"));
        // What was not set is not written.
        assert!(!json.contains("request_link_page"), "{json}");
        assert!(!serde_json::to_string(&old).unwrap().contains("labels_url"));
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

    /// A manifest with one language and two purposes, with `fields` added at its top level.
    /// Long because it is the JSON document itself, written out to be read as a fixture.
    fn minimal(fields: &str) -> String {
        format!(
            r#"{{"schema_version":1,"generator":"x","base_url":"https://e","default_language":"kk",
            "operator":{{"name":"n","email":"e@x","website":"https://e"}},"form_endpoint":"/f",
            "purposes":[],{fields}"languages":{{"kk":{{"policy":{{"version":"1","effective_date":"2024-01-01",
            "url":"https://e/kk/privacy/","sha256":"00"}},"contact_url":"c","thanks_url":"t","error_url":"e",
            "labels":{{}}}}}}}}"#
        )
    }

    #[test]
    fn form_fields_must_be_this_relays_own() {
        let ours = serde_json::to_string(&form::person_fields()).unwrap();
        assert!(ConsentManifest::from_json(&minimal(&format!(r#""fields":{ours},"#))).is_ok());
        // Written before the manifest carried fields: accepted as it is.
        assert!(ConsentManifest::from_json(&minimal("")).is_ok());

        let mut longer = form::person_fields();
        longer[5].max_chars = 9000;
        let json = serde_json::to_string(&longer).unwrap();
        let err =
            ConsentManifest::from_json(&minimal(&format!(r#""fields":{json},"#))).unwrap_err();
        assert!(
            err.to_string()
                .contains("field `message` has other settings"),
            "{err}"
        );

        let mut fewer = form::person_fields();
        fewer.remove(1);
        let json = serde_json::to_string(&fewer).unwrap();
        let err =
            ConsentManifest::from_json(&minimal(&format!(r#""fields":{json},"#))).unwrap_err();
        assert!(
            err.to_string().contains("field `first_name` is missing"),
            "{err}"
        );

        let mut more = form::person_fields();
        more[0].name = "passport".into();
        let json = serde_json::to_string(&more).unwrap();
        let err =
            ConsentManifest::from_json(&minimal(&format!(r#""fields":{json},"#))).unwrap_err();
        assert!(
            err.to_string().contains("unknown field `passport`"),
            "{err}"
        );
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
