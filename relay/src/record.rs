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
    /// When the operator marked the message answered, and who did; `None` while it waits in
    /// the inbox.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered: Option<Answered>,
}

/// The operator's note that a message was answered (`kelisim-relay records answer`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answered {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The operator's name or login (`--by`, else `$USER`): who acted, for the audit trail.
    pub by: String,
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
    /// For a purpose that needs the address's owner to confirm it (double opt-in): the
    /// deadline for that confirmation. A granted purpose with a deadline and no
    /// `confirmed_at` is pending; past the deadline it has lapsed.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub confirm_by: Option<OffsetDateTime>,
    /// When the owner of the address confirmed the grant through the mailed link.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub confirmed_at: Option<OffsetDateTime>,
}

/// Where one purpose's consent stands at a given moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentStatus {
    /// The box was not ticked.
    NotGranted,
    /// Ticked, waiting for the address's owner to confirm it.
    Pending,
    /// Ticked and, where needed, confirmed: data may be processed for this purpose.
    Active,
    /// Never confirmed before the deadline: it never took effect.
    Lapsed,
    /// Withdrawn by the person (§8.4).
    Withdrawn,
    /// Past its retention period.
    Expired,
}

impl PurposeConsent {
    /// This purpose's status at `now`.
    pub fn status(&self, now: OffsetDateTime) -> ConsentStatus {
        if !self.granted {
            return ConsentStatus::NotGranted;
        }
        if self.withdrawn_at.is_some() {
            return ConsentStatus::Withdrawn;
        }
        if self.confirmed_at.is_none()
            && let Some(deadline) = self.confirm_by
        {
            return if now < deadline {
                ConsentStatus::Pending
            } else {
                ConsentStatus::Lapsed
            };
        }
        match self.expires_at {
            Some(end) if end <= now => ConsentStatus::Expired,
            _ => ConsentStatus::Active,
        }
    }
}

impl ConsentRecord {
    /// The consent for `purpose`, if the form offered it.
    pub fn purpose(&self, purpose: &str) -> Option<&PurposeConsent> {
        self.consent.purposes.iter().find(|p| p.purpose == purpose)
    }

    /// The purposes whose consent is [`ConsentStatus::Active`] at `now`.
    pub fn active_purposes(&self, now: OffsetDateTime) -> impl Iterator<Item = &str> {
        self.consent
            .purposes
            .iter()
            .filter(move |p| p.status(now) == ConsentStatus::Active)
            .map(|p| p.purpose.as_str())
    }

    /// The latest end of any purpose still granted (pending grants count until their
    /// confirmation deadline), or `received_at` when there is none: what `expires_at`
    /// should be.
    pub fn retention_end(&self) -> OffsetDateTime {
        self.consent
            .purposes
            .iter()
            .filter(|p| p.granted && p.withdrawn_at.is_none())
            .filter_map(|p| match (p.confirm_by, p.confirmed_at) {
                (Some(deadline), None) => Some(deadline),
                _ => p.expires_at,
            })
            .max()
            .unwrap_or(self.received_at)
    }
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
