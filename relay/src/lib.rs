//! The kelisim form relay: it turns a contact-form submission into a consent-stamped record
//! and writes it durably to a [`store::Store`] before anyone is told it was received.
//!
//! The consent manifest ([`manifest`]) is the contract with the site generator: the generator
//! writes it next to the pages it publishes, and the relay accepts only submissions that
//! name a policy version and hash found in it.
//!
//! Features:
//! - `intake`: the intake domain without HTTP ([`submission::Submission::parse`], the field
//!   parsers, the consent stamp, configuration, visitor messages, data-subject requests);
//! - `http`: `intake` plus the axum router [`router::app`], its handlers, the static file
//!   service and logging;
//! - `sqlite` ([`sqlite::SqliteStore`]), `notify` (SMTP and webhook delivery), `server` (the
//!   `kelisim-relay` binary), `dynamodb` (the store only), `lambda` (the `bootstrap` binary).
//!
//! With none, only the shared types are built (records, the store trait, the manifest).

pub mod access_report;
pub mod audit;
pub mod key_check;
/// The consent manifest, the contract with the generator (the `kelisim-manifest` crate).
pub use kelisim_manifest as manifest;
pub mod outbox;
pub mod record;
pub mod requests;
pub mod secret;
pub mod security_headers;
pub mod store;

#[cfg(feature = "server")]
pub mod backup;
#[cfg(feature = "intake")]
pub mod config;
#[cfg(feature = "http")]
pub mod confirm;
#[cfg(feature = "http")]
pub mod deliver;
#[cfg(feature = "server")]
pub mod doctor;
#[cfg(feature = "intake")]
pub mod fields;
#[cfg(feature = "intake")]
pub mod fingerprint;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "intake")]
pub mod inbox;
#[cfg(feature = "intake")]
pub mod intake;
#[cfg(feature = "intake")]
pub mod messages;
#[cfg(feature = "intake")]
pub mod rate_limit;
#[cfg(feature = "intake")]
pub mod replay;
#[cfg(feature = "http")]
pub mod request_form;
#[cfg(feature = "http")]
pub mod router;
#[cfg(feature = "server")]
pub mod server;
#[cfg(feature = "http")]
pub mod site_files;
#[cfg(feature = "sqlite")]
pub mod sqlite;
#[cfg(feature = "intake")]
pub mod subject_requests;
#[cfg(feature = "intake")]
pub mod submission;
#[cfg(feature = "http")]
pub mod telemetry;
#[cfg(feature = "intake")]
pub mod token;
#[cfg(feature = "notify")]
pub mod transport;

#[cfg(feature = "dynamodb")]
pub mod dynamodb;
#[cfg(feature = "lambda")]
pub mod lambda;

#[cfg(feature = "http")]
pub use http::AppState;
#[cfg(feature = "http")]
pub use router::app;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;
