//! The HTTP face of the relay: one route for the form endpoint (POST, CORS preflight, 405
//! for the rest), and the single place where outcomes become status codes.
//!
//! [`app`] returns a plain axum `Router`, so the same handler runs in the standalone server,
//! inside `kelisim serve`, under `lambda_http::run`, and in tests through `oneshot`.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use time::OffsetDateTime;

use crate::config::{ConfigError, RateLimitConfig, RelayConfig, origin_of};
use crate::fields::ErrorCode;
use crate::intake::{self, IntakeSettings, MissingRetention};
use crate::manifest::ConsentManifest;
use crate::manifest::html::escape;
use crate::messages::{Messages, MessagesError, Notice};
use crate::outbox::Channel;
use crate::rate_limit::{Limits, RateLimiter};
use crate::record::{CollectionMethod, ConsentRecord, RecordId};
use crate::store::{DedupKeys, Inserted, Store};
use crate::submission::{FieldErrors, RawSubmission, Submission};

/// The largest body accepted: 64 KiB, above [`crate::fields::limit::LONGEST_BODY`], the
/// longest body a valid form can need. Whatever the form's `maxlength` allows must get through
/// without JavaScript, and a plain post percent-encodes each character of 4,000 in the
/// message as up to 12 bytes («№» or «—» as 9).
pub const BODY_LIMIT: usize = 64 * 1024;
const _: () = assert!(BODY_LIMIT >= crate::fields::limit::LONGEST_BODY);

/// Seconds a client is asked to wait after a 503.
pub const RETRY_AFTER_SECS: u32 = 30;

/// What the router needs: the store, the manifest it checks against, the record settings,
/// which origins may post, and the rate limiter. Cheap to clone (clones share the limiter).
#[derive(Clone)]
pub struct AppState {
    store: Arc<dyn Store>,
    limiter: Arc<RateLimiter>,
    trust_forwarded_for: bool,
    manifest: Arc<ConsentManifest>,
    settings: Arc<IntakeSettings>,
    allowed_origins: Arc<[String]>,
    endpoint_path: Arc<str>,
    messages: Messages,
    /// The channels each new record's notification is queued for.
    notify_channels: Arc<[Channel]>,
    /// Wakes the background deliverer after a record was committed with outbox items.
    kick: Option<Arc<tokio::sync::Notify>>,
    /// Days to answer each kind of data-subject request.
    request_deadlines: Arc<std::collections::BTreeMap<String, u32>>,
    /// The CDN's client-address header (believed only on requests carrying the secret).
    client_header: Option<Arc<ClientHeader>>,
    /// The secret the CDN sends in `X-Origin-Verify`: when set, a request without it did not
    /// come through the CDN and is refused ([`require_origin_secret`]).
    origin_secret: Option<Arc<crate::secret::Secret<String>>>,
}

/// A trusted client-address header (see [`crate::config::ProxyConfig`]).
#[derive(Debug)]
struct ClientHeader {
    name: header::HeaderName,
    secret: Option<crate::secret::Secret<String>>,
}

/// The header a CDN sends the origin secret in.
pub const ORIGIN_VERIFY_HEADER: &str = "x-origin-verify";

