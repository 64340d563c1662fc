//! The mailed links: `<endpoint>/confirm?token=…` (the double opt-in mail) and
//! `<endpoint>/request/confirm?token=…` (a data-subject request's confirmation).
//!
//! Only a person's click changes anything. `GET` (and `HEAD`, which is a `GET` without the
//! body) looks at the link and answers a page in the person's language with one button; the
//! button `POST`s the token (no script needed), and only that confirms. A mail scanner or a
//! link preview that fetches the link confirms nothing. A bad, expired or used link lands on
//! the language's "link not valid" page (the request flow's own when the site has one) with
//! `?reason=invalid|expired|used`, on `GET` and on `POST` alike; the `POST` checks `Origin` as
//! the forms do. Never a 500.

use axum::Form;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use kelisim_manifest::TOKEN_PLACEHOLDER;
use kelisim_manifest::html::escape;
use serde::Deserialize;
use time::OffsetDateTime;

use super::answer::{Reply, message_page, no_store, refuse, see_other, unavailable};
use super::origin::check_origin;
use super::routes::{CONFIRM, REQUEST_CONFIRM, under};
use super::state::AppState;
use crate::app::{consent, requests};
use crate::domain::link::LinkRefusal;

/// A link's query (`GET`) or its page's form (`POST`).
#[derive(Debug, Deserialize)]
pub struct LinkQuery {
    token: Option<String>,
    /// Only picks the page a broken link lands on.
    lang: Option<String>,
}

/// Which link: what it confirms decides its page and where a success lands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    Grant,
    Request,
}

/// `GET <endpoint>/confirm`: the page with the button, or the error page.
pub async fn show_grant(
    State(state): State<AppState>,
    query: Result<Query<LinkQuery>, QueryRejection>,
) -> Response {
    show(&state, Link::Grant, query.ok().map(|Query(q)| q)).await
}

/// `GET <endpoint>/request/confirm`.
pub async fn show_request(
    State(state): State<AppState>,
    query: Result<Query<LinkQuery>, QueryRejection>,
) -> Response {
    show(&state, Link::Request, query.ok().map(|Query(q)| q)).await
}

/// `POST <endpoint>/confirm`: the button confirms the grant.
pub async fn confirm_grant(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<LinkQuery>, FormRejection>,
) -> Response {
    confirm(&state, Link::Grant, &headers, form.ok().map(|Form(f)| f)).await
}

/// `POST <endpoint>/request/confirm`.
pub async fn confirm_request(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<LinkQuery>, FormRejection>,
) -> Response {
    confirm(&state, Link::Request, &headers, form.ok().map(|Form(f)| f)).await
}

/// Looks at the link, changing nothing: its page with the button when confirming it would
/// work, else where a broken link lands.
async fn show(state: &AppState, link: Link, query: Option<LinkQuery>) -> Response {
    let (token, hint) = query.map_or((None, None), |q| (q.token, q.lang));
    let now = OffsetDateTime::now_utc();
    let (lang, looked) = match (&token, link) {
        (None, _) => (None, Err(LinkRefusal::Invalid)),
        (Some(token), Link::Grant) => {
            let (lang, looked) = consent::inspect(state.relay(), token, now).await;
            (lang, looked.map(|_| ()))
        }
        (Some(token), Link::Request) => {
            let (lang, looked) = requests::inspect(state.relay(), token, now).await;
            (lang, looked.map(|_| ()))
        }
    };
    let lang = state
        .relay()
        .language(lang.or(hint).as_deref().unwrap_or_default());
    let mut response = match (looked, token) {
        (Ok(()), Some(token)) => button_page(state, link, &lang, &token),
        (Err(refusal), _) => landing(state, link, &lang, Some(refusal)),
        (Ok(()), None) => landing(state, link, &lang, Some(LinkRefusal::Invalid)),
    };
    no_store(&mut response);
    response
}

/// Confirms what the link names, then lands in the language of what it confirmed.
async fn confirm(
    state: &AppState,
    link: Link,
    headers: &HeaderMap,
    form: Option<LinkQuery>,
) -> Response {
    if let Err(refusal) = check_origin(state, headers) {
        return refuse(state, Reply::Html, refusal);
    }
    let (token, hint) = form.map_or((None, None), |f| (f.token, f.lang));
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

/// The page a working link opens: the site's own page for it when the manifest carries one
/// (built by the generator in the site's look, the token filled in), else the relay's
/// one-message page, with the button that posts the token.
fn button_page(state: &AppState, link: Link, lang: &str, token: &str) -> Response {
    let site_page = state
        .manifest()
        .languages
        .get(lang)
        .and_then(|l| match link {
            Link::Grant => l.grant_link_page.as_deref(),
            Link::Request => l.request_link_page.as_deref(),
        });
    if let Some(page) = site_page {
        let page = page.replace(TOKEN_PLACEHOLDER, &escape(token));
        return (StatusCode::OK, axum::response::Html(page)).into_response();
    }
    let action = under(
        state.endpoint_path(),
        match link {
            Link::Grant => CONFIRM,
            Link::Request => REQUEST_CONFIRM,
        },
    );
    let key = match link {
        Link::Grant => "relay-link-grant",
        Link::Request => "relay-link-request",
    };
    let messages = state.messages();
    let form = format!(
        "<form method=\"post\" action=\"{action}\"><input type=\"hidden\" name=\"token\" value=\"{token}\">\
         <input type=\"hidden\" name=\"lang\" value=\"{lang}\"><button type=\"submit\">{button}</button></form>",
        action = escape(&action),
        token = escape(token),
        lang = escape(lang),
        button = escape(&messages.format(lang, "relay-link-button", &[])),
    );
    let page = message_page(lang, &messages.format(lang, key, &[]), &form);
    (StatusCode::OK, axum::response::Html(page)).into_response()
}

/// 303 to the language's result page, or a small page of the relay's own when the site has
/// none; 503 when the store did not answer (the same link works later).
fn landing(state: &AppState, link: Link, lang: &str, refusal: Option<LinkRefusal>) -> Response {
    if refusal == Some(LinkRefusal::Unavailable) {
        return unavailable(state, Reply::Html, lang);
    }
    let language = state.manifest().languages.get(lang);
    let url = match refusal {
        None => language.and_then(|l| match link {
            Link::Grant => l.confirmed_url.clone(),
            Link::Request => l.request_confirmed_url.clone(),
        }),
        Some(r) => language
            .and_then(|l| match link {
                Link::Grant => l.confirm_error_url.as_ref(),
                Link::Request => l
                    .request_confirm_error_url
                    .as_ref()
                    .or(l.confirm_error_url.as_ref()),
            })
            .map(|u| {
                let separator = if u.contains('?') { '&' } else { '?' };
                format!("{u}{separator}reason={}", r.as_str())
            }),
    };
    if let Some(url) = url {
        return see_other(&url);
    }
    let (status, key) = match (refusal, link) {
        (None, Link::Grant) => (StatusCode::OK, "relay-confirmed"),
        (None, Link::Request) => (StatusCode::OK, "relay-request-confirmed"),
        (Some(_), _) => (StatusCode::BAD_REQUEST, "relay-confirm-failed"),
    };
    let message = state.messages().format(lang, key, &[]);
    let page = message_page(lang, &message, "");
    (status, axum::response::Html(page)).into_response()
}
