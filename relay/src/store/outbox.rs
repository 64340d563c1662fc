//! The outbox role: messages owed to someone, claimed by one deliverer at a time.

use async_trait::async_trait;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::error::StoreError;
use crate::domain::outbox::{OutboxId, OutboxItem};

/// The transactional outbox. Items are written with what they are about (see
/// [`super::RecordStore::insert_record`] and [`super::RightsLog::insert_request`]); this role
/// hands them to the deliverers.
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Queues one more message on its own (for example a re-sent confirmation).
    async fn enqueue_item(&self, item: &OutboxItem) -> Result<(), StoreError>;

    /// Up to `limit` items due at `now`, earliest first.
    async fn list_due_items(
        &self,
        now: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<OutboxItem>, StoreError>;

    /// Every item, due or not, earliest first (for `deliver --status` and alarms).
    async fn list_items(&self) -> Result<Vec<OutboxItem>, StoreError>;

    /// Takes the item for one delivery attempt: atomically, and only if it is still due at
    /// `now` (and neither dead nor withheld), counts the attempt and moves `due_at` to
    /// `now + lease` ([`crate::domain::outbox::LEASE`]). `None` when another deliverer got it
    /// first or it is gone, so two deliverers never send the same message.
    async fn claim_item(
        &self,
        id: OutboxId,
        now: OffsetDateTime,
        lease: Duration,
    ) -> Result<Option<OutboxItem>, StoreError>;

    /// Removes a delivered (or no longer deliverable) item.
    async fn remove_item(&self, id: OutboxId) -> Result<(), StoreError>;

    /// Schedules another attempt of a claimed item at `due_at`, noting why this one failed.
    async fn reschedule_item(
        &self,
        id: OutboxId,
        due_at: OffsetDateTime,
        error: &str,
    ) -> Result<(), StoreError>;

    /// Ends an item for good at `now`: it becomes a dead letter holding `reason` and no
    /// personal data (see [`OutboxItem::buried`]), listed but never due.
    async fn bury_item(
        &self,
        id: OutboxId,
        reason: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;

    /// Holds an item back while the record it is about is blocked: kept, never due, until
    /// [`OutboxStore::release_items`].
    async fn withhold_item(&self, id: OutboxId) -> Result<(), StoreError>;

    /// Makes the withheld items about `subject` (a record or request id) due at `now`.
    /// Returns how many.
    async fn release_items(&self, subject: Uuid, now: OffsetDateTime) -> Result<usize, StoreError>;

    /// The operator's "retry now": a dead, withheld or waiting item is due at `now` again,
    /// with its attempts and age counted afresh. False when there is no such item.
    async fn revive_item(&self, id: OutboxId, now: OffsetDateTime) -> Result<bool, StoreError>;
}
