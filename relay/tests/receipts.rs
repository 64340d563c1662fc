//! Consent receipts end to end: the JSON answer carries one, a plain post's thank-you page
//! offers it as a download, the newsletter confirmation mail attaches it, `records export`
//! includes it; each verifies with another library than the one that signed it (jwcrypto on
//! Python's `cryptography`, through `scripts/check-receipt`) and validates against
//! `relay/receipt.schema.json`, and a one-byte change fails. `receipt-key new` and `receipt
//! verify` as the operator runs them, key rotation included.
#![cfg(all(feature = "notify", feature = "sqlite", feature = "server"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::*;
use crate::relay_process::{BIN, KEY};
use crate::smtp_sink::SmtpSink;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use axum::http::StatusCode;
use kelisim_relay::delivery::senders::SmtpMailer;
use kelisim_relay::delivery::{Deliverer, DeliverySettings};
use kelisim_relay::domain::messages::Messages;
use kelisim_relay::domain::receipt_key::{self, ReceiptSigner};
use kelisim_relay::manifest::receipt_keys::ReceiptKeySet;
use kelisim_relay::store::RecordStore;
use kelisim_relay::store::sqlite::SqliteStore;
use kelisim_relay::web::AppState;
use time::OffsetDateTime;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

struct Site {
    dir: tempfile::TempDir,
    store: Arc<SqliteStore>,
    state: AppState,
    signer: ReceiptSigner,
}

impl Site {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(&dir.path().join("relay.sqlite")).unwrap());
        let signer = ReceiptSigner::generate("2026-12").unwrap();
        let state = AppState::new(store.clone(), manifest_with_receipts(), settings())
            .unwrap()
            .with_receipts(Some(signer.clone()));
        let keys = ReceiptKeySet {
            keys: vec![signer.public_key()],
        };
        std::fs::write(
            dir.path().join("keys.json"),
            serde_json::to_string(&keys).unwrap(),
        )
        .unwrap();
        Self {
            dir,
            store,
            state,
            signer,
        }
    }

    fn keys(&self) -> PathBuf {
        self.dir.path().join("keys.json")
    }

    /// Runs `scripts/check-receipt` on `token`: the payload when it verifies.
    fn check_elsewhere(&self, token: &str) -> Result<serde_json::Value, String> {
        let file = self.dir.path().join("receipt.jws");
        std::fs::write(&file, token).unwrap();
        let output = Command::new(repo_root().join("scripts/check-receipt"))
            .arg(&file)
            .arg(self.keys())
            .output()
            .unwrap();
        if output.status.success() {
            Ok(serde_json::from_slice(&output.stdout).unwrap())
        } else {
            Err(String::from_utf8_lossy(&output.stderr).into_owned())
        }
    }
}

/// `token` with one byte changed at `at` (to another base64url character).
fn flip(token: &str, at: usize) -> String {
    let mut bytes = token.as_bytes().to_vec();
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap()
}

fn newsletter_post(lang: &str) -> Vec<(String, String)> {
    let mut fields = valid_fields(lang);
    fields.push(("consent".to_owned(), "newsletter".to_owned()));
    fields
}