/// Why an [`AppState`] could not be built.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error(transparent)]
    Retention(#[from] MissingRetention),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("the form endpoint path `{0}` must start with `/` and be a plain path")]
    EndpointPath(String),
    #[error("the manifest's base_url `{0}` has no origin to allow")]
    BaseUrl(String),
    #[error("the manifest URL `{0}` cannot be sent in a Location header")]
    ManifestUrl(String),
    #[error(transparent)]
    Messages(#[from] MessagesError),
    #[error("`{0}` is not a header name ([proxy] client_address_header)")]
    ClientHeader(String),
}

impl AppState {
    /// A state serving `manifest.form_endpoint`, allowing posts from the manifest
    /// `base_url`'s origin only, with the default rate limits.
    pub fn new(
        store: Arc<dyn Store>,
        manifest: ConsentManifest,
        settings: IntakeSettings,
    ) -> Result<Self, StateError> {
        settings.check(&manifest)?;
        let messages = Messages::from_manifest(&manifest)?;
        for language in manifest.languages.values() {
            let optional = [&language.confirmed_url, &language.confirm_error_url];
            let urls = [&language.thanks_url, &language.error_url]
                .into_iter()
                .chain(optional.into_iter().flatten());
            for url in urls {
                if HeaderValue::from_str(url).is_err() {
                    return Err(StateError::ManifestUrl(url.clone()));
                }
            }
        }
        let origin = origin_of(&manifest.base_url)
            .ok_or_else(|| StateError::BaseUrl(manifest.base_url.clone()))?;
        let limiter = RateLimiter::new(Limits::default(), settings.hmac_key.clone());
        let state = Self {
            store,
            limiter: Arc::new(limiter),
            trust_forwarded_for: false,
            endpoint_path: Arc::from(manifest.form_endpoint.as_str()),
            manifest: Arc::new(manifest),
            settings: Arc::new(settings),
            allowed_origins: Arc::from(vec![origin]),
            messages,
            notify_channels: Arc::from(Vec::new()),
            kick: None,
            request_deadlines: Arc::new(crate::requests::default_deadlines()),
            client_header: None,
            origin_secret: None,
        };
        let path = state.endpoint_path.to_string();
        state.with_endpoint_path(path)
    }

    /// A state from the relay's configuration (HMAC key, retention, window, origins, path).
    pub fn from_config(
        store: Arc<dyn Store>,
        manifest: ConsentManifest,
        config: &RelayConfig,
    ) -> Result<Self, StateError> {
        config.check_ranges()?;
        let settings = IntakeSettings {
            hmac_key: config.hmac_key()?,
            retention_days: config.retention_days.clone(),
            fingerprint_window: time::Duration::seconds(
                i64::try_from(config.fingerprint_window_secs).unwrap_or(i64::MAX / 2),
            ),
            storage_location: config.storage_location(),
            confirm_within: time::Duration::days(i64::from(config.notify.confirm_within_days)),
        };
        let mut state = Self::new(store, manifest, settings)?
            .with_rate_limit(&config.rate_limit)
            .with_notify_channels(&config.notify.channels());
        state.request_deadlines = Arc::new(config.request_deadline_days.clone());
        state.origin_secret = config.proxy.origin_secret.clone().map(Arc::new);
        if let Some(name) = &config.proxy.client_address_header {
            let name = header::HeaderName::from_bytes(name.trim().as_bytes())
                .map_err(|_| StateError::ClientHeader(name.clone()))?;
            state.client_header = Some(Arc::new(ClientHeader {
                name,
                secret: config.proxy.origin_secret.clone(),
            }));
        }
        if !config.allowed_origins.is_empty() {
            state = state.with_allowed_origins(&config.allowed_origins)?;
        }
        if let Some(path) = &config.endpoint_path {
            state = state.with_endpoint_path(path.clone())?;
        }
        Ok(state)
    }

    /// Replaces the rate limiter (fresh counts) with one using `config`'s limits.
    pub fn with_rate_limit(mut self, config: &RateLimitConfig) -> Self {
        self.limiter = Arc::new(RateLimiter::new(
            config.limits(),
            self.settings.hmac_key.clone(),
        ));
        self.trust_forwarded_for = config.trust_forwarded_for;
        self
    }

    /// Queues a notification on each of `channels` with every new record.
    pub fn with_notify_channels(mut self, channels: &[Channel]) -> Self {
        self.notify_channels = Arc::from(channels.to_vec());
        self
    }

    /// Notifies `kick` after each record committed with outbox items, so a background
    /// deliverer sends at once instead of at its next round.
    pub fn with_delivery_kick(mut self, kick: Arc<tokio::sync::Notify>) -> Self {
        self.kick = Some(kick);
        self
    }

    /// Days to answer each kind of data-subject request.
    pub(crate) fn request_deadlines(&self) -> &std::collections::BTreeMap<String, u32> {
        &self.request_deadlines
    }

    /// Wakes the background deliverer, if there is one.
    pub(crate) fn kick_delivery(&self) {
        if let Some(kick) = &self.kick {
            kick.notify_one();
        }
    }

    /// The contact form's origin rule, for the request form.
    pub(crate) fn check_request_origin(&self, headers: &HeaderMap) -> Result<(), ()> {
        check_origin(self, headers).map(|_| ()).map_err(|_| ())
    }

    pub(crate) fn hmac_key(&self) -> &crate::fingerprint::HmacKey {
        &self.settings.hmac_key
    }

    pub(crate) fn retention_days(&self, purpose: &str) -> Option<u32> {
        self.settings.retention_days.get(purpose).copied()
    }

    /// The relay's messages, as loaded from the manifest.
    pub fn messages(&self) -> &Messages {
        &self.messages
    }

    /// The store records go to.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The limiter this state (and its clones) counts submissions with.
    pub fn rate_limiter(&self) -> &RateLimiter {
        &self.limiter
    }

    /// Replaces the allowed origins (each `scheme://host[:port]`).
    pub fn with_allowed_origins(mut self, origins: &[String]) -> Result<Self, StateError> {
        let parsed = origins
            .iter()
            .map(|o| origin_of(o).ok_or_else(|| ConfigError::Origin(o.clone())))
            .collect::<Result<Vec<_>, _>>()?;
        self.allowed_origins = Arc::from(parsed);
        Ok(self)
    }

    /// Serves the form at `path` instead of the manifest's `form_endpoint`.
    pub fn with_endpoint_path(mut self, path: String) -> Result<Self, StateError> {
        let plain = path.starts_with('/')
            && path
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"/-_.~".contains(&b));
        if !plain {
            return Err(StateError::EndpointPath(path));
        }
        self.endpoint_path = Arc::from(path);
        Ok(self)
    }

    /// The path the form endpoint is served at.
    pub fn endpoint_path(&self) -> &str {
        &self.endpoint_path
    }

    pub fn manifest(&self) -> &ConsentManifest {
        &self.manifest
    }

    pub fn allowed_origins(&self) -> &[String] {
        &self.allowed_origins
    }

    fn allows(&self, origin: &str) -> bool {
        self.allowed_origins
            .iter()
            .any(|o| o.eq_ignore_ascii_case(origin))
    }
}

