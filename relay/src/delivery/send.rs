//! How a message leaves: the mail and webhook senders as traits (the real ones are in
//! [`super::senders`], the preview's is [`CaptureMailer`]), and the webhook's signature.

use std::collections::VecDeque;
use std::sync::Mutex;

use async_trait::async_trait;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use time::OffsetDateTime;

use crate::domain::secret::Secret;

/// One mail, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub to: Vec<String>,
    pub subject: String,
    pub body: String,
    /// `<outbox-id@kelisim>`: the same on every retry, so a receiving server can drop a
    /// second copy after an attempt whose acceptance was lost.
    pub message_id: String,
    /// Files sent with the text (the consent receipt with the confirmation mail).
    pub attachments: Vec<Attachment>,
}

/// A file attached to a mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub filename: String,
    /// Its media type, e.g. `application/jose` for a receipt.
    pub content_type: String,
    pub content: String,
}

/// Why one attempt failed. Holds an error kind or status code, never content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct SendError {
    pub reason: String,
    /// The other side refused for good (an SMTP 5xx, a webhook 4xx other than 408 and 429,
    /// an address or message it can never take): trying again cannot help.
    pub permanent: bool,
}

impl SendError {
    /// A failure worth another attempt later.
    pub fn retry(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            permanent: false,
        }
    }

    /// A refusal that ends the item at once.
    pub fn permanent(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            permanent: true,
        }
    }
}

/// Something that sends mail: the operator's SMTP server, or the preview's capture.
#[async_trait]
pub trait MailTransport: Send + Sync {
    async fn send(&self, mail: &Mail) -> Result<(), SendError>;
}

/// Something that POSTs the webhook; it holds the secret and signs each attempt with the
/// time it is sent at (see [`webhook_signature`]).
#[async_trait]
pub trait WebhookTransport: Send + Sync {
    /// Sends `body` (JSON). Success means a 2xx answer.
    async fn post(&self, body: &str) -> Result<(), SendError>;
}

/// Keeps mail instead of sending it: `kelisim serve` shows it at `/__kelisim/mail`, so an
/// editor sees the confirmation mail exactly as a visitor would get it. Holds the last
/// [`CaptureMailer::CAPACITY`] mails, in memory only.
#[derive(Debug, Default)]
pub struct CaptureMailer {
    mails: Mutex<VecDeque<(OffsetDateTime, Mail)>>,
}

impl CaptureMailer {
    pub const CAPACITY: usize = 50;

    /// The captured mails, newest first, with when each was captured.
    pub fn mails(&self) -> Vec<(OffsetDateTime, Mail)> {
        self.mails
            .lock()
            .map(|m| m.iter().rev().cloned().collect())
            .unwrap_or_default()
    }
}

#[async_trait]
impl MailTransport for CaptureMailer {
    async fn send(&self, mail: &Mail) -> Result<(), SendError> {
        let mut mails = self
            .mails
            .lock()
            .map_err(|_| SendError::retry("capture lock poisoned"))?;
        if mails.len() == Self::CAPACITY {
            mails.pop_front();
        }
        mails.push_back((OffsetDateTime::now_utc(), mail.clone()));
        Ok(())
    }
}

/// The `Kelisim-Signature` header value for `body` sent at `timestamp`:
/// `t=<unix>,v1=<hex HMAC-SHA256 of "<unix>.<body>">`, as Stripe signs its webhooks.
pub fn webhook_signature(secret: &Secret<String>, timestamp: i64, body: &str) -> String {
    let digest = match Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()) {
        Ok(mut mac) => {
            mac.update(timestamp.to_string().as_bytes());
            mac.update(b".");
            mac.update(body.as_bytes());
            hex::encode(mac.finalize().into_bytes())
        }
        // HMAC takes keys of any length; this arm cannot be reached.
        Err(_) => String::new(),
    };
    format!("t={timestamp},v1={digest}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_follow_the_documented_scheme() {
        let secret = Secret::new("whsec_test".to_owned());
        let header = webhook_signature(&secret, 1_700_000_000, "{\"a\":1}");
        let (t, v1) = header.split_once(',').expect("two parts");
        assert_eq!(t, "t=1700000000");
        let digest = v1.strip_prefix("v1=").expect("v1");
        let mut mac = Hmac::<Sha256>::new_from_slice(b"whsec_test").expect("key");
        mac.update(b"1700000000.{\"a\":1}");
        assert_eq!(digest, hex::encode(mac.finalize().into_bytes()));
    }
}
