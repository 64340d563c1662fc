//! What the console's browser test works on: the repository's site (built once, for its
//! consent manifest), records and an erasure request made through the relay's real form and
//! request form (its router, on a SQLite file; links confirmed as a person would, with the
//! secret the mail would carry), and `kelisim-relay console` started on that file.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};

use anyhow::{Context, Result, anyhow, ensure};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use kelisim_manifest::ConsentManifest;
use kelisim_relay::domain::hmac_key::HmacKey;
use kelisim_relay::domain::link::link_token;
use kelisim_relay::domain::messages::Messages;
use kelisim_relay::domain::outbox::OutboxKind;
use kelisim_relay::domain::record::RecordId;
use kelisim_relay::domain::stamp::IntakeSettings;
use kelisim_relay::store::sqlite::SqliteStore;
use kelisim_relay::store::{OutboxStore, RightsLog, Store};
use kelisim_relay::web::AppState;
use kelisim_tests::paths::relay_binary;
use kelisim_tests::site::build_real_site;
use serde_json::json;
use tower::ServiceExt as _;

pub const KEY: &str = "6b656c6973696d2d746573742d6b65792d6f662d33322d62797465732d2d2d21";
pub const OPERATOR: &str = "Дана Оператор";
pub const SUBSCRIBER: &str = "subscriber@example.kz";
pub const ERASED: &str = "erase.me@example.kz";

/// The repository's site, built once for these tests: its consent manifest.
fn manifest_path() -> Result<PathBuf> {
    static SITE: OnceLock<Mutex<Option<PathBuf>>> = OnceLock::new();
    let mut guard = SITE
        .get_or_init(|| Mutex::new(None))
        .lock()
        .map_err(|_| anyhow!("site lock poisoned"))?;
    if let Some(path) = guard.as_ref() {
        return Ok(path.clone());
    }
    let output = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("console-site");
    build_real_site(&output).context("building the site")?;
    let path = output.join("consent-manifest.json");
    *guard = Some(path.clone());
    Ok(path)
}

/// A console's words, to find buttons and headings by what the operator reads.
pub fn words(lang: &str, key: &str) -> String {
    static MESSAGES: OnceLock<Messages> = OnceLock::new();
    MESSAGES
        .get_or_init(|| Messages::for_console(None).expect("the console's messages"))
        .format(lang, key, &[])
}

/// What was sent through the real forms.
pub struct Seeded {
    pub message: RecordId,
    pub subscriber: RecordId,
    pub erased: RecordId,
    pub request: String,
}

/// The relay's router on the SQLite file at `db` with the site's manifest.
fn relay(db: &Path, manifest: &ConsentManifest) -> Result<(Arc<SqliteStore>, AppState)> {
    let store = Arc::new(SqliteStore::open(db)?);
    let settings = IntakeSettings {
        hmac_key: HmacKey::parse(KEY)?,
        retention_days: [("reply".to_owned(), 365), ("newsletter".to_owned(), 1095)].into(),
        fingerprint_window: time_seconds(60),
        storage_location: "console test (SQLite)".to_owned(),
        confirm_within: time_seconds(7 * 86_400),
    };
    let state = AppState::new(store.clone() as Arc<dyn Store>, manifest.clone(), settings)?;
    Ok((store, state))
}

fn time_seconds(seconds: i64) -> time::Duration {
    time::Duration::seconds(seconds)
}

