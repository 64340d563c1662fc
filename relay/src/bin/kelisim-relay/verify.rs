//! `kelisim-relay records verify`: whether each record's consent stamp still leads to the
//! exact texts its sender saw on the published site. Argument parsing, the choice of where
//! the site is read from, and printing; the work is `kelisim_relay::app::verify`.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{ArgGroup, Args};
use kelisim_relay::app::verify::{verify_all, verify_one};
use kelisim_relay::config::RelayConfig;
use kelisim_relay::domain::record::RecordId;
use kelisim_relay::published::{FETCH_TIMEOUT, HttpSite, PublishedSite, SiteDir};
use kelisim_relay::store::Store;
use kelisim_relay::views::verify::{line, summary};

use crate::open::load_manifest;

/// Options of `records verify`: one record or all of them, from where.
#[derive(Debug, Clone, Args)]
#[command(group(ArgGroup::new("which").required(true).args(["id", "all"])))]
pub struct VerifyArgs {
    /// The record to check (an id from `records find`).
    pub id: Option<RecordId>,
    /// Check every record (what the daily timer and the Lambda purge run).
    #[arg(long)]
    pub all: bool,
    /// Read the site from this built directory (what `kelisim build` wrote, the directory
    /// `serve --static-dir` serves): no network.
    #[arg(long, value_name = "DIR", conflicts_with = "base_url")]
    pub site: Option<PathBuf>,
    /// Fetch the site from this URL (http:// or https://). Default: the configured
    /// manifest's base_url.
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// One JSON object per record and line, for scripts: {"id", "status": "verified" |
    /// "unverifiable", "language", "policy_version", "problems": [{"reason", …}]}.
    #[arg(long)]
    pub json: bool,
}

/// Checks the records, prints one line (or JSON object) per record and a summary on
/// standard error, and fails when any record is unverifiable, so a timer's unit or a
/// script sees it in the exit status.
pub async fn verify(
    store: &dyn Store,
    config: &RelayConfig,
    args: &VerifyArgs,
) -> anyhow::Result<()> {
    let site = site(config, args)?;
    let checks = match args.id {
        Some(id) => vec![verify_one(store, site.as_ref(), id).await?],
        None => verify_all(store, site.as_ref()).await?,
    };
    for check in &checks {
        if args.json {
            println!("{}", serde_json::to_string(check)?);
        } else {
            println!("{}", line(check));
        }
    }
    eprintln!("{} against {}", summary(&checks), site.describe());
    let unverifiable = checks.iter().filter(|c| !c.is_verified()).count();
    if unverifiable > 0 {
        bail!(
            "{unverifiable} of {} record(s) unverifiable against {}",
            checks.len(),
            site.describe()
        );
    }
    Ok(())
}

/// Where the texts are read from: `--site`, `--base-url`, else the configured manifest's
/// `base_url` (the published site itself).
fn site(config: &RelayConfig, args: &VerifyArgs) -> anyhow::Result<Box<dyn PublishedSite>> {
    Ok(match (&args.site, &args.base_url) {
        (Some(dir), _) => Box::new(SiteDir::open(dir)?),
        (None, Some(url)) => Box::new(HttpSite::new(url, FETCH_TIMEOUT)?),
        (None, None) => {
            let manifest = load_manifest(config).with_context(|| {
                format!(
                    "the site's address comes from the manifest {} (or give --site or --base-url)",
                    config.manifest.display()
                )
            })?;
            Box::new(HttpSite::new(&manifest.base_url, FETCH_TIMEOUT)?)
        }
    })
}
