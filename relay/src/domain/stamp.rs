//! From a valid [`Submission`] to a consent-stamped [`ConsentRecord`] and its dedup keys:
//! the one place that decides what a record says.

use std::collections::BTreeMap;

use time::{Duration, OffsetDateTime};

use crate::domain::dedup::DedupKeys;
use crate::domain::hmac_key::HmacKey;
use crate::domain::link::LinkSecret;
use crate::domain::outbox::{Channel, OutboxItem, OutboxKind};
use crate::domain::record::{
    CollectionMethod, ConsentRecord, ConsentStamp, PurposeConsent, RECORD_SCHEMA_VERSION, RecordId,
    RecordState, Subject,
};
use crate::domain::submission::Submission;
use kelisim_manifest::{ConsentLabel, ConsentManifest, LanguageConsent, PurposeId};

/// Default retention in days per purpose: one year to answer a request, three years for the
/// newsletter. These are settings for the operator to confirm, not legal advice.
pub const DEFAULT_RETENTION_DAYS: [(&str, u32); 2] = [("reply", 365), ("newsletter", 1095)];

/// Default double-click window (seconds).
pub const DEFAULT_FINGERPRINT_WINDOW_SECS: u64 = 60;

/// The longest retention accepted: 100 years. Far past any purpose's need, far below what
/// a date can hold, so no setting can make a time overflow on a request.
pub const MAX_RETENTION_DAYS: u32 = 36_500;

/// Default days a double opt-in grant waits for its confirmation before it lapses.
pub const DEFAULT_CONFIRM_WITHIN_DAYS: u32 = 7;

/// Everything besides the submission and the manifest that goes into a record.
#[derive(Debug, Clone)]
pub struct IntakeSettings {
    pub hmac_key: HmacKey,
    /// Days to keep data for each purpose. Must cover every purpose in the manifest.
    pub retention_days: BTreeMap<String, u32>,
    /// How long an identical submission counts as a double click.
    pub fingerprint_window: Duration,
    /// Where records are kept, written into each consent stamp (Law 94-V Art. 12(2)).
    pub storage_location: String,
    /// How long a grant that needs confirmation by email stays pending before it lapses.
    pub confirm_within: Duration,
}

/// A purpose the manifest offers but the settings keep no retention for.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("no retention period is configured for purpose `{0}`")]
pub struct MissingRetention(pub String);

/// Why a record could not be stamped.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StampError {
    #[error(transparent)]
    Retention(#[from] MissingRetention),
    #[error("the operating system gave no random bytes for a confirmation link")]
    NoRandomness,
}

impl IntakeSettings {
    /// Checks that every purpose the site offers has a retention period, so building a
    /// record can never meet an unknown one, and that no period is past what a date can
    /// hold (see [`MAX_RETENTION_DAYS`]).
    pub fn check(&self, manifest: &ConsentManifest) -> Result<(), MissingRetention> {
        if let Some((purpose, _)) = self
            .retention_days
            .iter()
            .find(|(_, days)| **days > MAX_RETENTION_DAYS)
        {
            return Err(MissingRetention(format!(
                "{purpose}` is over {} days; `{purpose}",
                MAX_RETENTION_DAYS
            )));
        }
        match manifest
            .purposes
            .iter()
            .find(|p| !self.retention_days.contains_key(&p.id))
        {
            Some(p) => Err(MissingRetention(p.id.clone())),
            None => Ok(()),
        }
    }
}

/// A record ready to store: the record, the keys that make a copy of it a duplicate, and the
/// messages it owes (queued in the same transaction).
#[derive(Debug, Clone)]
pub struct Stamped {
    pub record: ConsentRecord,
    pub dedup: DedupKeys,
    pub outbox: Vec<OutboxItem>,
}

/// Builds the record, its dedup keys and its outbox items (a notification on each of
/// `channels`, a confirmation mail per pending grant). `now` is the moment of receipt. Its
/// length is the record's struct literal, field by field, so everything a record says is
/// decided in this one place.
pub fn stamp(
    submission: Submission,
    manifest: &ConsentManifest,
    settings: &IntakeSettings,
    channels: &[Channel],
    method: CollectionMethod,
    now: OffsetDateTime,
) -> Result<Stamped, StampError> {
    let mut purposes = purpose_consents(&submission, manifest, settings, now)?;
    let id = RecordId::new();
    let links = link_secrets(&mut purposes, now).ok_or(StampError::NoRandomness)?;
    let outbox = outbox_for(id, &links, channels, now);
    let language = manifest.languages.get(&submission.lang);
    let dedup = dedup_keys(&submission, settings, now);
    let email_hmac = settings.hmac_key.email_hmac(&submission.email);
    let phone_hmac = settings.hmac_key.phone_hmac(submission.phone.as_str());
    let expires_at = purposes
        .iter()
        .filter_map(|p| p.expires_at)
        .max()
        .unwrap_or(now);

    let record = ConsentRecord {
        id,
        schema_version: RECORD_SCHEMA_VERSION,
        received_at: now,
        subject: Subject {
            surname: submission.surname.into_inner(),
            first_name: submission.first_name.into_inner(),
            patronymic: submission.patronymic.map(|p| p.into_inner()),
            email: submission.email.into_inner(),
            phone: submission.phone.into_inner(),
        },
        message: submission.message.into_inner(),
        consent: ConsentStamp {
            language: submission.lang,
            policy_version: submission.policy_version,
            policy_sha256: submission.policy_sha256,
            policy_url: submission.policy_url,
            purposes,
            collection_method: method,
            page_url: language.map(|l| l.contact_url.clone()).unwrap_or_default(),
            operator: manifest.operator.clone(),
            storage_location: settings.storage_location.clone(),
        },
        state: RecordState::Active,
        email_hmac,
        idempotency_key: dedup.idempotency_key.clone(),
        expires_at,
        answered: None,
        revision: 0,
        phone_hmac,
        key_check: settings.hmac_key.key_check(),
        blocked_at: None,
        dropped: Vec::new(),
        history: Vec::new(),
    };
    Ok(Stamped {
        record,
        dedup,
        outbox,
    })
}