/// One request through the relay's router; its status and body.
async fn post(
    state: &AppState,
    path: &str,
    origin: &str,
    body: String,
    json: bool,
) -> (StatusCode, String) {
    let kind = if json {
        "application/json"
    } else {
        "application/x-www-form-urlencoded"
    };
    let request = Request::post(path)
        .header(header::CONTENT_TYPE, kind)
        .header(
            header::ACCEPT,
            if json {
                "application/json"
            } else {
                "text/html"
            },
        )
        .header(header::ORIGIN, origin)
        .body(Body::from(body))
        .unwrap();
    let response = kelisim_relay::web::app(state.clone())
        .oneshot(request)
        .await
        .unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

/// A message through the contact form's script: the page's own field names and policy.
async fn message(
    state: &AppState,
    manifest: &ConsentManifest,
    lang: &str,
    email: &str,
    text: &str,
    newsletter: bool,
) -> Result<RecordId> {
    let policy = &manifest.languages[lang].policy;
    let mut consent = vec!["reply"];
    if newsletter {
        consent.push("newsletter");
    }
    let body = json!({
        "surname": if lang == "ru" { "Иванова" } else { "Әбілқасымова" },
        "first_name": if lang == "ru" { "Мария" } else { "Айгүл" },
        "patronymic": "", "email": email, "phone": "8 (701) 123-45-67", "message": text,
        "lang": lang, "consent": consent, "policy_version": policy.version,
        "policy_hash": policy.sha256, "idempotency_key": "", "website": "",
    });
    let origin = manifest.base_url.trim_end_matches('/');
    let (status, answer) = post(
        state,
        &manifest.form_endpoint,
        origin,
        body.to_string(),
        true,
    )
    .await;
    ensure!(
        status == StatusCode::CREATED,
        "the form answered {status}: {answer}"
    );
    let answer: serde_json::Value = serde_json::from_str(&answer)?;
    Ok(answer["id"].as_str().context("an id")?.parse()?)
}

/// Presses the button of the link mailed about `subject`, read from the outbox.
async fn confirm(
    state: &AppState,
    store: &SqliteStore,
    manifest: &ConsentManifest,
    path: &str,
    subject: &str,
) -> Result<()> {
    let items = store.list_items().await?;
    let secret = items.iter().find_map(|item| match &item.kind {
        OutboxKind::ConfirmPurpose {
            record_id,
            secret: Some(s),
            ..
        } if record_id.to_string() == subject => Some(s.clone()),
        OutboxKind::ConfirmRequest {
            request_id,
            secret: Some(s),
        } if request_id.to_string() == subject => Some(s.clone()),
        _ => None,
    });
    let token = link_token(subject.parse()?, &secret.context("a mailed link")?);
    let origin = manifest.base_url.trim_end_matches('/');
    let body = format!("token={token}&lang=kk");
    let (status, answer) = post(
        state,
        &format!("{}{path}", manifest.form_endpoint),
        origin,
        body,
        false,
    )
    .await;
    ensure!(
        status == StatusCode::SEE_OTHER,
        "the link answered {status}: {answer}"
    );
    Ok(())
}

/// Three messages in `lang` (one with a confirmed newsletter grant) and an erasure request
/// for the third's address, through the real forms.
pub async fn seed(db: &Path, lang: &str) -> Result<Seeded> {
    let manifest = ConsentManifest::from_path(&manifest_path()?)?;
    let (store, state) = relay(db, &manifest)?;
    let text = |n: u8| {
        format!(
            "{n}: {}",
            if lang == "ru" {
                "Когда будет доставка?"
            } else {
                "Жеткізу қашан болады?"
            }
        )
    };
    let message_id = message(&state, &manifest, lang, "first@example.kz", &text(1), false).await?;
    let subscriber = message(&state, &manifest, lang, SUBSCRIBER, &text(2), true).await?;
    confirm(
        &state,
        &store,
        &manifest,
        "/confirm",
        &subscriber.to_string(),
    )
    .await?;
    let erased = message(&state, &manifest, lang, ERASED, &text(3), false).await?;
    let origin = manifest.base_url.trim_end_matches('/');
    let body = format!(
        "kind=erasure&email={}&lang={lang}&website=",
        ERASED.replace('@', "%40")
    );
    let (status, answer) = post(
        &state,
        &format!("{}/request", manifest.form_endpoint),
        origin,
        body,
        false,
    )
    .await;
    ensure!(
        status == StatusCode::SEE_OTHER,
        "the request form answered {status}: {answer}"
    );
    let request = store
        .list_requests()
        .await?
        .first()
        .context("a request")?
        .id
        .to_string();
    confirm(&state, &store, &manifest, "/request/confirm", &request).await?;
    Ok(Seeded {
        message: message_id,
        subscriber,
        erased,
        request,
    })
}

/// `kelisim-relay console` on `db`, its standard output read until the link.
pub fn start_console(db: &Path, lang: &str) -> Result<(Child, String)> {
    let mut child = Command::new(relay_binary()?)
        .args([
            "--db",
            db.to_str().context("a UTF-8 path")?,
            "--by",
            OPERATOR,
            "console",
        ])
        .args(["--no-browser", "--listen", "127.0.0.1:0", "--lang", lang])
        .arg("--manifest")
        .arg(manifest_path()?)
        .env("KELISIM_HMAC_KEY", KEY)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let stdout = child.stdout.take().context("its output")?;
    let mut lines = BufReader::new(stdout).lines();
    let url = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| l.trim().starts_with("http://").then(|| l.trim().to_owned()))
        .context("the console printed no link")?;
    // Read the rest as it comes, as a terminal would.
    std::thread::spawn(move || lines.for_each(drop));
    Ok((child, url))
}
