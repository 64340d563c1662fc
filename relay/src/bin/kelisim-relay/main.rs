//! `kelisim-relay`: the standalone relay. `serve` receives the contact form (and, with
//! `--static-dir`, serves the built site from the same origin, so one process is a complete
//! one-machine deployment); `console` is the operator's day in a browser, on this computer
//! only; `inbox`, `records` and `deliver` are the same day as commands (read, answer, mailing
//! list, notifications); `records verify` checks every consent stamp against the published
//! site; `records …` (find, export, rectify, block, withdraw, erase, anonymize), `requests`,
//! `purge-expired`, `audit` and `rekey` carry out
//! data-subject requests and retention (policy §2.2, §2.5, §2.14, §4.1, §5.7, §8.3, §8.4,
//! §8.8, §8.9); `backup`, `restore`, `purge-backups` and `doctor` look after the host.
//!
//! Each command lives in the file of its family and only parses, calls `kelisim_relay::app`
//! (or `ops`), and prints.

mod console;
mod host;
mod maintenance;
mod open;
mod prompt;
mod receipts;
mod records;
mod requests;
mod serve;
mod verify;

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use kelisim_relay::config::RelayConfig;
use kelisim_relay::telemetry::{self, LogFormat};

use crate::open::{deliverer, open_checked_store, open_store};
use crate::prompt::Confirm;
use crate::records::{ExportFormat, RecordsCommand, RightsCommand, Target};

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
    confirm: Confirm,
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
    /// The operator's console: a web app on this computer only (loopback), opened with a
    /// one-time link; every page of the operator's day, in Kazakh or Russian.
    Console(console::ConsoleArgs),
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
        /// Only show what is queued, retrying, held back and dead, sending nothing.
        #[arg(long)]
        status: bool,
        /// Make this item (a dead letter, say) due again now, then exit.
        #[arg(long, value_name = "ID", conflicts_with = "status")]
        retry: Option<uuid::Uuid>,
    },
    /// Apply retention per purpose (§5.7, §8.8): delete records past it, drop the data of
    /// purposes whose retention ended. Run daily (with --yes).
    PurgeExpired {
        /// Purge as at this moment (RFC 3339) instead of now: for checking, with --dry-run,
        /// what a later run will remove.
        #[arg(long, hide = true, value_parser = parse_time)]
        now: Option<time::OffsetDateTime>,
    },
    /// Data-subject requests and their deadlines: open, list (--overdue), close.
    #[command(subcommand)]
    Requests(requests::RequestsCommand),
    /// Show the audit log of operator actions and data-subject requests.
    Audit(maintenance::AuditArgs),
    /// Re-derive every lookup hash under a new HMAC key (resumable).
    Rekey(maintenance::RekeyArgs),
    /// Copy the SQLite database, consistently, while the relay serves (nightly from the
    /// systemd timer), keeping the newest N copies.
    Backup(host::BackupArgs),
    /// Replace the database with a backup, after checking it is intact and this
    /// deployment's (its key-check value).
    Restore(host::RestoreArgs),
    /// Delete backups older than the erasure window.
    PurgeBackups(host::PurgeBackupsArgs),
    /// Check this deployment's configuration and say what is wrong in plain words.
    Doctor(host::DoctorArgs),
    /// Consent receipts: check one against the site's published keys.
    #[command(subcommand)]
    Receipt(receipts::ReceiptCommand),
    /// Receipt signing keys: make a new one.
    #[command(subcommand)]
    ReceiptKey(receipts::ReceiptKeyCommand),
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
/// command, which is why it runs to about seventy lines.
async fn run(command: Command, mut config: RelayConfig, confirm: &Confirm) -> anyhow::Result<()> {
    match command {
        Command::Serve {
            listen,
            manifest,
            static_dir,
        } => {
            if let Some(manifest) = manifest {
                config.manifest = manifest;
            }
            serve::serve(&config, listen, static_dir, confirm).await
        }
        Command::Console(args) => console::console(&config, args, confirm).await,
        Command::Inbox { all, json } => {
            let store = open_checked_store(&config, confirm).await?.0;
            records::inbox(store.as_ref(), all, json).await
        }
        Command::Records(command) => {
            let (store, key) = open_checked_store(&config, confirm).await?;
            records::records(store.as_ref(), &key, command, confirm, &config).await
        }
        Command::Deliver { status, retry } => {
            let store = open_checked_store(&config, confirm).await?.0;
            if status {
                return maintenance::status(store.as_ref()).await;
            }
            if let Some(id) = retry {
                return maintenance::retry(store.as_ref(), id).await;
            }
            maintenance::deliver(&deliverer(&config, store)?).await
        }
        // The old top-level names of three `records` commands.
        Command::Export { email } => {
            let command = RightsCommand::Export {
                email,
                format: ExportFormat::Json,
                lang: None,
                manifest: None,
            };
            rights(&config, command, confirm).await
        }
        Command::Withdraw { email, purpose } => {
            let command = RightsCommand::Withdraw { email, purpose };
            rights(&config, command, confirm).await
        }
        Command::Erase { email } => {
            let command = RightsCommand::Erase(Target {
                id: None,
                email: Some(email),
            });
            rights(&config, command, confirm).await
        }
        Command::PurgeExpired { now } => {
            let store = open_checked_store(&config, confirm).await?.0;
            let now = now.unwrap_or_else(time::OffsetDateTime::now_utc);
            maintenance::purge(store.as_ref(), confirm, now).await
        }
        Command::Requests(command) => {
            let (store, key) = open_checked_store(&config, confirm).await?;
            let deadlines = &config.request_deadline_days;
            requests::requests(command, store.as_ref(), &key, deadlines, confirm).await
        }
        Command::Audit(args) => {
            let store = open_checked_store(&config, confirm).await?.0;
            maintenance::audit(store.as_ref(), &args).await
        }
        Command::Backup(args) => host::backup(&config, &args),
        Command::Restore(args) => host::restore(&config, &args).await,
        Command::PurgeBackups(args) => host::purge_backups(&args),
        Command::Doctor(args) => host::doctor(&config, &args).await,
        Command::Receipt(command) => receipts::receipt(command, &config),
        Command::ReceiptKey(command) => receipts::receipt_key(command),
        Command::Rekey(args) => {
            let store = open_store(&config).await?;
            let key_file = config.hmac_key_file.as_deref();
            maintenance::rekey(
                store.as_ref(),
                &config.hmac_key()?,
                &args,
                confirm,
                key_file,
            )
            .await
        }
    }
}

/// One `records …` rights command (also under its old top-level name).
async fn rights(
    config: &RelayConfig,
    command: RightsCommand,
    confirm: &Confirm,
) -> anyhow::Result<()> {
    let (store, key) = open_checked_store(config, confirm).await?;
    records::rights(command, store.as_ref(), &key, confirm, config).await
}

/// An RFC 3339 time on the command line.
fn parse_time(text: &str) -> Result<time::OffsetDateTime, String> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_err(|_| format!("`{text}` is not an RFC 3339 time (2026-12-31T00:00:00Z)"))
}
