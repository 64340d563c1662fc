//! Running the relay on AWS Lambda: configuration from the environment, the consent manifest
//! bundled in the zip, records in DynamoDB, and the same axum router as the standalone server.
//!
//! `lambda_http` turns function-URL and API Gateway HTTP API (payload 2.0) events into
//! `http::Request`s and the router's responses back into events, so the visitor sees exactly
//! the statuses the standalone relay sends. The router never returns an `Err`: every visitor
//! mistake is a 4xx response, and a store failure a 503 the page's script can retry, whereas
//! an `Err` would become a Lambda invocation error the browser can do nothing with.
//!
//! All of the Lambda glue lives here; `bin/bootstrap.rs` only calls [`run`]. Modes, chosen so
//! one zip serves every job:
//! - no argument (how Lambda starts it): serve the contact form from a function URL or an
//!   API Gateway HTTP API;
//! - `KELISIM_LAMBDA_TASK=purge-expired` in the function's environment: a second function,
//!   run on a schedule (EventBridge), that deletes records past their retention on time,
//!   rather than within the ~48 hours DynamoDB's TTL takes, then checks every remaining
//!   record's consent stamp against the site at the bundled manifest's `base_url` (as
//!   `kelisim-relay records verify --all` does); an unverifiable record fails the invocation;
//! - `KELISIM_LAMBDA_TASK=deliver`: a scheduled function (every minute) that sends what the
//!   outbox owes — the same round as `kelisim-relay deliver` (a Lambda freezes after
//!   answering, so the form function cannot deliver in the background);
//! - `bootstrap create-table` / `bootstrap purge-expired` / `bootstrap deliver` on an
//!   operator's machine: one-shot setup, retention and delivery commands against the table.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context as _, anyhow, bail};
use axum::Router;
use axum::extract::Request;
use lambda_http::request::RequestContext;
use lambda_http::{LambdaEvent, service_fn};
use time::OffsetDateTime;

use crate::app::{keys, retention, verify};
use crate::config::{ConfigError, RelayConfig, StoreKind, env};
use crate::delivery::Deliverer;
use crate::published::{FETCH_TIMEOUT, HttpSite, PublishedSite};
use crate::store::Store;
use crate::store::dynamodb::{DynamoStore, NoTable};
use crate::telemetry::{self, LogFormat};
use crate::web::{AppState, RuntimeClientAddr, StateError, app};
use kelisim_manifest::{ConsentManifest, ManifestError};

/// The manifest's file name inside the deployment zip, beside `bootstrap`.
pub const BUNDLED_MANIFEST: &str = "consent-manifest.json";

/// Optional TOML configuration file (the environment still wins over it).
pub const ENV_CONFIG_FILE: &str = "KELISIM_CONFIG";

/// Why the function could not start. Holds no personal data (there is none at start-up).
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    #[error(transparent)]
    NoTable(#[from] NoTable),
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error("cannot configure the relay: {0}")]
    State(#[from] StateError),
}

/// Reads the configuration as the function sees it: `KELISIM_CONFIG` (optional file), then
/// the `KELISIM_*` environment. Records always go to DynamoDB here (a Lambda has no disk that
/// outlives it), and the manifest defaults to the copy bundled in the zip.
pub fn load_config() -> Result<RelayConfig, SetupError> {
    let file = std::env::var_os(ENV_CONFIG_FILE).map(PathBuf::from);
    let mut config = RelayConfig::load(file.as_deref())?;
    config.store = StoreKind::Dynamodb;
    let manifest_set = std::env::var(env::MANIFEST).is_ok_and(|v| !v.trim().is_empty());
    if !manifest_set && file.is_none() {
        config.manifest = task_root().join(BUNDLED_MANIFEST);
    }
    Ok(config)
}

/// Where Lambda unpacked the zip (`/var/task`), or the working directory elsewhere.
fn task_root() -> PathBuf {
    std::env::var_os("LAMBDA_TASK_ROOT").map_or_else(|| PathBuf::from("."), PathBuf::from)
}

/// Builds the store once per cold start (the SDK client holds the connection pool and the
/// credentials cache that later invocations reuse).
pub async fn dynamo_store(config: &RelayConfig) -> Result<DynamoStore, SetupError> {
    Ok(DynamoStore::from_config(&config.dynamodb).await?)
}

/// The relay's router on `store`, configured by `config`: what `lambda_http::run` serves, with
/// each request's `sourceIp` handed to the rate limiter.
pub fn router(config: &RelayConfig, store: Arc<dyn Store>) -> Result<Router, SetupError> {
    let manifest = ConsentManifest::from_path(&config.manifest)?;
    let router = app(AppState::from_config(store, manifest, config)?);
    Ok(router.layer(axum::middleware::map_request(with_source_ip)))
}

