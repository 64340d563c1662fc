//! The data-subject request form's use cases (`/<lang>/request/`): a person chooses what they
//! ask for (access, rectification, withdrawal, blocking, erasure) and gives their email; the
//! owner of that mailbox confirms it through a mailed link.
//!
//! - [`submit`] stores the request, unconfirmed, with its confirmation mail in one write. The
//!   mail goes to the address given, so nobody can ask about (or erase) someone else's data:
//!   only the owner of the mailbox can confirm. It goes through the same rate limiter as the
//!   contact form, and the mailbox's confirmation-mail cap.
//! - [`inspect`] looks at a link without changing anything (a mail scanner's GET); [`confirm`]
//!   confirms it once (the person's POST from the link's page): the due date follows from the
//!   configured deadline per kind, and the request, the operator's notice and the audit entry
//!   are written in one transaction.

use std::net::IpAddr;

use time::OffsetDateTime;

use crate::app::context::Relay;
use crate::domain::audit::{AuditAction, AuditEntry};
use crate::domain::fields::{Email, ErrorCode};
use crate::domain::link::{self, LinkRefusal, LinkSecret, LinkToken};
use crate::domain::outbox::{MailQuota, OutboxItem, OutboxKind};
use crate::domain::request::{Channel, RequestKind, SubjectRequest};
use crate::domain::token::TokenAction;
use crate::store::{RequestInserted, StoreError};

/// One post of the request form, its fields as sent.
#[derive(Debug, Default)]
pub struct RequestPost {
    pub kind: String,
    pub email: String,
    pub lang: String,
    /// The honeypot, as on the contact form.
    pub website: String,
    /// The client's address as far as the transport knows it (the rate limiter's input).
    pub client: Option<IpAddr>,
}

/// What a request post ends in. Every variant carries the language to answer in.
#[derive(Debug)]
pub enum Posted {
    /// Stored (or a bot's honeypot): "check your mail".
    Sent { lang: String },
    /// A field refused.
    Invalid {
        lang: String,
        field: &'static str,
        code: ErrorCode,
    },
    /// Too many posts from this client, or too many stored submissions overall.
    RateLimited { lang: String, retry_after_secs: u64 },
    /// The store did not confirm the write.
    Unavailable { lang: String },
}

/// Receives one request post at `now`. Over the mailbox's confirmation-mail cap, or while
/// the mailbox's earlier request of the kind still waits for its link, the post is answered
/// exactly as a stored one and nothing is stored or sent: nobody learns anything, and nobody
/// can make the operator's domain mail someone again and again.
pub async fn submit(relay: &Relay, post: RequestPost, now: OffsetDateTime) -> Posted {
    let lang = relay.language(&post.lang);
    // Before anything is checked or stored; every post counts, a honeypot hit included.
    if let Err(wait) = relay.limiter.check(post.client) {
        tracing::info!(outcome = "rate_limited", "request form refused");
        return Posted::RateLimited {
            lang,
            retry_after_secs: wait.secs(),
        };
    }
    if !post.website.trim().is_empty() {
        tracing::info!(outcome = "honeypot", "request form discarded");
        return Posted::Sent { lang };
    }
    let Some(kind) = RequestKind::parse(post.kind.trim()) else {
        return Posted::Invalid {
            lang,
            field: "kind",
            code: ErrorCode::Required,
        };
    };
    let email = match Email::parse(&post.email) {
        Ok(email) => email,
        Err(code) => {
            return Posted::Invalid {
                lang,
                field: "email",
                code,
            };
        }
    };
    for reloaded in [false, true] {
        let used = relay.settings().hmac_key.key_check();
        match store_request(relay, kind, &email, &lang, now).await {
            Err(StoreError::WrongKey) if !reloaded && relay.reload_key(&used) => continue,
            Err(error) => {
                tracing::error!(%error, "store did not confirm the request");
                return Posted::Unavailable { lang };
            }
            Ok(inserted) => {
                tracing::info!(
                    outcome = inserted.label(),
                    kind = kind.as_str(),
                    "request received"
                );
                if inserted == RequestInserted::New {
                    relay.limiter.accepted();
                    relay.wake_delivery();
                }
                return Posted::Sent { lang };
            }
        }
    }
    Posted::Unavailable { lang }
}

