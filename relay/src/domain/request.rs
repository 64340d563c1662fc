//! Data-subject requests with deadlines: what a person asked for (access, rectification,
//! withdrawal, blocking, erasure), when it was confirmed, when the answer is due, and how it
//! was closed.
//!
//! The due date comes from a deadline per kind, in calendar days. The defaults are settings,
//! not legal advice: sources on Law 94-V disagree (1 working day, 3 working days, 15 days)
//! and the law changed in 2026, so the operator sets them with counsel.
//!
//! A request holds the person's email only while it is open (the answer has to reach them);
//! closing it removes the address and its lookup hash, so a closed request holds no personal
//! data: its kind, dates and outcome stay as the record that the request was answered.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// What the person asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestKind {
    /// What is held about me (§4.1, §8.3).
    Access,
    /// Correct it (§8.3).
    Rectification,
    /// I withdraw my consent (§8.4).
    Withdrawal,
    /// Stop processing it (§2.2).
    Blocking,
    /// Destroy it (§2.14, §8.9).
    Erasure,
}

impl RequestKind {
    pub const ALL: [Self; 5] = [
        Self::Access,
        Self::Rectification,
        Self::Withdrawal,
        Self::Blocking,
        Self::Erasure,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Access => "access",
            Self::Rectification => "rectification",
            Self::Withdrawal => "withdrawal",
            Self::Blocking => "blocking",
            Self::Erasure => "erasure",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// Default deadlines in calendar days: settings, not legal advice (see the module docs).
pub const DEFAULT_DEADLINE_DAYS: [(&str, u32); 5] = [
    ("access", 15),
    ("rectification", 3),
    ("withdrawal", 1),
    ("blocking", 1),
    ("erasure", 3),
];

/// The default deadlines as a map, for configuration.
pub fn default_deadlines() -> BTreeMap<String, u32> {
    DEFAULT_DEADLINE_DAYS
        .iter()
        .map(|(k, d)| ((*k).to_owned(), *d))
        .collect()
}

/// How a request was closed. A fixed list, so no free text (and no personal data) ends up in
/// a closed request or the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Carried out.
    Done,
    /// Nothing was held about the person.
    NothingHeld,
    /// Refused (a reason is given to the person, not kept here).
    Refused,
    /// The person could not be verified, or withdrew the request.
    Abandoned,
}

impl Outcome {
    pub const ALL: [Self; 4] = [
        Self::Done,
        Self::NothingHeld,
        Self::Refused,
        Self::Abandoned,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Done => "done",
            Self::NothingHeld => "nothing_held",
            Self::Refused => "refused",
            Self::Abandoned => "abandoned",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|o| o.as_str() == text.replace('-', "_"))
    }
}

/// How the request reached the operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// The request page, confirmed through a mailed link.
    Form,
    /// By mail or letter, entered by the operator (`requests open`).
    Operator,
}

/// One data-subject request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubjectRequest {
    /// A UUIDv7: ids sort by time of receipt.
    pub id: Uuid,
    pub kind: RequestKind,
    pub channel: Channel,
    /// The language to answer in (`kk`, `ru`).
    pub language: String,
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    /// The address to answer; empty once the request is closed.
    #[serde(default)]
    pub email: String,
    /// Keyed hash of the address (to find the person's records); empty once closed.
    #[serde(default)]
    pub email_hmac: String,
    /// When the address's owner confirmed it (at once for requests the operator enters).
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub confirmed_at: Option<OffsetDateTime>,
    /// When the answer is due: confirmation plus the kind's deadline.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub due_at: Option<OffsetDateTime>,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub closed_at: Option<OffsetDateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    /// Raised by one with every stored update; updates are conditional on it.
    #[serde(default)]
    pub revision: u64,
    /// Until when the mailed confirmation link works (form requests). An unconfirmed request
    /// is removed, address and hash together, once this has passed.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub link_expires_at: Option<OffsetDateTime>,
    /// The SHA-256 of the mailed link's secret (see [`crate::domain::link`]), kept so a second
    /// use of the link is told "used".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_secret_sha256: Option<String>,
    /// The key-check value of the HMAC key `email_hmac` is under (see [`crate::domain::key_check`]).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub key_check: String,
}

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    /// Waiting for the address's owner to confirm it.
    Unconfirmed,
    Open,
    /// Open and past its due date.
    Overdue,
    Closed,
}

