//! Carrying out data-subject rights on the store: finding a person by the keyed hash of their
//! email or phone, applying a [`Plan`] record by record (each update conditional on the
//! revision the plan read), and opening and closing requests. Every command, a look-up that
//! found nothing included, leaves an [`AuditEntry`] without personal data.
//!
//! The store keeps no index of clear addresses: the operator needs the address and the
//! relay's key to find a person.

use std::collections::BTreeMap;

use time::OffsetDateTime;

use crate::domain::audit::{AuditAction, AuditEntry};
use crate::domain::fields::{Email, PhoneE164};
use crate::domain::hmac_key::HmacKey;
use crate::domain::key_check::KeyMismatch;
use crate::domain::plan::{Plan, PlanError};
use crate::domain::record::{ConsentRecord, RecordId};
use crate::domain::request::{Channel as RequestChannel, Outcome, RequestKind, SubjectRequest};
use crate::store::{OutboxStore, RecordStore, RightsLog, StoreError};

/// Why a right could not be carried out. Never contains an email, a phone or a name.
#[derive(Debug, thiserror::Error)]
pub enum RightsError {
    #[error("the email address given is not a valid address")]
    InvalidEmail,
    #[error("the phone number given is not a valid phone number")]
    InvalidPhone,
    #[error("no record has the id {0}")]
    NoSuchRecord(RecordId),
    #[error("no request has the id {0}")]
    NoSuchRequest(uuid::Uuid),
    #[error("the request {0} is already closed")]
    AlreadyClosed(uuid::Uuid),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Key(#[from] KeyMismatch),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How a person is looked up.
#[derive(Debug, Clone, Copy)]
pub enum Lookup<'a> {
    Email(&'a str),
    Phone(&'a str),
}

/// Every record of the person, oldest first.
pub async fn find<S: RecordStore + ?Sized>(
    records: &S,
    key: &HmacKey,
    lookup: Lookup<'_>,
) -> Result<Vec<ConsentRecord>, RightsError> {
    match lookup {
        Lookup::Email(email) => {
            let email = Email::parse(email).map_err(|_| RightsError::InvalidEmail)?;
            Ok(records
                .find_records_by_email(&key.email_hmac(&email))
                .await?)
        }
        Lookup::Phone(phone) => {
            let phone = PhoneE164::parse(phone).map_err(|_| RightsError::InvalidPhone)?;
            Ok(records
                .find_records_by_phone(&key.phone_hmac(phone.as_str()))
                .await?)
        }
    }
}

/// Every record of the person with this email, oldest first (the access request, §4.1).
pub async fn export<S: RecordStore + ?Sized>(
    records: &S,
    key: &HmacKey,
    email: &str,
) -> Result<Vec<ConsentRecord>, RightsError> {
    find(records, key, Lookup::Email(email)).await
}

/// The record with this id.
pub async fn get<S: RecordStore + ?Sized>(
    records: &S,
    id: RecordId,
) -> Result<ConsentRecord, RightsError> {
    records
        .get_record(id)
        .await?
        .ok_or(RightsError::NoSuchRecord(id))
}

/// What [`apply`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    pub changed: usize,
}

/// Carries out `plan` and writes the audit entries. Stops at the first failure (a
/// [`StoreError::Conflict`] included); the changes before it stay, and are audited. An
/// unblocked record's messages that blocking held back are queued again.
pub async fn apply<S: RecordStore + RightsLog + OutboxStore + ?Sized>(
    store: &S,
    plan: &Plan,
    actor: &str,
) -> Result<Applied, RightsError> {
    let mut changed = 0;
    let mut failure = None;
    for change in &plan.changes {
        let result = match &change.after {
            Some(record) => store.update_record(record).await,
            None => store.delete_record(change.before.id).await,
        };
        match result {
            Ok(true) => {
                changed += 1;
                if plan.action == AuditAction::Unblock {
                    store
                        .release_items(change.before.id.0, OffsetDateTime::now_utc())
                        .await?;
                }
                store
                    .append_audit(&AuditEntry::new(
                        actor,
                        plan.action,
                        Some(change.before.id),
                        1,
                        &plan.detail,
                    ))
                    .await?;
            }
            Ok(false) => {}
            Err(error) => {
                failure = Some(error);
                break;
            }
        }
    }
    if changed == 0 {
        let detail = match &failure {
            Some(_) => format!("{} (failed)", plan.detail),
            None => plan.detail.clone(),
        };
        store
            .append_audit(&AuditEntry::new(actor, plan.action, None, 0, detail.trim()))
            .await?;
    }
    match failure {
        Some(error) => Err(error.into()),
        None => Ok(Applied { changed }),
    }
}

/// Records a look-up or an access export in the audit log (they change nothing).
pub async fn audit_read<S: RightsLog + ?Sized>(
    log: &S,
    actor: &str,
    action: AuditAction,
    records: &[ConsentRecord],
    detail: &str,
) -> Result<(), RightsError> {
    let record_id = match records {
        [only] => Some(only.id),
        _ => None,
    };
    let count = u64::try_from(records.len()).unwrap_or(u64::MAX);
    log.append_audit(&AuditEntry::new(actor, action, record_id, count, detail))
        .await?;
    Ok(())
}

/// Enters a request received by mail or letter (`requests open`): confirmed at once, due
/// after the kind's deadline. Audited without the address.
pub async fn open_request<S: RightsLog + ?Sized>(
    log: &S,
    key: &HmacKey,
    kind: RequestKind,
    email: &str,
    language: &str,
    deadlines: &BTreeMap<String, u32>,
    actor: &str,
) -> Result<SubjectRequest, RightsError> {
    let email = Email::parse(email).map_err(|_| RightsError::InvalidEmail)?;
    let now = OffsetDateTime::now_utc();
    let mut request = SubjectRequest::new(
        kind,
        RequestChannel::Operator,
        language,
        email.as_str(),
        &key.email_hmac(&email),
        now,
    );
    request.confirm(deadlines, now);
    request.key_check = key.key_check();
    log.insert_request(&request, &[], None).await?;
    log.append_audit(&AuditEntry::new(
        actor,
        AuditAction::RequestOpened,
        None,
        0,
        format!("{} request {}", kind.as_str(), request.id),
    ))
    .await?;
    Ok(request)
}

/// Closes a request with its outcome; the address it held is removed. Conditional on the
/// revision read, like every update.
pub async fn close_request<S: RightsLog + ?Sized>(
    log: &S,
    id: uuid::Uuid,
    outcome: Outcome,
    actor: &str,
) -> Result<SubjectRequest, RightsError> {
    let mut request = log
        .get_request(id)
        .await?
        .ok_or(RightsError::NoSuchRequest(id))?;
    if !request.close(outcome, OffsetDateTime::now_utc()) {
        return Err(RightsError::AlreadyClosed(id));
    }
    if !log.update_request(&request).await? {
        return Err(RightsError::NoSuchRequest(id));
    }
    log.append_audit(&AuditEntry::new(
        actor,
        AuditAction::RequestClosed,
        None,
        0,
        format!(
            "{} request {}: {}",
            request.kind.as_str(),
            request.id,
            outcome.as_str()
        ),
    ))
    .await?;
    request.revision += 1;
    Ok(request)
}
