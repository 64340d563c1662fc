//! The reference for the relay's durable path (issue #24): the least a server on this design
//! can do per acknowledged submission, so `bench/relay-load` can say how close
//! `kelisim-relay serve` comes to the limit of the design on the machine it runs on.
//!
//! One route, `POST /api/contact`, takes the same JSON as the relay's form endpoint and does
//! the same durable work before it answers 201: the dedup lookups (idempotency key, content
//! fingerprint inside its window, record id), then one record row of the same size (the same
//! JSON record, built from the same manifest), its idempotency-key row and its fingerprint row,
//! in a schema copied from a database the relay itself created (`--schema-from`: the same
//! tables, columns, indexes, foreign keys and trigger), with WAL, `synchronous=FULL`,
//! `foreign_keys` and `secure_delete` on, through the same group commit (`writer.rs`).
//!
//! What it leaves out is what the relay does besides storing: the origin check, the field
//! rules (names, e-mail, phone numbers, Unicode), the rate limiter, the key-check read, the
//! security headers, the timeouts, logging, the localized answer. It is a benchmark
//! instrument, not a relay: it validates almost nothing.
//!
//! Usage: `kelisim-relay-reference --listen ADDR --db FILE --schema-from RELAY_DB --manifest
//! consent-manifest.json`, with the HMAC key (64 hex digits) in `KELISIM_HMAC_KEY`. Prints
//! `listening on http://ADDR` once it accepts connections. `kelisim-relay-reference --stats
//! FILE` prints the rows a run left in FILE (the relay's or the reference's).

mod writer;

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use hmac::{Hmac, Mac};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Sha256;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use writer::{GroupCommit, Inserted, Row};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// The relay's defaults: a year for a granted purpose, a day for the fingerprint's window.
const RETENTION: time::Duration = time::Duration::days(365);
const FINGERPRINT_WINDOW: time::Duration = time::Duration::days(1);

/// The form's JSON, as the page's script sends it.
#[derive(Deserialize)]
struct Submission {
    surname: String,
    first_name: String,
    #[serde(default)]
    patronymic: Option<String>,
    email: String,
    phone: String,
    message: String,
    lang: String,
    #[serde(default)]
    consent: Vec<String>,
    policy_version: String,
    policy_hash: String,
    #[serde(default)]
    idempotency_key: Option<String>,
    #[serde(default)]
    website: String,
}

/// The relay's record, field for field as it serializes one (`ConsentRecord`).
#[derive(Serialize)]
struct Record<'a> {
    id: &'a str,
    schema_version: u32,
    received_at: String,
    subject: Subject<'a>,
    message: &'a str,
    consent: Stamp<'a>,
    state: &'static str,
    email_hmac: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    idempotency_key: Option<&'a str>,
    expires_at: String,
    revision: u64,
    phone_hmac: &'a str,
    key_check: &'a str,
}

#[derive(Serialize)]
struct Subject<'a> {
    surname: &'a str,
    first_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    patronymic: Option<&'a str>,
    email: &'a str,
    phone: &'a str,
}

#[derive(Serialize)]
struct Stamp<'a> {
    language: &'a str,
    policy_version: &'a str,
    policy_sha256: &'a str,
    policy_url: &'a str,
    purposes: Vec<Purpose<'a>>,
    collection_method: &'static str,
    page_url: &'a str,
    operator: &'a Value,
    storage_location: &'static str,
}

#[derive(Serialize)]
struct Purpose<'a> {
    purpose: &'a str,
    granted: bool,
    legal_basis: &'a str,
    label_sha256: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<&'a str>,
    data_categories: &'a Value,
}

struct App {
    manifest: Value,
    key: Vec<u8>,
    key_check: String,
    writer: Arc<GroupCommit>,
}

