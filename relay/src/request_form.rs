//! The data-subject request form (`/<lang>/request/`): a person chooses what they ask for
//! (access, rectification, withdrawal, blocking, erasure) and gives their email.
//!
//! - `POST <endpoint>/request` queues a confirmation mail, then stores the request as
//!   unconfirmed. The mail goes to the address given, so nobody can ask about (or erase)
//!   someone else's data: only the owner of the mailbox can confirm. (Queued first: if storing
//!   then fails, the deliverer finds no request and drops the mail.)
//! - `GET <endpoint>/request/confirm?token=…` confirms it once: the due date follows from the
//!   configured deadline per kind, the operator is notified through the outbox, and the audit
//!   log records it. Bad, expired or used links land on the confirmation error page.
//!
//! The answers are redirects to static pages the generator builds, in the person's language;
//! nothing the person typed is put in a URL.

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use time::OffsetDateTime;

use crate::audit::{AuditAction, AuditEntry};
use crate::confirm::{ConfirmQuery, link_query};
use crate::fields::{Email, ErrorCode};
use crate::http::{AppState, see_other_public};
use crate::outbox::{OutboxItem, OutboxKind};
use crate::requests::{Channel, RequestKind, SubjectRequest};
use crate::token::{self, TokenAction, TokenError};

/// The request routes, under the form endpoint.
pub const REQUEST_SUFFIX: &str = "/request";
pub const REQUEST_CONFIRM_SUFFIX: &str = "/request/confirm";

/// The request form's fields.
#[derive(Debug, Default, Deserialize)]
struct RequestFields {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    lang: String,
    /// The honeypot, as on the contact form.
    #[serde(default)]
    website: String,
}

/// What a request post ends in.
enum Posted {
    /// Stored (or a bot's honeypot): 303 to the "check your mail" page.
    Sent,
    /// 303 to the form error page with `?errors=field:code`.
    Invalid(&'static str, ErrorCode),
    Unavailable,
}

/// `POST <endpoint>/request`.
pub async fn submit(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    if state.check_request_origin(&headers).is_err() {
        return (StatusCode::FORBIDDEN, "forbidden origin").into_response();
    }
    let fields: RequestFields = serde_html_form::from_bytes(&body).unwrap_or_default();
    let lang = if state.manifest().languages.contains_key(fields.lang.trim()) {
        fields.lang.trim().to_owned()
    } else {
        state.manifest().default_language.clone()
    };
    let posted = receive(&state, &fields, &lang).await;
    let language = state.manifest().languages.get(&lang);
    let mut response = match posted {
        Posted::Sent => match language.and_then(|l| l.request_sent_url.as_deref()) {
            Some(url) => see_other_public(url),
            None => StatusCode::ACCEPTED.into_response(),
        },
        Posted::Invalid(field, code) => match language {
            Some(l) => {
                let separator = if l.error_url.contains('?') { '&' } else { '?' };
                see_other_public(&format!("{}{separator}errors={field}:{code}", l.error_url))
            }
            None => StatusCode::UNPROCESSABLE_ENTITY.into_response(),
        },
        Posted::Unavailable => {
            let mut response = (
                StatusCode::SERVICE_UNAVAILABLE,
                state
                    .messages()
                    .text(&lang, crate::messages::Notice::Unavailable),
            )
                .into_response();
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(crate::http::RETRY_AFTER_SECS),
            );
            response
        }
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn receive(state: &AppState, fields: &RequestFields, lang: &str) -> Posted {
    if !fields.website.trim().is_empty() {
        tracing::info!(outcome = "honeypot", "request form discarded");
        return Posted::Sent;
    }
    let Some(kind) = RequestKind::parse(fields.kind.trim()) else {
        return Posted::Invalid("kind", ErrorCode::Required);
    };
    let email = match Email::parse(&fields.email) {
        Ok(email) => email,
        Err(code) => return Posted::Invalid("email", code),
    };
    let now = OffsetDateTime::now_utc();
    let email_hmac = state.hmac_key().email_hmac(&email);
    let request = SubjectRequest::new(kind, Channel::Form, lang, email.as_str(), &email_hmac, now);
    let item = OutboxItem::new(
        OutboxKind::ConfirmRequest {
            request_id: request.id,
        },
        now,
    );
    let stored = async {
        state.store().enqueue(&item).await?;
        state.store().insert_request(&request).await
    };
    match stored.await {
        Ok(()) => {
            tracing::info!(outcome = "request_stored", id = %request.id, kind = kind.as_str(), "request received");
            state.kick_delivery();
            Posted::Sent
        }
        Err(error) => {
            tracing::error!(%error, "store did not confirm the request");
            Posted::Unavailable
        }
    }
}

/// `GET <endpoint>/request/confirm?token=…`.
pub async fn confirm(
    State(state): State<AppState>,
    query: Result<Query<ConfirmQuery>, QueryRejection>,
) -> Response {
    let (token, mut lang) = link_query(&state, query);
    let outcome = match token {
        Some(token) => apply(&state, &token, &mut lang).await,
        None => Err("invalid"),
    };
    let language = state.manifest().languages.get(&lang);
    let url = match outcome {
        Ok(()) => language.and_then(|l| l.request_confirmed_url.clone()),
        Err(reason) => language
            .and_then(|l| l.confirm_error_url.as_ref())
            .map(|u| format!("{u}?reason={reason}")),
    };
    let mut response = match url {
        Some(url) => see_other_public(&url),
        None if outcome.is_ok() => StatusCode::OK.into_response(),
        None => StatusCode::BAD_REQUEST.into_response(),
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn apply(state: &AppState, token: &str, lang: &mut String) -> Result<(), &'static str> {
    let now = OffsetDateTime::now_utc();
    let claims = token::verify(state.hmac_key(), token, now).map_err(|e| match e {
        TokenError::Invalid => "invalid",
        TokenError::Expired => "expired",
    })?;
    if claims.action != TokenAction::Request {
        return Err("invalid");
    }
    let mut request = match state.store().get_request(claims.subject).await {
        Ok(Some(request)) => request,
        _ => return Err("invalid"),
    };
    if state.manifest().languages.contains_key(&request.language) {
        lang.clone_from(&request.language);
    }
    if !request.confirm(state.request_deadlines(), now) {
        return Err("used");
    }
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
    let stored = async {
        if !state.store().update_request(&request).await? {
            return Ok(false);
        }
        state.store().enqueue(&notify).await?;
        state.store().append_audit(&audit).await?;
        Ok::<_, crate::store::StoreError>(true)
    };
    match stored.await {
        Ok(true) => {
            tracing::info!(outcome = "request_confirmed", id = %request.id, "request confirmed");
            state.kick_delivery();
            Ok(())
        }
        Ok(false) => Err("used"),
        Err(error) => {
            tracing::error!(%error, "store failed while confirming a request");
            Err("invalid")
        }
    }
}
