//! Where records live: one trait per role (records, the outbox, the rights log, key state),
//! two back ends (SQLite on one machine, DynamoDB or a DynamoDB-compatible endpoint), one
//! JSON codec, and one conformance suite per role that every back end passes.
//!
//! The contract every implementation keeps: a write returns only after it is durable, and
//! the writes that belong together (a record with its dedup keys and its outbox items, a
//! data-subject request with its confirmation mail) are one transaction. Error texts never
//! hold personal data: they name the operation and the back end's error kind only.

#[cfg(any(feature = "sqlite", feature = "dynamodb"))]
mod codec;
mod error;
mod key_state;
mod outbox;
mod records;
mod rights_log;

#[cfg(feature = "dynamodb")]
pub mod dynamodb;
#[cfg(feature = "sqlite")]
pub mod sqlite;

pub use crate::domain::dedup::DedupKeys;
pub use error::StoreError;
pub use key_state::KeyStore;
pub use outbox::OutboxStore;
pub use records::{Inserted, RecordStore};
pub use rights_log::{RequestInserted, RightsLog};

/// Every role at once: what a back end implements, and what a transport hands to the
/// application layer, which passes each use case only the roles it needs.
pub trait Store: RecordStore + OutboxStore + RightsLog + KeyStore {}

impl<T: RecordStore + OutboxStore + RightsLog + KeyStore> Store for T {}
