//! The operator's console (`kelisim-relay console`): a small server-rendered web app for the
//! operator's whole day, on a loopback address only, so no admin page is ever on the
//! internet. It is a transport like the form handlers and the commands: each page parses its
//! input, calls the use cases the commands call (`app::inbox`, `app::rights`, `app::desk`,
//! the plans of `domain::plan`) and renders the outcome, in Kazakh or Russian (Fluent,
//! `locales/<lang>/console.ftl`).
//!
//! - [`gate`]: the one-time token, the session cookie, the CSRF token and the origin checks;
//! - [`page`]: the layout and the words; one module per page family: [`inbox`], [`record`]
//!   (and [`rectify`]), [`plans`] (every change is shown first, then carried out only as
//!   shown), [`requests`], [`deliveries`], [`mailing`], [`audit`].
//!
//! Every answer carries the relay's security headers with a stricter CSP of its own (no
//! script at all) and `Cache-Control: no-store`. URLs hold record and request ids only; an
//! address travels in POST bodies. Nothing personal is logged.

pub mod audit;
pub mod deliveries;
pub mod gate;
pub mod inbox;
pub mod lookup;
pub mod mailing;
pub mod page;
pub mod plans;
pub mod record;
pub mod rectify;
pub mod requests;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use kelisim_manifest::ConsentManifest;

use crate::domain::hmac_key::HmacKey;
use crate::domain::messages::{Messages, MessagesError};
use crate::store::Store;
use gate::{Gate, Session, Traded};
use page::Ctx;

/// The console's Content-Security-Policy: stricter than the site's (no script of any
/// origin, nothing but its own stylesheet), since it needs none.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The address the console listens on unless told otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8788";

/// The largest form body the console reads (the rectify form's message fits).
const MAX_FORM_BYTES: usize = 256 * 1024;

/// Why `--listen` was refused: the console never listens beyond this computer.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error(
    "the console only listens on this computer (a loopback address such as {DEFAULT_LISTEN}), \
     not on {0}: everyone's messages would be one address away from the network. To use it \
     from your own computer, run it on the server and forward the port: \
     ssh -L 8788:127.0.0.1:8788 your-server"
)]
pub struct NotLoopback(pub SocketAddr);

/// Accepts only a loopback address (`127.0.0.0/8`, `::1`).
pub fn check_listen(addr: SocketAddr) -> Result<(), NotLoopback> {
    if addr.ip().is_loopback() {
        Ok(())
    } else {
        Err(NotLoopback(addr))
    }
}

/// What the console works with, built once when it starts.
pub struct Console {
    pub store: Arc<dyn Store>,
    pub key: HmacKey,
    pub manifest: Option<Arc<ConsentManifest>>,
    pub messages: Arc<Messages>,
    /// Who acts, for the audit log: set once per console run (`--by`, default `$USER`).
    pub actor: String,
    /// The language the console opens in (`kk` or `ru`).
    pub lang: &'static str,
    /// Days to answer each kind of request (for requests entered here).
    pub deadlines: BTreeMap<String, u32>,
    /// Days the reply purpose's data stay after an answer.
    pub reply_after_answer: u32,
    pub gate: Gate,
    pub plans: plans::PlanBook,
    /// Notified by the stop button; the server stops and the store is closed.
    pub stop: tokio::sync::Notify,
}

impl std::fmt::Debug for Console {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Console")
            .field("actor", &self.actor)
            .finish_non_exhaustive()
    }
}

/// What starting a console needs besides the store.
#[derive(Debug)]
pub struct Settings {
    pub key: HmacKey,
    pub manifest: Option<ConsentManifest>,
    pub actor: String,
    /// The language to open in; one the console lacks opens in Kazakh.
    pub lang: String,
    pub deadlines: BTreeMap<String, u32>,
    /// Days the reply purpose's data stay after the message is answered
    /// (`[retention_days] reply_after_answer`).
    pub reply_after_answer: u32,
}

