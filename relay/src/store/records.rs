//! The records role: consent records, their dedup keys, and the outbox items written with
//! them in one transaction.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::error::StoreError;
use crate::domain::dedup::DedupKeys;
use crate::domain::inbox::{InboxPage, InboxQuery};
use crate::domain::outbox::{MailQuota, OutboxItem};
use crate::domain::record::{ConsentRecord, RecordId};

/// What an insert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    /// The record was written durably.
    New(RecordId),
    /// An earlier submission with the same idempotency key, or the same fingerprint inside
    /// its window, was already stored; nothing new was written. Holds the earlier id.
    Duplicate(RecordId),
    /// The record queues a confirmation mail to a mailbox whose cap is full
    /// ([`MailQuota`]); nothing was written.
    OverQuota,
}

impl Inserted {
    /// The id the visitor is told about, new or earlier; none when nothing was stored.
    pub fn id(self) -> Option<RecordId> {
        match self {
            Self::New(id) | Self::Duplicate(id) => Some(id),
            Self::OverQuota => None,
        }
    }
}

/// Consent records. Every update is conditional on the revision it read; every removal
/// leaves nothing of the removed data in the store's files once it returns.
#[async_trait]
pub trait RecordStore: Send + Sync {
    /// Writes `record` with `outbox` in one transaction (all of it or nothing), unless
    /// `dedup` matches an earlier submission: then nothing is written (its messages were
    /// queued with the original). Returns only after the write is durable, and is atomic
    /// with the duplicate checks, so an id, an idempotency key or a fingerprint inside its
    /// window is never stored twice, even under concurrent requests.
    async fn insert_record(
        &self,
        record: &ConsentRecord,
        dedup: &DedupKeys,
        outbox: &[OutboxItem],
    ) -> Result<Inserted, StoreError> {
        self.insert_record_capped(record, dedup, outbox, None).await
    }

    /// [`RecordStore::insert_record`], and within the same transaction: the record's lookup
    /// hashes must be under a key the store takes ([`StoreError::WrongKey`] otherwise, see
    /// [`crate::domain::key_check::KeyState::admits_writer`]), and when `quota` is given (the
    /// record queues a confirmation mail) the recipient's cap must have room, or nothing is
    /// written and the answer is [`Inserted::OverQuota`]. A duplicate takes no room.
    async fn insert_record_capped(
        &self,
        record: &ConsentRecord,
        dedup: &DedupKeys,
        outbox: &[OutboxItem],
        quota: Option<&MailQuota>,
    ) -> Result<Inserted, StoreError>;

    /// The record with this id.
    async fn get_record(&self, id: RecordId) -> Result<Option<ConsentRecord>, StoreError>;

    /// Every record, oldest first (the operator's inbox and lists, retention per purpose,
    /// rekeying).
    async fn list_records(&self) -> Result<Vec<ConsentRecord>, StoreError>;

    /// One page of the inbox (see [`crate::domain::inbox`]): the records on the shelves of
    /// `query.filter` with ids after `query.after`, oldest first, at most
    /// [`InboxQuery::page_size`]. Reads the page from an index, never every record.
    async fn inbox_page(&self, query: &InboxQuery) -> Result<InboxPage, StoreError>;

    /// Puts records written before the inbox's index existed on their shelf in it (DynamoDB:
    /// items without a sort key). Once done it is remembered, and later calls cost one read.
    /// Returns how many records it placed. Stores whose index is kept by their schema
    /// migration: nothing to do.
    async fn shelve_older_records(&self) -> Result<u64, StoreError> {
        Ok(0)
    }

    /// Every record whose `email_hmac` is this value (a data subject's access request),
    /// oldest first. None for an empty value.
    async fn find_records_by_email(
        &self,
        email_hmac: &str,
    ) -> Result<Vec<ConsentRecord>, StoreError>;

    /// Every record whose `phone_hmac` is this value, oldest first. None for an empty value.
    async fn find_records_by_phone(
        &self,
        phone_hmac: &str,
    ) -> Result<Vec<ConsentRecord>, StoreError>;

    /// Replaces a stored record (withdrawal, rectification, blocking, anonymization), if and
    /// only if the stored copy still has `record.revision`, the revision it was read at. The
    /// stored copy then has `record.revision + 1`. Returns false when no record has that id;
    /// [`StoreError::Conflict`] when someone else updated it since it was read. Removed data
    /// is unrecoverable from the store afterwards (see [`RecordStore::delete_record`]).
    async fn update_record(&self, record: &ConsentRecord) -> Result<bool, StoreError>;

    /// Deletes a record, its dedup entries and its outbox items for good (erasure, §2.14,
    /// §4.1 and §8.9). Once the deleting transaction committed, the erasure has happened:
    /// SQLite zeroes the pages (`secure_delete`) and truncates the WAL, and when a reader
    /// holding an old snapshot keeps the WAL from being truncated, that is finished later
    /// ([`RecordStore::finish_removals`]) instead of failing; DynamoDB removes the item, its
    /// index entries, its dedup items and its outbox items. Returns false when no record has
    /// that id.
    async fn delete_record(&self, id: RecordId) -> Result<bool, StoreError>;

    /// Deletes every record whose `expires_at` is before `now` (retention, §5.7 and §8.8),
    /// dedup entries past their window and mail-quota entries past theirs. Returns how many
    /// records were deleted.
    async fn purge_expired(&self, now: OffsetDateTime) -> Result<u64, StoreError>;

    /// Finishes what a removal left to do on disk (SQLite: the WAL truncation a busy reader
    /// held off). True while some is still left. Stores with nothing of the kind: false.
    async fn finish_removals(&self) -> Result<bool, StoreError> {
        Ok(false)
    }
}
