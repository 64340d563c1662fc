//! The HMAC key against the store: refusing a key that is not the one the stored lookup
//! hashes were made with (so a wrong key cannot answer "nothing held"), and re-deriving every
//! lookup hash under a new key (`rekey`).

use crate::app::rights::RightsError;
use crate::domain::audit::{AuditAction, AuditEntry};
use crate::domain::fields::{Email, PhoneE164};
use crate::domain::hmac_key::HmacKey;
use crate::domain::key_check::{KeyMismatch, KeyState};
use crate::domain::record::ConsentRecord;
use crate::store::{KeyStore, RecordStore, RightsLog, StoreError};

/// Refuses a key that does not match the store's key-check value. A store without one gets
/// this key's, after checking it against a stored record where one can be checked (a store
/// written before key-check values existed).
pub async fn check_key<S: KeyStore + RecordStore + RightsLog + ?Sized>(
    store: &S,
    key: &HmacKey,
    actor: &str,
) -> Result<(), RightsError> {
    let state = store.get_key_state().await?;
    let check = key.key_check();
    if !state.admits(&check)? {
        return Ok(());
    }
    for record in store.list_records().await? {
        if !record.key_check.is_empty() {
            if record.key_check != check {
                return Err(KeyMismatch::WrongKey.into());
            }
            break;
        }
        if let Ok(email) = Email::parse(&record.subject.email)
            && !record.email_hmac.is_empty()
        {
            if key.email_hmac(&email) != record.email_hmac {
                return Err(KeyMismatch::WrongKey.into());
            }
            break;
        }
    }
    let new = KeyState {
        key_check: Some(check),
        rekey_to: None,
    };
    match store.set_key_state(&state, &new).await {
        // Another process stored it first: check against what it stored.
        Err(StoreError::Conflict(_)) => {
            store.get_key_state().await?.admits(&key.key_check())?;
            Ok(())
        }
        Err(error) => Err(error.into()),
        Ok(()) => {
            store
                .append_audit(&AuditEntry::new(
                    actor,
                    AuditAction::KeyCheckStored,
                    None,
                    0,
                    "",
                ))
                .await?;
            Ok(())
        }
    }
}

/// Like [`check_key`], but never writes: a store without a key-check value passes. For the
/// Lambda form function, whose role may only put and get items; the operator's first
/// command (or `bootstrap create-table`) stores the value.
pub async fn verify_key<S: KeyStore + ?Sized>(store: &S, key: &HmacKey) -> Result<(), RightsError> {
    store.get_key_state().await?.admits(&key.key_check())?;
    Ok(())
}

/// What `rekey` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rekeyed {
    /// Records whose lookup hashes were re-derived by this run.
    pub rekeyed: usize,
    /// Records already under the new key (done by an earlier, interrupted run).
    pub already: usize,
    /// Records whose email was dropped: their email lookup hash cannot be re-derived and
    /// was removed.
    pub unlinkable: usize,
}

/// `record` with its lookup hashes derived under `new`, and whether it lost an email lookup
/// hash it had (its email was dropped, so the hash cannot be re-derived).
fn rekeyed(record: &ConsentRecord, new: &HmacKey, new_check: &str) -> (ConsentRecord, bool) {
    let mut after = record.clone();
    let mut unlinkable = false;
    after.email_hmac = match Email::parse(&record.subject.email) {
        Ok(email) => new.email_hmac(&email),
        Err(_) => {
            unlinkable = !record.email_hmac.is_empty();
            String::new()
        }
    };
    after.phone_hmac = match PhoneE164::parse(&record.subject.phone) {
        Ok(phone) => new.phone_hmac(phone.as_str()),
        Err(_) => String::new(),
    };
    new_check.clone_into(&mut after.key_check);
    (after, unlinkable)
}

/// Re-derives every lookup hash under `new`, resumably: the store first records that a
/// rekey to `new` is under way (every other command refuses to run meanwhile), each record
/// is then rewritten conditionally and marked with the new key's check value, and only at
/// the end does the store's key-check value change. Running it again with the same two keys
/// after an interruption finishes the job.
pub async fn rekey<S: KeyStore + RecordStore + RightsLog + ?Sized>(
    store: &S,
    old: &HmacKey,
    new: &HmacKey,
    actor: &str,
) -> Result<Rekeyed, RightsError> {
    let (old_check, new_check) = (old.key_check(), new.key_check());
    let state = store.get_key_state().await?;
    let under_way = KeyState {
        key_check: Some(old_check.clone()),
        rekey_to: Some(new_check.clone()),
    };
    if state != under_way {
        if state.rekey_to.is_some() {
            return Err(KeyMismatch::RekeyInProgress.into());
        }
        if state.admits(&old_check)? {
            check_key(store, old, actor).await?;
        }
        let current = store.get_key_state().await?;
        store.set_key_state(&current, &under_way).await?;
    }
    let mut outcome = Rekeyed::default();
    for record in store.list_records().await? {
        if record.key_check == new_check {
            outcome.already += 1;
            continue;
        }
        let (after, unlinkable) = rekeyed(&record, new, &new_check);
        if unlinkable {
            outcome.unlinkable += 1;
        }
        if store.update_record(&after).await? {
            outcome.rekeyed += 1;
        }
    }
    store
        .set_key_state(
            &under_way,
            &KeyState {
                key_check: Some(new_check),
                rekey_to: None,
            },
        )
        .await?;
    store
        .append_audit(&AuditEntry::new(
            actor,
            AuditAction::Rekey,
            None,
            u64::try_from(outcome.rekeyed).unwrap_or(u64::MAX),
            format!(
                "{} already done, {} without an email lookup key",
                outcome.already, outcome.unlinkable
            ),
        ))
        .await?;
    Ok(outcome)
}