impl Console {
    /// A console on `store` that admits the holder of `token` once.
    pub fn new(
        store: Arc<dyn Store>,
        settings: Settings,
        token: String,
    ) -> Result<Self, MessagesError> {
        let messages = Messages::for_console(settings.manifest.as_ref())?;
        Ok(Self {
            store,
            key: settings.key,
            manifest: settings.manifest.map(Arc::new),
            messages: Arc::new(messages),
            actor: settings.actor,
            lang: if settings.lang == "ru" { "ru" } else { "kk" },
            deadlines: settings.deadlines,
            reply_after_answer: settings.reply_after_answer,
            gate: Gate::new(token),
            plans: plans::PlanBook::default(),
            stop: tokio::sync::Notify::new(),
        })
    }

    /// The page context for `lang` in `session`; `None` for a language the console lacks.
    pub fn ctx(&self, lang: &str, session: &Session) -> Option<Ctx> {
        Ctx::new(lang, &session.csrf, &self.actor, &self.messages)
    }

    /// The 404 page in `lang` (or Kazakh).
    pub fn not_found(&self, lang: &str, session: &Session) -> Response {
        let ctx = self.ctx(lang, session).or_else(|| self.ctx("kk", session));
        match ctx {
            Some(ctx) => page::message_page(
                &ctx,
                StatusCode::NOT_FOUND,
                &ctx.t("console-not-found"),
                &ctx.t("console-not-found"),
            ),
            None => StatusCode::NOT_FOUND.into_response(),
        }
    }
}

/// The page context of a request to a `/{lang}/…` route: its language and session, as
/// [`Console::ctx`] makes them. A language the console does not speak, or a request that
/// passed no gate, is answered with [`Console::not_found`] before the handler runs, so no
/// handler repeats that check.
pub struct PageCtx(pub Ctx);

impl axum::extract::FromRequestParts<Arc<Console>> for PageCtx {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        console: &Arc<Console>,
    ) -> Result<Self, Response> {
        let Some(session) = parts.extensions.get::<Session>().cloned() else {
            return Err(StatusCode::FORBIDDEN.into_response());
        };
        let params = axum::extract::RawPathParams::from_request_parts(parts, console)
            .await
            .map_err(IntoResponse::into_response)?;
        let lang = params
            .iter()
            .find_map(|(name, value)| (name == "lang").then_some(value))
            .unwrap_or_default();
        console
            .ctx(lang, &session)
            .map(PageCtx)
            .ok_or_else(|| console.not_found(lang, &session))
    }
}

/// The console's routes, guarded, with their headers.
pub fn router(console: Arc<Console>) -> Router {
    let pages = Router::new()
        .route("/{lang}/inbox", get(inbox::page))
        .route("/{lang}/records/{id}", get(record::page))
        .route("/{lang}/records/{id}/answer", post(record::answer))
        .route("/{lang}/records/{id}/export", post(record::export))
        .route("/{lang}/records/{id}/plan", post(plans::record_plan))
        .route(
            "/{lang}/records/{id}/rectify",
            get(rectify::form).post(rectify::plan),
        )
        .route("/{lang}/plans/{plan}", post(plans::carry_out))
        .route("/{lang}/requests", get(requests::list).post(requests::open))
        .route("/{lang}/requests/{id}", get(requests::page))
        .route("/{lang}/requests/{id}/plan", post(plans::request_plan))
        .route("/{lang}/requests/{id}/export", post(requests::export))
        .route("/{lang}/requests/{id}/find", post(requests::find))
        .route("/{lang}/requests/{id}/close", post(requests::close))
        .route("/{lang}/deliveries", get(deliveries::page))
        .route("/{lang}/deliveries/{id}/retry", post(deliveries::retry))
        .route(
            "/{lang}/mailing-list",
            get(mailing::page).post(mailing::download),
        )
        .route("/{lang}/audit", get(audit::page))
        .route("/{lang}/stop", post(stop))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(Arc::clone(&console), guard));
    let router = Router::new()
        .route("/", get(entry))
        .route("/console.css", get(stylesheet))
        .merge(pages)
        .with_state(console);
    with_headers(router)
}

/// The relay's security headers, the console's own CSP over them, and `no-store` on every
/// answer (pages show personal data; nothing of the console belongs in a cache).
fn with_headers(router: Router) -> Router {
    crate::web::security_headers::apply(router).layer(middleware::map_response(
        |mut response: Response| async move {
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CONTENT_SECURITY_POLICY),
            );
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        },
    ))
}

