//! The consent receipt: what the person keeps of their consent, so they can later show what
//! they agreed to without taking the operator's word for it (policy §7.1, §12.2).
//!
//! It is built from the stored record and the consent manifest, never from the form: it says
//! what the relay really stored. The names follow ISO/IEC TS 27560:2023's consent record
//! information elements, and the Kantara Consent Receipt v1.1 where 27560 is silent; the
//! mapping is in `docs/receipts.md` and the JSON Schema in `relay/receipt.schema.json`.
//!
//! It names the data categories, never their values, and holds no message text: a receipt is
//! a file people mail around and keep in downloads folders. The record id links it to the
//! operator's record, where the person's data are.
//!
//! Signing is [`crate::domain::receipt_key`]'s job; this module is the payload only.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::domain::record::{CollectionMethod, ConsentRecord, ConsentStatus};
use kelisim_manifest::ConsentManifest;

/// The payload's version: a verifier reads receipts of the versions it knows.
pub const SCHEMA_VERSION: &str = "kelisim-receipt/1";

/// The law the consent was given under (Law of the Republic of Kazakhstan No. 94-V): the
/// product is built for Kazakh operators, and the stamp's legal basis names that law.
pub const JURISDICTION: &str = "KZ";

/// A receipt's claims. `iss`, `iat` and `jti` are the JWS/JWT registered claims (RFC 7519),
/// so generic tools show who issued it, when, and which one it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Receipt {
    /// The site that issued it (the manifest's `base_url`).
    pub iss: String,
    /// When consent was given, in seconds since the epoch.
    pub iat: i64,
    /// The receipt's id (the same as `receipt_id`).
    pub jti: String,
    /// [`SCHEMA_VERSION`].
    pub schema_version: String,
    /// The receipt's id: the record's id (one receipt per record).
    pub receipt_id: String,
    /// The consent record it is a copy of.
    pub record_id: String,
    /// When consent was given (RFC 3339, UTC).
    pub consent_timestamp: String,
    /// How: `web_form_script` (the page's script sent it) or `web_form_post` (a plain post).
    pub collection_method: String,
    /// The language of the notice and labels the person saw.
    pub language: String,
    pub jurisdiction: String,
    /// Who decides on the processing, as the person's language writes it.
    pub pii_controllers: Vec<Controller>,
    /// The privacy notice (the policy) the person agreed to: exactly this version and text.
    pub notice: Notice,
    pub purposes: Vec<ReceiptPurpose>,
    /// Where the record is kept (Law 94-V Art. 12(2)), as stamped.
    pub storage_locations: Vec<String>,
    /// Who else receives the data: nobody (policy §8.2).
    pub recipient_third_parties: Vec<String>,
    /// How to withdraw consent or ask about the data: the request page, else the operator's
    /// address.
    pub withdrawal_method: String,
    /// Signed with a throwaway key by `kelisim serve`: worth nothing as proof.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub preview: bool,
}

/// The controller (Kantara `piiControllers`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Controller {
    pub name: String,
    pub email: String,
    pub url: String,
}

/// The notice (27560 `notice`; Kantara `policyUrl`), pinned by version and SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    pub url: String,
    pub version: String,
    pub sha256: String,
    pub language: String,
}

/// One purpose the person consented to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReceiptPurpose {
    pub purpose_id: String,
    /// `given`, or `pending` while it waits for the address's owner to confirm it.
    pub status: String,
    /// Always `expressed`: a ticked box (Kantara `consentType` EXPRESSED).
    pub consent_type: String,
    /// Whether the form cannot be sent without it (Kantara `primaryPurpose`).
    pub primary_purpose: bool,
    /// The label's text as the page showed it, when the manifest still has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// SHA-256 of the label text, as stamped in the record.
    pub label_sha256: String,
    pub lawful_basis: String,
    /// The data categories (not their values).
    pub pii_categories: Vec<String>,
    /// When data kept for this purpose goes (RFC 3339): the end of its retention, or for a
    /// pending grant the end of its confirmation window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

impl Receipt {
    /// The receipt of `record` as stored, in its language, with `manifest`'s words for the
    /// controller and the withdrawal page. Only granted purposes are listed.
    pub fn of(record: &ConsentRecord, manifest: &ConsentManifest) -> Self {
        let stamp = &record.consent;
        let language = manifest.languages.get(&stamp.language);
        let shown_labels = language.map(|l| {
            std::iter::once(&l.policy)
                .chain(&l.previous_policies)
                .find(|p| p.version == stamp.policy_version)
                .map_or(&l.labels, |p| {
                    if p.labels.is_empty() {
                        &l.labels
                    } else {
                        &p.labels
                    }
                })
        });
        let purposes = stamp
            .purposes
            .iter()
            .filter(|p| p.granted)
            .map(|p| {
                let label = shown_labels
                    .and_then(|labels| labels.get(&p.purpose))
                    .filter(|label| label.sha256 == p.label_sha256)
                    .map(|label| label.text.clone());
                let status = match p.status(record.received_at) {
                    ConsentStatus::Pending => "pending",
                    _ => "given",
                };
                ReceiptPurpose {
                    purpose_id: p.purpose.to_string(),
                    status: status.to_owned(),
                    consent_type: "expressed".to_owned(),
                    primary_purpose: manifest
                        .purposes
                        .iter()
                        .any(|m| m.id == p.purpose && m.required),
                    label,
                    label_sha256: p.label_sha256.clone(),
                    lawful_basis: p.legal_basis.clone(),
                    pii_categories: p.categories().into_iter().map(str::to_owned).collect(),
                    expires_at: p.expires_at.map(rfc3339),
                }
            })
            .collect();
        let withdrawal_method = language
            .and_then(|l| l.request_url.clone())
            .unwrap_or_else(|| format!("mailto:{}", manifest.operator.email));
        let id = record.id.to_string();
        Self {
            iss: manifest.base_url.clone(),
            iat: record.received_at.unix_timestamp(),
            jti: id.clone(),
            schema_version: SCHEMA_VERSION.to_owned(),
            receipt_id: id.clone(),
            record_id: id,
            consent_timestamp: rfc3339(record.received_at),
            collection_method: match stamp.collection_method {
                CollectionMethod::Script => "web_form_script",
                CollectionMethod::FormPost => "web_form_post",
            }
            .to_owned(),
            language: stamp.language.clone(),
            jurisdiction: JURISDICTION.to_owned(),
            pii_controllers: vec![Controller {
                name: manifest.operator_name(&stamp.language).to_owned(),
                email: manifest.operator.email.clone(),
                url: manifest.operator.website.clone(),
            }],
            notice: Notice {
                url: stamp.policy_url.clone(),
                version: stamp.policy_version.clone(),
                sha256: stamp.policy_sha256.clone(),
                language: stamp.language.clone(),
            },
            purposes,
            storage_locations: vec![stamp.storage_location.clone()],
            recipient_third_parties: Vec::new(),
            withdrawal_method,
            preview: false,
        }
    }
}
