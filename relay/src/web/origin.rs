//! Who may post: the `Origin` check against CSRF, the CORS answers for the page's script,
//! and the CDN's origin secret that keeps the function URL behind the CDN.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::answer::{Refusal, Reply, cors, refuse, set};
use super::state::AppState;
use crate::domain::secret::{Secret, constant_time_eq};

/// The header a CDN sends the origin secret in.
pub const ORIGIN_VERIFY_HEADER: &str = "x-origin-verify";

/// Refuses a request whose `Origin` is present and not allowed. A missing `Origin` is
/// allowed: browsers always send it on cross-site POSTs (forms included), so its absence
/// means a non-browser client (curl, a monitoring probe), which CSRF protection is not about.
///
/// `Origin: null` is what a browser sends for a form posted from a page whose referrer policy
/// is `no-referrer`, including the site's own pages if the operator sets that policy; it is
/// also what a sandboxed frame on a foreign page sends. The browser's own
/// `Sec-Fetch-Site` tells them apart: `null` is accepted when that header says `same-origin`
/// (or is absent, as from browsers too old to send it, so a real visitor is never refused),
/// and refused when it says `same-site`, `cross-site` or `none`.
pub fn check_origin(state: &AppState, headers: &HeaderMap) -> Result<Option<String>, Refusal> {
    match headers.get(header::ORIGIN) {
        None => Ok(None),
        Some(value) => match value.to_str() {
            Ok(origin) if state.allows(origin) => Ok(Some(origin.to_owned())),
            Ok("null") => {
                let fetch_site = headers
                    .get("sec-fetch-site")
                    .map(|v| v.to_str().unwrap_or("?"));
                match fetch_site {
                    None | Some("same-origin") => Ok(None),
                    Some(_) => Err(Refusal::ForbiddenOrigin),
                }
            }
            _ => Err(Refusal::ForbiddenOrigin),
        },
    }
}

/// Answers a CORS preflight for an allowed origin; refuses it for any other.
pub async fn preflight(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match check_origin(&state, &headers) {
        Ok(Some(origin)) => {
            let mut response = StatusCode::NO_CONTENT.into_response();
            let h = response.headers_mut();
            set(h, header::ACCESS_CONTROL_ALLOW_METHODS, "POST");
            set(
                h,
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                "content-type, accept",
            );
            set(h, header::ACCESS_CONTROL_MAX_AGE, "600");
            cors(h, Some(&origin));
            response
        }
        Ok(None) => {
            let mut response = StatusCode::NO_CONTENT.into_response();
            set(response.headers_mut(), header::ALLOW, "OPTIONS, POST");
            response
        }
        Err(refusal) => refuse(&state, Reply::for_request(&headers), refusal),
    }
}

/// Whether the request carries the origin secret in `X-Origin-Verify`, compared in constant
/// time (a guess learns nothing from how long the answer took).
pub fn carries_secret(headers: &HeaderMap, secret: &Secret<String>) -> bool {
    let Some(sent) = headers.get(ORIGIN_VERIFY_HEADER) else {
        return false;
    };
    constant_time_eq(sent.as_bytes(), secret.expose().as_bytes())
}

/// With an origin secret configured, every route answers only requests that carry it: the
/// function URL behind the CDN is public, and a request sent to it directly skips the CDN's
/// headers, limits and logs. Such a request gets the same refusal as a foreign origin.
pub async fn require_origin_secret(
    State(state): State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if let Some(secret) = &state.origin_secret
        && !carries_secret(request.headers(), secret)
    {
        tracing::info!(outcome = "no_origin_secret", "request refused");
        let reply = Reply::for_request(request.headers());
        return refuse(&state, reply, Refusal::ForbiddenOrigin);
    }
    next.run(request).await
}
