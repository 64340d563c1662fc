//! `kelisim-relay`: the standalone relay. `serve` receives the contact form (and, with
//! `--static-dir`, serves the built site from the same origin, so one process is a complete
//! one-machine deployment); `inbox`, `records` and `deliver` are the operator's day (read,
//! answer, mailing list, notifications); `records …` (find, export, rectify, block, withdraw,
//! erase, anonymize), `purge-expired`, `audit` and `rekey` carry out data-subject requests and
//! retention (policy §2.2, §2.5, §2.14, §4.1, §5.7, §8.3, §8.4, §8.8, §8.9).

#[path = "cli/operate.rs"]
mod operate_cli;
#[path = "cli/rights.rs"]
mod rights_cli;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};
use kelisim_relay::config::{RelayConfig, StoreKind};
use kelisim_relay::deliver::{self, Deliverer};
use kelisim_relay::fingerprint::HmacKey;
use kelisim_relay::inbox;
use kelisim_relay::manifest::ConsentManifest;
use kelisim_relay::record::{Answered, ConsentRecord, RecordId};
use kelisim_relay::site_files::{DirFiles, StaticSite};
use kelisim_relay::sqlite::SqliteStore;
use kelisim_relay::store::Store;
use kelisim_relay::subject_requests;
use kelisim_relay::telemetry::{self, LogFormat};
use kelisim_relay::transport;
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
    /// Messages not yet answered, oldest first.
    Inbox {
        /// Include answered messages.
        #[arg(long)]
        all: bool,
        /// JSON for scripts instead of an aligned table.
        #[arg(long)]
        json: bool,
    },
    /// Read, answer and list records.
    #[command(subcommand)]
    Records(RecordsCommand),
    /// Send what the outbox owes (notifications, confirmation mail) and exit; run it from
    /// cron, or let `serve` do it in the background.
    Deliver {
        /// Only show what is queued, sending nothing.
        #[arg(long)]
        status: bool,
    },
    /// Apply retention per purpose (§5.7, §8.8): delete records past it, drop the data of
    /// purposes whose retention ended. Run daily (with --yes).
    PurgeExpired,
    /// Data-subject requests and their deadlines: open, list (--overdue), close.
    #[command(subcommand)]
    Requests(rights_cli::RequestsCommand),
    /// Show the audit log of operator actions and data-subject requests.
    Audit(rights_cli::AuditArgs),
    /// Re-derive every lookup hash under a new HMAC key (resumable).
    Rekey(rights_cli::RekeyArgs),
    /// Copy the SQLite database, consistently, while the relay serves (nightly from the
    /// systemd timer), keeping the newest N copies.
    Backup(operate_cli::BackupArgs),
    /// Replace the database with a backup, after checking it is intact and this
    /// deployment's (its key-check value).
    Restore(operate_cli::RestoreArgs),
    /// Delete backups older than the erasure window.
    PurgeBackups(operate_cli::PurgeBackupsArgs),
    /// Check this deployment's configuration and say what is wrong in plain words.
    Doctor(operate_cli::DoctorArgs),
    /// Same as `records export --email X` (JSON).
    #[command(hide = true)]
    Export {
        /// The person's email; `-` reads it from standard input (keeps it out of shell history).
        #[arg(long)]
        email: String,
    },
    /// Same as `records withdraw`.
    #[command(hide = true)]
    Withdraw {
        /// The person's email; `-` reads it from standard input.
        #[arg(long)]
        email: String,
        #[arg(long)]
        purpose: Option<String>,
    },
    /// Same as `records erase --email X`.
    #[command(hide = true)]
    Erase {
        /// The person's email; `-` reads it from standard input.
        #[arg(long)]
        email: String,
    },
}

#[derive(Debug, Subcommand)]
enum RecordsCommand {
    /// One record, whole: names, contacts, the message and the consent stamp.
    Show {
        id: RecordId,
        #[arg(long)]
        json: bool,
    },
    /// Mark a message answered; it leaves the inbox, nothing else changes. `--by` names who
    /// answered (default: $USER).
    Answer { id: RecordId },
    /// Everyone whose consent to a purpose is in force (confirmed, for a double opt-in
    /// purpose): the only way to get a mailing list.
    List {
        #[arg(long)]
        purpose: String,
        #[arg(long)]
        json: bool,
    },
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
    run(cli.command, config, &cli.confirm).await
}

