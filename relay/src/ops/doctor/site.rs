//! The doctor's checks of the published side: the relay's manifest against the site it serves
//! (a directory or a URL), and the receipt key against the keys the site publishes.

use std::path::Path;
use std::time::Duration;

use time::OffsetDateTime;

use super::{Finding, Site, Status};
use crate::config::RelayConfig;

/// The manifest parses, and the served site publishes the same one (else the relay refuses
/// every form of the pages being served, or accepts a policy that is no longer shown).
/// Returns the site's `Date` header when the site was fetched, for the clock check.
pub(super) fn check_manifest(
    config: &RelayConfig,
    site: &Site,
    findings: &mut Vec<Finding>,
) -> Option<OffsetDateTime> {
    let ours = read_manifest(config, findings)?;
    let mut compared = false;
    if let Some(dir) = &site.static_dir {
        compared = true;
        findings.push(compare_with_static_dir(&ours, dir));
    }
    let mut site_date = None;
    if let Some(url) = &site.url {
        compared = true;
        let address = format!("{}/consent-manifest.json", url.trim_end_matches('/'));
        match fetch(&address) {
            Ok((bytes, date)) => {
                site_date = date;
                findings.push(compare("site", &ours, &bytes, &address));
            }
            Err(reason) => findings.push(Finding::new(
                Status::Fail,
                "site",
                format!("{address} cannot be fetched: {reason}"),
            )),
        }
    }
    if !compared {
        findings.push(Finding::new(
            Status::Warn,
            "site",
            "the manifest was not compared with the served site: pass --static-dir DIR or \
             --site-url URL",
        ));
    }
    site_date
}

/// The receipt key: configured or not, readable, and published by the site (a receipt signed
/// with a key the site does not publish cannot be checked by anyone).
pub(super) fn check_receipts(config: &RelayConfig, site: &Site) -> Finding {
    const CHECK: &str = "receipts";
    let signer = match config.receipt_signer() {
        Ok(Some(signer)) => signer,
        Ok(None) => {
            return Finding::new(
                Status::Warn,
                CHECK,
                "no receipt key is configured, so people get no consent receipt: make one with                  `kelisim-relay receipt-key new` and set `receipt_key_file`",
            );
        }
        Err(error) => return Finding::new(Status::Fail, CHECK, error.to_string()),
    };
    let path = kelisim_manifest::RECEIPT_KEYS_PATH.trim_start_matches('/');
    let published = if let Some(dir) = &site.static_dir {
        std::fs::read(dir.join(path)).map_err(|e| format!("{}: {e}", dir.join(path).display()))
    } else if let Some(url) = &site.url {
        let address = format!("{}/{path}", url.trim_end_matches('/'));
        fetch(&address).map(|(bytes, _)| bytes)
    } else {
        return Finding::new(
            Status::Warn,
            CHECK,
            format!(
                "receipts are signed with key `{}`; pass --static-dir or --site-url to check                  that the site publishes it",
                signer.kid()
            ),
        );
    };
    let keys = published.and_then(|bytes| {
        serde_json::from_slice::<kelisim_manifest::receipt_keys::ReceiptKeySet>(&bytes)
            .map_err(|e| format!("not a JWK Set: {e}"))
    });
    match keys {
        // By id and public key: a hand-written set may leave out `use` and `alg`.
        Ok(keys)
            if keys
                .keys
                .iter()
                .any(|k| k.kid == signer.kid() && k.x == signer.public_key().x) =>
        {
            Finding::new(
                Status::Ok,
                CHECK,
                format!(
                    "receipts are signed with key `{}`, which the site publishes",
                    signer.kid()
                ),
            )
        }
        Ok(_) => Finding::new(
            Status::Fail,
            CHECK,
            format!(
                "receipts are signed with key `{}`, which the site does not publish: add its                  public half to the site's receipt-keys.json (`receipt-key new` does) and                  rebuild, or nobody can check the receipts",
                signer.kid()
            ),
        ),
        Err(reason) => Finding::new(
            Status::Fail,
            CHECK,
            format!("the site's receipt keys cannot be read ({reason})"),
        ),
    }
}

/// The relay's manifest file, if it can be read and is a valid consent manifest.
fn read_manifest(config: &RelayConfig, findings: &mut Vec<Finding>) -> Option<Vec<u8>> {
    let shown = config.manifest.display();
    let ours = match std::fs::read(&config.manifest) {
        Ok(bytes) => bytes,
        Err(error) => {
            findings.push(Finding::new(
                Status::Fail,
                "manifest",
                format!("the manifest {shown} cannot be read: {error}"),
            ));
            return None;
        }
    };
    match kelisim_manifest::ConsentManifest::from_json(&String::from_utf8_lossy(&ours)) {
        Ok(_) => findings.push(Finding::new(
            Status::Ok,
            "manifest",
            format!("{shown} is a valid consent manifest"),
        )),
        Err(error) => {
            findings.push(Finding::new(
                Status::Fail,
                "manifest",
                format!("{shown} is not a valid consent manifest: {error}"),
            ));
            return None;
        }
    }
    Some(ours)
}

/// The manifest the site directory `dir` publishes, compared with the relay's (`ours`).
fn compare_with_static_dir(ours: &[u8], dir: &Path) -> Finding {
    let served = dir.join("consent-manifest.json");
    match std::fs::read(&served) {
        Ok(bytes) => compare("site", ours, &bytes, &served.display().to_string()),
        Err(error) => Finding::new(
            Status::Fail,
            "site",
            format!(
                "the served site has no readable {} ({error}); build the site with \
                 `kelisim build` and serve that directory",
                served.display()
            ),
        ),
    }
}

fn compare(check: &'static str, ours: &[u8], served: &[u8], where_served: &str) -> Finding {
    if ours == served {
        Finding::new(
            Status::Ok,
            check,
            format!("{where_served} is the relay's manifest"),
        )
    } else {
        Finding::new(
            Status::Fail,
            check,
            format!(
                "{where_served} differs from the relay's manifest: the relay checks forms \
                 against another build of the site than the one visitors see. Deploy the \
                 manifest from the same `kelisim build` as the pages, then restart the relay"
            ),
        )
    }
}

/// The body (at most 1 MiB) and `Date` of a GET, with a 10 s timeout.
pub fn fetch(url: &str) -> Result<(Vec<u8>, Option<OffsetDateTime>), String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .http_status_as_error(false)
        .build()
        .into();
    let response = agent.get(url).call().map_err(|e| e.to_string())?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("HTTP {}", status.as_u16()));
    }
    let date = response
        .headers()
        .get("date")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc2822).ok()
        });
    let bytes = response
        .into_body()
        .with_config()
        .limit(1024 * 1024)
        .read_to_vec()
        .map_err(|e| e.to_string())?;
    Ok((bytes, date))
}