/// The `Host` a request was sent to, when it names this computer.
fn loopback_host(request: &Request) -> Option<String> {
    let host = request.headers().get(header::HOST)?.to_str().ok()?;
    gate::loopback_host(host).then(|| host.to_owned())
}

/// The session the request's cookie names.
fn session_of(console: &Console, request: &Request) -> Option<Session> {
    let cookies = request.headers().get(header::COOKIE)?.to_str().ok()?;
    console.gate.session(gate::cookie_value(cookies)?)
}

/// Every page's guard: a loopback host, the session's cookie, and for a POST the console's
/// own origin and the session's CSRF token. The session goes to the handler.
async fn guard(State(console): State<Arc<Console>>, mut request: Request, next: Next) -> Response {
    let Some(host) = loopback_host(&request) else {
        return page::refusal(&console.messages, "console-forbidden-host");
    };
    let Some(session) = session_of(&console, &request) else {
        return page::refusal(&console.messages, "console-forbidden-title");
    };
    if request.method() == Method::POST {
        let origin = request
            .headers()
            .get(header::ORIGIN)
            .and_then(|o| o.to_str().ok());
        if !gate::same_origin(origin, &host) {
            return page::refusal(&console.messages, "console-forbidden-post");
        }
        let (parts, body) = request.into_parts();
        let Ok(bytes) = axum::body::to_bytes(body, MAX_FORM_BYTES).await else {
            return StatusCode::PAYLOAD_TOO_LARGE.into_response();
        };
        let fields: Vec<(String, String)> = serde_html_form::from_bytes(&bytes).unwrap_or_default();
        let offered = fields
            .iter()
            .find(|(name, _)| name == gate::CSRF_FIELD)
            .map(|(_, value)| value.as_str());
        if !gate::csrf_matches(&session, offered) {
            return page::refusal(&console.messages, "console-forbidden-post");
        }
        request = Request::from_parts(parts, Body::from(bytes));
    }
    request.extensions_mut().insert(session);
    next.run(request).await
}

/// `/?token=…`: trades the printed token for the session cookie and leaves the token's URL
/// at once (303 to the inbox). Without a token, an open session goes to the inbox and
/// anyone else is told how to start the console.
async fn entry(
    State(console): State<Arc<Console>>,
    Query(query): Query<BTreeMap<String, String>>,
    request: Request,
) -> Response {
    if loopback_host(&request).is_none() {
        return page::refusal(&console.messages, "console-forbidden-host");
    }
    let inbox = Redirect::to(&format!("/{}/inbox", console.lang));
    if let Some(token) = query.get("token") {
        return match console.gate.trade(token) {
            Traded::Session(id) => {
                let mut response = inbox.into_response();
                if let Ok(cookie) = HeaderValue::from_str(&gate::set_cookie(&id)) {
                    response.headers_mut().insert(header::SET_COOKIE, cookie);
                }
                response
            }
            Traded::Refused => page::refusal(&console.messages, "console-token-used"),
        };
    }
    match session_of(&console, &request) {
        Some(_) => inbox.into_response(),
        None => page::refusal(&console.messages, "console-forbidden-title"),
    }
}

async fn stylesheet() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/css; charset=utf-8"),
        )],
        include_str!("console.css"),
    )
        .into_response()
}

async fn not_found(
    State(console): State<Arc<Console>>,
    axum::Extension(session): axum::Extension<Session>,
    request: Request,
) -> Response {
    let lang = request.uri().path().get(1..3).unwrap_or("kk").to_owned();
    console.not_found(&lang, &session)
}

/// The stop button: the server stops (the store is closed with it).
async fn stop(State(console): State<Arc<Console>>, PageCtx(ctx): PageCtx) -> Response {
    console.stop.notify_one();
    let body = format!(
        "<!doctype html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<link rel=\"stylesheet\" href=\"/console.css\">\n</head>\n\
         <body>\n<main>\n<h1>{}</h1>\n<p>{}</p>\n</main>\n</body>\n</html>\n",
        ctx.lang,
        ctx.h("console-stopped-title"),
        ctx.h("console-stopped-title"),
        page::rich(&ctx.t("console-stopped-body"))
    );
    page::html(StatusCode::OK, body)
}
