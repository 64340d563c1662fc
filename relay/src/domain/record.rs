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

use kelisim_manifest::{Operator, PurposeId};

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
    /// Raised by one with every stored update. Updates are conditional on the revision they
    /// read, so two operators (or two commands) can never silently overwrite each other.
    #[serde(default)]
    pub revision: u64,
    /// Keyed HMAC-SHA256 (hex) of the phone in E.164: the lookup key for `records find
    /// --phone`. Empty once the phone is dropped, and in records written before it existed.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub phone_hmac: String,
    /// The key-check value of the HMAC key that made `email_hmac` and `phone_hmac` (see
    /// `key_check`), so `rekey` knows which records it has already re-derived.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub key_check: String,
    /// Since when processing is suspended (policy §2.2, blocking). A blocked record is kept
    /// but is in no list, no export for processing and no notification.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub blocked_at: Option<OffsetDateTime>,
    /// Data categories removed from the record, with when and why (withdrawal, expiry,
    /// anonymization), so an access report can say what is no longer held.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dropped: Vec<DroppedCategory>,
    /// Corrections made at the person's request (policy §8.3), oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<Rectification>,
}

/// The personal-data categories of the policy's §6, as `data_categories` in `site.toml`
/// names them, and the record fields each one covers.
pub mod category {
    /// Surname, first name and patronymic.
    pub const NAME: &str = "name";
    pub const EMAIL: &str = "email";
    pub const PHONE: &str = "phone";
    pub const MESSAGE: &str = "message";
    /// Every category a record can hold.
    pub const ALL: [&str; 4] = [NAME, EMAIL, PHONE, MESSAGE];
}

/// Why a category was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DropReason {
    /// Consent for every purpose that needed it was withdrawn (§8.4).
    Withdrawn,
    /// Every purpose that needed it reached the end of its retention (§5.7).
    Expired,
    /// The record was depersonalized (§2.5).
    Anonymized,
}

/// One data category that is no longer held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DroppedCategory {
    pub category: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub reason: DropReason,
}

/// One correction: which fields changed, when, and (until `old_values_until`) what they held
/// before, so a mistaken correction can be undone. After that date the old values are
/// removed and only the field names and the date stay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rectification {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub changes: Vec<FieldChange>,
    #[serde(with = "time::serde::rfc3339")]
    pub old_values_until: OffsetDateTime,
}

