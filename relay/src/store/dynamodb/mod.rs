//! The cloud store: every role in one DynamoDB table, at AWS or any DynamoDB-compatible server.
//!
//! # Table layout (single table, `relay/dynamodb-table.json`)
//!
//! | item | `pk` | other attributes |
//! |---|---|---|
//! | record | `REC#<uuid>` | `kind=record`, `record_id`, `record` (JSON), `email_hmac`, `expires_at`, `fp_pk`, `idem_pk`, `sort_key` (inbox shelf, then id) |
//! | idempotency key | `IDEM#<sha256 hex of the key>` | `kind=idempotency`, `record_id`, `expires_at` (the record's) |
//! | fingerprint | `FP#<fingerprint>` | `kind=fingerprint`, `record_id`, `expires_at` (end of the window) |
//! | outbox item | `OUT#<uuid>` | `kind=outbox`, `record_id`, `item` (JSON), `due_at`, `sort_key` (due time + id) |
//! | audit entry | `AUDIT#<uuid>` | `kind=audit`, `sort_key` (time, then id), `body` (JSON) |
//! | data-subject request | `REQ#<uuid>` | `kind=request`, `sort_key` (the id), `revision`, `body` (JSON) |
//! | key-check state | `META#key_state` | `kind=meta`, `body` (JSON) |
//! | older records shelved | `META#inbox_shelves` | `kind=meta` (see `inbox.rs`) |
//!
//! A record lists its outbox items in `out_pks`, so erasing it removes them too. GSI
//! `by_kind_sort` (`kind`, `sort_key`) finds the due outbox items without a scan; `due_at` is
//! deliberately not the TTL attribute, so an undelivered message never expires by itself. The
//! same index, with kind `record`, holds the inbox: a record's `sort_key` is its shelf
//! (unanswered, answered, blocked, closed) then its id, so a page of one shelf is one bounded
//! query in time order.
//!
//! `expires_at` is epoch seconds and the table's TTL attribute, so DynamoDB deletes records
//! and dedup items by itself (lazily, within about two days); [`crate::store::RecordStore::purge_expired`] does it
//! on time, and is the only deletion on servers without TTL (moto never deletes).
//! GSIs `by_email_hmac` and `by_phone_hmac` serve data-subject requests; GSI `by_expiry` (`kind`, `expires_at`)
//! lets purging query instead of scanning the whole table.
//!
//! # Why the record is one JSON string attribute
//!
//! The record is nested (subject, consent stamp, purposes, operator) and versioned by
//! `schema_version`. Keeping it as the same serde JSON the other stores and exports use means
//! one serialization to keep right, no hand-written attribute mapping to drift, and exactly the
//! bytes that were accepted are what a data-subject request returns. Only what DynamoDB itself
//! must see (key, index keys, TTL) is lifted out into attributes. Nothing queries inside the
//! record, and updates replace it whole, so nothing is lost by not splitting it.

mod client;
mod errors;
mod guards;
mod inbox;
mod insert;
mod items;
mod key_state;
mod outbox;
mod query;
mod records;
mod rights_log;
mod table;

pub use crate::config::DynamoConfig;
pub use client::{
    ATTEMPT_TIMEOUT, CONNECT_TIMEOUT, DynamoStore, NoTable, OPERATION_TIMEOUT, client,
    https_client, timeouts,
};
pub use errors::is_throttling;
pub use guards::{ATTR_WRITERS, KIND_QUOTA, quota_pk};
pub use items::*;
pub use table::{TABLE_DEFINITION_JSON, TableDefinition, create_table};