/// Runs one command with the loaded configuration: a flat dispatch, one short arm per
/// command, which is why it runs to about sixty lines.
async fn run(
    command: Command,
    mut config: RelayConfig,
    confirm: &rights_cli::Confirm,
) -> anyhow::Result<()> {
    match command {
        Command::Serve {
            listen,
            manifest,
            static_dir,
        } => {
            if let Some(manifest) = manifest {
                config.manifest = manifest;
            }
            serve(&config, listen, static_dir, confirm).await
        }
        Command::Inbox { all, json } => inbox(&config, all, json, confirm).await,
        Command::Records(command) => records(&config, command, confirm).await,
        Command::Deliver { status } => deliver(&config, status, confirm).await,
        // The old top-level names of three `records` commands.
        Command::Export { email } => {
            let command = rights_cli::RightsCommand::Export {
                email,
                format: rights_cli::ExportFormat::Json,
                lang: None,
            };
            rights_command(&config, command, confirm).await
        }
        Command::Withdraw { email, purpose } => {
            let command = rights_cli::RightsCommand::Withdraw { email, purpose };
            rights_command(&config, command, confirm).await
        }
        Command::Erase { email } => {
            let command = rights_cli::RightsCommand::Erase(rights_cli::Target {
                id: None,
                email: Some(email),
            });
            rights_command(&config, command, confirm).await
        }
        Command::PurgeExpired => {
            let store = open_checked_store(&config, confirm).await?.0;
            rights_cli::purge(store.as_ref(), confirm).await
        }
        Command::Requests(command) => {
            let (store, key) = open_checked_store(&config, confirm).await?;
            let deadlines = &config.request_deadline_days;
            rights_cli::requests(command, store.as_ref(), &key, deadlines, confirm).await
        }
        Command::Audit(args) => {
            let store = open_checked_store(&config, confirm).await?.0;
            rights_cli::audit(store.as_ref(), &args).await
        }
        Command::Backup(args) => operate_cli::backup(&config, &args),
        Command::Restore(args) => operate_cli::restore(&config, &args).await,
        Command::PurgeBackups(args) => operate_cli::purge_backups(&args),
        Command::Doctor(args) => operate_cli::doctor(&config, &args).await,
        Command::Rekey(args) => {
            let store = open_store(&config).await?;
            rights_cli::rekey(store.as_ref(), &config.hmac_key()?, &args, confirm).await
        }
    }
}

/// `inbox`: the messages to answer (`all`: answered ones too), as text or JSON.
async fn inbox(
    config: &RelayConfig,
    all: bool,
    json: bool,
    confirm: &rights_cli::Confirm,
) -> anyhow::Result<()> {
    let (store, _) = open_checked_store(config, confirm).await?;
    // Blocked, withdrawn and anonymized records are in no list (§2.2, §8.4).
    let mut records = store.list_records().await?;
    records.retain(ConsentRecord::is_processable);
    let rows = inbox::inbox(&records, all);
    if json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else if rows.is_empty() {
        println!("The inbox is empty.");
    } else {
        print!("{}", inbox::inbox_text(&rows));
    }
    Ok(())
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

async fn records(
    config: &RelayConfig,
    command: RecordsCommand,
    confirm: &rights_cli::Confirm,
) -> anyhow::Result<()> {
    if let RecordsCommand::Rights(command) = command {
        return rights_command(config, command, confirm).await;
    }
    let (store, _) = open_checked_store(config, confirm).await?;
    match command {
        RecordsCommand::Rights(_) => {}
        RecordsCommand::Show { id, json } => {
            let Some(record) = store.get(id).await? else {
                bail!("no record has the id {id}");
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&record)?);
            } else {
                print!("{}", inbox::show_text(&record));
            }
        }
        RecordsCommand::Answer { id } => {
            let Some(mut record) = store.get(id).await? else {
                bail!("no record has the id {id}");
            };
            if let Some(answered) = &record.answered {
                println!("{id} was already marked answered by {}", answered.by);
                return Ok(());
            }
            let by = confirm.actor();
            record.answered = Some(Answered {
                at: OffsetDateTime::now_utc(),
                by: by.clone(),
            });
            if !store.update(&record).await? {
                bail!("the record {id} disappeared while it was being updated");
            }
            println!("{id} marked answered by {by}");
        }
        RecordsCommand::List { purpose, json } => {
            // Blocked records are in no list (§2.2).
            let mut records = store.list_records().await?;
            records.retain(ConsentRecord::is_processable);
            let entries = inbox::purpose_list(&records, &purpose, OffsetDateTime::now_utc());
            if json {
                println!("{}", serde_json::to_string_pretty(&entries)?);
            } else {
                print!("{}", inbox::list_text(&entries));
            }
        }
    }
    Ok(())
}