/// One field of a [`Rectification`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    /// The field's name (`surname`, `first_name`, `patronymic`, `email`, `phone`, `message`).
    pub field: String,
    /// The value before the change; `None` once the history's retention has passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old: Option<String>,
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
    /// For a grant that needed confirming: the SHA-256 of the mailed link's secret (see
    /// [`crate::domain::link`]), kept so a second use of the link is told "used".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirm_secret_sha256: Option<String>,
    /// The data categories this purpose needs (`data_categories` in `site.toml`, through the
    /// consent manifest). Empty in records written before it was stamped: see
    /// [`PurposeConsent::categories`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data_categories: Vec<String>,
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

    /// Whether `other` holds what this record's sender submitted: the same language, names,
    /// address (in any case), phone, message, granted purposes and policy version. What the
    /// content fingerprint covers, compared in the clear, so a retry that reuses the
    /// script's idempotency key with other content is told apart from a true retry.
    pub fn same_submission(&self, other: &ConsentRecord) -> bool {
        let granted = |r: &ConsentRecord| -> std::collections::BTreeSet<String> {
            r.consent
                .purposes
                .iter()
                .filter(|p| p.granted)
                .map(|p| p.purpose.clone())
                .collect()
        };
        let (a, b) = (&self.subject, &other.subject);
        self.consent.language == other.consent.language
            && a.surname == b.surname
            && a.first_name == b.first_name
            && a.patronymic == b.patronymic
            && a.email.to_lowercase() == b.email.to_lowercase()
            && a.phone == b.phone
            && self.message == other.message
            && self.consent.policy_version == other.consent.policy_version
            && granted(self) == granted(other)
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

impl PurposeConsent {
    /// The categories this purpose needs. Records stamped before `data_categories` existed
    /// fall back to the site's defaults for the known purposes, and to every category for
    /// any other, so a guess never drops data a purpose still needs.
    pub fn categories(&self) -> Vec<&str> {
        if !self.data_categories.is_empty() {
            return self.data_categories.iter().map(String::as_str).collect();
        }
        match self.purpose.as_str() {
            kelisim_manifest::PURPOSE_NEWSLETTER => vec![category::NAME, category::EMAIL],
            _ => category::ALL.to_vec(),
        }
    }

    /// Whether the data this purpose needs must still be kept at `now`: the purpose is
    /// [`ConsentStatus::Active`], or [`ConsentStatus::Pending`] (the confirmation link needs
    /// the name and address until its deadline).
    pub fn is_in_force(&self, now: OffsetDateTime) -> bool {
        matches!(
            self.status(now),
            ConsentStatus::Active | ConsentStatus::Pending
        )
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
    /// Depersonalized (§2.5): no personal field and no lookup key is left; the stamp, the
    /// dates and the counts stay.
    Anonymized,
}

impl ConsentRecord {
    /// Whether the record may be processed: listed, exported for processing (a mailing
    /// list), or notified about. Blocked, withdrawn and anonymized records may not.
    pub fn is_processable(&self) -> bool {
        self.state == RecordState::Active && self.blocked_at.is_none()
    }

    /// Whether `category` has been dropped from this record.
    pub fn has_dropped(&self, category: &str) -> bool {
        self.dropped.iter().any(|d| d.category == category)
    }

    /// Removes the fields of one category (and the rectification history's old values of
    /// those fields, and the phone's lookup hash with the phone). False if it was already
    /// gone. The email's lookup hash stays: it is how the person finds their record again,
    /// for example to see that their withdrawal was carried out.
    pub fn drop_category(
        &mut self,
        category: &str,
        at: OffsetDateTime,
        reason: DropReason,
    ) -> bool {
        if self.has_dropped(category) {
            return false;
        }
        let fields: &[&str] = match category {
            category::NAME => {
                self.subject.surname.clear();
                self.subject.first_name.clear();
                self.subject.patronymic = None;
                &["surname", "first_name", "patronymic"]
            }
            category::EMAIL => {
                self.subject.email.clear();
                &["email"]
            }
            category::PHONE => {
                self.subject.phone.clear();
                self.phone_hmac.clear();
                &["phone"]
            }
            category::MESSAGE => {
                self.message.clear();
                &["message"]
            }
            _ => return false,
        };
        for change in self.history.iter_mut().flat_map(|h| h.changes.iter_mut()) {
            if fields.contains(&change.field.as_str()) {
                change.old = None;
            }
        }
        self.dropped.push(DroppedCategory {
            category: category.to_owned(),
            at,
            reason,
        });
        true
    }

    /// Re-reads the purposes at `now`: `expires_at` becomes the latest expiry of the
    /// purposes still in force, and every category that none of them needs is dropped at
    /// once. With no purpose in force `expires_at` is left as it was: the stamp (no longer
    /// any personal field) is the proof of consent and withdrawal until then. Returns the
    /// categories dropped by this call.
    pub fn apply_purposes(&mut self, now: OffsetDateTime, reason: DropReason) -> Vec<String> {
        let in_force: Vec<&PurposeConsent> = self
            .consent
            .purposes
            .iter()
            .filter(|p| p.is_in_force(now))
            .collect();
        let needed: std::collections::BTreeSet<String> = in_force
            .iter()
            .flat_map(|p| p.categories())
            .map(str::to_owned)
            .collect();
        if let Some(latest) = in_force.iter().filter_map(|p| p.expires_at).max() {
            self.expires_at = latest;
        }
        let mut dropped = Vec::new();
        for category in category::ALL {
            if !needed.contains(category) && self.drop_category(category, now, reason) {
                dropped.push(category.to_owned());
            }
        }
        dropped
    }

    /// Depersonalizes the record (§2.5): every personal field, both lookup hashes, the
    /// history's old values and the idempotency key go; the stamp, the dates, the purposes
    /// and the counts stay. False if it was already anonymized.
    pub fn anonymize(&mut self, now: OffsetDateTime) -> bool {
        if self.state == RecordState::Anonymized {
            return false;
        }
        for category in category::ALL {
            self.drop_category(category, now, DropReason::Anonymized);
        }
        self.email_hmac.clear();
        self.phone_hmac.clear();
        self.idempotency_key = None;
        for change in self.history.iter_mut().flat_map(|h| h.changes.iter_mut()) {
            change.old = None;
        }
        self.state = RecordState::Anonymized;
        true
    }

    /// Removes the rectification history's old values whose retention ended before `now`.
    /// True if anything was removed.
    pub fn expire_history(&mut self, now: OffsetDateTime) -> bool {
        let mut changed = false;
        for entry in self
            .history
            .iter_mut()
            .filter(|h| h.old_values_until <= now)
        {
            for change in &mut entry.changes {
                changed |= change.old.take().is_some();
            }
        }
        changed
    }
}
