//! `kelisim-relay`: the standalone relay. `serve` receives the contact form (and, with
//! `--static-dir`, serves the built site from the same origin, so one process is a complete
//! one-machine deployment); `export`, `withdraw`, `erase` and `purge-expired` carry out
//! data-subject requests and retention (policy §4.1, §8.3, §8.4, §5.7, §8.8).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};
use kelisim_relay::config::{RelayConfig, StoreKind};
use kelisim_relay::manifest::ConsentManifest;
use kelisim_relay::sqlite::SqliteStore;
use kelisim_relay::store::Store;
use kelisim_relay::subject_requests;
use kelisim_relay::telemetry::{self, LogFormat};
use kelisim_relay::{AppState, app};
use time::OffsetDateTime;

#[derive(Debug, Parser)]
#[command(name = "kelisim-relay", version, about)]
struct Cli {
    /// TOML configuration file; environment variables (KELISIM_*) override it.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// The SQLite database (overrides `[sqlite] path`).
    #[arg(long, global = true)]
    db: Option<PathBuf>,
    /// Log format; JSON is forced under AWS Lambda.
    #[arg(long, global = true, value_enum)]
    log_format: Option<LogFormatArg>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormatArg {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Receive the contact form over HTTP.
    Serve {
        /// Address to listen on; port 0 picks a free one (printed on stdout).
        #[arg(long, default_value = "127.0.0.1:8787")]
        listen: SocketAddr,
        /// The generator's consent-manifest.json (overrides `manifest`).
        #[arg(long)]
        manifest: Option<PathBuf>,
        /// Also serve this directory (the built site) from the same origin.
        #[arg(long)]
        static_dir: Option<PathBuf>,
    },
    /// Print every record of the person with this email as JSON (access request, §8.3).
    Export {
        #[arg(long)]
        email: String,
    },
    /// Withdraw that person's consent, for one purpose or all (§8.4).
    Withdraw {
        #[arg(long)]
        email: String,
        #[arg(long)]
        purpose: Option<String>,
    },
    /// Delete every record of that person (erasure).
    Erase {
        #[arg(long)]
        email: String,
    },
    /// Delete records past their retention (§5.7, §8.8).
    PurgeExpired,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    telemetry::init(LogFormat::detect(cli.log_format.map(|f| match f {
        LogFormatArg::Text => LogFormat::Text,
        LogFormatArg::Json => LogFormat::Json,
    })));
    let mut config = RelayConfig::load(cli.config.as_deref()).context("loading configuration")?;
    if let Some(db) = cli.db {
        config.sqlite.path = db;
    }
    match cli.command {
        Command::Serve {
            listen,
            manifest,
            static_dir,
        } => {
            if let Some(manifest) = manifest {
                config.manifest = manifest;
            }
            serve(&config, listen, static_dir).await
        }
        Command::Export { email } => {
            let records = subject_requests::export(
                open_store(&config).await?.as_ref(),
                &config.hmac_key()?,
                &email,
            )
            .await?;
            println!("{}", serde_json::to_string_pretty(&records)?);
            Ok(())
        }
        Command::Withdraw { email, purpose } => {
            let changed = subject_requests::withdraw(
                open_store(&config).await?.as_ref(),
                &config.hmac_key()?,
                &email,
                purpose.as_deref(),
                OffsetDateTime::now_utc(),
            )
            .await?;
            println!("{changed} record(s) updated");
            Ok(())
        }
        Command::Erase { email } => {
            let erased = subject_requests::erase(
                open_store(&config).await?.as_ref(),
                &config.hmac_key()?,
                &email,
            )
            .await?;
            println!("{erased} record(s) erased");
            Ok(())
        }
        Command::PurgeExpired => {
            let purged = subject_requests::purge_expired(
                open_store(&config).await?.as_ref(),
                OffsetDateTime::now_utc(),
            )
            .await?;
            println!("{purged} expired record(s) deleted");
            Ok(())
        }
    }
}

async fn open_store(config: &RelayConfig) -> anyhow::Result<Arc<dyn Store>> {
    match config.store {
        StoreKind::Sqlite => {
            let store = SqliteStore::open_with_timeout(
                &config.sqlite.path,
                std::time::Duration::from_millis(config.sqlite.busy_timeout_ms),
            )
            .with_context(|| format!("opening {}", config.sqlite.path.display()))?;
            Ok(Arc::new(store))
        }
        #[cfg(feature = "dynamodb")]
        StoreKind::Dynamodb => {
            // The same store the Lambda `bootstrap` uses, so an operator can answer
            // data-subject requests (export, withdraw, erase, purge) from any machine.
            let Some(table) = config.dynamodb.table.clone() else {
                bail!("no DynamoDB table: set KELISIM_DYNAMODB_TABLE or `[dynamodb] table`");
            };
            let dynamo = kelisim_relay::dynamodb::DynamoConfig {
                table,
                region: config.dynamodb.region.clone(),
                endpoint_url: config.dynamodb.endpoint_url.clone(),
            };
            Ok(Arc::new(
                kelisim_relay::dynamodb::DynamoStore::from_config(&dynamo).await,
            ))
        }
        #[cfg(not(feature = "dynamodb"))]
        StoreKind::Dynamodb => {
            bail!(
                "this kelisim-relay was built without the `dynamodb` feature; rebuild with --features dynamodb"
            )
        }
    }
}

async fn serve(
    config: &RelayConfig,
    listen: SocketAddr,
    static_dir: Option<PathBuf>,
) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&config.manifest)
        .with_context(|| format!("reading {}", config.manifest.display()))?;
    let manifest = ConsentManifest::from_json(&text)
        .with_context(|| format!("checking {}", config.manifest.display()))?;
    let state = AppState::from_config(open_store(config).await?, manifest, config)
        .context("configuring the relay")?;
    let endpoint = state.endpoint_path().to_owned();
    let origins = state.allowed_origins().join(", ");
    let mut router = app(state);
    if let Some(dir) = static_dir {
        router = router.fallback_service(tower_http::services::ServeDir::new(dir));
    }
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    let local = listener.local_addr()?;
    // Black-box tests and scripts read this line to learn the port.
    println!("listening on http://{local}");
    tracing::info!(%local, %endpoint, %origins, "relay listening");
    // Connect info gives the handler the TCP peer address, which the rate limiter hashes.
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .context("serving")?;
    tracing::info!("relay stopped");
    Ok(())
}

/// Resolves on ctrl-c or SIGTERM, so in-flight requests finish (their writes are committed
/// before they answer) and the database is closed cleanly.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