/// How the caller wants to be answered: the page's script asks for JSON, a plain browser
/// form post gets redirects and HTML.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reply {
    Json,
    Html,
}

impl Reply {
    fn for_request(headers: &HeaderMap) -> Self {
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

/// Every way a request can end. [`Outcome::into_response`] is the one mapping to HTTP.
#[derive(Debug)]
enum Outcome {
    /// Stored (or already stored): 201 or 303 to thanks.
    Accepted { lang: String, id: RecordId },
    /// 422 or 303 to the error page.
    Invalid { lang: String, errors: FieldErrors },
    /// 503: the store did not confirm the write.
    Unavailable { lang: String },
    /// 409, or 303 to the error page: the idempotency key was used for other content.
    Conflict { lang: String },
    /// 429 with `Retry-After`, or 303 to the error page with `form:rate_limited`.
    RateLimited { lang: String, retry_after_secs: u64 },
    /// Refused before its content is read.
    Refused(Refusal),
}

/// A request refused before its content is read, so answered in the site's default language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
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
fn check_origin(state: &AppState, headers: &HeaderMap) -> Result<Option<String>, Outcome> {
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
                    Some(_) => Err(Outcome::Refused(Refusal::ForbiddenOrigin)),
                }
            }
            _ => Err(Outcome::Refused(Refusal::ForbiddenOrigin)),
        },
    }
}

/// The client's address, as far as it is known; used only as the rate limiter's input
/// (which keeps a keyed hash of it) and never logged.
///
/// - Behind a CDN (`[proxy] client_address_header`, e.g. CloudFront's
///   `CloudFront-Viewer-Address`): that header, when the request also carries the origin
///   secret in `X-Origin-Verify` (or no secret is configured).
/// - Under Lambda: the request context's `sourceIp` (set by AWS, not by the client), which
///   `crate::lambda` hands over as a [`RuntimeClientAddr`].
/// - Behind a trusted reverse proxy (`trust_forwarded_for`): the last `X-Forwarded-For`
///   entry, the one the proxy itself appended; earlier entries are whatever the client sent.
/// - Otherwise: the TCP peer, when the server was started with connect info. A loopback peer
///   is a local proxy or the operator's own tools, whose many clients would otherwise share
///   one allowance, so it counts as unknown.
/// - Unknown (tests through `oneshot`, `kelisim serve`): only the global ceiling applies.
pub(crate) struct ClientAddr(Option<IpAddr>);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(client) = &state.client_header
            && let Some(ip) = cdn_client_addr(client, &parts.headers)
        {
            return Ok(Self(Some(ip)));
        }
        Ok(Self(client_addr(
            &parts.extensions,
            &parts.headers,
            state.trust_forwarded_for,
        )))
    }
}

/// A client address the hosting runtime vouches for, put in the request's extensions by a layer
/// of that host's glue, never taken from anything the client sent: under Lambda, the request
/// context's `sourceIp` (see `crate::lambda`).
#[derive(Clone, Copy, Debug)]
pub struct RuntimeClientAddr(pub IpAddr);

