//! The operator's day with the messages: the inbox of unanswered messages, marking one
//! answered (which starts the end of its reply purpose), and the mailing list of a purpose.
//! Blocked, withdrawn and anonymized records are in no list (§2.2, §8.4).

use time::OffsetDateTime;

use crate::app::rights::RightsError;
use crate::domain::plan::{self, Plan};
use crate::domain::record::{ConsentRecord, RecordId};
use crate::store::{RecordStore, StoreError};
use crate::views::inbox::{self as view, InboxRow, ListEntry};

/// The messages to answer, oldest first (`all`: answered ones too).
pub async fn inbox<S: RecordStore + ?Sized>(
    records: &S,
    all: bool,
) -> Result<Vec<InboxRow>, StoreError> {
    let mut list = records.list_records().await?;
    list.retain(ConsentRecord::is_processable);
    Ok(view::inbox(&list, all))
}

/// What `records answer` will do to a record.
#[derive(Debug, Clone)]
pub enum Answering {
    /// Someone had marked it answered already: who. Nothing changes.
    Already(String),
    /// Mark it answered and let its reply purpose end (see [`plan::plan_answer`]), to show
    /// and then apply with [`crate::app::rights::apply`] (audited as
    /// [`crate::domain::audit::AuditAction::Answer`]).
    Plan(Plan),
}

/// What marking record `id` answered by `by` at `now` does: it leaves the inbox, and its
/// reply purpose ends `reply_after_answer` days later.
pub async fn plan_answer<S: RecordStore + ?Sized>(
    records: &S,
    id: RecordId,
    by: &str,
    reply_after_answer: u32,
    now: OffsetDateTime,
) -> Result<Answering, RightsError> {
    let record = crate::app::rights::get(records, id).await?;
    if let Some(answered) = &record.answered {
        return Ok(Answering::Already(answered.by.clone()));
    }
    Ok(Answering::Plan(plan::plan_answer(
        record,
        by,
        reply_after_answer,
        now,
    )))
}

/// Everyone whose consent to `purpose` is in force at `now` (confirmed, for a double opt-in
/// purpose): the only way to get a mailing list.
pub async fn mailing_list<S: RecordStore + ?Sized>(
    records: &S,
    purpose: &str,
    now: OffsetDateTime,
) -> Result<Vec<ListEntry>, StoreError> {
    let mut list = records.list_records().await?;
    list.retain(ConsentRecord::is_processable);
    Ok(view::purpose_list(&list, purpose, now))
}
