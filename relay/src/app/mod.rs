//! The relay's use cases, between the transports and the domain: the contact form
//! ([`intake`]), the request form and its confirmation ([`requests`]), the double opt-in link
//! ([`consent`]), the operator's rights commands ([`rights`], [`keys`]), retention
//! ([`retention`]), what the operator's console adds to them ([`desk`]), and the check of
//! every consent stamp against the published site (`verify`, with the `verify` feature). The
//! axum handlers, the console's pages, the Lambda tasks and the commands only parse their
//! input, call one of these and render the outcome, so a new transport cannot forget a rule:
//! the rule is not in the transport.

pub mod desk;
pub mod inbox;
pub mod keys;
pub mod retention;
pub mod rights;
#[cfg(feature = "verify")]
pub mod verify;

pub mod consent;
pub mod context;
pub mod intake;
pub mod requests;

pub use context::Relay;