#[tokio::test]
async fn a_json_post_returns_a_receipt_another_library_verifies_and_one_byte_breaks() {
    let site = Site::new();
    let answer = send(
        &site.state,
        json_request(json_body(&newsletter_post("ru")), Some(SITE_ORIGIN)),
    )
    .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    let id = answer.json()["id"].as_str().unwrap().to_owned();
    let token = answer.json()["receipt"].as_str().unwrap().to_owned();
    assert_eq!(token.split('.').count(), 3, "a compact JWS");

    let payload = site
        .check_elsewhere(&token)
        .expect("verifies with jwcrypto");
    assert_eq!(payload["recordId"], id.as_str());
    assert_eq!(payload["receiptId"], id.as_str());
    assert_eq!(payload["language"], "ru");
    // What the record holds, as stored.
    let record = site
        .store
        .get_record(id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        payload["notice"]["sha256"],
        record.consent.policy_sha256.as_str()
    );
    assert_eq!(
        payload["notice"]["version"],
        record.consent.policy_version.as_str()
    );
    let purposes = payload["purposes"].as_array().unwrap();
    assert_eq!(purposes.len(), 2);
    for stamped in &record.consent.purposes {
        let shown = purposes
            .iter()
            .find(|p| p["purposeId"] == stamped.purpose.as_str())
            .unwrap();
        assert_eq!(shown["labelSha256"], stamped.label_sha256.as_str());
        assert!(shown["expiresAt"].is_string());
    }
    let newsletter = purposes
        .iter()
        .find(|p| p["purposeId"] == "newsletter")
        .unwrap();
    assert_eq!(
        newsletter["status"], "pending",
        "waits for its confirmation"
    );
    assert_eq!(
        payload["withdrawalMethod"], "https://woow.kz/ru/request/",
        "how to withdraw: the request page"
    );
    // The controller as Russian writes it.
    let controller = payload["piiControllers"][0]["name"].as_str().unwrap();
    assert!(controller.contains("ТОО"), "{controller}");
    // Categories, never values; no message text.
    let text = payload.to_string();
    for value in [
        SURNAME, FIRST_NAME, PATRONYMIC, EMAIL, PHONE_E164, MESSAGE, "4242",
    ] {
        assert!(!text.contains(value), "{value} in the receipt");
    }
    assert!(
        text.contains("\"message\""),
        "the category is named: {text}"
    );

    // A single-byte change anywhere fails, in both verifiers.
    let keys: ReceiptKeySet =
        serde_json::from_str(&std::fs::read_to_string(site.keys()).unwrap()).unwrap();
    let dots: Vec<usize> = token.match_indices('.').map(|(i, _)| i).collect();
    for at in [5, dots[0] + 20, dots[1] + 10, token.len() - 3] {
        let changed = flip(&token, at);
        assert!(site.check_elsewhere(&changed).is_err(), "byte {at}");
        assert!(receipt_key::verify(&changed, &keys).is_err(), "byte {at}");
    }
    // A key the site does not publish.
    let stranger = ReceiptSigner::generate("2026-12").unwrap();
    let forged = stranger
        .sign(&receipt_key::verify(&token, &keys).unwrap())
        .unwrap();
    assert!(site.check_elsewhere(&forged).is_err());
}

