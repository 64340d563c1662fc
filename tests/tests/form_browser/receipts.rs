//! A consent receipt checked as anyone could check it: against the receipt keys the preview
//! publishes (fetched over HTTP from its `/.well-known/` address, as a verifier would), by the
//! relay's own verifier and by `scripts/check-receipt` (jwcrypto, another library), and as a
//! preview receipt, signed by the key the preview marks as its own.

use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, anyhow, bail, ensure};
use kelisim::serve::PREVIEW_KEY_MEMBER;
use kelisim_manifest::RECEIPT_KEYS_PATH;
use kelisim_manifest::receipt_keys::ReceiptKeySet;
use kelisim_relay::domain::receipt::Receipt;
use kelisim_relay::domain::receipt_key::{PREVIEW_KID_PREFIX, verify};
use kelisim_tests::paths::repo_root;

/// Checks the receipt in `file` against the keys the preview at `preview_url` publishes, with
/// both verifiers, and returns what it proves.
pub(super) async fn check_receipt_file(preview_url: &str, file: &Path) -> Result<Receipt> {
    let token = std::fs::read_to_string(file)
        .with_context(|| format!("reading the receipt {}", file.display()))?;
    let published = http_get(preview_url, RECEIPT_KEYS_PATH).await?;
    let keys: ReceiptKeySet =
        serde_json::from_str(&published).context("the published receipt keys do not parse")?;

    // Signed by the key the preview marks as its own throwaway key, and by no other.
    let preview_keys: Vec<_> = keys
        .keys
        .iter()
        .filter(|k| k.kid.starts_with(PREVIEW_KID_PREFIX))
        .cloned()
        .collect();
    ensure!(
        preview_keys.len() == 1,
        "the preview publishes one preview key, found {}",
        preview_keys.len()
    );
    ensure!(
        preview_keys[0].other.get(PREVIEW_KEY_MEMBER) == Some(&serde_json::Value::Bool(true)),
        "the preview's key is marked `{PREVIEW_KEY_MEMBER}`"
    );
    let receipt = verify(&token, &ReceiptKeySet { keys: preview_keys })
        .map_err(|e| anyhow!("the relay's verifier refuses the receipt: {e}"))?;
    ensure!(receipt.preview, "a preview receipt says `preview: true`");

    // The other library, given the same published keys.
    let dir = tempfile::tempdir()?;
    let keys_file = dir.path().join("kelisim-receipt-keys.json");
    std::fs::write(&keys_file, &published)?;
    let script = repo_root().join("scripts/check-receipt");
    let receipt_file = file.to_path_buf();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(script)
            .arg(receipt_file)
            .arg(keys_file)
            .output()
    })
    .await?
    .context("running scripts/check-receipt")?;
    if !output.status.success() {
        bail!(
            "scripts/check-receipt refuses the receipt: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let payload: serde_json::Value = serde_json::from_slice(&output.stdout)
        .context("scripts/check-receipt printed no payload")?;
    ensure!(
        payload["recordId"] == receipt.record_id.as_str() && payload["preview"] == true,
        "jwcrypto reads the same receipt (record and preview mark)"
    );
    Ok(receipt)
}

/// The body of `GET path` at `origin` (`http://127.0.0.1:PORT`); an HTTP/1.0 request, so the
/// answer is the plain body until the connection closes.
async fn http_get(origin: &str, path: &str) -> Result<String> {
    let host = origin
        .strip_prefix("http://")
        .with_context(|| format!("not an http origin: {origin}"))?
        .to_owned();
    let target = path.to_owned();
    let response = tokio::task::spawn_blocking(move || -> Result<String> {
        let mut stream = std::net::TcpStream::connect(&host)?;
        stream.set_read_timeout(Some(std::time::Duration::from_secs(10)))?;
        write!(stream, "GET {target} HTTP/1.0\r\nHost: {host}\r\n\r\n")?;
        let mut response = String::new();
        stream.read_to_string(&mut response)?;
        Ok(response)
    })
    .await??;
    let (head, body) = response
        .split_once("\r\n\r\n")
        .context("an HTTP answer without a body")?;
    let status = head.split_whitespace().nth(1).unwrap_or_default();
    ensure!(status == "200", "GET {origin}{path} answered {status}");
    Ok(body.to_owned())
}
