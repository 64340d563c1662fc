//! The mailed links: `GET <endpoint>/confirm?token=…` (the double opt-in mail) and
//! `GET <endpoint>/request/confirm?token=…` (a data-subject request's confirmation). A valid
//! token sends the person to the language's "confirmed" page; a bad, expired or used one
//! changes nothing and lands on the language's "link not valid" page with
//! `?reason=invalid|expired|used`. Never a 500.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use time::OffsetDateTime;

use super::answer::{message_page, no_store, see_other};
use super::state::AppState;
use crate::app::{consent, requests};
use crate::domain::link::LinkRefusal;

#[derive(Debug, Deserialize)]
pub struct LinkQuery {
    token: Option<String>,
    /// Only picks the page a broken link lands on.
    lang: Option<String>,
}

/// Which link: what it confirms decides the page a success lands on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    Grant,
    Request,
}

/// `GET <endpoint>/confirm`.
pub async fn confirm_grant(
    State(state): State<AppState>,
    query: Result<Query<LinkQuery>, QueryRejection>,
) -> Response {
    follow(&state, Link::Grant, query).await
}

/// `GET <endpoint>/request/confirm`.
pub async fn confirm_request(
    State(state): State<AppState>,
    query: Result<Query<LinkQuery>, QueryRejection>,
) -> Response {
    follow(&state, Link::Request, query).await
}

/// Verifies and uses the link's token, then lands in the language of what it confirmed (the
/// link's own `lang`, else the site's default, when that is not known).
async fn follow(
    state: &AppState,
    link: Link,
    query: Result<Query<LinkQuery>, QueryRejection>,
) -> Response {
    // A query that does not parse is a link without a token.
    let (token, hint) = match query {
        Ok(Query(q)) => (q.token, q.lang),
        Err(_) => (None, None),
    };
    let now = OffsetDateTime::now_utc();
    let (lang, outcome) = match (token, link) {
        (None, _) => (None, Err(LinkRefusal::Invalid)),
        (Some(token), Link::Grant) => consent::confirm(state.relay(), &token, now).await,
        (Some(token), Link::Request) => requests::confirm(state.relay(), &token, now).await,
    };
    match outcome {
        Ok(()) => tracing::info!(outcome = "confirmed", "link confirmed"),
        Err(refusal) => tracing::info!(outcome = refusal.as_str(), "link refused"),
    }
    let lang = state
        .relay()
        .language(lang.or(hint).as_deref().unwrap_or_default());
    let mut response = landing(state, link, &lang, outcome.err());
    no_store(&mut response);
    response
}

/// 303 to the language's result page, or a small page of the relay's own when the site has
/// none.
fn landing(state: &AppState, link: Link, lang: &str, refusal: Option<LinkRefusal>) -> Response {
    let language = state.manifest().languages.get(lang);
    let url = match refusal {
        None => language.and_then(|l| match link {
            Link::Grant => l.confirmed_url.clone(),
            Link::Request => l.request_confirmed_url.clone(),
        }),
        Some(r) => language
            .and_then(|l| l.confirm_error_url.as_ref())
            .map(|u| {
                let separator = if u.contains('?') { '&' } else { '?' };
                format!("{u}{separator}reason={}", r.as_str())
            }),
    };
    if let Some(url) = url {
        return see_other(&url);
    }
    let (status, key) = match refusal {
        None => (StatusCode::OK, "relay-confirmed"),
        Some(_) => (StatusCode::BAD_REQUEST, "relay-confirm-failed"),
    };
    let message = state.messages().format(lang, key, &[]);
    let page = message_page(lang, &message, "");
    (status, axum::response::Html(page)).into_response()
}
