//! The single place where outcomes become HTTP answers: JSON for the page's script, redirects
//! to the site's pages (or the relay's own one-message page) for a plain browser post. Nothing
//! the visitor typed is ever put in a URL.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kelisim_manifest::RECEIPT_URL_PLACEHOLDER;
use kelisim_manifest::html::escape;

use super::state::AppState;
use crate::app::intake::Outcome;
use crate::domain::fields::ErrorCode;
use crate::domain::messages::Notice;
use crate::domain::record::RecordId;
use crate::domain::submission::FieldErrors;

/// Seconds a client is asked to wait after a 503.
pub const RETRY_AFTER_SECS: u32 = 30;

/// How the caller wants to be answered: the page's script asks for JSON, a plain browser
/// form post gets redirects and HTML.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    Json,
    Html,
}

impl Reply {
    pub fn for_request(headers: &HeaderMap) -> Self {
        let says_json = |name| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("application/json"))
        };
        if says_json(header::ACCEPT) || says_json(header::CONTENT_TYPE) {
            Self::Json
        } else {
            Self::Html
        }
    }
}

/// A request refused before its content is read, so answered in the site's default language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    TooLarge,
    UnsupportedMediaType,
    ForbiddenOrigin,
    MethodNotAllowed,
}

impl Refusal {
    /// The status, the JSON `error` and the message to answer with.
    fn answer(self) -> (StatusCode, &'static str, Notice) {
        match self {
            Self::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                Notice::PayloadTooLarge,
            ),
            Self::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                Notice::UnsupportedMediaType,
            ),
            Self::ForbiddenOrigin => (
                StatusCode::FORBIDDEN,
                "forbidden_origin",
                Notice::ForbiddenOrigin,
            ),
            Self::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                Notice::MethodNotAllowed,
            ),
        }
    }
}

/// A request refused before its content is read: its status and notice, `no-store`, and for
/// a wrong method the methods that are allowed.
pub fn refuse(state: &AppState, reply: Reply, refusal: Refusal) -> Response {
    let (status, error, what) = refusal.answer();
    let default_lang = state.manifest().default_language.as_str();
    let mut response = notice(state, reply, status, default_lang, error, what);
    if refusal == Refusal::MethodNotAllowed {
        set(response.headers_mut(), header::ALLOW, "OPTIONS, POST");
    }
    no_store(&mut response);
    response
}

/// Marks an answer as not to be cached (every answer of the relay's routes is about one
/// request).
pub fn no_store(response: &mut Response) {
    set(response.headers_mut(), header::CACHE_CONTROL, "no-store");
}

pub fn set(headers: &mut HeaderMap, name: header::HeaderName, value: &'static str) {
    headers.insert(name, HeaderValue::from_static(value));
}

/// The one mapping from outcome to HTTP. Nothing the visitor typed is ever put in a URL.
pub fn render(state: &AppState, reply: Reply, origin: Option<&str>, outcome: Outcome) -> Response {
    let mut response = match outcome {
        Outcome::Accepted { id, lang, receipt } => {
            accepted(state, reply, id, &lang, receipt.as_deref())
        }
        Outcome::Invalid { lang, errors } => invalid(state, reply, &lang, &errors),
        Outcome::Conflict { lang } => form_refused(
            state,
            reply,
            &lang,
            StatusCode::CONFLICT,
            ErrorCode::IdempotencyConflict,
        ),
        Outcome::RateLimited {
            lang,
            retry_after_secs,
        } => {
            let mut response = form_refused(
                state,
                reply,
                &lang,
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::RateLimited,
            );
            // The error page is a redirect: only the script's JSON answer says when to retry.
            if reply == Reply::Json {
                retry_after(&mut response, retry_after_secs);
            }
            response
        }
        Outcome::Unavailable { lang } => unavailable(state, reply, &lang),
        Outcome::TooLarge => refuse(state, reply, Refusal::TooLarge),
        Outcome::UnsupportedMediaType => refuse(state, reply, Refusal::UnsupportedMediaType),
    };
    if origin.is_some() {
        cors(response.headers_mut(), origin);
    }
    no_store(&mut response);
    response
}

/// 503 with `Retry-After`: the store did not confirm the write.
pub fn unavailable(state: &AppState, reply: Reply, lang: &str) -> Response {
    let mut response = notice(
        state,
        reply,
        StatusCode::SERVICE_UNAVAILABLE,
        lang,
        "unavailable",
        Notice::Unavailable,
    );
    retry_after(&mut response, u64::from(RETRY_AFTER_SECS));
    response
}

