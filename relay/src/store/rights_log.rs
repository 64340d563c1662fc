//! The rights log role: the audit log of operator actions and the data-subject requests.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::error::StoreError;
use crate::domain::audit::AuditEntry;
use crate::domain::outbox::OutboxItem;
use crate::domain::request::SubjectRequest;

/// What was done to whose data, and what people asked for. Holds no personal data except a
/// request's address while the request is open.
#[async_trait]
pub trait RightsLog: Send + Sync {
    /// Appends one entry to the audit log.
    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError>;

    /// The audit log from `since` on (everything with `None`), oldest first.
    async fn list_audit(
        &self,
        since: Option<OffsetDateTime>,
    ) -> Result<Vec<AuditEntry>, StoreError>;

    /// Stores a new request with the messages it owes (its confirmation mail) in one
    /// transaction: both or neither.
    async fn insert_request(
        &self,
        request: &SubjectRequest,
        outbox: &[OutboxItem],
    ) -> Result<(), StoreError>;

    /// The request with this id.
    async fn get_request(&self, id: uuid::Uuid) -> Result<Option<SubjectRequest>, StoreError>;

    /// Every request, oldest first.
    async fn list_requests(&self) -> Result<Vec<SubjectRequest>, StoreError>;

    /// Replaces a request if the stored copy still has `request.revision` (the stored copy
    /// then has one more); false when there is none, [`StoreError::Conflict`] when it changed.
    async fn update_request(&self, request: &SubjectRequest) -> Result<bool, StoreError>;
}