/// What makes a second copy of this submission a duplicate: the script's idempotency key,
/// and for a double click without one, the keyed content fingerprint within its window.
fn dedup_keys(
    submission: &Submission,
    settings: &IntakeSettings,
    now: OffsetDateTime,
) -> DedupKeys {
    DedupKeys {
        idempotency_key: submission
            .idempotency_key
            .as_ref()
            .map(|k| k.as_str().to_owned()),
        fingerprint: settings.hmac_key.content_fingerprint(submission),
        fingerprint_until: now.saturating_add(settings.fingerprint_window),
    }
}

/// Each purpose the form offered, granted or not, with its label's hash and how long it
/// keeps the data: a granted purpose its retention, a grant that waits for confirmation by
/// email only until its deadline.
fn purpose_consents(
    submission: &Submission,
    manifest: &ConsentManifest,
    settings: &IntakeSettings,
    now: OffsetDateTime,
) -> Result<Vec<PurposeConsent>, MissingRetention> {
    let language = manifest.languages.get(&submission.lang);
    let shown_labels = language.map(|l| shown_labels(l, &submission.policy_version));
    let mut purposes = Vec::with_capacity(manifest.purposes.len());
    for purpose in &manifest.purposes {
        let days = settings
            .retention_days
            .get(&purpose.id)
            .ok_or_else(|| MissingRetention(purpose.id.clone()))?;
        let granted = submission.consents.contains(&purpose.id);
        // A grant the address's owner must confirm is kept only until the confirmation
        // deadline; confirming it extends it to the purpose's full retention.
        let confirm_by = (granted && purpose.confirm_by_email)
            .then(|| now.saturating_add(settings.confirm_within));
        purposes.push(PurposeConsent {
            purpose: purpose.id.clone(),
            granted,
            legal_basis: purpose.legal_basis.clone(),
            // `ConsentManifest::from_json` guarantees a label per purpose and language.
            label_sha256: shown_labels
                .and_then(|labels| labels.get(&purpose.id))
                .map(|l| l.sha256.clone())
                .unwrap_or_default(),
            expires_at: confirm_by
                .or_else(|| granted.then(|| now.saturating_add(Duration::days(i64::from(*days))))),
            withdrawn_at: None,
            confirm_by,
            confirmed_at: None,
            confirm_secret_sha256: None,
            data_categories: purpose.data_categories.clone(),
        });
    }
    Ok(purposes)
}

/// The labels the page showed with `version`: inside the grace window a page may still show
/// the previous policy, and with it that version's labels, so the record must hash those.
/// A version published before labels were locked carries none; the current labels are then
/// the best evidence there is.
fn shown_labels<'a>(
    language: &'a LanguageConsent,
    version: &str,
) -> &'a BTreeMap<PurposeId, ConsentLabel> {
    std::iter::once(&language.policy)
        .chain(&language.previous_policies)
        .find(|p| p.version == version)
        .map(|p| &p.labels)
        .filter(|labels| !labels.is_empty())
        .unwrap_or(&language.labels)
}

/// A link secret for each grant pending its confirmation: the grant keeps the hash, the
/// confirmation mail's outbox item the secret. `None` when no random bytes could be had.
fn link_secrets(
    purposes: &mut [PurposeConsent],
    now: OffsetDateTime,
) -> Option<Vec<(String, String)>> {
    let mut links = Vec::new();
    for consent in purposes
        .iter_mut()
        .filter(|p| p.status(now) == crate::domain::record::ConsentStatus::Pending)
    {
        let secret = LinkSecret::new()?;
        consent.confirm_secret_sha256 = Some(secret.sha256);
        links.push((consent.purpose.clone(), secret.secret));
    }
    Some(links)
}

/// The messages a new record owes, queued with it in one transaction: a notification per
/// configured channel, and a confirmation mail per grant that is pending (with its link's
/// secret).
fn outbox_for(
    record_id: RecordId,
    links: &[(String, String)],
    channels: &[Channel],
    now: OffsetDateTime,
) -> Vec<OutboxItem> {
    let notifications = channels
        .iter()
        .map(|&channel| OutboxKind::NotifyOperator { record_id, channel });
    let confirmations = links
        .iter()
        .map(|(purpose, secret)| OutboxKind::ConfirmPurpose {
            record_id,
            purpose: purpose.clone(),
            secret: Some(secret.clone()),
        });
    notifications
        .chain(confirmations)
        .map(|kind| OutboxItem::new(kind, now))
        .collect()
}
