//! Data-subject rights over any [`Store`]: find, access (export), rectify, block, withdraw,
//! erase, anonymize, and the retention purge per purpose (policy §2.2, §2.5, §2.14, §4.1,
//! §5.7, §8.3, §8.4, §8.8, §8.9).
//!
//! Every change is made in two steps: a [`Plan`] says what will happen (and is what
//! `--dry-run` prints and the confirmation prompt shows), then [`apply`] carries it out. Each
//! update is conditional on the revision the plan read, so a concurrent change makes the
//! command fail with [`StoreError::Conflict`] instead of overwriting it. Every command,
//! including a look-up that found nothing, leaves an [`AuditEntry`] without personal data.
//!
//! A person is found by the keyed HMAC of their email or phone, the same lookup keys stored
//! with every record, so the operator needs the address and the relay's key, and the store
//! keeps no index of clear addresses.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use time::{Duration, OffsetDateTime};

use crate::audit::{AuditAction, AuditEntry};
use crate::fields::{Email, Message, PersonName, PhoneE164};
use crate::fingerprint::HmacKey;
use crate::key_check::{KeyMismatch, KeyState};
use crate::record::{
    ConsentRecord, DropReason, FieldChange, RecordId, RecordState, Rectification, category,
};
use crate::requests::{Channel as RequestChannel, Outcome, RequestKind, SubjectRequest};
use crate::store::{Store, StoreError};

/// A withdrawal's audit detail when it covered every purpose (otherwise it is the purpose).
pub const ALL_PURPOSES: &str = "all purposes";

/// How long a rectification keeps the old values (to undo a mistaken correction) by default.
/// A setting, not legal advice.
pub const DEFAULT_HISTORY_DAYS: u32 = 30;

/// Why a request could not be carried out. Never contains an email, a phone or a name.
#[derive(Debug, thiserror::Error)]
pub enum SubjectRequestError {
    #[error("the email address given is not a valid address")]
    InvalidEmail,
    #[error("the phone number given is not a valid phone number")]
    InvalidPhone,
    #[error("no record has the id {0}")]
    NoSuchRecord(RecordId),
    #[error(
        "`{0}` is not a field that can be rectified (surname, first_name, patronymic, email, phone, message)"
    )]
    UnknownField(String),
    #[error("the new value for `{field}` is not valid ({code})")]
    InvalidValue { field: String, code: &'static str },
    #[error(
        "record {id} no longer holds `{field}` (dropped or anonymized); there is nothing to rectify"
    )]
    NotHeld { id: RecordId, field: String },
    #[error("`{0}` is not `field=value`")]
    NotAnAssignment(String),
    #[error("no request has the id {0}")]
    NoSuchRequest(uuid::Uuid),
    #[error("the request {0} is already closed")]
    AlreadyClosed(uuid::Uuid),
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
pub async fn find(
    store: &dyn Store,
    key: &HmacKey,
    lookup: Lookup<'_>,
) -> Result<Vec<ConsentRecord>, SubjectRequestError> {
    match lookup {
        Lookup::Email(email) => {
            let email = Email::parse(email).map_err(|_| SubjectRequestError::InvalidEmail)?;
            Ok(store.find_by_email_hmac(&key.email_hmac(&email)).await?)
        }
        Lookup::Phone(phone) => {
            let phone = PhoneE164::parse(phone).map_err(|_| SubjectRequestError::InvalidPhone)?;
            Ok(store
                .find_by_phone_hmac(&key.phone_hmac(phone.as_str()))
                .await?)
        }
    }
}

/// Every record of the person with this email, oldest first (the access request, §4.1).
pub async fn export(
    store: &dyn Store,
    key: &HmacKey,
    email: &str,
) -> Result<Vec<ConsentRecord>, SubjectRequestError> {
    find(store, key, Lookup::Email(email)).await
}

/// The person's records as they are given to the person (§4.1): everything held about
/// them, but no other person's name, so the operator's staff member who marked a message
/// answered is named only as "operator".
pub fn for_the_person(mut records: Vec<ConsentRecord>) -> Vec<ConsentRecord> {
    for record in &mut records {
        if let Some(answered) = &mut record.answered {
            answered.by = "operator".to_owned();
        }
    }
    records
}

