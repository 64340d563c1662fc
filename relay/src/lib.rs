//! The kelisim form relay: it turns a contact-form submission into a consent-stamped record
//! and writes it durably to a [`store::Store`] before anyone is told it was received.
//!
//! The consent manifest ([`manifest`]) is the contract with the site generator: the generator
//! writes it next to the pages it publishes, and the relay accepts only submissions that
//! name a policy version and hash found in it.

pub mod manifest;
pub mod record;
pub mod store;
#[cfg(feature = "dynamodb")]
pub mod dynamodb;
