//! The consent-stamped record: one contact-form submission and the proof of what its sender
//! agreed to.
//!
//! The structure follows the Kantara Consent Receipt and ISO/IEC TS 27560 in spirit: who
//! (the subject), what they sent, and the consent stamp (which notice, in which language, at
//! which version and hash; which purposes, on which legal basis; how it was collected; where
//! it is stored and until when). It deliberately holds no IP address and no user agent.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::manifest::{Operator, PurposeId};

/// The record format's version. Bump it when a field changes meaning.
pub const RECORD_SCHEMA_VERSION: u32 = 1;

/// A record's id: a UUIDv7, so ids sort by time of receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RecordId(pub Uuid);

impl RecordId {
    /// A fresh, time-ordered id.
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }
}

impl Default for RecordId {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Display for RecordId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::str::FromStr for RecordId {
    type Err = uuid::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s).map(Self)
    }
}

/// A stored submission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentRecord {
    pub id: RecordId,
    /// Always [`RECORD_SCHEMA_VERSION`] when written by this crate version.
    pub schema_version: u32,
    /// When the relay accepted it, UTC.
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    /// The person: exactly the personal data the policy's §6 lists.
    pub subject: Subject,
    /// The message they wrote.
    pub message: String,
    /// What they agreed to.
    pub consent: ConsentStamp,
    /// Lifecycle state (active until withdrawn, or erased by a data-subject request).
    pub state: RecordState,
    /// Keyed HMAC-SHA256 (hex) of the normalized email: the lookup key for data-subject
    /// requests, so a store can be searched by email without an index of clear addresses.
    pub email_hmac: String,
    /// The script-supplied idempotency key, if any (a plain form post has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// When the whole record is due for deletion: the latest of the purposes' `expires_at`.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// The data subject as they entered themselves, normalized (NFC, trimmed; phone in E.164).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    pub surname: String,
    pub first_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patronymic: Option<String>,
    pub email: String,
    /// E.164, for example `+77011234567`.
    pub phone: String,
}

/// The proof of consent attached to every record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentStamp {
    /// The language of the policy and labels the person saw (`kk`, `ru`).
    pub language: String,
    pub policy_version: String,
    /// Hex SHA-256 of the published policy text (from the consent manifest).
    pub policy_sha256: String,
    pub policy_url: String,
    /// Each purpose offered, granted or not.
    pub purposes: Vec<PurposeConsent>,
    pub collection_method: CollectionMethod,
    /// The page the form was on.
    pub page_url: String,
    pub operator: Operator,
    /// Where this record is kept (from configuration), for example `Almaty, KZ (SQLite)`.
    pub storage_location: String,
}

/// One purpose's consent in a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurposeConsent {
    pub purpose: PurposeId,
    pub granted: bool,
    pub legal_basis: String,
    /// Hex SHA-256 of the label text shown next to the checkbox.
    pub label_sha256: String,
    /// When data kept for this purpose must go; `None` when not granted.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub expires_at: Option<OffsetDateTime>,
    /// When the person withdrew this consent, if they did (policy §8.4).
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub withdrawn_at: Option<OffsetDateTime>,
}

/// How the consent was collected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CollectionMethod {
    /// A plain HTML form post (no JavaScript).
    FormPost,
    /// The page's script sent the form as JSON.
    Script,
}

/// Where a record is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordState {
    Active,
    /// Every granted purpose was withdrawn; kept only as long as proof of the withdrawal needs.
    Withdrawn,
}
