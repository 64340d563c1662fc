//! `bootstrap`: the relay as an AWS Lambda function (custom runtime, `provided.al2023`).
//!
//! Modes, chosen so one zip serves every job:
//! - no argument (how Lambda starts it): serve the contact form from a function URL or an
//!   API Gateway HTTP API;
//! - `KELISIM_LAMBDA_TASK=purge-expired` in the function's environment: a second function,
//!   run on a schedule (EventBridge), that deletes records past their retention on time,
//!   rather than within the ~48 hours DynamoDB's TTL takes;
//! - `KELISIM_LAMBDA_TASK=deliver`: a scheduled function (every minute) that sends what the
//!   outbox owes — the same round as `kelisim-relay deliver` (a Lambda freezes after
//!   answering, so the form function cannot deliver in the background);
//! - `bootstrap create-table` / `bootstrap purge-expired` / `bootstrap deliver` on an
//!   operator's machine: one-shot setup, retention and delivery commands against the table.

use std::sync::Arc;

use anyhow::{Context, anyhow, bail};
use kelisim_relay::deliver::Deliverer;
use kelisim_relay::lambda;
use kelisim_relay::store::Store;
use kelisim_relay::subject_requests;
use kelisim_relay::telemetry::{self, LogFormat};
use lambda_http::{LambdaEvent, service_fn};
use time::OffsetDateTime;

/// The audit log's name for what this function does on its own.
const ACTOR: &str = "lambda";

/// The per-purpose retention purge (see `kelisim-relay purge-expired`), audited. Returns how
/// many records were erased or reduced.
async fn purge(store: &dyn Store) -> anyhow::Result<usize> {
    let now = OffsetDateTime::now_utc();
    let plan = subject_requests::plan_purge(store.list_records().await?, now);
    let applied = subject_requests::apply(store, &plan, ACTOR).await?;
    let late = store.purge_expired(now).await?;
    Ok(applied.changed + usize::try_from(late).unwrap_or(usize::MAX))
}

/// Selects the scheduled purge mode inside Lambda.
const ENV_TASK: &str = "KELISIM_LAMBDA_TASK";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // JSON lines under Lambda (CloudWatch parses the fields), text on a terminal.
    telemetry::init(LogFormat::detect(None));
    let config = lambda::load_config().context("loading configuration")?;
    // Built once per cold start and shared by every invocation this instance serves.
    let store = lambda::dynamo_store(&config)
        .await
        .context("configuring DynamoDB")?;

    match std::env::args().nth(1).as_deref() {
        Some("create-table") => {
            store
                .create_table()
                .await
                .with_context(|| format!("creating table {}", store.table()))?;
            let key = config.hmac_key().context("the HMAC key")?;
            subject_requests::check_key(&store, &key, ACTOR)
                .await
                .context("storing the key-check value")?;
            println!("created table {}", store.table());
            return Ok(());
        }
        Some("purge-expired") => {
            let purged = purge(&store).await?;
            println!("{purged} record(s) erased or reduced");
            return Ok(());
        }
        Some("deliver") => {
            let deliverer = deliverer(&config, store)?;
            let report = deliverer.run_once(OffsetDateTime::now_utc()).await?;
            println!(
                "{} delivered, {} to retry, {} dropped",
                report.delivered, report.retried, report.dropped
            );
            return Ok(());
        }
        Some(other) => {
            bail!("unknown command `{other}`: expected create-table, purge-expired or deliver")
        }
        None => {}
    }

    match std::env::var(ENV_TASK).ok().as_deref() {
        Some("purge-expired") => {
            let store = &store;
            lambda_http::lambda_runtime::run(service_fn(
                move |_: LambdaEvent<serde_json::Value>| async move {
                    let purged = purge(store).await.map_err(lambda_http::Error::from)?;
                    tracing::info!(purged, "retention purge done");
                    Ok::<_, lambda_http::Error>(serde_json::json!({ "purged": purged }))
                },
            ))
            .await
            .map_err(|e| anyhow!(e))
        }
        Some("deliver") => {
            let deliverer = &deliverer(&config, store)?;
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
                        "delivery round done"
                    );
                    Ok::<_, lambda_http::Error>(serde_json::json!({
                        "delivered": report.delivered,
                        "retried": report.retried,
                        "dropped": report.dropped,
                    }))
                },
            ))
            .await
            .map_err(|e| anyhow!(e))
        }
        Some(other) => {
            bail!("{ENV_TASK}=`{other}` is not a task; the tasks are purge-expired and deliver")
        }
        None => {
            // A function deployed with another key would store records nobody can find.
            let key = config.hmac_key().context("the HMAC key")?;
            subject_requests::verify_key(&store, &key)
                .await
                .context("checking the HMAC key against the table")?;
            let router =
                lambda::router(&config, Arc::new(store)).context("configuring the relay")?;
            tracing::info!("relay ready");
            lambda_http::run(router).await.map_err(|e| anyhow!(e))
        }
    }
}

/// The delivery round's setup: the bundled manifest's messages and the `[notify]` transports.
fn deliverer(
    config: &kelisim_relay::config::RelayConfig,
    store: kelisim_relay::dynamodb::DynamoStore,
) -> anyhow::Result<Deliverer> {
    let manifest = kelisim_relay::manifest::ConsentManifest::from_path(&config.manifest)?;
    Ok(kelisim_relay::transport::deliverer(
        config,
        Arc::new(store),
        manifest,
    )?)
}