/// Marks the request with the client address AWS put in its context.
async fn with_source_ip(mut request: Request) -> Request {
    if let Some(ip) = source_ip(&request) {
        request.extensions_mut().insert(RuntimeClientAddr(ip));
    }
    request
}

/// `sourceIp` from the API Gateway HTTP API / function URL request context that
/// `lambda_http` puts in the request's extensions (set by AWS, not by the client).
fn source_ip(request: &Request) -> Option<IpAddr> {
    // Only the `apigw_http` event kind is enabled, so this pattern is irrefutable today;
    // written as `if let` so another enabled kind falls through to "unknown".
    #[allow(irrefutable_let_patterns)]
    if let RequestContext::ApiGatewayV2(context) = request.extensions().get::<RequestContext>()? {
        return context.http.source_ip.as_deref()?.parse().ok();
    }
    None
}

/// The audit log's name for what this function does on its own.
const ACTOR: &str = "lambda";

/// Selects a scheduled task instead of the form (see the module's modes).
pub const ENV_TASK: &str = "KELISIM_LAMBDA_TASK";

/// What this process does: one of the functions Lambda runs, or a one-shot command on an
/// operator's machine (see the module's modes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Serve the contact form (no argument, no task).
    Form,
    /// `KELISIM_LAMBDA_TASK=purge-expired`: the scheduled retention purge.
    PurgeTask,
    /// `KELISIM_LAMBDA_TASK=deliver`: the scheduled delivery round.
    DeliverTask,
    /// `bootstrap create-table`: create the table and store the key-check value.
    CreateTable,
    /// `bootstrap purge-expired`: one retention purge, now.
    PurgeOnce,
    /// `bootstrap deliver`: one delivery round, now.
    DeliverOnce,
}

impl Mode {
    /// The mode for the first argument and the `KELISIM_LAMBDA_TASK` value; an unknown one
    /// is refused with the list of known ones.
    pub fn parse(command: Option<&str>, task: Option<&str>) -> anyhow::Result<Self> {
        Ok(match (command, task) {
            (Some("create-table"), _) => Self::CreateTable,
            (Some("purge-expired"), _) => Self::PurgeOnce,
            (Some("deliver"), _) => Self::DeliverOnce,
            (Some(other), _) => {
                bail!("unknown command `{other}`: expected create-table, purge-expired or deliver")
            }
            (None, Some("purge-expired")) => Self::PurgeTask,
            (None, Some("deliver")) => Self::DeliverTask,
            (None, Some(other)) => {
                bail!("{ENV_TASK}=`{other}` is not a task; the tasks are purge-expired and deliver")
            }
            (None, None) => Self::Form,
        })
    }
}

/// The whole `bootstrap` binary: `command` is its first argument, if any (see the module's
/// modes). Logs as JSON lines under Lambda (CloudWatch parses the fields), text on a terminal.
pub async fn run(command: Option<&str>) -> anyhow::Result<()> {
    telemetry::init(LogFormat::detect(None));
    let mode = Mode::parse(command, std::env::var(ENV_TASK).ok().as_deref())?;
    let config = load_config().context("loading configuration")?;
    // Built once per cold start and shared by every invocation this instance serves.
    let store = dynamo_store(&config)
        .await
        .context("configuring DynamoDB")?;
    match mode {
        Mode::Form => serve_form(&config, store).await,
        Mode::PurgeTask => serve_purge(&config, &store).await,
        Mode::DeliverTask => serve_delivery(&deliverer(&config, store)?).await,
        Mode::CreateTable => create_table(&config, &store).await,
        Mode::PurgeOnce => {
            let purged = purge(&store).await?;
            println!("{purged} record(s) erased or reduced");
            Ok(())
        }
        Mode::DeliverOnce => {
            let report = deliverer(&config, store)?
                .run_once(OffsetDateTime::now_utc())
                .await?;
            println!("{report}");
            Ok(())
        }
    }
}

/// `bootstrap create-table`: the table, then the key-check value of the configured key.
async fn create_table(config: &RelayConfig, store: &DynamoStore) -> anyhow::Result<()> {
    store
        .create_table()
        .await
        .with_context(|| format!("creating table {}", store.table()))?;
    let key = config.hmac_key().context("the HMAC key")?;
    keys::check_key(store, &key, ACTOR)
        .await
        .context("storing the key-check value")?;
    println!("created table {}", store.table());
    Ok(())
}