/// The configured deliverer on `store` (checked here, so a bad SMTP or webhook URL stops the
/// command with a clear message).
async fn deliverer(config: &RelayConfig, store: Arc<dyn Store>) -> anyhow::Result<Deliverer> {
    let manifest = load_manifest(config)?;
    transport::deliverer(config, store, manifest)
        .with_context(|| format!("setting up delivery with {}", config.manifest.display()))
}

async fn deliver(
    config: &RelayConfig,
    status: bool,
    confirm: &rights_cli::Confirm,
) -> anyhow::Result<()> {
    let (store, _) = open_checked_store(config, confirm).await?;
    if status {
        let items = store.outbox_all().await?;
        if items.is_empty() {
            println!("The outbox is empty.");
        }
        for item in items {
            println!(
                "{}  {:<16}  about {}  attempts {}  due {}{}",
                item.id,
                item.kind.label(),
                item.kind.subject(),
                item.attempts,
                item.due_at,
                item.last_error
                    .map(|e| format!("  last error: {e}"))
                    .unwrap_or_default()
            );
        }
        return Ok(());
    }
    let report = deliverer(config, store)
        .await?
        .run_once(OffsetDateTime::now_utc())
        .await?;
    println!(
        "{} delivered, {} to retry, {} dropped (nothing left to send)",
        report.delivered, report.retried, report.dropped
    );
    Ok(())
}

fn load_manifest(config: &RelayConfig) -> anyhow::Result<ConsentManifest> {
    Ok(ConsentManifest::from_path(&config.manifest)?)
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
            Ok(Arc::new(
                kelisim_relay::dynamodb::DynamoStore::from_config(&config.dynamodb).await?,
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
    let manifest = load_manifest(config)?;
    let (store, _) = open_checked_store(config, confirm).await?;
    let kick = Arc::new(tokio::sync::Notify::new());
    let state = AppState::from_config(Arc::clone(&store), manifest, config)
        .context("configuring the relay")?
        .with_delivery_kick(Arc::clone(&kick));
    // Delivery runs beside the server: right after each record is committed, and every
    // `deliver_interval_secs` for retries. The visitor's answer never waits for it.
    let background = deliver::spawn_background(
        deliverer(config, store).await?,
        kick,
        std::time::Duration::from_secs(config.notify.deliver_interval_secs.max(1)),
    );
    let endpoint = state.endpoint_path().to_owned();
    let origins = state.allowed_origins().join(", ");
    let mut router = app(state);
    if let Some(dir) = static_dir {
        // The same file service as the preview's: the language's own 404 page, `/kk` → `/kk/`,
        // and `no-cache` with an ETag, so a new build shows at once and an old one costs a 304.
        let site = StaticSite::new(DirFiles::new(dir));
        router = router.fallback(move |request| async move { site.answer(request).await });
    }
    // The same headers as the CloudFront policy and the Caddy file, on pages and form answers
    // alike, so a host without a proxy is as protected as one behind it.
    let router = kelisim_relay::security_headers::apply(router);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    let local = listener.local_addr()?;
    // Black-box tests and scripts read this line to learn the port.
    println!("listening on http://{local}");
    tracing::info!(%local, %endpoint, %origins, "relay listening");
    // Timeouts, a connection cap and a bounded graceful shutdown (see `server`); each request
    // carries the TCP peer address, which the rate limiter hashes.
    kelisim_relay::server::serve(listener, router, config.server, shutdown_signal()).await;
    background.abort();
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
