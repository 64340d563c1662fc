//! The HMAC key against the store: refusing a key that is not the one the stored lookup
//! hashes were made with (so a wrong key cannot answer "nothing held"), and re-deriving every
//! lookup hash under a new key (`rekey`) without stranding a record a live relay writes
//! meanwhile.
//!
//! How a rekey stays safe while the form is live: every write of lookup hashes (a record, a
//! request) is checked, in its own transaction, against the store's key state
//! ([`KeyState::admits_writer`]). A rekey first records where it is going (`rekey_to`): from
//! then on both keys may write, and a record written under the old one is swept. Then it
//! seals the old key (no more writes under it), sweeps until nothing under the old key is
//! left, and only then makes the new key the store's. A relay still on the old key gets
//! [`crate::store::StoreError::WrongKey`] after the seal: the standalone relay reloads its key
//! file and writes again; a Lambda function answers 503 until it is redeployed with the new
//! key (deploy it between `rekey --prepare` and `rekey`, and nothing is refused at all).

use std::time::Duration;

use crate::app::rights::RightsError;
use crate::domain::audit::{AuditAction, AuditEntry};
use crate::domain::fields::{Email, PhoneE164};
use crate::domain::hmac_key::HmacKey;
use crate::domain::key_check::{KeyMismatch, KeyState};
use crate::domain::record::ConsentRecord;
use crate::domain::request::SubjectRequest;
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
    if !state.admits(&key.key_check())? {
        return Ok(());
    }
    store_first_check(store, &state, key, actor).await
}

/// The check a running relay makes at start: its key may write (the store's, or the one a
/// rekey is moving to). A store without a key-check value gets this key's, as with
/// [`check_key`].
pub async fn check_writer_key<S: KeyStore + RecordStore + RightsLog + ?Sized>(
    store: &S,
    key: &HmacKey,
    actor: &str,
) -> Result<(), RightsError> {
    let state = store.get_key_state().await?;
    if state.key_check.is_some() {
        return if state.admits_writer(&key.key_check()) {
            Ok(())
        } else {
            Err(KeyMismatch::WrongKey.into())
        };
    }
    store_first_check(store, &state, key, actor).await
}

/// Stores `key`'s check value in a store that has none, after comparing it with a stored
/// record's lookup hash where there is one.
async fn store_first_check<S: KeyStore + RecordStore + RightsLog + ?Sized>(
    store: &S,
    state: &KeyState,
    key: &HmacKey,
    actor: &str,
) -> Result<(), RightsError> {
    let check = key.key_check();
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
        ..KeyState::default()
    };
    match store.set_key_state(state, &new).await {
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

/// Like [`check_key`], but never writes: a store without a key-check value passes.
pub async fn verify_key<S: KeyStore + ?Sized>(store: &S, key: &HmacKey) -> Result<(), RightsError> {
    store.get_key_state().await?.admits(&key.key_check())?;
    Ok(())
}

/// What `rekey` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rekeyed {
    /// Records (and open requests) whose lookup hashes were re-derived by this run.
    pub rekeyed: usize,
    /// Records already under the new key (done by an earlier, interrupted run, or written
    /// under it by a relay that has it).
    pub already: usize,
    /// Records whose email was dropped: their email lookup hash cannot be re-derived and
    /// was removed.
    pub unlinkable: usize,
    /// True when this run only prepared the rekey (`--prepare`).
    pub prepared_only: bool,
}

/// How far a rekey run goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RekeyStage {
    /// Record where the rekey is going and stop: both keys may write from now on, so the
    /// new key can be deployed before the rekey runs.
    Prepare,
    /// Run it to the end (after a prepare, or from the start).
    Finish,
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

/// Re-derives every lookup hash under `new` (see the module comment for how the phases keep
/// a live relay's writes), resumably: run it again with the same two keys after an
/// interruption and it finishes the job; run it when it is done and it does nothing.
pub async fn rekey<S: KeyStore + RecordStore + RightsLog + ?Sized>(
    store: &S,
    old: &HmacKey,
    new: &HmacKey,
    actor: &str,
    stage: RekeyStage,
) -> Result<Rekeyed, RightsError> {
    let (old_check, new_check) = (old.key_check(), new.key_check());
    let mut outcome = Rekeyed::default();
    let finished = KeyState {
        key_check: Some(new_check.clone()),
        ..KeyState::default()
    };
    let state = store.get_key_state().await?;
    if state == finished {
        return Ok(outcome);
    }
    let under_way = KeyState {
        key_check: Some(old_check.clone()),
        rekey_to: Some(new_check.clone()),
        sealed: false,
    };
    let sealed = KeyState {
        sealed: true,
        ..under_way.clone()
    };
    if state != under_way && state != sealed {
        if state.rekey_to.is_some() {
            return Err(KeyMismatch::RekeyInProgress.into());
        }
        if state.admits(&old_check)? {
            check_key(store, old, actor).await?;
        }
        let current = store.get_key_state().await?;
        store.set_key_state(&current, &under_way).await?;
    }
    if stage == RekeyStage::Prepare {
        outcome.prepared_only = true;
        return Ok(outcome);
    }
    sweep(store, new, &new_check, &mut outcome).await?;
    if store.get_key_state().await? == under_way {
        store.set_key_state(&under_way, &sealed).await?;
    }
    // A write committed under the old key just before the seal may reach an index a moment
    // later (DynamoDB's are eventually consistent): sweep again after a pause, and until a
    // sweep finds nothing left.
    loop {
        tokio::time::sleep(SETTLE).await;
        let before = outcome.rekeyed;
        sweep(store, new, &new_check, &mut outcome).await?;
        if outcome.rekeyed == before {
            break;
        }
    }
    store.set_key_state(&sealed, &finished).await?;
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

/// How long the rekey waits between its sweeps after the seal, so a write committed just
/// before the seal has reached the store's indexes.
const SETTLE: Duration = Duration::from_millis(500);

/// Rewrites every record and open request not yet under the new key.
async fn sweep<S: RecordStore + RightsLog + ?Sized>(
    store: &S,
    new: &HmacKey,
    new_check: &str,
    outcome: &mut Rekeyed,
) -> Result<(), RightsError> {
    for record in store.list_records().await? {
        if record.key_check == new_check {
            outcome.already += 1;
            continue;
        }
        let (after, unlinkable) = rekeyed(&record, new, new_check);
        if unlinkable {
            outcome.unlinkable += 1;
        }
        if store.update_record(&after).await? {
            outcome.rekeyed += 1;
        }
    }
    for request in store.list_requests().await? {
        if let Some(after) = rekeyed_request(&request, new, new_check)
            && store.update_request(&after).await?
        {
            outcome.rekeyed += 1;
        }
    }
    Ok(())
}

/// An open request's address hash under `new`; `None` when it is closed (no hash left) or
/// already under `new`.
fn rekeyed_request(
    request: &SubjectRequest,
    new: &HmacKey,
    new_check: &str,
) -> Option<SubjectRequest> {
    if request.email_hmac.is_empty() || request.key_check == new_check {
        return None;
    }
    let email = Email::parse(&request.email).ok()?;
    let mut after = request.clone();
    after.email_hmac = new.email_hmac(&email);
    new_check.clone_into(&mut after.key_check);
    Some(after)
}
