//! Consent receipts at the operator's desk: `receipt verify FILE` checks a receipt a person
//! sends (or keeps) against the site's published keys, and `receipt-key new` makes a signing
//! key, adding its public half to the site's `receipt-keys.json`. [`Issuer`] signs receipts
//! for `records export`.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Subcommand;
use kelisim_relay::config::RelayConfig;
use kelisim_relay::domain::receipt::Receipt;
use kelisim_relay::domain::receipt_key::{self, ReceiptSigner};
use kelisim_relay::domain::record::ConsentRecord;
use kelisim_relay::manifest::ConsentManifest;
use kelisim_relay::manifest::receipt_keys::ReceiptKeySet;

use crate::open::load_manifest;

/// `kelisim-relay receipt …`.
#[derive(Debug, Subcommand)]
pub enum ReceiptCommand {
    /// Check a receipt (the `.jws` file a person downloaded or was mailed) against the
    /// site's published receipt keys, offline if given the keys. Exits non-zero unless it
    /// verifies.
    Verify {
        /// The receipt: a file holding the compact JWS; `-` reads standard input.
        file: PathBuf,
        /// The published keys: a JWK Set file, or its URL. Default: the manifest's
        /// `receipt_keys_url`.
        #[arg(long, conflicts_with = "site")]
        keys: Option<String>,
        /// A built site directory holding `.well-known/kelisim-receipt-keys.json`.
        #[arg(long)]
        site: Option<PathBuf>,
        /// Print the receipt's payload as JSON when it verifies.
        #[arg(long)]
        json: bool,
    },
}

/// `kelisim-relay receipt-key …`.
#[derive(Debug, Subcommand)]
pub enum ReceiptKeyCommand {
    /// Make a new Ed25519 signing key: the private key goes to `--out` (readable by you
    /// only), its public half is added to the site's receipt keys, old keys kept.
    New {
        /// The key's id, which every receipt signed with it names. Default: today's date.
        #[arg(long)]
        kid: Option<String>,
        /// Where to write the private key (refuses to overwrite one).
        #[arg(long, default_value = "receipt-key.json")]
        out: PathBuf,
        /// The site's published key set to add the public key to (created if missing).
        #[arg(long, default_value = "receipt-keys.json")]
        site_keys: PathBuf,
    },
}

/// Signs the receipts of stored records, for `records export`.
pub struct Issuer {
    signer: ReceiptSigner,
    manifest: ConsentManifest,
}

impl Issuer {
    pub fn receipt(&self, record: &ConsentRecord) -> anyhow::Result<String> {
        Ok(self.signer.sign(&Receipt::of(record, &self.manifest))?)
    }
}

/// The issuer when a receipt key is configured. A configured key that cannot be read is an
/// error; so is a missing manifest then (a receipt names the controller and the pages).
pub fn issuer(config: &RelayConfig) -> anyhow::Result<Option<Issuer>> {
    let Some(signer) = config.receipt_signer()? else {
        return Ok(None);
    };
    let manifest = load_manifest(config).context(
        "a receipt key is configured, so the receipts need the consent manifest (--config's `manifest`)",
    )?;
    Ok(Some(Issuer { signer, manifest }))
}

pub fn receipt(command: ReceiptCommand, config: &RelayConfig) -> anyhow::Result<()> {
    let ReceiptCommand::Verify {
        file,
        keys,
        site,
        json,
    } = command;
    let token = if file.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).context("reading the receipt")?
    } else {
        std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?
    };
    let keys = published_keys(config, keys.as_deref(), site.as_deref())?;
    let receipt = receipt_key::verify(&token, &keys)
        .map_err(|refusal| anyhow::anyhow!("NOT VERIFIED: {refusal}"))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&receipt)?);
        return Ok(());
    }
    println!("verified: receipt {}", receipt.receipt_id);
    println!("  issued by      {}", receipt.iss);
    println!(
        "  consent given  {} ({})",
        receipt.consent_timestamp, receipt.collection_method
    );
    println!(
        "  policy         {} version {} ({}), SHA-256 {}",
        receipt.notice.url, receipt.notice.version, receipt.notice.language, receipt.notice.sha256
    );
    for purpose in &receipt.purposes {
        println!(
            "  purpose        {} ({}), label SHA-256 {}, until {}",
            purpose.purpose_id,
            purpose.status,
            purpose.label_sha256,
            purpose.expires_at.as_deref().unwrap_or("-")
        );
    }
    if receipt.preview {
        println!("  PREVIEW: signed by `kelisim serve` with a throwaway key; proves nothing");
    }
    Ok(())
}