/// The record with this id.
pub async fn get(store: &dyn Store, id: RecordId) -> Result<ConsentRecord, SubjectRequestError> {
    store
        .get(id)
        .await?
        .ok_or(SubjectRequestError::NoSuchRecord(id))
}

/// The records that may be processed (listed, mailed, notified about): not blocked, not
/// withdrawn, not anonymized. With `purpose`, only those whose consent to it is in force.
pub fn processable<'a>(
    records: &'a [ConsentRecord],
    purpose: Option<&'a str>,
    now: OffsetDateTime,
) -> impl Iterator<Item = &'a ConsentRecord> + 'a {
    records.iter().filter(move |r| {
        r.is_processable()
            && purpose.is_none_or(|p| {
                r.consent
                    .purposes
                    .iter()
                    .any(|c| c.purpose == p && c.is_in_force(now))
            })
    })
}

/// One record's part in a [`Plan`].
#[derive(Debug, Clone)]
pub struct Change {
    /// The record as read (its revision is the one the update is conditional on).
    pub before: ConsentRecord,
    /// The record to store; `None` deletes it.
    pub after: Option<ConsentRecord>,
    /// What happens to it, without personal data (categories and field names only).
    pub summary: String,
}

/// What a command will do. Shown before it is applied; nothing is written until [`apply`].
#[derive(Debug, Clone)]
pub struct Plan {
    pub action: AuditAction,
    pub changes: Vec<Change>,
    /// Non-personal detail for the audit log (a purpose, field names).
    pub detail: String,
    /// Records looked at but left unchanged (already withdrawn, already blocked...).
    pub unchanged: usize,
}

impl Plan {
    fn new(action: AuditAction, detail: impl Into<String>) -> Self {
        Self {
            action,
            changes: Vec::new(),
            detail: detail.into(),
            unchanged: 0,
        }
    }

    fn push(&mut self, before: ConsentRecord, after: Option<ConsentRecord>, summary: String) {
        self.changes.push(Change {
            before,
            after,
            summary,
        });
    }

    /// True when applying it would change nothing.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// The plan in plain words, one line per record. Holds record ids, dates, purposes,
    /// categories and field names, never personal data.
    pub fn describe(&self) -> String {
        let mut text = format!(
            "{}: {} record(s) to change",
            self.action.as_str(),
            self.changes.len()
        );
        if self.unchanged > 0 {
            let _ = write!(text, ", {} unchanged", self.unchanged);
        }
        text.push('\n');
        for change in &self.changes {
            let _ = writeln!(text, "  {}: {}", change.before.id, change.summary);
        }
        text
    }
}

/// What [`apply`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    pub changed: usize,
}

