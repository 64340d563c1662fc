//! The one-machine store: every role in one SQLite file (WAL, `synchronous=FULL`,
//! `secure_delete`), on the relay's own disk.

mod database;
mod errors;
mod group_commit;
mod key_state;
mod outbox;
mod quota;
mod records;
mod rights_log;
mod rows;
mod schema;
mod scrub;

pub use database::SqliteStore;
pub use rows::read_key_state;
pub use schema::SCHEMA_VERSION;
pub use scrub::is_pending as scrub_is_pending;

/// The most inserts committed in one transaction (see `group_commit`).
pub const MAX_INSERT_BATCH: usize = group_commit::MAX_BATCH;
