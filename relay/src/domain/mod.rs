//! The relay's domain: what a submission, a consent record, a data-subject request, an
//! outbox item and an audit entry are, the pure rules that build and change them, and the
//! check of a stamp against the texts the site publishes (`verify`). No I/O and no clock of
//! its own: every function takes the moment it works at.

pub mod audit;
pub mod dedup;
pub mod inbox;
pub mod key_check;
pub mod outbox;
pub mod record;
pub mod request;
pub mod secret;
pub mod verify;

#[cfg(feature = "intake")]
pub mod fields;
#[cfg(feature = "intake")]
pub mod hmac_key;
#[cfg(feature = "intake")]
pub mod link;
#[cfg(feature = "intake")]
pub mod messages;
#[cfg(feature = "intake")]
pub mod plan;
#[cfg(feature = "intake")]
pub mod rate_limit;
#[cfg(feature = "intake")]
pub mod receipt;
#[cfg(feature = "intake")]
pub mod receipt_key;
#[cfg(feature = "intake")]
pub mod stamp;
#[cfg(feature = "intake")]
pub mod submission;
#[cfg(feature = "intake")]
pub mod token;
