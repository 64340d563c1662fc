//! What each data-subject right does to records, as plans: pure functions from the records
//! read (and the moment) to the changes to make, which a command shows before it applies them
//! (`--dry-run`, the confirmation prompt) and [`crate::app::rights::apply`] carries out.
//! Policy §2.2 (blocking), §2.5 (anonymizing), §2.14 (erasure), §5.7 and §8.8 (retention,
//! the answered message's included), §8.3 (rectification), §8.4 (withdrawal).

use std::fmt::Write as _;

use time::{Duration, OffsetDateTime};

use crate::domain::audit::AuditAction;
use crate::domain::fields::{Email, Message, PersonName, PhoneE164};
use crate::domain::hmac_key::HmacKey;
use crate::domain::record::{
    Answered, ConsentRecord, DropReason, FieldChange, RecordId, RecordState, Rectification,
    category,
};

/// A withdrawal's audit detail when it covered every purpose (otherwise it is the purpose).
pub const ALL_PURPOSES: &str = "all purposes";

/// How long a rectification keeps the old values (to undo a mistaken correction) by default.
/// A setting, not legal advice.
pub const DEFAULT_HISTORY_DAYS: u32 = 30;

/// How many days after its message is answered the reply purpose ends by default
/// (`[retention_days] reply_after_answer`). A setting, not legal advice.
pub const DEFAULT_REPLY_AFTER_ANSWER_DAYS: u32 = 30;

/// Why a plan could not be made. Never contains an email, a phone or a name.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
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

/// What a command will do. Shown before it is applied; nothing is written until `app::rights::apply`.
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
    pub fn new(action: AuditAction, detail: impl Into<String>) -> Self {
        Self {
            action,
            changes: Vec::new(),
            detail: detail.into(),
            unchanged: 0,
        }
    }

    pub fn push(&mut self, before: ConsentRecord, after: Option<ConsentRecord>, summary: String) {
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

/// The audit detail of `records answer`: the days the reply purpose was given after the
/// answer, in a form [`answer_days`] reads back (a restore replays the answer with it).
pub fn answer_detail(reply_after_answer: u32) -> String {
    format!("reply_after_answer={reply_after_answer}")
}

/// The days an [`answer_detail`] names.
pub fn answer_days(detail: &str) -> Option<u32> {
    detail.strip_prefix("reply_after_answer=")?.parse().ok()
}

/// Marks record's message answered by `by` at `now` (`records answer`), and lets the reply
/// purpose end `reply_after_answer` days later: once the person has their answer the purpose
/// is met (§5.7, §8.8: data are kept no longer than their purposes need), and the days leave
/// room for a follow-up. The purpose's `expires_at` becomes the earlier of its own and that
/// day, and the record's `expires_at` follows the purposes still granted, as a confirmation
/// does. Nothing is dropped now: after that day `purge-expired` removes what no other purpose
/// needs (phone and message; name and email too unless a confirmed newsletter grant still
/// needs them; with no other purpose, the whole record). A reply purpose withdrawn or never
/// granted is left as it is. A message already answered is left unchanged.
pub fn plan_answer(
    record: ConsentRecord,
    by: &str,
    reply_after_answer: u32,
    now: OffsetDateTime,
) -> Plan {
    let mut plan = Plan::new(AuditAction::Answer, answer_detail(reply_after_answer));
    if record.answered.is_some() {
        plan.unchanged = 1;
        return plan;
    }
    let mut after = record.clone();
    after.answered = Some(Answered {
        at: now,
        by: by.to_owned(),
    });
    let end = now.saturating_add(Duration::days(i64::from(reply_after_answer)));
    let reply = after.consent.purposes.iter_mut().find(|p| {
        p.purpose == kelisim_manifest::PURPOSE_REPLY && p.granted && p.withdrawn_at.is_none()
    });
    let mut summary = String::from("mark answered");
    if let Some(reply) = reply {
        let until = reply.expires_at.map_or(end, |current| current.min(end));
        reply.expires_at = Some(until);
        // Never later than before: answering only ever shortens what is kept.
        after.expires_at = after.retention_end().min(record.expires_at);
        let _ = write!(
            summary,
            "; reply purpose until {}; kept until {}",
            date(until),
            date(after.expires_at)
        );
    }
    plan.push(record, Some(after), summary);
    plan
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
pub fn parse_assignments(args: &[String]) -> Result<Vec<(String, String)>, PlanError> {
    args.iter()
        .map(|arg| {
            let (field, value) = arg
                .split_once('=')
                .ok_or_else(|| PlanError::NotAnAssignment(field_name_only(arg)))?;
            let field = field.trim().to_owned();
            if !RECTIFIABLE_FIELDS.contains(&field.as_str()) {
                return Err(PlanError::UnknownField(field_name_only(&field)));
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
) -> Result<Plan, PlanError> {
    let fields: Vec<&str> = assignments.iter().map(|(f, _)| f.as_str()).collect();
    let mut plan = Plan::new(
        AuditAction::Rectify,
        format!("fields: {}", fields.join(", ")),
    );
    let mut after = record.clone();
    let mut changes = Vec::new();
    for (field, value) in assignments {
        if record.state == RecordState::Anonymized || record.has_dropped(held_category(field)) {
            return Err(PlanError::NotHeld {
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
) -> Result<String, PlanError> {
    let invalid = |code: crate::domain::fields::ErrorCode| PlanError::InvalidValue {
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
        other => return Err(PlanError::UnknownField(field_name_only(other))),
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
