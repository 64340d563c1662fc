//! How records look: to the operator (the inbox, one record whole, the mailing list, the
//! result of `records verify`) and to the person (the access report). Pure functions from
//! records to text, HTML or JSON rows.

pub mod access_report;
pub mod inbox;
pub mod verify;
