//! The transactional outbox: messages the relay owes someone (the operator's notification, a
//! visitor's confirmation link), written in the same store transaction as the record they are
//! about, and delivered afterwards by the deliverer (`crate::delivery`).
//!
//! Why an outbox: the visitor's answer must never wait on a mail server, and a record must
//! never be stored without its notification (or a notification sent for a record that was not
//! stored). Committing both together, then delivering with retries, gives exactly that. An item
//! holds ids and kinds only, never personal data: the deliverer reads the record when it sends.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::domain::record::RecordId;

/// An outbox item's id: a UUIDv7, so items sort by time of queueing.
pub type OutboxId = Uuid;

/// How a notification reaches the operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// Mail through the operator's SMTP server.
    Email,
    /// The signed JSON POST to the operator's webhook.
    Webhook,
}

/// What an item asks to be delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OutboxKind {
    /// Tell the operator that a record arrived.
    NotifyOperator {
        record_id: RecordId,
        channel: Channel,
    },
    /// Mail the record's address the link that confirms `purpose` (double opt-in).
    ConfirmPurpose {
        record_id: RecordId,
        purpose: String,
        /// The link's secret (see [`crate::domain::link::LinkSecret`]); only its hash is kept
        /// with the grant. Removed with the item once it is sent or ended.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        secret: Option<String>,
    },
    /// Mail a data-subject request's address the link that confirms the request.
    ConfirmRequest {
        request_id: Uuid,
        /// The link's secret, as for [`OutboxKind::ConfirmPurpose`].
        #[serde(default, skip_serializing_if = "Option::is_none")]
        secret: Option<String>,
    },
    /// Tell the operator that a data-subject request was confirmed and when it is due.
    NotifyRequest { request_id: Uuid },
}

impl OutboxKind {
    /// The record or request the item is about.
    pub fn subject(&self) -> Uuid {
        match self {
            Self::NotifyOperator { record_id, .. } | Self::ConfirmPurpose { record_id, .. } => {
                record_id.0
            }
            Self::ConfirmRequest { request_id, .. } | Self::NotifyRequest { request_id } => {
                *request_id
            }
        }
    }

    /// The record the item is about, when it is about a record.
    pub fn record_id(&self) -> Option<RecordId> {
        match self {
            Self::NotifyOperator { record_id, .. } | Self::ConfirmPurpose { record_id, .. } => {
                Some(*record_id)
            }
            Self::ConfirmRequest { .. } | Self::NotifyRequest { .. } => None,
        }
    }

    /// A short label for logs and listings.
    pub fn label(&self) -> String {
        match self {
            Self::NotifyOperator { channel, .. } => format!("notify:{channel:?}").to_lowercase(),
            Self::ConfirmPurpose { purpose, .. } => format!("confirm:{purpose}"),
            Self::ConfirmRequest { .. } => "confirm:request".to_owned(),
            Self::NotifyRequest { .. } => "notify:request".to_owned(),
        }
    }
}

/// One message owed, with its delivery bookkeeping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxItem {
    pub id: OutboxId,
    #[serde(flatten)]
    pub kind: OutboxKind,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Delivery attempts started so far.
    pub attempts: u32,
    /// Not before this moment: the next try, or the end of a running attempt's lease.
    #[serde(with = "time::serde::rfc3339")]
    pub due_at: OffsetDateTime,
    /// Why the last attempt failed: an error kind or an SMTP/HTTP status, never content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Ended for good: it will not be tried again unless the operator says so. A dead letter
    /// holds no personal data (ids, the kind and the reason only; a link's secret is removed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dead: Option<DeadLetter>,
    /// Held back while the record it is about is blocked (§2.2); released when it is
    /// unblocked.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub withheld: bool,
}

/// Why and when an item was ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// A permanent refusal (`smtp 550`, `http 404`), or the bounded life running out.
    pub reason: String,
}

impl OutboxItem {
    /// A new item, due at once.
    pub fn new(kind: OutboxKind, now: OffsetDateTime) -> Self {
        Self {
            id: Uuid::now_v7(),
            kind,
            created_at: now,
            attempts: 0,
            due_at: now,
            last_error: None,
            dead: None,
            withheld: false,
        }
    }

    /// Whether it waits to be sent (not dead, not withheld).
    pub fn is_live(&self) -> bool {
        self.dead.is_none() && !self.withheld
    }

