//! The kelisim form relay: it turns a contact-form submission into a consent-stamped record
//! and writes it durably to a [`store::Store`] before anyone is told it was received.
//!
//! The consent manifest ([`manifest`]) is the contract with the site generator: the generator
//! writes it next to the pages it publishes, and the relay accepts only submissions that
//! name a policy version and hash found in it.
//!
//! Features: `http` (parsing, the axum router [`router::app`], configuration, logging),
//! `sqlite` ([`sqlite::SqliteStore`]), `notify` (SMTP and webhook delivery), `server` (the `kelisim-relay` binary), `dynamodb`,
//! `lambda`. With none, only the shared types are built (the generator's view).

pub mod access_report;
pub mod audit;
pub mod key_check;
/// The consent manifest, the contract with the generator (the `kelisim-manifest` crate).
pub use kelisim_manifest as manifest;
pub mod outbox;
pub mod record;
pub mod requests;
pub mod secret;
pub mod store;

#[cfg(feature = "http")]
pub mod config;
#[cfg(feature = "http")]
pub mod confirm;
#[cfg(feature = "http")]
pub mod deliver;
#[cfg(feature = "http")]
pub mod fields;
#[cfg(feature = "http")]
pub mod fingerprint;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "http")]
pub mod inbox;
#[cfg(feature = "http")]
pub mod intake;
#[cfg(feature = "http")]
pub mod messages;
#[cfg(feature = "http")]
pub mod rate_limit;
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
#[cfg(feature = "http")]
pub mod subject_requests;
#[cfg(feature = "http")]
pub mod submission;
#[cfg(feature = "http")]
pub mod telemetry;
#[cfg(feature = "http")]
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
