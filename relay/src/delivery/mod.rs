//! Delivering what the outbox owes: what each message says ([`mail`]), how it leaves
//! ([`send`]; the real SMTP and webhook senders in [`senders`]), and the rounds that claim,
//! send, retry and remove items ([`deliverer`]).

pub mod deliverer;
pub mod mail;
pub mod send;
#[cfg(feature = "notify")]
pub mod senders;

pub use deliverer::{Deliverer, DeliveryReport, spawn_background};
pub use mail::{Composer, DeliverySettings, webhook_payload};
pub use send::{
    Attachment, CaptureMailer, Mail, MailTransport, SendError, WebhookTransport, webhook_signature,
};
