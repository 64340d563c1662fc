//! The data-subject request form's use cases (`/<lang>/request/`): a person chooses what they
//! ask for (access, rectification, withdrawal, blocking, erasure) and gives their email; the
//! owner of that mailbox confirms it through a mailed link.
//!
//! - [`submit`] stores the request, unconfirmed, with its confirmation mail in one write. The
//!   mail goes to the address given, so nobody can ask about (or erase) someone else's data:
//!   only the owner of the mailbox can confirm. It goes through the same rate limiter as the
//!   contact form.
//! - [`confirm`] confirms it once: the due date follows from the configured deadline per kind,
//!   the operator is notified through the outbox, and the audit log records it.

use std::net::IpAddr;

use time::OffsetDateTime;

use crate::app::context::Relay;
use crate::domain::audit::{AuditAction, AuditEntry};
use crate::domain::fields::{Email, ErrorCode};
use crate::domain::link::{self, LinkRefusal};
use crate::domain::outbox::{OutboxItem, OutboxKind};
use crate::domain::request::{Channel, RequestKind, SubjectRequest};
use crate::domain::token::TokenAction;
use crate::store::StoreError;

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

/// Receives one request post at `now`.
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
    let email_hmac = relay.settings.hmac_key.email_hmac(&email);
    let request = SubjectRequest::new(kind, Channel::Form, &lang, email.as_str(), &email_hmac, now);
    let mail = OutboxItem::new(
        OutboxKind::ConfirmRequest {
            request_id: request.id,
        },
        now,
    );
    match relay.store.insert_request(&request, &[mail]).await {
        Ok(()) => {
            tracing::info!(outcome = "request_stored", id = %request.id, kind = kind.as_str(), "request received");
            relay.limiter.accepted();
            relay.wake_delivery();
            Posted::Sent { lang }
        }
        Err(error) => {
            tracing::error!(%error, "store did not confirm the request");
            Posted::Unavailable { lang }
        }
    }
}

/// Confirms the request `token` names at `now`. Returns the request's language (to answer
/// in) with the result.
pub async fn confirm(
    relay: &Relay,
    token: &str,
    now: OffsetDateTime,
) -> (Option<String>, Result<(), LinkRefusal>) {
    let claims = match link::verify(&relay.settings.hmac_key, token, TokenAction::Request, now) {
        Ok(claims) => claims,
        Err(refusal) => return (None, Err(refusal)),
    };
    let mut request = match relay.store.get_request(claims.subject).await {
        Ok(Some(request)) => request,
        _ => return (None, Err(LinkRefusal::Invalid)),
    };
    let lang = Some(request.language.clone());
    if !request.confirm(&relay.request_deadlines, now) {
        return (lang, Err(LinkRefusal::Used));
    }
    let result = match record_confirmation(relay, &request, now).await {
        Ok(true) => {
            tracing::info!(outcome = "request_confirmed", id = %request.id, "request confirmed");
            relay.wake_delivery();
            Ok(())
        }
        Ok(false) => Err(LinkRefusal::Used),
        Err(error) => {
            tracing::error!(%error, "store failed while confirming a request");
            Err(LinkRefusal::Invalid)
        }
    };
    (lang, result)
}

/// Stores the confirmed request, the operator's notice and the audit entry. False when the
/// request is gone.
async fn record_confirmation(
    relay: &Relay,
    request: &SubjectRequest,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
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
    if !relay.store.update_request(request).await? {
        return Ok(false);
    }
    relay.store.enqueue_item(&notify).await?;
    relay.store.append_audit(&audit).await?;
    Ok(true)
}
