//! `purge-expired`, `audit`, `rekey` and `deliver`: retention, the audit log, changing the
//! HMAC key, and sending what the outbox owes.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;
use kelisim_relay::app::keys::{self, RekeyStage};
use kelisim_relay::app::retention;
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
    /// Only record that a rekey to the new key is coming: from then on both keys may write,
    /// so a relay with the new key (a Lambda redeployed with it) can start before the rekey
    /// runs. Run `rekey` again without it to finish.
    #[arg(long)]
    pub prepare: bool,
    /// Put the new key into the configured key file (`KELISIM_HMAC_KEY_FILE` or
    /// `hmac_key_file`) before the old key is sealed, so a running `kelisim-relay serve`
    /// picks it up by itself at its next write.
    #[arg(long, conflicts_with = "prepare")]
    pub install: bool,
}

/// `purge-expired`: the per-purpose retention purge.
pub async fn purge(
    store: &dyn Store,
    confirm: &Confirm,
    now: OffsetDateTime,
) -> anyhow::Result<()> {
    let plan = retention::plan(store, now).await?;
    if !approve(&plan, confirm, false)? {
        return Ok(());
    }
    let purged = retention::carry_out(store, &plan, &confirm.actor(), now).await?;
    println!(
        "{} expired record(s) deleted, {} record(s) reduced to the purposes still in force, {} unconfirmed request(s) removed",
        purged.deleted as u64 + purged.late,
        purged.reduced,
        purged.unconfirmed
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
    key_file: Option<&Path>,
) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.new_key_file)
        .with_context(|| format!("reading {}", args.new_key_file.display()))?;
    let new = HmacKey::parse(&text).context("the new key")?;
    let install = match (args.install, key_file) {
        (false, _) => None,
        (true, Some(path)) => Some(path),
        (true, None) => bail!(
            "--install needs the key in a file (KELISIM_HMAC_KEY_FILE); with KELISIM_HMAC_KEY, \
             set the new key there yourself after the rekey"
        ),
    };
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
    let actor = confirm.actor();
    if args.prepare {
        keys::rekey(store, old, &new, &actor, RekeyStage::Prepare).await?;
        println!(
            "rekey prepared: both keys may write now. Deploy the new key, then run `rekey` again to finish"
        );
        return Ok(());
    }
    if let Some(path) = install {
        keys::rekey(store, old, &new, &actor, RekeyStage::Prepare).await?;
        install_key(path, &text)
            .with_context(|| format!("installing the new key in {}", path.display()))?;
    }
    let done = keys::rekey(store, old, &new, &actor, RekeyStage::Finish).await?;
    println!(
        "{} record(s) rekeyed, {} already done, {} without an email lookup key; use the new key from now on",
        done.rekeyed, done.already, done.unlinkable
    );
    Ok(())
}

/// Writes `key` over the key file at `path`, owner-only, in one step (a temporary file renamed
/// over it), so a relay reading it never sees half a key.
fn install_key(path: &Path, key: &str) -> anyhow::Result<()> {
    let temporary = path.with_extension("new");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&temporary)?;
    std::io::Write::write_all(&mut file, key.trim().as_bytes())?;
    std::io::Write::write_all(&mut file, b"\n")?;
    file.sync_all()?;
    std::fs::rename(&temporary, path)?;
    Ok(())
}

/// `deliver --status`: what is queued, retrying, held back and dead, sending nothing.
pub async fn status(store: &dyn Store) -> anyhow::Result<()> {
    let items = store.list_items().await?;
    if items.is_empty() {
        println!("The outbox is empty.");
    }
    let dead = items.iter().filter(|i| i.dead.is_some()).count();
    for item in &items {
        let state = match (&item.dead, item.withheld) {
            (Some(dead), _) => format!("DEAD since {}: {}", dead.at, dead.reason),
            (None, true) => "withheld (record blocked)".to_owned(),
            (None, false) => format!(
                "due {}{}",
                item.due_at,
                item.last_error
                    .as_ref()
                    .map(|e| format!("  last error: {e}"))
                    .unwrap_or_default()
            ),
        };
        println!(
            "{}  {:<16}  about {}  attempts {}  {state}",
            item.id,
            item.kind.label(),
            item.kind.subject(),
            item.attempts,
        );
    }
    if dead > 0 {
        println!(
            "{dead} dead letter(s): never sent. `kelisim-relay deliver --retry ID` tries one again"
        );
    }
    Ok(())
}

/// `deliver --retry ID`: the item is due again now, its attempts counted afresh.
pub async fn retry(store: &dyn Store, id: uuid::Uuid) -> anyhow::Result<()> {
    if !store.revive_item(id, OffsetDateTime::now_utc()).await? {
        bail!("no outbox item has the id {id}");
    }
    println!("{id} is due again; it goes out with the next delivery round");
    Ok(())
}

/// `deliver`: one round of the outbox.
pub async fn deliver(deliverer: &Deliverer) -> anyhow::Result<()> {
    let report = deliverer.run_once(OffsetDateTime::now_utc()).await?;
    println!("{report}");
    Ok(())
}
