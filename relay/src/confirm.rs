//! `GET <endpoint>/confirm?token=…`: the link in the double opt-in mail. A valid token turns
//! a pending grant into a confirmed one and sends the visitor to the language's "subscription
//! confirmed" page; a bad, expired or used one changes nothing and lands on the language's
//! "link not valid" page with `?reason=invalid|expired|used`. Never a 500.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use time::{Duration, OffsetDateTime};

use crate::http::{AppState, see_other_public};
use crate::record::{ConsentRecord, ConsentStatus, RecordId};
use crate::token::{self, TokenAction, TokenError};

#[derive(Debug, Deserialize)]
pub struct ConfirmQuery {
    token: Option<String>,
    /// Only picks the page a broken link lands on.
    lang: Option<String>,
}

/// A mailed link's query: the token (if any), and a language the site has (the link's, else
/// the default). A query that does not parse is a link without a token.
pub(crate) fn link_query(
    state: &AppState,
    query: Result<Query<ConfirmQuery>, QueryRejection>,
) -> (Option<String>, String) {
    let (token, lang) = match query {
        Ok(Query(q)) => (q.token, q.lang),
        Err(_) => (None, None),
    };
    let lang = lang
        .filter(|l| state.manifest().languages.contains_key(l))
        .unwrap_or_else(|| state.manifest().default_language.clone());
    (token, lang)
}

/// Why a confirmation did not happen; the `reason` shown on the error page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Invalid,
    Expired,
    Used,
}

impl Refusal {
    fn as_str(self) -> &'static str {
        match self {
            Self::Invalid => "invalid",
            Self::Expired => "expired",
            Self::Used => "used",
        }
    }
}

/// Confirms `purpose` in `record` at `now`, extending its retention to `retention_days` from
/// the confirmation and recomputing the record's own `expires_at`.
pub fn confirm_grant(
    mut record: ConsentRecord,
    purpose: &str,
    retention_days: u32,
    now: OffsetDateTime,
) -> Result<ConsentRecord, Refusal> {
    let consent = record
        .consent
        .purposes
        .iter_mut()
        .find(|p| p.purpose == purpose)
        .ok_or(Refusal::Invalid)?;
    match consent.status(now) {
        ConsentStatus::Pending => {}
        ConsentStatus::Lapsed => return Err(Refusal::Expired),
        ConsentStatus::Active | ConsentStatus::Expired if consent.confirmed_at.is_some() => {
            return Err(Refusal::Used);
        }
        _ => return Err(Refusal::Invalid),
    }
    consent.confirmed_at = Some(now);
    consent.expires_at = Some(now.saturating_add(Duration::days(i64::from(retention_days))));
    record.expires_at = record.retention_end();
    Ok(record)
}

/// The route handler.
pub async fn confirm(
    State(state): State<AppState>,
    query: Result<Query<ConfirmQuery>, QueryRejection>,
) -> Response {
    let (token, mut lang) = link_query(&state, query);
    let now = OffsetDateTime::now_utc();
    let outcome = match token {
        Some(token) => apply(&state, &token, now, &mut lang).await,
        None => Err(Refusal::Invalid),
    };
    let mut response = match outcome {
        Ok(()) => {
            tracing::info!(outcome = "confirmed", "consent confirmed");
            landing(&state, &lang, None)
        }
        Err(refusal) => {
            tracing::info!(outcome = refusal.as_str(), "confirmation refused");
            landing(&state, &lang, Some(refusal))
        }
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Verifies the token and confirms the grant it names. `lang` becomes the record's language.
async fn apply(
    state: &AppState,
    token: &str,
    now: OffsetDateTime,
    lang: &mut String,
) -> Result<(), Refusal> {
    let claims = token::verify(state.hmac_key(), token, now).map_err(|e| match e {
        TokenError::Invalid => Refusal::Invalid,
        TokenError::Expired => Refusal::Expired,
    })?;
    if claims.action != TokenAction::Confirm {
        return Err(Refusal::Invalid);
    }
    let record = match state.store().get(RecordId(claims.subject)).await {
        Ok(Some(record)) => record,
        Ok(None) => return Err(Refusal::Invalid),
        Err(error) => {
            tracing::error!(%error, "store failed while confirming");
            return Err(Refusal::Invalid);
        }
    };
    if state
        .manifest()
        .languages
        .contains_key(&record.consent.language)
    {
        lang.clone_from(&record.consent.language);
    }
    let days = state
        .retention_days(&claims.purpose)
        .ok_or(Refusal::Invalid)?;
    let confirmed = confirm_grant(record, &claims.purpose, days, now)?;
    match state.store().update(&confirmed).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(Refusal::Invalid),
        Err(error) => {
            tracing::error!(%error, "store failed while confirming");
            Err(Refusal::Invalid)
        }
    }
}

/// 303 to the language's result page, or a small page of the relay's own when the site has
/// none.
fn landing(state: &AppState, lang: &str, refusal: Option<Refusal>) -> Response {
    let language = state.manifest().languages.get(lang);
    let url = match refusal {
        None => language.and_then(|l| l.confirmed_url.clone()),
        Some(r) => language
            .and_then(|l| l.confirm_error_url.as_ref())
            .map(|u| {
                let separator = if u.contains('?') { '&' } else { '?' };
                format!("{u}{separator}reason={}", r.as_str())
            }),
    };
    if let Some(url) = url {
        return see_other_public(&url);
    }
    let (status, key) = match refusal {
        None => (StatusCode::OK, "relay-confirmed"),
        Some(_) => (StatusCode::BAD_REQUEST, "relay-confirm-failed"),
    };
    let message = state.messages().format(lang, key, &[]);
    let page = crate::http::message_page(lang, &message, "");
    (status, axum::response::Html(page)).into_response()
}