fn client_addr(
    extensions: &Extensions,
    headers: &HeaderMap,
    trust_forwarded: bool,
) -> Option<IpAddr> {
    if let Some(RuntimeClientAddr(ip)) = extensions.get::<RuntimeClientAddr>() {
        return Some(*ip);
    }
    if trust_forwarded && let Some(ip) = forwarded_for(headers) {
        return Some(ip);
    }
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| peer.ip().to_canonical())
        .filter(|ip| !ip.is_loopback())
}

/// The viewer's address from the CDN's header (`IP`, `IP:port`, `[IPv6]:port`, or an
/// unbracketed IPv6 address with its port after the last colon, as CloudFront writes it),
/// if the origin secret matches.
fn cdn_client_addr(client: &ClientHeader, headers: &HeaderMap) -> Option<IpAddr> {
    if let Some(secret) = &client.secret
        && !carries_secret(headers, secret)
    {
        return None;
    }
    let value = headers.get(&client.name)?.to_str().ok()?.trim();
    let ip = value
        .parse::<IpAddr>()
        .ok()
        .or_else(|| value.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            let (host, port) = value.rsplit_once(':')?;
            port.parse::<u16>().ok()?;
            host.parse::<IpAddr>().ok()
        })?;
    Some(ip.to_canonical())
}

/// The last entry of the last `X-Forwarded-For` header, if it is an address.
fn forwarded_for(headers: &HeaderMap) -> Option<IpAddr> {
    let last = headers
        .get_all("x-forwarded-for")
        .iter()
        .next_back()?
        .to_str()
        .ok()?;
    let entry = last.rsplit(',').next()?.trim();
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .map(|ip| ip.to_canonical())
}

pub(crate) async fn submit(
    State(state): State<AppState>,
    client: ClientAddr,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let reply = Reply::for_request(&headers);
    let origin = match check_origin(&state, &headers) {
        Ok(origin) => origin,
        Err(outcome) => return render(&state, reply, None, outcome),
    };
    // Before anything is parsed or stored; every post counts, a honeypot hit included.
    if let Err(wait) = state.limiter.check(client.0) {
        tracing::info!(
            outcome = "rate_limited",
            retry_after_secs = wait.secs(),
            "form refused"
        );
        let outcome = Outcome::RateLimited {
            lang: reply_language(&state, &headers, body.as_ref().ok()),
            retry_after_secs: wait.secs(),
        };
        return render(&state, reply, origin.as_deref(), outcome);
    }
    let outcome = receive(&state, &headers, body).await;
    render(&state, reply, origin.as_deref(), outcome)
}

/// The language to refuse a rate-limited post in: only its `lang` field is looked at (the
/// submission is not validated), falling back to the site's default language.
fn reply_language(state: &AppState, headers: &HeaderMap, body: Option<&Bytes>) -> String {
    let decoded = body
        .and_then(|body| decode(headers, body))
        .and_then(|(decoded, _)| decoded.ok());
    match decoded {
        Some(raw) => raw.response_lang(&state.manifest).to_owned(),
        None => state.manifest.default_language.clone(),
    }
}

/// Decodes `body` as its `Content-Type` says: a browser's form post or the page's script's
/// JSON, with the collection method that says which. `None` for any other type.
fn decode(
    headers: &HeaderMap,
    body: &[u8],
) -> Option<(Result<RawSubmission, FieldErrors>, CollectionMethod)> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if content_type.starts_with("application/x-www-form-urlencoded") {
        Some((RawSubmission::from_form(body), CollectionMethod::FormPost))
    } else if content_type.starts_with("application/json") {
        Some((RawSubmission::from_json(body), CollectionMethod::Script))
    } else {
        None
    }
}

