//! What makes a second copy of a submission the same submission: the keys every store checks
//! atomically with its insert.

use time::OffsetDateTime;

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
