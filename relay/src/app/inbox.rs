//! The operator's day with the messages: the inbox of unanswered messages, marking one
//! answered, and the mailing list of a purpose. Blocked, withdrawn and anonymized records are
//! in no list (§2.2, §8.4).

use time::OffsetDateTime;

use crate::app::rights::RightsError;
use crate::domain::record::{Answered, ConsentRecord, RecordId};
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

/// What marking a message answered did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Marked {
    /// Marked now.
    Answered,
    /// Someone had marked it already: who.
    Already(String),
}

/// Marks record `id` answered by `by` at `now`; it leaves the inbox, nothing else changes.
pub async fn answer<S: RecordStore + ?Sized>(
    records: &S,
    id: RecordId,
    by: &str,
    now: OffsetDateTime,
) -> Result<Marked, RightsError> {
    let mut record = crate::app::rights::get(records, id).await?;
    if let Some(answered) = &record.answered {
        return Ok(Marked::Already(answered.by.clone()));
    }
    record.answered = Some(Answered {
        at: now,
        by: by.to_owned(),
    });
    if !records.update_record(&record).await? {
        return Err(RightsError::NoSuchRecord(id));
    }
    Ok(Marked::Answered)
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