/// The JWK Set to check against: `--keys` (file or URL), `--site`, or the manifest's URL.
fn published_keys(
    config: &RelayConfig,
    keys: Option<&str>,
    site: Option<&Path>,
) -> anyhow::Result<ReceiptKeySet> {
    let text = match (keys, site) {
        (Some(url), _) if url.starts_with("https://") || url.starts_with("http://") => fetch(url)?,
        (Some(file), _) => {
            std::fs::read_to_string(file).with_context(|| format!("reading {file}"))?
        }
        (None, Some(dir)) => {
            let path = dir.join(kelisim_relay::manifest::RECEIPT_KEYS_PATH.trim_start_matches('/'));
            std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?
        }
        (None, None) => {
            let manifest = load_manifest(config)
                .context("no --keys or --site given, and the manifest cannot be read")?;
            let Some(url) = manifest.receipt_keys_url else {
                bail!("the manifest publishes no receipt keys; give --keys FILE|URL or --site DIR");
            };
            fetch(&url)?
        }
    };
    serde_json::from_str(&text).context("the receipt keys are not a JWK Set ({\"keys\": [...]})")
}

fn fetch(url: &str) -> anyhow::Result<String> {
    let (body, _) = kelisim_relay::ops::doctor::fetch(url)
        .map_err(|e| anyhow::anyhow!("fetching {url}: {e}"))?;
    String::from_utf8(body).with_context(|| format!("{url} is not text"))
}

pub fn receipt_key(command: ReceiptKeyCommand) -> anyhow::Result<()> {
    let ReceiptKeyCommand::New {
        kid,
        out,
        site_keys,
    } = command;
    let kid = kid.unwrap_or_else(|| time::OffsetDateTime::now_utc().date().to_string());
    let mut set = match std::fs::read_to_string(&site_keys) {
        Ok(text) => serde_json::from_str::<ReceiptKeySet>(&text)
            .with_context(|| format!("{} is not a JWK Set", site_keys.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => ReceiptKeySet { keys: Vec::new() },
        Err(e) => return Err(e).with_context(|| format!("reading {}", site_keys.display())),
    };
    if set.keys.iter().any(|k| k.kid == kid) {
        bail!(
            "{} already has a key `{kid}`: give another --kid",
            site_keys.display()
        );
    }
    let signer = ReceiptSigner::generate(&kid)?;
    write_private(&out, &signer.private_jwk())?;
    set.keys.push(signer.public_key());
    let text = serde_json::to_string_pretty(&set)? + "\n";
    std::fs::write(&site_keys, text).with_context(|| format!("writing {}", site_keys.display()))?;
    println!("new receipt key `{kid}`:");
    println!(
        "  private key: {} (keep it secret: set KELISIM_RECEIPT_KEY_FILE={0} or `receipt_key_file`, or on Lambda the stack's ReceiptKey parameter)",
        out.display()
    );
    println!(
        "  public key added to {} ({} key(s); keep the old ones, so old receipts stay checkable)",
        site_keys.display(),
        set.keys.len()
    );
    println!("Rebuild and publish the site before the relay signs with the new key.");
    Ok(())
}

/// Writes the private key to a new file only its owner can read.
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).with_context(|| {
        format!(
            "creating {} (an existing key is never overwritten: choose another --out)",
            path.display()
        )
    })?;
    file.write_all(text.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()?;
    Ok(())
}