impl App {
    fn mac(&self, label: &str, parts: &[&str]) -> String {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.key) else {
            return String::new();
        };
        mac.update(label.as_bytes());
        for part in parts {
            mac.update(&[0]);
            mac.update(part.as_bytes());
        }
        hex::encode(mac.finalize().into_bytes())
    }

    /// The record's rows, or why the submission is refused (the policy it names is not the
    /// language's current one).
    fn rows(&self, s: &Submission, now: OffsetDateTime) -> Result<Row, &'static str> {
        let language = &self.manifest["languages"][&s.lang];
        let policy = &language["policy"];
        if policy["version"] != s.policy_version.as_str()
            || policy["sha256"] != s.policy_hash.as_str()
        {
            return Err("policy_mismatch");
        }
        let received_at = now.format(&Rfc3339).unwrap_or_default();
        let expires = now + RETENTION;
        let expires_at = expires.format(&Rfc3339).unwrap_or_default();
        let id = uuid::Uuid::now_v7().to_string();
        let email = s.email.trim().to_lowercase();
        let phone: String = s
            .phone
            .chars()
            .filter(|c| *c == '+' || c.is_ascii_digit())
            .collect();
        let email_hmac = self.mac("kelisim/email/v1", &[&email]);
        let phone_hmac = self.mac("kelisim/phone/v1", &[&phone]);
        let consents = s.consent.join(",");
        let fingerprint = self.mac(
            "kelisim/fingerprint/v1",
            &[
                &s.lang,
                &s.surname,
                &s.first_name,
                s.patronymic.as_deref().unwrap_or(""),
                &email,
                &phone,
                &s.message,
                &consents,
                &s.policy_version,
            ],
        );
        let purposes = self.manifest["purposes"]
            .as_array()
            .map_or(&[][..], Vec::as_slice);
        let purposes = purposes
            .iter()
            .map(|p| {
                let id = p["id"].as_str().unwrap_or_default();
                let granted = s.consent.iter().any(|c| c == id);
                Purpose {
                    purpose: id,
                    granted,
                    legal_basis: p["legal_basis"].as_str().unwrap_or_default(),
                    label_sha256: language["labels"][id]["sha256"]
                        .as_str()
                        .unwrap_or_default(),
                    expires_at: granted.then_some(expires_at.as_str()),
                    data_categories: &p["data_categories"],
                }
            })
            .collect();
        let record = Record {
            id: &id,
            schema_version: 1,
            received_at,
            subject: Subject {
                surname: &s.surname,
                first_name: &s.first_name,
                patronymic: s.patronymic.as_deref(),
                email: &s.email,
                phone: &phone,
            },
            message: &s.message,
            consent: Stamp {
                language: &s.lang,
                policy_version: &s.policy_version,
                policy_sha256: &s.policy_hash,
                policy_url: policy["url"].as_str().unwrap_or_default(),
                purposes,
                collection_method: "script",
                page_url: language["contact_url"].as_str().unwrap_or_default(),
                operator: &self.manifest["operator"],
                storage_location: "load benchmark",
            },
            state: "active",
            email_hmac: &email_hmac,
            idempotency_key: s.idempotency_key.as_deref(),
            expires_at: expires_at.clone(),
            revision: 0,
            phone_hmac: &phone_hmac,
            key_check: &self.key_check,
        };
        let body = serde_json::to_string(&record).map_err(|_| "serialization")?;
        Ok(Row {
            body,
            id,
            email_hmac,
            phone_hmac,
            expires_ms: millis(expires),
            idempotency_key: s.idempotency_key.clone(),
            fingerprint,
            fingerprint_until_ms: millis(now + FINGERPRINT_WINDOW),
            now_ms: millis(now),
        })
    }
}

fn millis(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// `POST /api/contact`: 201 once the record is committed, 200 for a duplicate of a stored one.
async fn submit(State(app): State<Arc<App>>, Json(submission): Json<Submission>) -> Response {
    if !submission.website.is_empty() {
        return (StatusCode::CREATED, Json(serde_json::json!({ "ok": true }))).into_response();
    }
    let row = match app.rows(&submission, OffsetDateTime::now_utc()) {
        Ok(row) => row,
        Err(error) => {
            let body = Json(serde_json::json!({ "ok": false, "error": error }));
            return (StatusCode::UNPROCESSABLE_ENTITY, body).into_response();
        }
    };
    let id = row.id.clone();
    match app.writer.insert(row).await {
        Ok(Inserted::New) => (
            StatusCode::CREATED,
            Json(serde_json::json!({ "ok": true, "id": id })),
        )
            .into_response(),
        Ok(Inserted::Duplicate(earlier)) => (
            StatusCode::OK,
            Json(serde_json::json!({ "ok": true, "id": earlier })),
        )
            .into_response(),
        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

/// Opens `db` with the relay's pragmas and gives it the schema of the relay's `schema_from`.
fn open(db: &str, schema_from: &str) -> Result<Connection, Error> {
    let source =
        Connection::open_with_flags(schema_from, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let ddl: Vec<String> = source
        .prepare("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid")?
        .query_map([], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    if ddl.is_empty() {
        return Err(format!("{schema_from} has no schema").into());
    }
    let conn = Connection::open(db)?;
    let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "secure_delete", "ON")?;
    let exists: i64 = conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE name = 'records'",
        [],
        |r| r.get(0),
    )?;
    if exists == 0 {
        conn.execute_batch(&format!("BEGIN; {}; COMMIT;", ddl.join(";\n")))?;
    }
    Ok(conn)
}

fn arg(args: &[String], name: &str) -> Result<String, Error> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
        .ok_or_else(|| format!("missing {name}; see the doc comment in src/main.rs").into())
}

/// `--stats DB`: what a run stored, one line, so the benchmark can show that the relay and
/// the reference wrote the same rows (counts per table, average record body in bytes).
fn stats(db: &str) -> Result<(), Error> {
    let conn = Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let mut line = Vec::new();
    for table in [
        "records",
        "idempotency_keys",
        "fingerprints",
        "outbox",
        "mail_quota",
        "audit",
    ] {
        let n: i64 = conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?;
        line.push(format!("{table}={n}"));
    }
    let body: f64 = conn.query_row(
        "SELECT coalesce(avg(length(body)), 0) FROM records",
        [],
        |r| r.get(0),
    )?;
    println!("{} body_bytes={body:.0}", line.join(" "));
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--stats") {
        return stats(&arg(&args, "--stats")?);
    }
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(arg(&args, "--manifest")?)?)?;
    let key = hex::decode(std::env::var("KELISIM_HMAC_KEY")?.trim())?;
    let conn = open(&arg(&args, "--db")?, &arg(&args, "--schema-from")?)?;
    let mut app = App {
        manifest,
        key,
        key_check: String::new(),
        writer: GroupCommit::new(conn),
    };
    app.key_check = app.mac("kelisim/key-check/v1", &[]);
    let router = axum::Router::new()
        .route("/api/contact", post(submit))
        .with_state(Arc::new(app));
    let listener = tokio::net::TcpListener::bind(arg(&args, "--listen")?).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, router).await?;
    Ok(())
}