/// Stored: 201 with the record's id and its signed receipt for the script; for a plain post,
/// the language's thank-you page with the receipt to download (a `data:` link, so it works
/// without JavaScript and the receipt is never put in a URL the server sees), or without a
/// receipt a 303 to the thank-you page.
fn accepted(
    state: &AppState,
    reply: Reply,
    id: RecordId,
    lang: &str,
    receipt: Option<&str>,
) -> Response {
    let language = state.manifest().languages.get(lang);
    match reply {
        Reply::Json => {
            let mut body = serde_json::json!({ "id": id });
            if let Some(receipt) = receipt {
                body["receipt"] = receipt.into();
            }
            (StatusCode::CREATED, axum::Json(body)).into_response()
        }
        Reply::Html => match (language, receipt) {
            (Some(l), Some(receipt)) if l.thanks_page.is_some() => {
                let page = l.thanks_page.as_deref().unwrap_or_default().replace(
                    RECEIPT_URL_PLACEHOLDER,
                    &format!("data:application/jose;charset=us-ascii,{receipt}"),
                );
                (StatusCode::OK, axum::response::Html(page)).into_response()
            }
            (Some(l), _) => see_other(&l.thanks_url),
            (None, _) => StatusCode::CREATED.into_response(),
        },
    }
}

/// Fields refused: 422 with each field's code and localized message (and how many unknown
/// fields were sent), or 303 to the error page with the codes.
fn invalid(state: &AppState, reply: Reply, lang: &str, errors: &FieldErrors) -> Response {
    if reply == Reply::Html {
        return error_page(state, lang, errors, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let fields: serde_json::Map<String, serde_json::Value> = errors
        .iter()
        .map(|(field, code)| {
            let message = state.messages().text(lang, Notice::Field(code));
            (
                field.to_owned(),
                serde_json::json!({ "code": code.as_str(), "message": message }),
            )
        })
        .collect();
    let mut body = serde_json::json!({ "error": "validation", "fields": fields });
    if errors.unknown_fields() > 0 {
        body["unknown_fields"] = serde_json::json!(errors.unknown_fields());
    }
    (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(body)).into_response()
}

/// The whole form refused for `code`: a JSON notice with `status`, or 303 to the language's
/// error page with `form:<code>`.
fn form_refused(
    state: &AppState,
    reply: Reply,
    lang: &str,
    status: StatusCode,
    code: ErrorCode,
) -> Response {
    match reply {
        Reply::Json => notice(
            state,
            Reply::Json,
            status,
            lang,
            code.as_str(),
            Notice::Field(code),
        ),
        Reply::Html => error_page(state, lang, &FieldErrors::whole_form(code), status),
    }
}

pub fn retry_after(response: &mut Response, secs: u64) {
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
}

/// 303 to the language's error page with `?errors=field:code,...` (codes only); `fallback`
/// if the language is not in the manifest.
pub fn error_page(
    state: &AppState,
    lang: &str,
    errors: &FieldErrors,
    fallback: StatusCode,
) -> Response {
    match state.manifest().languages.get(lang) {
        Some(l) => {
            let separator = if l.error_url.contains('?') { '&' } else { '?' };
            see_other(&format!(
                "{}{separator}errors={}",
                l.error_url,
                errors.to_query_value()
            ))
        }
        None => fallback.into_response(),
    }
}

pub fn see_other(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => {
            let mut response = StatusCode::SEE_OTHER.into_response();
            response.headers_mut().insert(header::LOCATION, value);
            response
        }
        // Manifest URLs are ASCII in practice; a broken one must not become a panic.
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// A non-field failure: JSON `{"error", "message"}` or a tiny HTML page in the language.
pub fn notice(
    state: &AppState,
    reply: Reply,
    status: StatusCode,
    lang: &str,
    error: &'static str,
    what: Notice,
) -> Response {
    let message = state.messages().text(lang, what);
    match reply {
        Reply::Json => (
            status,
            axum::Json(serde_json::json!({ "error": error, "message": message })),
        )
            .into_response(),
        Reply::Html => {
            let back = state
                .manifest()
                .languages
                .get(lang)
                .map(|l| l.contact_url.as_str())
                .unwrap_or("/");
            let back = format!(
                "<p><a href=\"{}\">{}</a></p>",
                escape(back),
                escape(&state.messages().back_to_form(lang))
            );
            let page = message_page(lang, &message, &back);
            (status, axum::response::Html(page)).into_response()
        }
    }
}

/// The site's icon as the generator publishes it (also under a content-hashed name).
const FAVICON: &str = "/static/favicon.svg";

/// The relay's own one-message page, for a visitor without a page of the site to go to (a
/// form refused without JavaScript, a confirmation link's result): one head for both, never
/// indexed, with the site's icon so the browser asks for no `/favicon.ico` it would not
/// find. `message` is text; `tail_html` is markup added after it.
pub fn message_page(lang: &str, message: &str, tail_html: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\">\
         <link rel=\"icon\" href=\"{FAVICON}\" type=\"image/svg+xml\">\
         <title>{message}</title></head><body><main><p>{message}</p>{tail_html}</main></body></html>\n",
        lang = escape(lang),
        message = escape(message),
    )
}

/// `Vary: Origin`, and the allowed origin the script posted from, on its answer.
pub fn cors(headers: &mut HeaderMap, origin: Option<&str>) {
    headers.insert(header::VARY, HeaderValue::from_static("Origin"));
    if let Some(value) = origin.and_then(|o| HeaderValue::from_str(o).ok()) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
    }
}