impl SubjectRequest {
    /// A new request, not yet confirmed.
    pub fn new(
        kind: RequestKind,
        channel: Channel,
        language: &str,
        email: &str,
        email_hmac: &str,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            id: Uuid::now_v7(),
            kind,
            channel,
            language: language.to_owned(),
            received_at: now,
            email: email.to_owned(),
            email_hmac: email_hmac.to_owned(),
            confirmed_at: None,
            due_at: None,
            closed_at: None,
            outcome: None,
            revision: 0,
            link_expires_at: None,
            link_secret_sha256: None,
            key_check: String::new(),
        }
    }

    /// Whether it waits for a confirmation whose link still works at `now`.
    pub fn awaits_confirmation(&self, now: OffsetDateTime) -> bool {
        self.closed_at.is_none()
            && self.confirmed_at.is_none()
            && self.link_expires_at.is_some_and(|until| now < until)
    }

    /// Confirms it at `now` and sets the due date from `deadlines` (days per kind; a kind
    /// without one is due the same day). False if it was already confirmed.
    pub fn confirm(&mut self, deadlines: &BTreeMap<String, u32>, now: OffsetDateTime) -> bool {
        if self.confirmed_at.is_some() {
            return false;
        }
        let days = deadlines.get(self.kind.as_str()).copied().unwrap_or(0);
        self.confirmed_at = Some(now);
        self.due_at = Some(now + Duration::days(i64::from(days)));
        true
    }

    /// Closes it with `outcome`, removing the address and its hash. False if already closed.
    pub fn close(&mut self, outcome: Outcome, now: OffsetDateTime) -> bool {
        if self.closed_at.is_some() {
            return false;
        }
        self.closed_at = Some(now);
        self.outcome = Some(outcome);
        self.email.clear();
        self.email_hmac.clear();
        true
    }

    pub fn status(&self, now: OffsetDateTime) -> RequestStatus {
        if self.closed_at.is_some() {
            RequestStatus::Closed
        } else if self.confirmed_at.is_none() {
            RequestStatus::Unconfirmed
        } else if self.due_at.is_some_and(|due| due < now) {
            RequestStatus::Overdue
        } else {
            RequestStatus::Open
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confirming_sets_the_due_date_and_closing_removes_the_address() {
        let now = time::macros::datetime!(2026-03-02 10:00 UTC);
        let mut request = SubjectRequest::new(
            RequestKind::Erasure,
            Channel::Form,
            "kk",
            "a@example.kz",
            "hash",
            now,
        );
        assert_eq!(request.status(now), RequestStatus::Unconfirmed);
        assert!(request.confirm(&default_deadlines(), now));
        assert!(!request.confirm(&default_deadlines(), now), "once");
        assert_eq!(request.due_at, Some(now + Duration::days(3)));
        assert_eq!(request.status(now), RequestStatus::Open);
        assert_eq!(
            request.status(now + Duration::days(4)),
            RequestStatus::Overdue
        );
        assert!(request.close(Outcome::Done, now));
        assert_eq!(
            request.status(now + Duration::days(4)),
            RequestStatus::Closed
        );
        assert!(request.email.is_empty() && request.email_hmac.is_empty());
        assert_eq!(Outcome::parse("nothing-held"), Some(Outcome::NothingHeld));
        assert_eq!(RequestKind::parse("blocking"), Some(RequestKind::Blocking));
    }
}
