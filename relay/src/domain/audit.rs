//! The audit log: one entry per operator action and per data-subject request, kept in the
//! same store as the records, holding no personal data.
//!
//! An entry says when, who (the operator's login or `--by`), what, which record id and how
//! many records were affected. It never holds a name, an email, a phone, a message or a
//! lookup hash, so erasing a person leaves their entries in place and those entries point to
//! nothing personal: a record id is a random UUID that identifies no one once the record is
//! gone.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::record::RecordId;

/// What was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    /// `records find`: a look-up by email or phone.
    Find,
    /// `records export`: an access request answered (§4.1, §8.3).
    Export,
    /// `records answer`: a message marked answered, its reply purpose ending after
    /// `[retention_days] reply_after_answer` days (the detail).
    Answer,
    Rectify,
    Block,
    Unblock,
    Withdraw,
    Erase,
    Anonymize,
    /// `purge-expired`: the retention purge (§5.7, §8.8).
    PurgeExpired,
    /// `rekey`: every lookup hash re-derived under a new key.
    Rekey,
    /// The first command or `serve` on a store stored the key-check value.
    KeyCheckStored,
    /// A data-subject request was entered or confirmed.
    RequestOpened,
    /// A data-subject request was closed.
    RequestClosed,
    /// A mailing list was downloaded (the console), with its purpose and format.
    MailingList,
    /// An outbox item was made due again ("retry now").
    DeliveryRetry,
}

impl AuditAction {
    /// Every action, in the order the audit log's filter offers them.
    pub const ALL: [Self; 16] = [
        Self::Find,
        Self::Export,
        Self::Answer,
        Self::Rectify,
        Self::Block,
        Self::Unblock,
        Self::Withdraw,
        Self::Erase,
        Self::Anonymize,
        Self::PurgeExpired,
        Self::Rekey,
        Self::KeyCheckStored,
        Self::RequestOpened,
        Self::RequestClosed,
        Self::MailingList,
        Self::DeliveryRetry,
    ];

    /// The action named `text` (as [`AuditAction::as_str`] writes it).
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == text)
    }

    /// The action as shown by `kelisim-relay audit`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Find => "find",
            Self::Export => "export",
            Self::Answer => "answer",
            Self::Rectify => "rectify",
            Self::Block => "block",
            Self::Unblock => "unblock",
            Self::Withdraw => "withdraw",
            Self::Erase => "erase",
            Self::Anonymize => "anonymize",
            Self::PurgeExpired => "purge_expired",
            Self::Rekey => "rekey",
            Self::KeyCheckStored => "key_check_stored",
            Self::RequestOpened => "request_opened",
            Self::RequestClosed => "request_closed",
            Self::MailingList => "mailing_list",
            Self::DeliveryRetry => "delivery_retry",
        }
    }
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// A UUIDv7, so entries sort by time.
    pub id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Who acted: `--by`, else `$USER`.
    pub actor: String,
    pub action: AuditAction,
    /// The record acted on; `None` for an action on no single record (a purge, a look-up
    /// that found nothing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_id: Option<RecordId>,
    /// How many records the action changed (or, for a look-up or export, returned).
    pub affected: u64,
    /// Non-personal details only: a purpose id, field names, categories dropped, `dry run`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

impl AuditEntry {
    /// An entry stamped now.
    pub fn new(
        actor: &str,
        action: AuditAction,
        record_id: Option<RecordId>,
        affected: u64,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            id: Uuid::now_v7(),
            at: OffsetDateTime::now_utc(),
            actor: actor.to_owned(),
            action,
            record_id,
            affected,
            detail: detail.into(),
        }
    }

    /// The sort key both stores order entries by: the time, then the id.
    pub fn sort_key(&self) -> String {
        format!(
            "{:020}#{}",
            self.at.unix_timestamp_nanos().max(0),
            self.id.simple()
        )
    }
}
