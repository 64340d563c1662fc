//! The operator's desk: the use cases the console (`crate::console`) adds to the ones the
//! commands share. A page of the inbox; retrying a delivery and downloading a mailing list,
//! each audited; one record exported for the person; the plan
//! that fulfils a data-subject request; the open requests; the audit log filtered; and a
//! shown plan carried out only if none of its records changed since it was shown.
//!
//! The changes themselves are the commands' own: [`crate::domain::plan`] builds the plan,
//! [`rights::apply`] carries it out (marking a message answered too: its plan is
//! [`crate::app::inbox::plan_answer`]'s).

use time::{Date, OffsetDateTime};

use crate::app::inbox;
use crate::app::rights::{self, Applied, Lookup, RightsError};
use crate::domain::audit::{AuditAction, AuditEntry};
use crate::domain::hmac_key::HmacKey;
use crate::domain::inbox::{InboxPage, InboxQuery};
use crate::domain::outbox::OutboxId;
use crate::domain::plan::{self, Plan};
use crate::domain::record::{ConsentRecord, RecordId};
use crate::domain::request::{RequestKind, RequestStatus, SubjectRequest};
use crate::store::{OutboxStore, RecordStore, RightsLog, StoreError};
use crate::views::inbox::ListEntry;

/// Why a shown plan was not carried out.
#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    /// A record of the plan was changed (or removed) after the plan was shown: nothing of
    /// the plan was done. Show the record again and make a new plan.
    #[error("record {0} changed after the plan was shown; nothing was done")]
    Moved(RecordId),
    #[error(transparent)]
    Rights(#[from] RightsError),
}

impl From<StoreError> for DeskError {
    fn from(error: StoreError) -> Self {
        Self::Rights(error.into())
    }
}

/// One page of the inbox, oldest first, read from the store's index.
pub async fn inbox_page<S: RecordStore + ?Sized>(
    records: &S,
    query: &InboxQuery,
) -> Result<InboxPage, StoreError> {
    records.inbox_page(query).await
}

/// "Retry now": outbox item `id` is due at `now` again (as `deliver --retry`), audited.
/// False when there is no such item.
pub async fn retry_delivery<S: OutboxStore + RightsLog + ?Sized>(
    store: &S,
    id: OutboxId,
    actor: &str,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    if !store.revive_item(id, now).await? {
        return Ok(false);
    }
    let detail = format!("outbox item {id}");
    store
        .append_audit(&AuditEntry::new(
            actor,
            AuditAction::DeliveryRetry,
            None,
            1,
            detail,
        ))
        .await?;
    Ok(true)
}

/// Record `id` as the person gets it (no staff name), its download audited as an export
/// (`format`: `html` or `json`).
pub async fn export_record<S: RecordStore + RightsLog + ?Sized>(
    store: &S,
    id: RecordId,
    actor: &str,
    format: &str,
) -> Result<ConsentRecord, RightsError> {
    let records = plan::for_the_person(vec![rights::get(store, id).await?]);
    rights::audit_read(store, actor, AuditAction::Export, &records, format).await?;
    records
        .into_iter()
        .next()
        .ok_or(RightsError::NoSuchRecord(id))
}

/// The mailing list of `purpose` at `now` (as `records list`), its download audited with the
/// purpose and `format`.
pub async fn mailing_list<S: RecordStore + RightsLog + ?Sized>(
    store: &S,
    purpose: &str,
    format: &str,
    actor: &str,
    now: OffsetDateTime,
) -> Result<Vec<ListEntry>, StoreError> {
    let entries = inbox::mailing_list(store, purpose, now).await?;
    let count = u64::try_from(entries.len()).unwrap_or(u64::MAX);
    let purpose: String = purpose
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .take(32)
        .collect();
    let detail = format!("{purpose} {format}");
    store
        .append_audit(&AuditEntry::new(
            actor,
            AuditAction::MailingList,
            None,
            count,
            detail,
        ))
        .await?;
    Ok(entries)
}

