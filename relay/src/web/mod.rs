//! The relay over HTTP: the axum router and its thin handlers (check the origin, read the
//! input, call one use case of [`crate::app`], render the outcome), the URL shapes, the
//! client's address, the static site service, the security headers and the standalone
//! server's connection handling.

pub mod answer;
pub mod client;
pub mod form;
pub mod links;
pub mod origin;
pub mod request_form;
pub mod router;
pub mod routes;
pub mod security_headers;
pub mod site_files;
pub mod state;

#[cfg(feature = "server")]
mod lingering_close;
#[cfg(feature = "server")]
pub mod server;

pub use client::RuntimeClientAddr;
pub use router::app;
pub use state::{AppState, StateError};
