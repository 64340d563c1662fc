//! Data-subject requests over any [`Store`]: access (policy §8.3, export), withdrawal of
//! consent (§4.1, §8.4), erasure, and the retention purge (§5.7, §8.8).
//!
//! A person is found by the keyed HMAC of their email, the same lookup key stored with every
//! record, so the operator needs the address and the relay's key, and the store keeps no
//! index of clear addresses.

use time::OffsetDateTime;

use crate::fields::Email;
use crate::fingerprint::HmacKey;
use crate::record::{ConsentRecord, RecordState};
use crate::store::{Store, StoreError};

/// Why a request could not be carried out. Never contains the email address.
#[derive(Debug, thiserror::Error)]
pub enum SubjectRequestError {
    #[error("the email address given is not a valid address")]
    InvalidEmail,
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn lookup_key(key: &HmacKey, email: &str) -> Result<String, SubjectRequestError> {
    let email = Email::parse(email).map_err(|_| SubjectRequestError::InvalidEmail)?;
    Ok(key.email_hmac(&email))
}

/// Every record of the person with this email, oldest first.
pub async fn export(
    store: &dyn Store,
    key: &HmacKey,
    email: &str,
) -> Result<Vec<ConsentRecord>, SubjectRequestError> {
    let hmac = lookup_key(key, email)?;
    Ok(store.find_by_email_hmac(&hmac).await?)
}

/// Withdraws consent for `purpose` (or every granted purpose when `None`) in each of the
/// person's records. A record whose granted purposes are all withdrawn becomes
/// [`RecordState::Withdrawn`]. Returns how many records changed.
pub async fn withdraw(
    store: &dyn Store,
    key: &HmacKey,
    email: &str,
    purpose: Option<&str>,
    now: OffsetDateTime,
) -> Result<usize, SubjectRequestError> {
    let mut changed = 0;
    for mut record in export(store, key, email).await? {
        if withdraw_in(&mut record, purpose, now) && store.update(&record).await? {
            changed += 1;
        }
    }
    Ok(changed)
}

/// Marks the matching granted purposes withdrawn; true if anything changed.
fn withdraw_in(record: &mut ConsentRecord, purpose: Option<&str>, now: OffsetDateTime) -> bool {
    let mut changed = false;
    for consent in &mut record.consent.purposes {
        let wanted = purpose.is_none_or(|p| p == consent.purpose);
        if wanted && consent.granted && consent.withdrawn_at.is_none() {
            consent.withdrawn_at = Some(now);
            changed = true;
        }
    }
    let all_withdrawn = record
        .consent
        .purposes
        .iter()
        .filter(|p| p.granted)
        .all(|p| p.withdrawn_at.is_some());
    if changed && all_withdrawn {
        record.state = RecordState::Withdrawn;
    }
    changed
}

/// Deletes every record of the person, dedup entries included. Returns how many.
pub async fn erase(
    store: &dyn Store,
    key: &HmacKey,
    email: &str,
) -> Result<usize, SubjectRequestError> {
    let mut erased = 0;
    for record in export(store, key, email).await? {
        if store.delete(record.id).await? {
            erased += 1;
        }
    }
    Ok(erased)
}

/// Deletes every record past its retention. Returns how many.
pub async fn purge_expired(
    store: &dyn Store,
    now: OffsetDateTime,
) -> Result<u64, SubjectRequestError> {
    Ok(store.purge_expired(now).await?)
}
