//! The rights log role: the audit log of operator actions and the data-subject requests.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::error::StoreError;
use crate::domain::audit::AuditEntry;
use crate::domain::outbox::{MailQuota, OutboxItem};
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
    /// transaction: both or neither. Within it, as for records: the request's lookup hash
    /// must be under a key the store takes ([`StoreError::WrongKey`]); when `quota` is given
    /// the recipient's cap must have room ([`RequestInserted::OverQuota`]); and a request
    /// that waits for its link ([`SubjectRequest::awaits_confirmation`]) is not stored while
    /// another of the same kind for the same `email_hmac` still waits for a link that works
    /// ([`RequestInserted::AlreadyPending`]). Nothing is written in those cases.
    async fn insert_request(
        &self,
        request: &SubjectRequest,
        outbox: &[OutboxItem],
        quota: Option<&MailQuota>,
    ) -> Result<RequestInserted, StoreError>;

    /// The request with this id.
    async fn get_request(&self, id: uuid::Uuid) -> Result<Option<SubjectRequest>, StoreError>;

    /// Every request, oldest first.
    async fn list_requests(&self) -> Result<Vec<SubjectRequest>, StoreError>;

    /// Replaces a request if the stored copy still has `request.revision` (the stored copy
    /// then has one more); false when there is none, [`StoreError::Conflict`] when it changed.
    async fn update_request(&self, request: &SubjectRequest) -> Result<bool, StoreError> {
        self.update_request_with(request, &[], &[]).await
    }

    /// [`RightsLog::update_request`], and in the same transaction queues `outbox` and appends
    /// `audit`: a confirmation, its operator's notice and its audit entry are all stored, or
    /// none.
    async fn update_request_with(
        &self,
        request: &SubjectRequest,
        outbox: &[OutboxItem],
        audit: &[AuditEntry],
    ) -> Result<bool, StoreError>;

    /// Removes, address and hash together, every request still unconfirmed whose link expired
    /// before `now`. Returns how many.
    async fn purge_unconfirmed_requests(&self, now: OffsetDateTime) -> Result<u64, StoreError>;
}

/// What inserting a request did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestInserted {
    New,
    /// Another request of the kind for the mailbox still waits for its link: nothing stored.
    AlreadyPending,
    /// The mailbox's confirmation-mail cap is full: nothing stored.
    OverQuota,
}

impl RequestInserted {
    /// The outcome as logs name it.
    pub fn label(self) -> &'static str {
        match self {
            Self::New => "request_stored",
            Self::AlreadyPending => "request_already_pending",
            Self::OverQuota => "request_over_quota",
        }
    }
}