#[tokio::test]
async fn a_plain_post_gets_the_thank_you_page_with_the_receipt_to_download() {
    let site = Site::new();
    let answer = send(
        &site.state,
        form_request(form_body(&valid_fields("kk")), Some(SITE_ORIGIN)),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert!(answer.body.contains("lang=\"kk\""));
    let start = answer.body.find("href=\"data:").expect("a data link") + 6;
    let href = &answer.body[start..start + answer.body[start..].find('"').unwrap()];
    let token = href.rsplit(',').next().unwrap();
    let payload = site.check_elsewhere(token).expect("verifies");
    assert_eq!(payload["collectionMethod"], "web_form_post");
    // The same post again (a reload) is the same record, and the same receipt.
    let again = send(
        &site.state,
        form_request(form_body(&valid_fields("kk")), Some(SITE_ORIGIN)),
    )
    .await;
    assert!(
        again.body.contains(token),
        "the retry answers the stored record's receipt"
    );
    // Without a receipt key, the plain redirect as before.
    let plain = AppState::new(site.store.clone(), manifest_with_receipts(), settings()).unwrap();
    let fields = with(valid_fields("ru"), "message", Some("другое"));
    let answer = send(&plain, form_request(form_body(&fields), Some(SITE_ORIGIN))).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_confirmation_mail_attaches_the_receipt() {
    let site = Site::new();
    let answer = send(
        &site.state,
        json_request(json_body(&newsletter_post("kk")), Some(SITE_ORIGIN)),
    )
    .await;
    let id = answer.json()["id"].as_str().unwrap().to_owned();
    let sink = SmtpSink::start().await;
    let manifest = manifest_with_receipts();
    let deliverer = Deliverer::new(
        site.store.clone(),
        hmac_key(),
        Arc::new(manifest.clone()),
        Messages::from_manifest(&manifest).unwrap(),
        DeliverySettings {
            notify_to: vec!["info@woow.kz".to_owned()],
            operator_language: "kk".to_owned(),
            include_personal_data: false,
            public_url: "https://woow.kz/api/contact".to_owned(),
            confirm_within: time::Duration::days(7),
            lease: kelisim_relay::domain::outbox::LEASE,
        },
    )
    .with_mailer(Arc::new(
        SmtpMailer::new(&sink.url(), None, "woow.kz <relay@woow.kz>").unwrap(),
    ))
    .with_receipts(Some(site.signer.clone()));
    deliverer.run_once(OffsetDateTime::now_utc()).await.unwrap();
    let mail = sink
        .received()
        .into_iter()
        .find(|m| m.to.iter().any(|t| t.contains(EMAIL)))
        .expect("the confirmation mail");
    assert!(
        mail.body().contains("/confirm?token="),
        "the text is still there"
    );
    let attachments = mail.attachments();
    assert_eq!(attachments.len(), 1, "{attachments:?}");
    let (name, content_type, token) = &attachments[0];
    assert_eq!(name, &format!("kelisim-receipt-{id}.jws"));
    assert!(
        content_type.starts_with("application/jose"),
        "{content_type}"
    );
    let payload = site.check_elsewhere(token.trim()).expect("verifies");
    assert_eq!(payload["recordId"], id.as_str());
}

fn relay(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env("KELISIM_HMAC_KEY", KEY)
        .env_remove("KELISIM_RECEIPT_KEY")
        .output()
        .unwrap()
}

#[tokio::test]
async fn the_operator_makes_rotates_and_checks_keys_and_export_includes_receipts() {
    let dir = tempfile::tempdir().unwrap();
    let out = relay(dir.path(), &["receipt-key", "new", "--kid", "2026-01"]);
    assert!(out.status.success(), "{out:?}");
    let private = dir.path().join("receipt-key.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&private).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the private key is the owner's alone");
    }
    let published = std::fs::read_to_string(dir.path().join("receipt-keys.json")).unwrap();
    assert!(!published.contains("\"d\""), "no private part published");
    let again = relay(
        dir.path(),
        &["receipt-key", "new", "--kid", "2026-01", "--out", "x.json"],
    );
    assert!(!again.status.success(), "a kid is never reused");

    // Records made and exported with the first key.
    let db = dir.path().join("relay.sqlite");
    let first = ReceiptSigner::from_jwk(&std::fs::read_to_string(&private).unwrap()).unwrap();
    let state = AppState::new(
        Arc::new(SqliteStore::open(&db).unwrap()),
        manifest_with_receipts(),
        settings(),
    )
    .unwrap()
    .with_receipts(Some(first));
    let answer = send(
        &state,
        json_request(json_body(&valid_fields("kk")), Some(SITE_ORIGIN)),
    )
    .await;
    let old_receipt = answer.json()["receipt"].as_str().unwrap().to_owned();
    std::fs::write(dir.path().join("old.jws"), &old_receipt).unwrap();

    // Rotation: a second key; the first stays published.
    let out = relay(
        dir.path(),
        &[
            "receipt-key",
            "new",
            "--kid",
            "2026-12",
            "--out",
            "receipt-key-2.json",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    let set: ReceiptKeySet = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("receipt-keys.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(set.keys.len(), 2);
    let verify = relay(
        dir.path(),
        &[
            "receipt",
            "verify",
            "old.jws",
            "--keys",
            "receipt-keys.json",
        ],
    );
    assert!(
        verify.status.success(),
        "an old receipt after rotation: {verify:?}"
    );
    let printed = String::from_utf8_lossy(&verify.stdout);
    assert!(printed.starts_with("verified: receipt "), "{printed}");
    std::fs::write(dir.path().join("bad.jws"), flip(&old_receipt, 30)).unwrap();
    let verify = relay(
        dir.path(),
        &[
            "receipt",
            "verify",
            "bad.jws",
            "--keys",
            "receipt-keys.json",
        ],
    );
    assert!(!verify.status.success());
    assert!(String::from_utf8_lossy(&verify.stderr).contains("NOT VERIFIED"));

    // `records export` signs each record's receipt with the configured (new) key.
    let manifest_file = dir.path().join("manifest.json");
    std::fs::write(
        &manifest_file,
        serde_json::to_string(&manifest_with_receipts()).unwrap(),
    )
    .unwrap();
    let export = Command::new(BIN)
        .args(["records", "export", "--email", EMAIL, "--db"])
        .arg(&db)
        .env("KELISIM_HMAC_KEY", KEY)
        .env(
            "KELISIM_RECEIPT_KEY_FILE",
            dir.path().join("receipt-key-2.json"),
        )
        .env("KELISIM_MANIFEST", &manifest_file)
        .output()
        .unwrap();
    assert!(export.status.success(), "{export:?}");
    let exported: serde_json::Value = serde_json::from_slice(&export.stdout).unwrap();
    let receipt = exported[0]["receipt"]
        .as_str()
        .expect("a receipt per record");
    let payload = receipt_key::verify(receipt, &set).unwrap();
    assert_eq!(payload.record_id, exported[0]["id"].as_str().unwrap());
    let header = receipt.split('.').next().unwrap();
    let header: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header).unwrap(),
    )
    .unwrap();
    assert_eq!(header["kid"], "2026-12");
}
