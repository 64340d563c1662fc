//! `kelisim-relay`: the standalone relay. `serve` receives the contact form (and, with
//! `--static-dir`, serves the built site from the same origin, so one process is a complete
//! one-machine deployment); `records …`, `purge-expired`, `audit` and `rekey` carry out
//! data-subject requests and retention (policy §2.2, §2.5, §2.14, §4.1, §5.7, §8.3, §8.4,
//! §8.8, §8.9).

#[path = "cli/rights.rs"]
mod rights_cli;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};
use kelisim_relay::config::{RelayConfig, StoreKind};
use kelisim_relay::fingerprint::HmacKey;
use kelisim_relay::manifest::ConsentManifest;
use kelisim_relay::sqlite::SqliteStore;
use kelisim_relay::store::Store;
use kelisim_relay::subject_requests;
use kelisim_relay::telemetry::{self, LogFormat};
use kelisim_relay::{AppState, app};

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
    #[command(flatten)]
    confirm: rights_cli::Confirm,
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
    /// One person's records: find, export, rectify, block, withdraw, erase, anonymize.
    Records {
        #[command(subcommand)]
        command: RecordsCommand,
    },
    /// Apply retention per purpose (§5.7, §8.8): delete records past it, drop the data of
    /// purposes whose retention ended. Run daily (with --yes).
    PurgeExpired,
    /// Show the audit log of operator actions and data-subject requests.
    Audit(rights_cli::AuditArgs),
    /// Re-derive every lookup hash under a new HMAC key (resumable).
    Rekey(rights_cli::RekeyArgs),
    /// Same as `records export --email X` (JSON).
    #[command(hide = true)]
    Export {
        #[arg(long)]
        email: String,
    },
    /// Same as `records withdraw`.
    #[command(hide = true)]
    Withdraw {
        #[arg(long)]
        email: String,
        #[arg(long)]
        purpose: Option<String>,
    },
    /// Same as `records erase --email X`.
    #[command(hide = true)]
    Erase {
        #[arg(long)]
        email: String,
    },
}

/// `kelisim-relay records …`.
#[derive(Debug, Subcommand)]
enum RecordsCommand {
    #[command(flatten)]
    Rights(rights_cli::RightsCommand),
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
            serve(&config, listen, static_dir, &cli.confirm).await
        }
        Command::Records { command } => match command {
            RecordsCommand::Rights(command) => rights_command(&config, command, &cli.confirm).await,
        },
        Command::Export { email } => {
            let command = rights_cli::RightsCommand::Export {
                email,
                format: rights_cli::ExportFormat::Json,
                lang: None,
            };
            rights_command(&config, command, &cli.confirm).await
        }
        Command::Withdraw { email, purpose } => {
            let command = rights_cli::RightsCommand::Withdraw { email, purpose };
            rights_command(&config, command, &cli.confirm).await
        }
        Command::Erase { email } => {
            let command = rights_cli::RightsCommand::Erase(rights_cli::Target {
                id: None,
                email: Some(email),
            });
            rights_command(&config, command, &cli.confirm).await
        }
        Command::PurgeExpired => {
            let store = open_checked_store(&config, &cli.confirm).await?.0;
            rights_cli::purge(store.as_ref(), &cli.confirm).await
        }
        Command::Audit(args) => {
            let store = open_checked_store(&config, &cli.confirm).await?.0;
            rights_cli::audit(store.as_ref(), &args).await
        }
        Command::Rekey(args) => {
            let store = open_store(&config).await?;
            rights_cli::rekey(store.as_ref(), &config.hmac_key()?, &args, &cli.confirm).await
        }
    }
}

async fn rights_command(
    config: &RelayConfig,
    command: rights_cli::RightsCommand,
    confirm: &rights_cli::Confirm,
) -> anyhow::Result<()> {
    let (store, key) = open_checked_store(config, confirm).await?;
    rights_cli::run(command, store.as_ref(), &key, confirm).await
}

/// The store, after checking that the configured key is the one its data was written with.
async fn open_checked_store(
    config: &RelayConfig,
    confirm: &rights_cli::Confirm,
) -> anyhow::Result<(Arc<dyn Store>, HmacKey)> {
    let store = open_store(config).await?;
    let key = config.hmac_key()?;
    subject_requests::check_key(store.as_ref(), &key, &confirm.actor()).await?;
    Ok((store, key))
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
    confirm: &rights_cli::Confirm,
) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&config.manifest)
        .with_context(|| format!("reading {}", config.manifest.display()))?;
    let manifest = ConsentManifest::from_json(&text)
        .with_context(|| format!("checking {}", config.manifest.display()))?;
    let (store, _) = open_checked_store(config, confirm).await?;
    let state = AppState::from_config(store, manifest, config).context("configuring the relay")?;
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