    /// Whether it has used up its life at `now`: [`MAX_ATTEMPTS`] attempts, or [`MAX_AGE`]
    /// since it was queued, whichever comes first.
    pub fn is_spent(&self, now: OffsetDateTime) -> bool {
        self.attempts >= MAX_ATTEMPTS || now - self.created_at >= MAX_AGE
    }

    /// This item ended at `now` for `reason`: dead, and without the link's secret.
    pub fn buried(mut self, reason: &str, now: OffsetDateTime) -> Self {
        match &mut self.kind {
            OutboxKind::ConfirmPurpose { secret, .. }
            | OutboxKind::ConfirmRequest { secret, .. } => {
                *secret = None;
            }
            OutboxKind::NotifyOperator { .. } | OutboxKind::NotifyRequest { .. } => {}
        }
        self.dead = Some(DeadLetter {
            at: now,
            reason: reason.to_owned(),
        });
        self.withheld = false;
        self
    }
}

/// The most attempts an item gets before it becomes a dead letter.
pub const MAX_ATTEMPTS: u32 = 10;

/// The longest an item is tried, from when it was queued: an address that never accepts mail
/// must not be retried for ever, nor crowd real notifications out of each round.
pub const MAX_AGE: Duration = Duration::days(3);

/// How long a claimed attempt may run before another deliverer may take the item over: long
/// enough for a slow SMTP server, short enough that a crashed deliverer delays little. Counted
/// from each claim's own moment, never from the start of a round.
pub const LEASE: Duration = Duration::seconds(120);

/// Confirmation mails one mailbox may be sent in [`CONFIRMATION_WINDOW`], across the request
/// form and the newsletter's double opt-in together, whoever asks: the relay must not become
/// a way to mail someone again and again from the operator's domain.
pub const CONFIRMATIONS_PER_MAILBOX: u32 = 3;

/// The window [`CONFIRMATIONS_PER_MAILBOX`] counts in.
pub const CONFIRMATION_WINDOW: Duration = Duration::hours(24);

/// The per-recipient cap one write that queues a confirmation mail must fit in: the store
/// counts, atomically with the write, the confirmation mails queued for `recipient` (the
/// keyed hash of the normalized address) in the `window` before `at`, and writes nothing
/// when `limit` are already there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailQuota {
    pub recipient: String,
    pub limit: u32,
    pub window: Duration,
    pub at: OffsetDateTime,
}

impl MailQuota {
    /// The standard cap for `recipient` at `at`.
    pub fn confirmations(recipient: &str, at: OffsetDateTime) -> Self {
        Self {
            recipient: recipient.to_owned(),
            limit: CONFIRMATIONS_PER_MAILBOX,
            window: CONFIRMATION_WINDOW,
            at,
        }
    }
}

/// Where a store keeps an item that is not due at all (dead or withheld): past any time a
/// round asks for.
pub fn never() -> OffsetDateTime {
    OffsetDateTime::UNIX_EPOCH + Duration::days(365 * 3000)
}

/// When to try again after `attempts` failed attempts: 30 s doubling, capped at 6 hours, so
/// a mail server that is down for a weekend is retried a few times an hour, not hammered.
pub fn backoff(attempts: u32) -> Duration {
    let exponent = attempts.saturating_sub(1).min(16);
    let secs = 30_i64.saturating_mul(1_i64 << exponent);
    Duration::seconds(secs.min(6 * 3600))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(1), Duration::seconds(30));
        assert_eq!(backoff(2), Duration::seconds(60));
        assert_eq!(backoff(5), Duration::seconds(480));
        assert_eq!(backoff(40), Duration::hours(6));
    }

    #[test]
    fn items_serialize_with_their_kind_and_no_personal_fields() {
        let item = OutboxItem::new(
            OutboxKind::ConfirmPurpose {
                record_id: RecordId::new(),
                purpose: "newsletter".to_owned(),
                secret: None,
            },
            OffsetDateTime::UNIX_EPOCH,
        );
        let json = serde_json::to_string(&item).expect("json");
        assert!(json.contains("\"kind\":\"confirm_purpose\""), "{json}");
        let back: OutboxItem = serde_json::from_str(&json).expect("parse");
        assert_eq!(back, item);
    }
}
