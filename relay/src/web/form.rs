//! The contact form's route: `POST <form_endpoint>` (the form or the page's script), its CORS
//! preflight, and 405 for every other method. The handler only checks the origin, decodes the
//! body by its media type and hands the post to [`crate::app::intake::accept`].

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use time::OffsetDateTime;

use super::answer::{Refusal, Reply, refuse, render};
use super::client::ClientAddr;
use super::origin::check_origin;
use super::state::AppState;
use crate::app::intake::{self, Post, Unreadable};
use crate::domain::record::CollectionMethod;
use crate::domain::submission::RawSubmission;

/// The largest body accepted: 64 KiB, above [`crate::domain::fields::limit::LONGEST_BODY`], the
/// longest body a valid form can need. Whatever the form's `maxlength` allows must get through
/// without JavaScript, and a plain post percent-encodes each character of 4,000 in the
/// message as up to 12 bytes («№» or «—» as 9).
pub const BODY_LIMIT: usize = 64 * 1024;
const _: () = assert!(BODY_LIMIT >= crate::domain::fields::limit::LONGEST_BODY);

/// `POST <form_endpoint>`.
pub async fn submit(
    state: State<AppState>,
    client: ClientAddr,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let State(state) = state;
    let reply = Reply::for_request(&headers);
    let origin = match check_origin(&state, &headers) {
        Ok(origin) => origin,
        Err(refusal) => return refuse(&state, reply, refusal),
    };
    let body = read_body(&headers, body);
    let manifest = state.manifest();
    let lang = match &body {
        Ok((raw, _)) => raw.response_lang(manifest),
        Err(_) => manifest.default_language.as_str(),
    };
    let post = Post {
        lang: lang.to_owned(),
        body,
        client: client.0,
    };
    let outcome = intake::accept(state.relay(), post, OffsetDateTime::now_utc()).await;
    render(&state, reply, origin.as_deref(), outcome)
}

/// Every method but POST and OPTIONS.
pub async fn method_not_allowed(State(state): State<AppState>, headers: HeaderMap) -> Response {
    refuse(
        &state,
        Reply::for_request(&headers),
        Refusal::MethodNotAllowed,
    )
}

/// The body, decoded as its `Content-Type` says (a browser's form post or the page's
/// script's JSON, with the collection method that says which), or why it cannot be.
fn read_body(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(RawSubmission, CollectionMethod), Unreadable> {
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return Err(Unreadable::TooLarge);
        }
        Err(_) => return Err(intake::invalid_encoding()),
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let (decoded, method) = if content_type.starts_with("application/x-www-form-urlencoded") {
        (RawSubmission::from_form(&body), CollectionMethod::FormPost)
    } else if content_type.starts_with("application/json") {
        (RawSubmission::from_json(&body), CollectionMethod::Script)
    } else {
        return Err(Unreadable::UnsupportedMediaType);
    };
    decoded
        .map(|raw| (raw, method))
        .map_err(Unreadable::Invalid)
}