/// Carries out `plan` as shown: first every record of it is read again, and if any was
/// changed or removed since the plan read it, nothing is done ([`DeskError::Moved`]). The
/// updates are conditional on the revision besides, so a change in between is refused too.
pub async fn carry_out<S: RecordStore + RightsLog + OutboxStore + ?Sized>(
    store: &S,
    plan: &Plan,
    actor: &str,
) -> Result<Applied, DeskError> {
    for change in &plan.changes {
        let id = change.before.id;
        match store.get_record(id).await? {
            Some(now) if now.revision == change.before.revision => {}
            _ => return Err(DeskError::Moved(id)),
        }
    }
    match rights::apply(store, plan, actor).await {
        Ok(applied) => Ok(applied),
        Err(RightsError::Store(StoreError::Conflict(_))) => {
            let id = plan.changes.first().map(|c| c.before.id);
            Err(DeskError::Moved(id.unwrap_or_default()))
        }
        Err(error) => Err(error.into()),
    }
}

/// The plan that fulfils `request` at `now` on every record of its address: erase them,
/// withdraw every consent, or block them. `None` for the kinds no plan fulfils (access is an
/// export, rectification a correction of the records found).
pub async fn request_plan<S: RecordStore + ?Sized>(
    records: &S,
    key: &HmacKey,
    request: &SubjectRequest,
    now: OffsetDateTime,
) -> Result<Option<Plan>, RightsError> {
    let found = || rights::find(records, key, Lookup::Email(&request.email));
    Ok(match request.kind {
        RequestKind::Erasure => Some(plan::plan_erase(found().await?)),
        RequestKind::Withdrawal => Some(plan::plan_withdraw(found().await?, None, now)),
        RequestKind::Blocking => {
            let mut all = Plan::new(AuditAction::Block, "");
            for record in found().await? {
                let one = plan::plan_block(record, true, now);
                all.unchanged += one.unchanged;
                all.changes.extend(one.changes);
            }
            Some(all)
        }
        RequestKind::Access | RequestKind::Rectification => None,
    })
}

/// The confirmed requests still open at `now`, the earliest due first.
pub async fn open_requests<S: RightsLog + ?Sized>(
    log: &S,
    now: OffsetDateTime,
) -> Result<Vec<SubjectRequest>, StoreError> {
    let mut open: Vec<SubjectRequest> = log
        .list_requests()
        .await?
        .into_iter()
        .filter(|r| matches!(r.status(now), RequestStatus::Open | RequestStatus::Overdue))
        .collect();
    open.sort_by_key(|r| (r.due_at, r.id));
    Ok(open)
}

/// Which audit entries to show.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub action: Option<AuditAction>,
    /// Entries whose actor contains this, ignoring case.
    pub actor: Option<String>,
    /// From this day on (UTC).
    pub from: Option<Date>,
    /// Up to and including this day (UTC).
    pub to: Option<Date>,
    /// Only entries about this record.
    pub record: Option<RecordId>,
}

impl AuditFilter {
    fn admits(&self, entry: &AuditEntry) -> bool {
        let actor = self.actor.as_deref().map(str::to_lowercase);
        self.action.is_none_or(|a| a == entry.action)
            && actor.is_none_or(|a| entry.actor.to_lowercase().contains(&a))
            && self.to.is_none_or(|to| entry.at.date() <= to)
            && self.record.is_none_or(|id| entry.record_id == Some(id))
    }
}

/// The audit log's entries that `filter` admits, newest first. Reads from `filter.from` on
/// (the log is kept in time order).
pub async fn audit_log<S: RightsLog + ?Sized>(
    log: &S,
    filter: &AuditFilter,
) -> Result<Vec<AuditEntry>, StoreError> {
    let since = filter.from.map(|day| day.midnight().assume_utc());
    let mut entries: Vec<AuditEntry> = log
        .list_audit(since)
        .await?
        .into_iter()
        .filter(|e| filter.admits(e))
        .collect();
    entries.reverse();
    Ok(entries)
}

/// The audit entries about `record`, newest first: none can be older than the record.
pub async fn record_audit<S: RightsLog + ?Sized>(
    log: &S,
    record: &ConsentRecord,
) -> Result<Vec<AuditEntry>, StoreError> {
    let filter = AuditFilter {
        record: Some(record.id),
        ..AuditFilter::default()
    };
    let since = record.received_at - time::Duration::minutes(1);
    let mut entries: Vec<AuditEntry> = log
        .list_audit(Some(since))
        .await?
        .into_iter()
        .filter(|e| filter.admits(e))
        .collect();
    entries.reverse();
    Ok(entries)
}