/// Decodes, checks and stores one submission. Logs outcomes by code and id only.
async fn receive(
    state: &AppState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Outcome {
    let (raw, method) = match read_body(state, headers, body) {
        Ok(read) => read,
        Err(outcome) => return outcome,
    };
    let lang = raw.response_lang(&state.manifest).to_owned();
    if raw.honeypot_filled() {
        // Looks like success to the bot; nothing is stored and the id is never reused.
        tracing::info!(outcome = "honeypot", "form discarded");
        return Outcome::Accepted {
            lang,
            id: RecordId::new(),
        };
    }
    let now = OffsetDateTime::now_utc();
    let submission = match Submission::parse(&raw, &state.manifest, now) {
        Ok(submission) => submission,
        Err(errors) => {
            tracing::info!(outcome = "invalid", errors = %errors.to_query_value(), "form refused");
            return Outcome::Invalid { lang, errors };
        }
    };
    let stamped = intake::stamp(submission, &state.manifest, &state.settings, method, now);
    match stamped {
        Ok((record, dedup)) => store_record(state, &record, &dedup, lang).await,
        Err(error) => {
            tracing::error!(%error, "cannot build a record");
            Outcome::Unavailable { lang }
        }
    }
}

/// The body, decoded, and how it was sent; or the refusal of a body too large, unreadable,
/// of another media type or not decodable (in the site's default language: the body's own
/// `lang` is not known yet).
fn read_body(
    state: &AppState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(RawSubmission, CollectionMethod), Outcome> {
    let default_lang = || state.manifest.default_language.clone();
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            tracing::info!(outcome = "too_large", "form refused");
            return Err(Outcome::Refused(Refusal::TooLarge));
        }
        Err(_) => {
            return Err(Outcome::Invalid {
                lang: default_lang(),
                errors: FieldErrors::whole_form(ErrorCode::InvalidEncoding),
            });
        }
    };
    let Some((decoded, method)) = decode(headers, &body) else {
        tracing::info!(outcome = "unsupported_media_type", "form refused");
        return Err(Outcome::Refused(Refusal::UnsupportedMediaType));
    };
    match decoded {
        Ok(raw) => Ok((raw, method)),
        Err(errors) => {
            tracing::info!(outcome = "invalid", errors = %errors.to_query_value(), "form refused");
            Err(Outcome::Invalid {
                lang: default_lang(),
                errors,
            })
        }
    }
}

/// Stores the stamped record with its outbox items in one write, then wakes the deliverer.
/// A duplicate (a retry or a double click) is accepted again under the first record's id,
/// unless its idempotency key was reused for other content.
async fn store_record(
    state: &AppState,
    record: &ConsentRecord,
    dedup: &DedupKeys,
    lang: String,
) -> Outcome {
    let outbox = intake::outbox_for(record, &state.notify_channels, record.received_at);
    match state.store.insert_with_outbox(record, dedup, &outbox).await {
        Ok(Inserted::Duplicate(earlier))
            if reused_for_other_content(state, earlier, dedup).await =>
        {
            tracing::info!(outcome = "idempotency_conflict", id = %earlier, "form refused");
            Outcome::Conflict { lang }
        }
        Ok(inserted) => {
            let duplicate = matches!(inserted, Inserted::Duplicate(_));
            if !duplicate {
                // Only stored submissions count against the global ceiling.
                state.limiter.accepted();
            }
            if !duplicate
                && !outbox.is_empty()
                && let Some(kick) = &state.kick
            {
                kick.notify_one();
            }
            tracing::info!(outcome = "stored", id = %inserted.id(), duplicate, "form received");
            Outcome::Accepted {
                lang,
                id: inserted.id(),
            }
        }
        Err(error) => {
            tracing::error!(%error, "store did not confirm the write");
            Outcome::Unavailable { lang }
        }
    }
}

/// Whether the stored record `earlier`, which a submission was found to duplicate, holds other
/// content than the submission: the script's idempotency key was reused for a new message,
/// which must not be dropped silently as a "retry". Same content (a true retry, or a double
/// click caught by the fingerprint) is not a conflict; neither is a record gone meanwhile.
async fn reused_for_other_content(state: &AppState, earlier: RecordId, dedup: &DedupKeys) -> bool {
    if dedup.idempotency_key.is_none() {
        return false;
    }
    match state.store.get(earlier).await {
        Ok(Some(record)) => {
            state.settings.hmac_key.record_fingerprint(&record) != dedup.fingerprint
        }
        _ => false,
    }
}

/// Answers a CORS preflight for an allowed origin; refuses it for any other.
pub(crate) async fn preflight(State(state): State<AppState>, headers: HeaderMap) -> Response {
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
        Err(outcome) => render(&state, Reply::for_request(&headers), None, outcome),
    }
}