/// The contact form: serves the router. No call to the table at start: every write checks
/// its key against the table's key state inside its own transaction (a wrong key gets 503
/// and an error in the log), so a cold start reaches Lambda's first `/next` without a
/// round trip to DynamoDB.
async fn serve_form(config: &RelayConfig, store: DynamoStore) -> anyhow::Result<()> {
    let router = router(config, Arc::new(store)).context("configuring the relay")?;
    tracing::info!("relay ready");
    lambda_http::run(router).await.map_err(|e| anyhow!(e))
}

/// The scheduled retention purge, then the check of every stamp left ([`verify_stamps`]):
/// both per event. The site is set up once from the bundled manifest; if that fails, the
/// purge still runs and each event then fails on the check, so retention never waits on it.
async fn serve_purge(config: &RelayConfig, store: &DynamoStore) -> anyhow::Result<()> {
    let site = ConsentManifest::from_path(&config.manifest)
        .map_err(|e| e.to_string())
        .and_then(|m| HttpSite::new(&m.base_url, FETCH_TIMEOUT).map_err(|e| e.to_string()));
    let site = &site;
    lambda_http::lambda_runtime::run(service_fn(
        move |_: LambdaEvent<serde_json::Value>| async move {
            let purged = purge(store).await.map_err(lambda_http::Error::from)?;
            tracing::info!(purged, "retention purge done");
            let site = site.as_ref().map_err(|why| {
                tracing::error!(error = %why, "consent stamps not verified: no site to read");
                lambda_http::Error::from(format!("consent stamps not verified: {why}"))
            })?;
            let verified = verify_stamps(store, site)
                .await
                .map_err(lambda_http::Error::from)?;
            Ok::<_, lambda_http::Error>(
                serde_json::json!({ "purged": purged, "verified": verified }),
            )
        },
    ))
    .await
    .map_err(|e| anyhow!(e))
}

/// Checks every record's consent stamp against the published site (`records verify --all`).
/// Each unverifiable record is logged as an error with its id, language, version and
/// reasons (no personal data), then one summary error with the count in `unverifiable`, and
/// the invocation fails, so the purge function's Errors alarm fires. Returns how many were
/// verified.
async fn verify_stamps(store: &DynamoStore, site: &HttpSite) -> anyhow::Result<usize> {
    let checks = verify::verify_all(store, site).await.inspect_err(|e| {
        tracing::error!(error = %e, "consent stamps not verified");
    })?;
    let unverifiable: Vec<_> = checks.iter().filter(|c| !c.is_verified()).collect();
    for check in &unverifiable {
        tracing::error!(
            record_id = %check.id,
            language = %check.language,
            policy_version = %check.policy_version,
            reasons = %crate::views::verify::line(check),
            "unverifiable record"
        );
    }
    if unverifiable.is_empty() {
        tracing::info!(
            checked = checks.len(),
            unverifiable = 0,
            "consent stamps verified"
        );
        return Ok(checks.len());
    }
    tracing::error!(
        checked = checks.len(),
        unverifiable = unverifiable.len(),
        "consent stamps unverifiable"
    );
    bail!(
        "{} of {} record(s) unverifiable against {}",
        unverifiable.len(),
        checks.len(),
        site.describe()
    )
}

/// The scheduled delivery: one round of the outbox per event.
async fn serve_delivery(deliverer: &Deliverer) -> anyhow::Result<()> {
    lambda_http::lambda_runtime::run(service_fn(
        move |_: LambdaEvent<serde_json::Value>| async move {
            let report = deliverer
                .run_once(OffsetDateTime::now_utc())
                .await
                .map_err(lambda_http::Error::from)?;
            tracing::info!(
                delivered = report.delivered,
                retried = report.retried,
                dropped = report.dropped,
                dead = report.dead,
                dead_letters = report.dead_letters,
                backlog = report.backlog(),
                "delivery round done"
            );
            Ok::<_, lambda_http::Error>(serde_json::json!({
                "delivered": report.delivered,
                "retried": report.retried,
                "dropped": report.dropped,
                "dead": report.dead,
                "dead_letters": report.dead_letters,
            }))
        },
    ))
    .await
    .map_err(|e| anyhow!(e))
}

/// The per-purpose retention purge (see `kelisim-relay purge-expired`), audited. Returns how
/// many records were erased or reduced.
async fn purge(store: &DynamoStore) -> anyhow::Result<usize> {
    let purged = retention::purge(store, ACTOR, OffsetDateTime::now_utc()).await?;
    Ok(purged.total())
}

/// The delivery round's setup: the bundled manifest's messages and the `[notify]` transports.
fn deliverer(config: &RelayConfig, store: DynamoStore) -> anyhow::Result<Deliverer> {
    let manifest = ConsentManifest::from_path(&config.manifest)?;
    Ok(crate::delivery::senders::deliverer(
        config,
        Arc::new(store),
        manifest,
    )?)
}
