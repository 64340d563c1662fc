//! The host operator's commands of `kelisim-relay`: `backup`, `restore`, `purge-backups` and
//! `doctor`: argument parsing and printing. The work is in `kelisim_relay::ops::backup` and
//! `kelisim_relay::ops::doctor`.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use kelisim_relay::config::{RelayConfig, StoreKind};
use kelisim_relay::ops::backup;
use kelisim_relay::ops::doctor::{self, Status};
use kelisim_relay::ops::replay;
use kelisim_relay::store::RightsLog as _;
use kelisim_relay::store::sqlite::SqliteStore;
use time::OffsetDateTime;

/// Options of `backup`.
#[derive(Debug, Clone, Args)]
pub struct BackupArgs {
    /// The directory the copies go to (created, mode 700, if missing). Each copy is
    /// `kelisim-relay-<UTC time>.sqlite` with a `.sha256` file beside it.
    pub dest: PathBuf,
    /// How many copies to keep; older ones are deleted after a successful backup.
    #[arg(long, default_value_t = 7)]
    pub keep: usize,
    /// Also delete copies older than this many days, however few remain (the window after
    /// which an erased person must be gone from every copy).
    #[arg(long)]
    pub max_age_days: Option<u32>,
}

/// Options of `restore`.
#[derive(Debug, Clone, Args)]
pub struct RestoreArgs {
    /// A backup taken by `kelisim-relay backup` (its `.sha256` file must be beside it).
    pub src: PathBuf,
}

/// Options of `purge-backups`.
#[derive(Debug, Clone, Args)]
pub struct PurgeBackupsArgs {
    /// The backup directory.
    pub dest: PathBuf,
    /// Delete every copy older than this many days.
    #[arg(long)]
    pub max_age_days: u32,
}

/// Options of `doctor`.
#[derive(Debug, Clone, Args)]
pub struct DoctorArgs {
    /// The directory `serve --static-dir` serves, to check it publishes the relay's manifest.
    #[arg(long)]
    pub static_dir: Option<PathBuf>,
    /// The public site (`https://woow.kz`): its manifest is fetched and compared, and its
    /// server's clock compared with this one.
    #[arg(long)]
    pub site_url: Option<String>,
}

fn sqlite_only(config: &RelayConfig, command: &str) -> anyhow::Result<()> {
    if config.store != StoreKind::Sqlite {
        bail!(
            "`{command}` is for the SQLite store; DynamoDB has point-in-time recovery and \
             on-demand backups (see docs/deploy-lambda.md)"
        );
    }
    Ok(())
}

fn max_age(days: u32) -> time::Duration {
    time::Duration::days(i64::from(days))
}

pub fn backup(config: &RelayConfig, args: &BackupArgs) -> anyhow::Result<()> {
    sqlite_only(config, "backup")?;
    if args.keep == 0 {
        bail!("--keep 0 would delete the backup just taken; keep at least 1");
    }
    let now = OffsetDateTime::now_utc();
    let taken = backup::backup(&config.sqlite.path, &args.dest, args.keep, now)?;
    println!(
        "backed up {} to {} ({} bytes, sha256 {})",
        config.sqlite.path.display(),
        taken.path.display(),
        taken.bytes,
        taken.sha256
    );
    let mut pruned = taken.pruned;
    if let Some(days) = args.max_age_days {
        pruned.extend(backup::prune(
            &args.dest,
            usize::MAX,
            Some(max_age(days)),
            now,
        )?);
    }
    for path in pruned {
        println!("deleted the old backup {}", path.display());
    }
    Ok(())
}

/// Restores a backup, then takes again what the replaced database's audit log says was done
/// since (see `kelisim_relay::ops::replay`), so an erasure is not undone by a restore.
pub async fn restore(config: &RelayConfig, args: &RestoreArgs) -> anyhow::Result<()> {
    sqlite_only(config, "restore")?;
    let key = config.hmac_key()?;
    let db = &config.sqlite.path;
    // The log of the database being replaced, read and saved beside the backup before it is
    // overwritten (merged with what an interrupted run saved), so a second run finishes.
    let current_log = if db.exists() {
        let current = SqliteStore::open(db).with_context(|| format!("opening {}", db.display()))?;
        current
            .list_audit(None)
            .await
            .with_context(|| format!("reading the audit log of {}", db.display()))?
    } else {
        Vec::new()
    };
    let saved = replay::saved_log_path(&args.src);
    let replaced_log = replay::save_log(&saved, &current_log)
        .with_context(|| format!("saving the replaced audit log to {}", saved.display()))?;
    println!(
        "the replaced database's audit log is kept in {}; if this restore stops, run it again",
        saved.display()
    );
    let verified = backup::restore(&args.src, db, &key)
        .with_context(|| format!("restoring {}", args.src.display()))?;
    println!(
        "restored {} records from {} into {}",
        verified.records,
        args.src.display(),
        db.display()
    );
    let restored = SqliteStore::open(db).with_context(|| format!("opening {}", db.display()))?;
    let replayed = replay::replay(&replaced_log, &restored, OffsetDateTime::now_utc())
        .await
        .context("taking again what was done after the backup")?;
    println!(
        "replayed {} audit entries made after the backup: {} records erased, anonymized, \
         withdrawn, blocked, unblocked or answered again; the retention purge changed {}",
        replayed.entries, replayed.redone, replayed.purged
    );
    if !replayed.to_redo.is_empty() {
        println!(
            "Redo by hand (the audit log holds no personal data, so these cannot be replayed):"
        );
        for entry in &replayed.to_redo {
            let record = entry.record_id.map(|id| id.to_string()).unwrap_or_default();
            let at = entry
                .at
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default();
            println!("  {at}  {}  {record}", entry.action.as_str());
        }
    }
    Ok(())
}

pub fn purge_backups(args: &PurgeBackupsArgs) -> anyhow::Result<()> {
    let deleted = backup::prune(
        &args.dest,
        usize::MAX,
        Some(max_age(args.max_age_days)),
        OffsetDateTime::now_utc(),
    )?;
    if deleted.is_empty() {
        println!(
            "no backup in {} is older than {} days",
            args.dest.display(),
            args.max_age_days
        );
    }
    for path in deleted {
        println!("deleted {}", path.display());
    }
    Ok(())
}

/// Prints the report; fails (exit status 1) when any check failed.
pub async fn doctor(config: &RelayConfig, args: &DoctorArgs) -> anyhow::Result<()> {
    let site = doctor::Site {
        static_dir: args.static_dir.clone(),
        url: args.site_url.clone(),
    };
    let findings = doctor::run(config, &site, OffsetDateTime::now_utc()).await;
    print!("{}", doctor::report(&findings));
    let failed = findings.iter().filter(|f| f.status == Status::Fail).count();
    if failed > 0 {
        bail!("{failed} check(s) failed; see above");
    }
    println!("Everything checked is in order.");
    Ok(())
}
