//! The kelisim form relay: it turns a contact-form submission into a consent-stamped record
//! and writes it durably to a store before anyone is told it was received.
//!
//! The consent manifest ([`manifest`]) is the contract with the site generator: the generator
//! writes it next to the pages it publishes, and the relay accepts only submissions that
//! name a policy version and hash found in it.
//!
//! The folders follow the two flows (see `docs/architecture.md`):
//! - [`domain`]: what a submission, a record, a request, an outbox item are; pure rules;
//! - [`app`]: the use cases (intake, requests, links, rights, keys, retention) that every
//!   transport calls;
//! - [`store`]: one trait per role and the SQLite and DynamoDB back ends;
//! - `published`: the published site read back (a built directory or over HTTP), where
//!   `records verify` finds the texts a stamp names;
//! - [`delivery`]: what the outbox owes, written and sent;
//! - [`web`]: the axum router and its thin handlers; [`lambda`]: the Lambda glue;
//! - [`views`] and [`ops`]: the operator's views of records, backups, restore and `doctor`;
//! - [`console`]: the operator's console, a web app on a loopback address (`server`);
//! - [`config`]: the relay's settings; [`telemetry`]: logging.
//!
//! Features:
//! - `intake`: the domain and the use cases without HTTP (what the fuzzer and the benches
//!   use);
//! - `http`: `intake` plus the axum router [`web::app`], its handlers, the static file
//!   service and logging;
//! - `verify`: `app::verify` and `published`, the check of stored stamps against the site;
//! - `sqlite` ([`store::sqlite::SqliteStore`]), `notify` (SMTP and webhook delivery), `server`
//!   (the `kelisim-relay` binary), `dynamodb` (the store only), `lambda` (the `bootstrap`
//!   binary).
//!
//! With none, only the shared types are built (records, the store traits, the manifest).

/// The consent manifest, the contract with the generator (the `kelisim-manifest` crate).
pub use kelisim_manifest as manifest;

pub mod domain;
pub mod store;

#[cfg(feature = "intake")]
pub mod app;
#[cfg(feature = "intake")]
pub mod config;
#[cfg(feature = "server")]
pub mod console;
#[cfg(feature = "http")]
pub mod delivery;
#[cfg(feature = "lambda")]
pub mod lambda;
#[cfg(feature = "server")]
pub mod ops;
#[cfg(feature = "verify")]
pub mod published;
#[cfg(feature = "http")]
pub mod telemetry;
#[cfg(feature = "intake")]
pub mod views;
#[cfg(feature = "http")]
pub mod web;