/// Carries out `plan` and writes the audit entries. Stops at the first failure (a
/// [`StoreError::Conflict`] included); the changes before it stay, and are audited.
pub async fn apply(
    store: &dyn Store,
    plan: &Plan,
    actor: &str,
) -> Result<Applied, SubjectRequestError> {
    let mut changed = 0;
    let mut failure = None;
    for change in &plan.changes {
        let result = match &change.after {
            Some(record) => store.update(record).await,
            None => store.delete(change.before.id).await,
        };
        match result {
            Ok(true) => {
                changed += 1;
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
pub async fn audit_read(
    store: &dyn Store,
    actor: &str,
    action: AuditAction,
    records: &[ConsentRecord],
    detail: &str,
) -> Result<(), SubjectRequestError> {
    let record_id = match records {
        [only] => Some(only.id),
        _ => None,
    };
    let count = u64::try_from(records.len()).unwrap_or(u64::MAX);
    store
        .append_audit(&AuditEntry::new(actor, action, record_id, count, detail))
        .await?;
    Ok(())
}

fn date(t: OffsetDateTime) -> String {
    t.date().to_string()
}

fn dropped_text(dropped: &[String]) -> String {
    if dropped.is_empty() {
        String::new()
    } else {
        format!("; drops {}", dropped.join(", "))
    }
}

/// Withdraws consent for `purpose` (every granted purpose when `None`) in each record: that
/// consent ends, `expires_at` becomes the latest expiry of the purposes still in force, and
/// the categories none of them needs are dropped at once. A record with no purpose left is
/// [`RecordState::Withdrawn`] and keeps only its stamp.
pub fn plan_withdraw(
    records: Vec<ConsentRecord>,
    purpose: Option<&str>,
    now: OffsetDateTime,
) -> Plan {
    let mut plan = Plan::new(AuditAction::Withdraw, purpose.unwrap_or(ALL_PURPOSES));
    for record in records {
        let mut after = record.clone();
        let mut ended = Vec::new();
        for consent in &mut after.consent.purposes {
            let wanted = purpose.is_none_or(|p| p == consent.purpose);
            if wanted && consent.granted && consent.withdrawn_at.is_none() {
                consent.withdrawn_at = Some(now);
                ended.push(consent.purpose.clone());
            }
        }
        if ended.is_empty() {
            plan.unchanged += 1;
            continue;
        }
        let all_withdrawn = after
            .consent
            .purposes
            .iter()
            .filter(|p| p.granted)
            .all(|p| p.withdrawn_at.is_some());
        if all_withdrawn && after.state == RecordState::Active {
            after.state = RecordState::Withdrawn;
        }
        let dropped = after.apply_purposes(now, DropReason::Withdrawn);
        let summary = format!(
            "withdraw {}; kept until {}{}",
            ended.join(", "),
            date(after.expires_at),
            dropped_text(&dropped)
        );
        plan.push(record, Some(after), summary);
    }
    plan
}

/// The fields `rectify` may set.
pub const RECTIFIABLE_FIELDS: [&str; 6] = [
    "surname",
    "first_name",
    "patronymic",
    "email",
    "phone",
    "message",
];

/// Parses `field=value` arguments.
pub fn parse_assignments(args: &[String]) -> Result<Vec<(String, String)>, SubjectRequestError> {
    args.iter()
        .map(|arg| {
            let (field, value) = arg
                .split_once('=')
                .ok_or_else(|| SubjectRequestError::NotAnAssignment(field_name_only(arg)))?;
            let field = field.trim().to_owned();
            if !RECTIFIABLE_FIELDS.contains(&field.as_str()) {
                return Err(SubjectRequestError::UnknownField(field_name_only(&field)));
            }
            Ok((field, value.to_owned()))
        })
        .collect()
}

/// An argument quoted in an error: at most a field-name-like prefix, never a value.
fn field_name_only(text: &str) -> String {
    text.chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(32)
        .collect()
}

/// Corrects fields of one record (§8.3). Each value is checked as the form checks it; the
/// lookup hashes follow a changed email or phone. The record's history gets the field names,
/// the date and the old values, which are kept for `history_days` only.
pub fn plan_rectify(
    record: ConsentRecord,
    key: &HmacKey,
    assignments: &[(String, String)],
    history_days: u32,
    now: OffsetDateTime,
) -> Result<Plan, SubjectRequestError> {
    let fields: Vec<&str> = assignments.iter().map(|(f, _)| f.as_str()).collect();
    let mut plan = Plan::new(
        AuditAction::Rectify,
        format!("fields: {}", fields.join(", ")),
    );
    let mut after = record.clone();
    let mut changes = Vec::new();
    for (field, value) in assignments {
        if record.state == RecordState::Anonymized || record.has_dropped(held_category(field)) {
            return Err(SubjectRequestError::NotHeld {
                id: record.id,
                field: field.clone(),
            });
        }
        let old = rectify_field(&mut after, key, field, value)?;
        changes.push(FieldChange {
            field: field.clone(),
            old: Some(old),
        });
    }
    if after == record {
        plan.unchanged = 1;
        return Ok(plan);
    }
    after.key_check = key.key_check();
    after.history.push(Rectification {
        at: now,
        changes,
        old_values_until: now + Duration::days(i64::from(history_days)),
    });
    let summary = format!(
        "set {}; old values kept until {}",
        fields.join(", "),
        date(now + Duration::days(i64::from(history_days)))
    );
    plan.push(record, Some(after), summary);
    Ok(plan)
}

/// The category of held data a rectifiable field belongs to.
fn held_category(field: &str) -> &'static str {
    match field {
        "surname" | "first_name" | "patronymic" => category::NAME,
        "email" => category::EMAIL,
        "phone" => category::PHONE,
        _ => category::MESSAGE,
    }
}

/// Sets `field` of `record` to `value`, checked as the form checks it (an email or phone
/// also gets its new lookup hash). Returns the old value (empty for a patronymic not given).
fn rectify_field(
    record: &mut ConsentRecord,
    key: &HmacKey,
    field: &str,
    value: &str,
) -> Result<String, SubjectRequestError> {
    let invalid = |code: crate::fields::ErrorCode| SubjectRequestError::InvalidValue {
        field: field.to_owned(),
        code: code.as_str(),
    };
    let name = |value: &str| PersonName::parse(value).map(PersonName::into_inner);
    let subject = &mut record.subject;
    let old = match field {
        "surname" => std::mem::replace(&mut subject.surname, name(value).map_err(invalid)?),
        "first_name" => std::mem::replace(&mut subject.first_name, name(value).map_err(invalid)?),
        "patronymic" => {
            let new = if value.trim().is_empty() {
                None
            } else {
                Some(name(value).map_err(invalid)?)
            };
            std::mem::replace(&mut subject.patronymic, new).unwrap_or_default()
        }
        "email" => {
            let email = Email::parse(value).map_err(invalid)?;
            record.email_hmac = key.email_hmac(&email);
            std::mem::replace(&mut subject.email, email.into_inner())
        }
        "phone" => {
            let phone = PhoneE164::parse(value).map_err(invalid)?;
            record.phone_hmac = key.phone_hmac(phone.as_str());
            std::mem::replace(&mut subject.phone, phone.into_inner())
        }
        "message" => std::mem::replace(
            &mut record.message,
            Message::parse(value).map_err(invalid)?.into_inner(),
        ),
        other => return Err(SubjectRequestError::UnknownField(field_name_only(other))),
    };
    Ok(old)
}

/// Suspends (`block = true`) or resumes processing of one record (§2.2).
pub fn plan_block(record: ConsentRecord, block: bool, now: OffsetDateTime) -> Plan {
    let action = if block {
        AuditAction::Block
    } else {
        AuditAction::Unblock
    };
    let mut plan = Plan::new(action, "");
    if record.blocked_at.is_some() == block {
        plan.unchanged = 1;
        return plan;
    }
    let mut after = record.clone();
    after.blocked_at = block.then_some(now);
    let summary = if block {
        "processing suspended: left out of lists, exports for processing and notifications"
    } else {
        "processing resumed"
    };
    plan.push(record, Some(after), summary.to_owned());
    plan
}

/// Deletes the records for good (§2.14).
pub fn plan_erase(records: Vec<ConsentRecord>) -> Plan {
    let mut plan = Plan::new(AuditAction::Erase, "");
    for record in records {
        plan.push(
            record,
            None,
            "erase the record, its index entries and its dedup entries".to_owned(),
        );
    }
    plan
}

/// Depersonalizes the records (§2.5, §5.7): personal fields and lookup keys go; the stamp,
/// the dates and the counts stay.
pub fn plan_anonymize(records: Vec<ConsentRecord>, now: OffsetDateTime) -> Plan {
    let mut plan = Plan::new(AuditAction::Anonymize, "");
    for record in records {
        let mut after = record.clone();
        if !after.anonymize(now) {
            plan.unchanged += 1;
            continue;
        }
        plan.push(
            record,
            Some(after),
            "remove name, email, phone, message and lookup keys; keep stamp and dates".to_owned(),
        );
    }
    plan
}

/// The retention purge (§5.7, §8.8), per purpose: a record past its `expires_at` is
/// deleted; in the others, each purpose whose retention ended drops the categories no
/// remaining purpose needs (the reply purpose ends but a newsletter grant remains: phone and
/// message go, name and email stay), and rectification history past its retention loses its
/// old values.
pub fn plan_purge(records: Vec<ConsentRecord>, now: OffsetDateTime) -> Plan {
    let mut plan = Plan::new(AuditAction::PurgeExpired, "");
    for record in records {
        if record.expires_at < now {
            plan.push(record, None, "retention over: erase the record".to_owned());
            continue;
        }
        let mut after = record.clone();
        let dropped = if after.state == RecordState::Active {
            after.apply_purposes(now, DropReason::Expired)
        } else {
            Vec::new()
        };
        let history = after.expire_history(now);
        if after == record {
            plan.unchanged += 1;
            continue;
        }
        let mut summary = String::from("retention of a purpose over");
        summary.push_str(&dropped_text(&dropped));
        if history {
            summary.push_str("; old values of corrections removed");
        }
        plan.push(record, Some(after), summary);
    }
    plan
}

/// Deletes every record past its retention, without a plan (the trait's bulk purge, also
/// removing expired dedup entries). Returns how many.
pub async fn purge_expired(
    store: &dyn Store,
    now: OffsetDateTime,
) -> Result<u64, SubjectRequestError> {
    Ok(store.purge_expired(now).await?)
}

/// Refuses a key that does not match the store's key-check value. A store without one gets
/// this key's, after checking it against a stored record where one can be checked (a store
/// written before key-check values existed).
pub async fn check_key(
    store: &dyn Store,
    key: &HmacKey,
    actor: &str,
) -> Result<(), SubjectRequestError> {
    let state = store.key_state().await?;
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
            store.key_state().await?.admits(&key.key_check())?;
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
pub async fn verify_key(store: &dyn Store, key: &HmacKey) -> Result<(), SubjectRequestError> {
    store.key_state().await?.admits(&key.key_check())?;
    Ok(())
}

/// Enters a request received by mail or letter (`requests open`): confirmed at once, due
/// after the kind's deadline. Audited without the address.
pub async fn open_request(
    store: &dyn Store,
    key: &HmacKey,
    kind: RequestKind,
    email: &str,
    language: &str,
    deadlines: &BTreeMap<String, u32>,
    actor: &str,
) -> Result<SubjectRequest, SubjectRequestError> {
    let email = Email::parse(email).map_err(|_| SubjectRequestError::InvalidEmail)?;
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
    store.insert_request(&request).await?;
    store
        .append_audit(&AuditEntry::new(
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
pub async fn close_request(
    store: &dyn Store,
    id: uuid::Uuid,
    outcome: Outcome,
    actor: &str,
) -> Result<SubjectRequest, SubjectRequestError> {
    let mut request = store
        .get_request(id)
        .await?
        .ok_or(SubjectRequestError::NoSuchRequest(id))?;
    if !request.close(outcome, OffsetDateTime::now_utc()) {
        return Err(SubjectRequestError::AlreadyClosed(id));
    }
    if !store.update_request(&request).await? {
        return Err(SubjectRequestError::NoSuchRequest(id));
    }
    store
        .append_audit(&AuditEntry::new(
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
pub async fn rekey(
    store: &dyn Store,
    old: &HmacKey,
    new: &HmacKey,
    actor: &str,
) -> Result<Rekeyed, SubjectRequestError> {
    let (old_check, new_check) = (old.key_check(), new.key_check());
    let state = store.key_state().await?;
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
        let current = store.key_state().await?;
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
        if store.update(&after).await? {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignments_parse_and_errors_quote_no_values() {
        let ok = parse_assignments(&["surname=Әлиева".to_owned(), "phone=+77011234567".to_owned()])
            .expect("valid");
        assert_eq!(ok[0], ("surname".to_owned(), "Әлиева".to_owned()));
        let err = parse_assignments(&["iin=900101300123".to_owned()]).expect_err("unknown");
        assert!(!err.to_string().contains("900101"), "{err}");
        let err = parse_assignments(&["aigerim@example.kz".to_owned()]).expect_err("no =");
        assert!(!err.to_string().contains("example.kz"), "{err}");
    }
}