/// Stores a new form request for `email` with its confirmation mail, under the cap.
async fn store_request(
    relay: &Relay,
    kind: RequestKind,
    email: &Email,
    lang: &str,
    now: OffsetDateTime,
) -> Result<RequestInserted, StoreError> {
    let settings = relay.settings();
    let email_hmac = settings.hmac_key.email_hmac(email);
    let secret = LinkSecret::new().ok_or_else(|| {
        StoreError::Backend("no random bytes for the confirmation link".to_owned())
    })?;
    let mut request =
        SubjectRequest::new(kind, Channel::Form, lang, email.as_str(), &email_hmac, now);
    request.link_expires_at = Some(now.saturating_add(settings.confirm_within));
    request.link_secret_sha256 = Some(secret.sha256);
    request.key_check = settings.hmac_key.key_check();
    let mail = OutboxItem::new(
        OutboxKind::ConfirmRequest {
            request_id: request.id,
            secret: Some(secret.secret),
        },
        now,
    );
    let quota = MailQuota::confirmations(&email_hmac, now);
    relay
        .store
        .insert_request(&request, &[mail], Some(&quota))
        .await
}

/// What a request's link leads to: the request's language and the request as confirming it
/// would leave it, or why the link does nothing.
pub type Looked = (Option<String>, Result<SubjectRequest, LinkRefusal>);

/// Checks `token` at `now` and says what confirming it would do, writing nothing.
pub async fn inspect(relay: &Relay, token: &str, now: OffsetDateTime) -> Looked {
    let settings = relay.settings();
    let token = match link::read_token(&settings.hmac_key, token, TokenAction::Request, now) {
        Ok(token) => token,
        Err(refusal) => return (None, Err(refusal)),
    };
    let mut request = match relay.store.get_request(token.subject()).await {
        Ok(Some(request)) => request,
        Ok(None) => return (None, Err(LinkRefusal::Invalid)),
        Err(error) => {
            tracing::error!(%error, "store failed while reading a request's link");
            return (None, Err(LinkRefusal::Unavailable));
        }
    };
    let lang = Some(request.language.clone());
    if let LinkToken::Secret { secret, .. } = &token
        && !link::secret_matches(secret, request.link_secret_sha256.as_deref())
    {
        return (lang, Err(LinkRefusal::Invalid));
    }
    if request.closed_at.is_some() || request.confirmed_at.is_some() {
        return (lang, Err(LinkRefusal::Used));
    }
    if request.link_expires_at.is_some_and(|until| now >= until) {
        return (lang, Err(LinkRefusal::Expired));
    }
    request.confirm(&relay.request_deadlines, now);
    (lang, Ok(request))
}

/// Confirms the request `token` names at `now`: the request, the operator's notice and the
/// audit entry are stored in one transaction, or none of them. Returns the request's
/// language with the result.
pub async fn confirm(
    relay: &Relay,
    token: &str,
    now: OffsetDateTime,
) -> (Option<String>, Result<(), LinkRefusal>) {
    let (lang, looked) = inspect(relay, token, now).await;
    let request = match looked {
        Ok(request) => request,
        Err(refusal) => return (lang, Err(refusal)),
    };
    let notify = OutboxItem::new(
        OutboxKind::NotifyRequest {
            request_id: request.id,
        },
        now,
    );
    let audit = AuditEntry::new(
        "data subject (confirmed by email)",
        AuditAction::RequestOpened,
        None,
        1,
        format!(
            "request {} ({}) confirmed",
            request.id,
            request.kind.as_str()
        ),
    );
    let result = match relay
        .store
        .update_request_with(&request, &[notify], &[audit])
        .await
    {
        Ok(true) => {
            tracing::info!(outcome = "request_confirmed", id = %request.id, "request confirmed");
            relay.wake_delivery();
            Ok(())
        }
        Ok(false) => Err(LinkRefusal::Invalid),
        // Someone confirmed it a moment ago (a double click): it is confirmed.
        Err(StoreError::Conflict(_)) => Err(LinkRefusal::Used),
        Err(error) => {
            tracing::error!(%error, "store failed while confirming a request");
            Err(LinkRefusal::Unavailable)
        }
    };
    (lang, result)
}
