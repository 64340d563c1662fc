//! `purge-expired`, `audit`, `rekey` and `deliver`: retention, the audit log, changing the
//! HMAC key, and sending what the outbox owes.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use kelisim_relay::app::{keys, retention};
use kelisim_relay::delivery::Deliverer;
use kelisim_relay::domain::hmac_key::HmacKey;
use kelisim_relay::store::Store;
use time::OffsetDateTime;

use crate::prompt::{Confirm, approve, ask};

/// Options of `audit`.
#[derive(Debug, Clone, Args)]
pub struct AuditArgs {
    /// Only entries from this date (`YYYY-MM-DD`) or time (RFC 3339) on.
    #[arg(long)]
    pub since: Option<String>,
    /// One JSON object per line instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Options of `rekey`.
#[derive(Debug, Clone, Args)]
pub struct RekeyArgs {
    /// A file holding the new key (hex or base64, at least 32 bytes). The current key comes
    /// from the usual configuration.
    #[arg(long)]
    pub new_key_file: PathBuf,
}

/// `purge-expired`: the per-purpose retention purge.
pub async fn purge(store: &dyn Store, confirm: &Confirm) -> anyhow::Result<()> {
    let now = OffsetDateTime::now_utc();
    let plan = retention::plan(store, now).await?;
    if !approve(&plan, confirm, false)? {
        return Ok(());
    }
    let purged = retention::carry_out(store, &plan, &confirm.actor(), now).await?;
    println!(
        "{} expired record(s) deleted, {} record(s) reduced to the purposes still in force",
        purged.deleted as u64 + purged.late,
        purged.reduced
    );
    Ok(())
}

/// `audit`: prints the log.
pub async fn audit(store: &dyn Store, args: &AuditArgs) -> anyhow::Result<()> {
    let since = match &args.since {
        None => None,
        Some(text) => Some(parse_since(text)?),
    };
    for entry in store.list_audit(since).await? {
        if args.json {
            println!("{}", serde_json::to_string(&entry)?);
        } else {
            println!(
                "{}  {:<16} {:<14} {:<36} {:>4}  {}",
                entry
                    .at
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default(),
                entry.actor,
                entry.action.as_str(),
                entry
                    .record_id
                    .map(|id| id.to_string())
                    .unwrap_or_else(|| "-".to_owned()),
                entry.affected,
                entry.detail
            );
        }
    }
    Ok(())
}

fn parse_since(text: &str) -> anyhow::Result<OffsetDateTime> {
    use time::format_description::well_known::Rfc3339;
    if let Ok(at) = OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(at);
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(text, &format)
        .with_context(|| format!("--since `{text}`: expected YYYY-MM-DD or an RFC 3339 time"))?;
    Ok(date.midnight().assume_utc())
}

/// `rekey`: re-derives every lookup hash under the new key.
pub async fn rekey(
    store: &dyn Store,
    old: &HmacKey,
    args: &RekeyArgs,
    confirm: &Confirm,
) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.new_key_file)
        .with_context(|| format!("reading {}", args.new_key_file.display()))?;
    let new = HmacKey::parse(&text).context("the new key")?;
    if confirm.dry_run {
        let count = store.list_records().await?.len();
        println!("rekey: would re-derive the lookup hashes of {count} record(s)");
        println!("dry run: nothing was changed");
        return Ok(());
    }
    if !confirm.yes {
        eprintln!("rekey: every record's lookup hashes will be re-derived under the new key");
        if !ask("Proceed? [y/N] ", false)? {
            bail!("not confirmed: nothing was changed");
        }
    }
    let done = keys::rekey(store, old, &new, &confirm.actor()).await?;
    println!(
        "{} record(s) rekeyed, {} already done, {} without an email lookup key; use the new key from now on",
        done.rekeyed, done.already, done.unlinkable
    );
    Ok(())
}

/// `deliver --status`: what is queued, sending nothing.
pub async fn status(store: &dyn Store) -> anyhow::Result<()> {
    let items = store.list_items().await?;
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
    Ok(())
}

/// `deliver`: one round of the outbox.
pub async fn deliver(deliverer: &Deliverer) -> anyhow::Result<()> {
    let report = deliverer.run_once(OffsetDateTime::now_utc()).await?;
    println!("{report}");
    Ok(())
}
