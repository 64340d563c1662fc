//! Where records live. One trait, several back ends (SQLite on one machine, DynamoDB or a
//! DynamoDB-compatible endpoint in the cloud), one conformance suite for all of them.
//!
//! The contract every implementation keeps: `insert` returns only after the write is durable,
//! and it is atomic with the duplicate checks, so an id, an idempotency key or a content
//! fingerprint inside its window is never stored twice, even under concurrent requests.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::audit::AuditEntry;
use crate::key_check::KeyState;
use crate::outbox::{OutboxId, OutboxItem};
use crate::record::{ConsentRecord, RecordId};
use crate::requests::SubjectRequest;

/// Keys that make a second, identical submission a no-op.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DedupKeys {
    /// The script's per-visit key; remembered for as long as the record exists.
    pub idempotency_key: Option<String>,
    /// Keyed hash of the submitted content. It catches a double click without JavaScript,
    /// but only within a short window, because two people may honestly send the same text.
    pub fingerprint: String,
    /// Until when the fingerprint blocks a duplicate.
    pub fingerprint_until: OffsetDateTime,
}

/// What `insert` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    /// The record was written durably.
    New(RecordId),
    /// An earlier submission with the same idempotency key, or the same fingerprint inside
    /// its window, was already stored; nothing new was written. Holds the earlier id.
    Duplicate(RecordId),
}

impl Inserted {
    /// The id the visitor is told about, new or earlier.
    pub fn id(self) -> RecordId {
        match self {
            Self::New(id) | Self::Duplicate(id) => id,
        }
    }
}

/// A store failure. Messages never contain personal data: they name the operation and the
/// back end's error kind only.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The back end is overloaded or throttling; the client should retry later.
    #[error("the record store is busy ({0}); try again later")]
    Busy(String),
    /// The back end is unreachable or failed.
    #[error("the record store failed: {0}")]
    Backend(String),
    /// A stored item could not be read back as a record.
    #[error("a stored record is corrupt: {0}")]
    Corrupt(String),
    /// The item changed since it was read (another command or operator updated it first).
    /// Nothing was overwritten; read it again and retry.
    #[error(
        "{0} was changed by someone else since it was read; nothing was overwritten, run the command again"
    )]
    Conflict(String),
}

/// A durable home for consent records and the outbox of messages owed about them.
#[async_trait]
pub trait Store: Send + Sync {
    /// Writes `record` unless `dedup` matches an earlier submission. Returns only after the
    /// write is durable (committed, or acknowledged by the service).
    async fn insert(
        &self,
        record: &ConsentRecord,
        dedup: &DedupKeys,
    ) -> Result<Inserted, StoreError> {
        self.insert_with_outbox(record, dedup, &[]).await
    }

    /// Like [`Store::insert`], and writes `outbox` in the same transaction: all of it or
    /// nothing. A duplicate writes neither (its messages were queued with the original).
    async fn insert_with_outbox(
        &self,
        record: &ConsentRecord,
        dedup: &DedupKeys,
        outbox: &[OutboxItem],
    ) -> Result<Inserted, StoreError>;

    /// Every record, oldest first (the operator's inbox and lists, retention per purpose,
    /// rekeying).
    async fn list_records(&self) -> Result<Vec<ConsentRecord>, StoreError>;

    /// Queues one more message on its own (for example a re-sent confirmation).
    async fn enqueue(&self, item: &OutboxItem) -> Result<(), StoreError>;

    /// Up to `limit` outbox items due at `now`, earliest first.
    async fn outbox_due(
        &self,
        now: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<OutboxItem>, StoreError>;

    /// Every outbox item, due or not, earliest first (for `deliver --status` and alarms).
    async fn outbox_all(&self) -> Result<Vec<OutboxItem>, StoreError>;

    /// Takes the item for one delivery attempt: atomically, and only if it is still due at
    /// `now`, counts the attempt and moves `due_at` to the end of a lease
    /// ([`crate::outbox::LEASE`]). `None` when another deliverer got it first or it is gone,
    /// so two deliverers never send the same message.
    async fn outbox_claim(
        &self,
        id: OutboxId,
        now: OffsetDateTime,
    ) -> Result<Option<OutboxItem>, StoreError>;

    /// Removes a delivered (or no longer deliverable) item.
    async fn outbox_done(&self, id: OutboxId) -> Result<(), StoreError>;

    /// Schedules another attempt of a claimed item at `due_at`, noting why this one failed.
    async fn outbox_retry(
        &self,
        id: OutboxId,
        due_at: OffsetDateTime,
        error: &str,
    ) -> Result<(), StoreError>;

    /// The record with this id.
    async fn get(&self, id: RecordId) -> Result<Option<ConsentRecord>, StoreError>;

    /// Every record whose `email_hmac` is this value (a data subject's access request).
    async fn find_by_email_hmac(&self, email_hmac: &str) -> Result<Vec<ConsentRecord>, StoreError>;

    /// Every record whose `phone_hmac` is this value.
    async fn find_by_phone_hmac(&self, phone_hmac: &str) -> Result<Vec<ConsentRecord>, StoreError>;

    /// Replaces a stored record (withdrawal, rectification, blocking, anonymization), if and
    /// only if the stored copy still has `record.revision`, the revision it was read at. The
    /// stored copy then has `record.revision + 1`. Returns false when no record has that id;
    /// [`StoreError::Conflict`] when someone else updated it since it was read. Removed data
    /// is unrecoverable from the store afterwards (see `delete`).
    async fn update(&self, record: &ConsentRecord) -> Result<bool, StoreError>;

    /// Deletes a record, its dedup entries and its outbox items for good (erasure, §2.14, §4.1
    /// and §8.9): after it returns, the bytes are gone from the store's files (SQLite:
    /// `secure_delete` and a truncating WAL checkpoint; DynamoDB: the item, its index entries,
    /// its dedup items and its outbox items). Returns false when no record has that id.
    async fn delete(&self, id: RecordId) -> Result<bool, StoreError>;

    /// Appends one entry to the audit log.
    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError>;

    /// The audit log from `since` on (everything with `None`), oldest first.
    async fn audit_since(
        &self,
        since: Option<OffsetDateTime>,
    ) -> Result<Vec<AuditEntry>, StoreError>;

    /// Stores a new data-subject request.
    async fn insert_request(&self, request: &SubjectRequest) -> Result<(), StoreError>;

    /// The request with this id.
    async fn get_request(&self, id: uuid::Uuid) -> Result<Option<SubjectRequest>, StoreError>;

    /// Replaces a request if the stored copy still has `request.revision` (the stored copy
    /// then has one more); false when there is none, [`StoreError::Conflict`] when it changed.
    async fn update_request(&self, request: &SubjectRequest) -> Result<bool, StoreError>;

    /// Every request, oldest first.
    async fn list_requests(&self) -> Result<Vec<SubjectRequest>, StoreError>;

    /// The stored key-check state (the default when none is stored).
    async fn key_state(&self) -> Result<KeyState, StoreError>;

    /// Replaces the key-check state if the stored one still equals `expected`;
    /// [`StoreError::Conflict`] otherwise.
    async fn set_key_state(&self, expected: &KeyState, new: &KeyState) -> Result<(), StoreError>;

    /// Deletes every record whose `expires_at` is before `now` (retention, §5.7 and §8.8).
    /// Returns how many were deleted.
    async fn purge_expired(&self, now: OffsetDateTime) -> Result<u64, StoreError>;
}
