//! The data-subject request form's route, `POST <endpoint>/request`: the handler checks the
//! origin, reads the fields and hands them to [`crate::app::requests::submit`]; the answers are
//! redirects to static pages the generator builds, in the person's language.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use time::OffsetDateTime;

use super::answer::{Reply, no_store, notice, refuse, retry_after, see_other, unavailable};
use super::client::ClientAddr;
use super::origin::check_origin;
use super::state::AppState;
use crate::app::requests::{self, Posted, RequestPost};
use crate::domain::fields::ErrorCode;
use crate::domain::messages::Notice;

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

/// `POST <endpoint>/request`.
pub async fn submit(
    State(state): State<AppState>,
    client: ClientAddr,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(refusal) = check_origin(&state, &headers) {
        return refuse(&state, Reply::Html, refusal);
    }
    let fields: RequestFields = serde_html_form::from_bytes(&body).unwrap_or_default();
    let post = RequestPost {
        kind: fields.kind,
        email: fields.email,
        lang: fields.lang,
        website: fields.website,
        client: client.0,
    };
    let posted = requests::submit(state.relay(), post, OffsetDateTime::now_utc()).await;
    let mut response = answer(&state, posted);
    no_store(&mut response);
    response
}

/// 303 to the language's "check your mail" or form-error page (`?errors=field:code`).
fn answer(state: &AppState, posted: Posted) -> Response {
    let languages = &state.manifest().languages;
    // The request form's own error page when the site has one (it leads back to the request
    // page), else the contact form's.
    let error_page = |lang: &str, errors: String| {
        languages.get(lang).map(|l| {
            let url = l.request_error_url.as_deref().unwrap_or(&l.error_url);
            let separator = if url.contains('?') { '&' } else { '?' };
            see_other(&format!("{url}{separator}errors={errors}"))
        })
    };
    match posted {
        Posted::Sent { lang } => {
            match languages
                .get(&lang)
                .and_then(|l| l.request_sent_url.as_deref())
            {
                Some(url) => see_other(url),
                None => StatusCode::ACCEPTED.into_response(),
            }
        }
        Posted::Invalid { lang, field, code } => error_page(&lang, format!("{field}:{code}"))
            .unwrap_or_else(|| StatusCode::UNPROCESSABLE_ENTITY.into_response()),
        // Said with its own status, so a script looping on the form sees it at once.
        Posted::RateLimited {
            lang,
            retry_after_secs,
        } => {
            let code = ErrorCode::RateLimited;
            let status = StatusCode::TOO_MANY_REQUESTS;
            let what = Notice::Field(code);
            let mut response = notice(state, Reply::Html, status, &lang, code.as_str(), what);
            retry_after(&mut response, retry_after_secs);
            response
        }
        Posted::Unavailable { lang } => unavailable(state, Reply::Html, &lang),
    }
}