/// Whether the request carries the origin secret in `X-Origin-Verify`, compared in constant
/// time (a guess learns nothing from how long the answer took).
fn carries_secret(headers: &HeaderMap, secret: &crate::secret::Secret<String>) -> bool {
    let Some(sent) = headers.get(ORIGIN_VERIFY_HEADER) else {
        return false;
    };
    let (sent, expected) = (sent.as_bytes(), secret.expose().as_bytes());
    sent.len() == expected.len()
        && sent
            .iter()
            .zip(expected)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// With an origin secret configured, every route answers only requests that carry it: the
/// function URL behind the CDN is public, and a request sent to it directly skips the CDN's
/// headers, limits and logs. Such a request gets the same refusal as a foreign origin.
pub(crate) async fn require_origin_secret(
    State(state): State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if let Some(secret) = &state.origin_secret
        && !carries_secret(request.headers(), secret)
    {
        tracing::info!(outcome = "no_origin_secret", "request refused");
        let reply = Reply::for_request(request.headers());
        return render(
            &state,
            reply,
            None,
            Outcome::Refused(Refusal::ForbiddenOrigin),
        );
    }
    next.run(request).await
}

pub(crate) async fn method_not_allowed(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Response {
    render(
        &state,
        Reply::for_request(&headers),
        None,
        Outcome::Refused(Refusal::MethodNotAllowed),
    )
}

fn set(headers: &mut HeaderMap, name: header::HeaderName, value: &'static str) {
    headers.insert(name, HeaderValue::from_static(value));
}

fn cors(headers: &mut HeaderMap, origin: Option<&str>) {
    headers.insert(header::VARY, HeaderValue::from_static("Origin"));
    if let Some(value) = origin.and_then(|o| HeaderValue::from_str(o).ok()) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
    }
}

/// The one mapping from outcome to HTTP. Nothing the visitor typed is ever put in a URL.
fn render(state: &AppState, reply: Reply, origin: Option<&str>, outcome: Outcome) -> Response {
    let default_lang = state.manifest.default_language.as_str();
    let mut response = match outcome {
        Outcome::Accepted { id, lang } => accepted(state, reply, id, &lang),
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
        Outcome::Unavailable { lang } => {
            let mut response = notice(
                state,
                reply,
                StatusCode::SERVICE_UNAVAILABLE,
                &lang,
                "unavailable",
                Notice::Unavailable,
            );
            retry_after(&mut response, u64::from(RETRY_AFTER_SECS));
            response
        }
        Outcome::Refused(refusal) => {
            let (status, error, what) = refusal.answer();
            let mut response = notice(state, reply, status, default_lang, error, what);
            if refusal == Refusal::MethodNotAllowed {
                set(response.headers_mut(), header::ALLOW, "OPTIONS, POST");
            }
            response
        }
    };
    if origin.is_some() {
        cors(response.headers_mut(), origin);
    }
    set(response.headers_mut(), header::CACHE_CONTROL, "no-store");
    response
}

/// Stored: 201 with the record's id for the script, or 303 to the language's thank-you page.
fn accepted(state: &AppState, reply: Reply, id: RecordId, lang: &str) -> Response {
    match reply {
        Reply::Json => (
            StatusCode::CREATED,
            axum::Json(serde_json::json!({ "id": id })),
        )
            .into_response(),
        Reply::Html => match state.manifest.languages.get(lang) {
            Some(l) => see_other(&l.thanks_url),
            None => StatusCode::CREATED.into_response(),
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
            let message = state.messages.text(lang, Notice::Field(code));
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

fn retry_after(response: &mut Response, secs: u64) {
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
}

pub(crate) fn see_other_public(location: &str) -> Response {
    see_other(location)
}

/// 303 to the language's error page with `?errors=field:code,...` (codes only); `fallback`
/// if the language is not in the manifest.
fn error_page(
    state: &AppState,
    lang: &str,
    errors: &FieldErrors,
    fallback: StatusCode,
) -> Response {
    match state.manifest.languages.get(lang) {
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

fn see_other(location: &str) -> Response {
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
fn notice(
    state: &AppState,
    reply: Reply,
    status: StatusCode,
    lang: &str,
    error: &'static str,
    what: Notice,
) -> Response {
    let message = state.messages.text(lang, what);
    match reply {
        Reply::Json => (
            status,
            axum::Json(serde_json::json!({ "error": error, "message": message })),
        )
            .into_response(),
        Reply::Html => {
            let back = state
                .manifest
                .languages
                .get(lang)
                .map(|l| l.contact_url.as_str())
                .unwrap_or("/");
            let back = format!(
                "<p><a href=\"{}\">{}</a></p>",
                escape(back),
                escape(&state.messages.back_to_form(lang))
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
pub(crate) fn message_page(lang: &str, message: &str, tail_html: &str) -> String {
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
