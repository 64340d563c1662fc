//! Shared helpers for the relay's handler, OpenAPI and logging tests: the fixture manifest,
//! a ready `AppState`, a store that fails on purpose, and a valid submission to vary.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use kelisim_relay::domain::audit::AuditEntry;
use kelisim_relay::domain::hmac_key::HmacKey;
use kelisim_relay::domain::inbox::{InboxPage, InboxQuery};
use kelisim_relay::domain::key_check::KeyState;
use kelisim_relay::domain::outbox::{MailQuota, OutboxId, OutboxItem};
use kelisim_relay::domain::record::{ConsentRecord, RecordId};
use kelisim_relay::domain::request::SubjectRequest;
use kelisim_relay::domain::stamp::IntakeSettings;
use kelisim_relay::manifest::ConsentManifest;
use kelisim_relay::store::sqlite::SqliteStore;
use kelisim_relay::store::{
    DedupKeys, Inserted, KeyStore, OutboxStore, RecordStore, RequestInserted, RightsLog, Store,
    StoreError,
};
use kelisim_relay::web::{AppState, app};
use time::OffsetDateTime;
use tower::ServiceExt as _;

pub const HMAC_KEY_HEX: &str = "6b656c6973696d2d746573742d6b65792d6f662d33322d62797465732d2d2d21";
pub const SITE_ORIGIN: &str = "https://woow.kz";
pub const FOREIGN_ORIGIN: &str = "https://evil.example";

/// Distinctive personal data, so the logging test can search for it.
pub const SURNAME: &str = "Тестбаева";
pub const FIRST_NAME: &str = "Жансая";
pub const PATRONYMIC: &str = "Ерланқызы";
pub const EMAIL: &str = "zhansaya.testbayeva@example.kz";
pub const PHONE_RAW: &str = "8 (701) 765-43-21";
pub const PHONE_E164: &str = "+77017654321";
pub const MESSAGE: &str = "Құпия хабарлама 4242: тапсырысым қайда?";

pub fn fixture_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/consent-manifest.json")
}

pub fn manifest() -> ConsentManifest {
    ConsentManifest::from_path(&fixture_path()).unwrap()
}

/// The fixture manifest with the newsletter behind a double opt-in and the result pages set.
pub fn manifest_with_opt_in() -> ConsentManifest {
    let mut manifest = manifest();
    for purpose in &mut manifest.purposes {
        purpose.confirm_by_email = purpose.id == "newsletter";
    }
    for (lang, language) in &mut manifest.languages {
        language.confirmed_url = Some(format!("https://woow.kz/{lang}/confirmed/"));
        language.confirm_error_url = Some(format!("https://woow.kz/{lang}/confirm-error/"));
    }
    manifest
}

/// The fixture manifest with the request pages, as the generator publishes them.
pub fn manifest_with_request_pages() -> ConsentManifest {
    let mut manifest = manifest_with_opt_in();
    for (lang, language) in &mut manifest.languages {
        language.request_url = Some(format!("https://woow.kz/{lang}/request/"));
        language.request_sent_url = Some(format!("https://woow.kz/{lang}/request-sent/"));
        language.request_confirmed_url = Some(format!("https://woow.kz/{lang}/request-confirmed/"));
    }
    manifest
}

/// The fixture with the request pages and a thank-you page offering the receipt, as the
/// generator publishes them.
pub fn manifest_with_receipts() -> ConsentManifest {
    let mut manifest = manifest_with_request_pages();
    for (lang, language) in &mut manifest.languages {
        language.thanks_page = Some(format!(
            "<!doctype html><html lang=\"{lang}\"><title>thanks</title>\
             <a class=\"button\" href=\"{}\" download=\"kelisim-receipt.jws\">receipt</a></html>",
            kelisim_relay::manifest::RECEIPT_URL_PLACEHOLDER
        ));
    }
    manifest
}

pub fn hmac_key() -> HmacKey {
    HmacKey::parse(HMAC_KEY_HEX).unwrap()
}

pub fn settings() -> IntakeSettings {
    IntakeSettings {
        hmac_key: hmac_key(),
        retention_days: [("reply".to_owned(), 365), ("newsletter".to_owned(), 1095)].into(),
        fingerprint_window: time::Duration::seconds(60),
        storage_location: "test host (SQLite)".to_owned(),
        confirm_within: time::Duration::days(7),
    }
}

pub fn state(store: Arc<dyn Store>) -> AppState {
    AppState::new(store, manifest(), settings()).unwrap()
}

pub fn memory_store() -> Arc<SqliteStore> {
    Arc::new(SqliteStore::open_in_memory().unwrap())
}

/// A store whose every call fails, as a broken disk or an unreachable service would.
#[derive(Debug)]
pub struct FailingStore;

fn failure<T>() -> Result<T, StoreError> {
    Err(StoreError::Backend("injected failure".to_owned()))
}

#[async_trait]
impl RecordStore for FailingStore {
    async fn insert_record_capped(
        &self,
        _: &ConsentRecord,
        _: &DedupKeys,
        _: &[OutboxItem],
        _: Option<&MailQuota>,
    ) -> Result<Inserted, StoreError> {
        failure()
    }
    async fn get_record(&self, _: RecordId) -> Result<Option<ConsentRecord>, StoreError> {
        failure()
    }
    async fn list_records(&self) -> Result<Vec<ConsentRecord>, StoreError> {
        failure()
    }
    async fn inbox_page(&self, _: &InboxQuery) -> Result<InboxPage, StoreError> {
        failure()
    }
    async fn find_records_by_email(&self, _: &str) -> Result<Vec<ConsentRecord>, StoreError> {
        failure()
    }
    async fn find_records_by_phone(&self, _: &str) -> Result<Vec<ConsentRecord>, StoreError> {
        failure()
    }
    async fn update_record(&self, _: &ConsentRecord) -> Result<bool, StoreError> {
        failure()
    }
    async fn delete_record(&self, _: RecordId) -> Result<bool, StoreError> {
        failure()
    }
    async fn purge_expired(&self, _: OffsetDateTime) -> Result<u64, StoreError> {
        failure()
    }
}

#[async_trait]
impl OutboxStore for FailingStore {
    async fn enqueue_item(&self, _: &OutboxItem) -> Result<(), StoreError> {
        failure()
    }
    async fn list_due_items(
        &self,
        _: OffsetDateTime,
        _: usize,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        failure()
    }
    async fn list_items(&self) -> Result<Vec<OutboxItem>, StoreError> {
        failure()
    }
    async fn claim_item(
        &self,
        _: OutboxId,
        _: OffsetDateTime,
        _: time::Duration,
    ) -> Result<Option<OutboxItem>, StoreError> {
        failure()
    }
    async fn remove_item(&self, _: OutboxId) -> Result<(), StoreError> {
        failure()
    }
    async fn reschedule_item(
        &self,
        _: OutboxId,
        _: OffsetDateTime,
        _: &str,
    ) -> Result<(), StoreError> {
        failure()
    }
    async fn bury_item(&self, _: OutboxId, _: &str, _: OffsetDateTime) -> Result<(), StoreError> {
        failure()
    }
    async fn withhold_item(&self, _: OutboxId) -> Result<(), StoreError> {
        failure()
    }
    async fn release_items(&self, _: uuid::Uuid, _: OffsetDateTime) -> Result<usize, StoreError> {
        failure()
    }
    async fn revive_item(&self, _: OutboxId, _: OffsetDateTime) -> Result<bool, StoreError> {
        failure()
    }
}

#[async_trait]
impl RightsLog for FailingStore {
    async fn append_audit(&self, _: &AuditEntry) -> Result<(), StoreError> {
        failure()
    }
    async fn list_audit(&self, _: Option<OffsetDateTime>) -> Result<Vec<AuditEntry>, StoreError> {
        failure()
    }
    async fn insert_request(
        &self,
        _: &SubjectRequest,
        _: &[OutboxItem],
        _: Option<&MailQuota>,
    ) -> Result<RequestInserted, StoreError> {
        failure()
    }
    async fn get_request(&self, _: uuid::Uuid) -> Result<Option<SubjectRequest>, StoreError> {
        failure()
    }
    async fn list_requests(&self) -> Result<Vec<SubjectRequest>, StoreError> {
        failure()
    }
    async fn update_request_with(
        &self,
        _: &SubjectRequest,
        _: &[OutboxItem],
        _: &[AuditEntry],
    ) -> Result<bool, StoreError> {
        failure()
    }
    async fn purge_unconfirmed_requests(&self, _: OffsetDateTime) -> Result<u64, StoreError> {
        failure()
    }
}

#[async_trait]
impl KeyStore for FailingStore {
    async fn get_key_state(&self) -> Result<KeyState, StoreError> {
        failure()
    }
    async fn set_key_state(&self, _: &KeyState, _: &KeyState) -> Result<(), StoreError> {
        failure()
    }
}

/// A complete, valid submission in `lang` as name/value pairs (consent: reply only).
pub fn valid_fields(lang: &str) -> Vec<(String, String)> {
    let manifest = manifest();
    let policy = &manifest.languages[lang].policy;
    [
        ("surname", SURNAME),
        ("first_name", FIRST_NAME),
        ("patronymic", PATRONYMIC),
        ("email", EMAIL),
        ("phone", PHONE_RAW),
        ("message", MESSAGE),
        ("lang", lang),
        ("consent", "reply"),
        ("policy_version", &policy.version),
        ("policy_hash", &policy.sha256),
        ("idempotency_key", ""),
        ("website", ""),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// Replaces (or with `None` removes) every pair named `name`.
pub fn with(
    mut fields: Vec<(String, String)>,
    name: &str,
    value: Option<&str>,
) -> Vec<(String, String)> {
    fields.retain(|(k, _)| k != name);
    if let Some(value) = value {
        fields.push((name.to_owned(), value.to_owned()));
    }
    fields
}

pub fn form_body(fields: &[(String, String)]) -> String {
    serde_html_form::to_string(fields).unwrap()
}

/// The script's JSON: `consent` as an array, everything else as strings.
pub fn json_body(fields: &[(String, String)]) -> String {
    let mut object = serde_json::Map::new();
    let consents: Vec<serde_json::Value> = fields
        .iter()
        .filter(|(k, _)| k == "consent")
        .map(|(_, v)| serde_json::Value::String(v.clone()))
        .collect();
    for (k, v) in fields.iter().filter(|(k, _)| k != "consent") {
        object.insert(k.clone(), serde_json::Value::String(v.clone()));
    }
    object.insert("consent".to_owned(), serde_json::Value::Array(consents));
    serde_json::Value::Object(object).to_string()
}

pub fn form_request(body: String, origin: Option<&str>) -> Request<Body> {
    let mut builder = Request::post("/api/contact")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "text/html,application/xhtml+xml");
    if let Some(origin) = origin {
        builder = builder.header(header::ORIGIN, origin);
    }
    builder.body(Body::from(body)).unwrap()
}

pub fn json_request(body: String, origin: Option<&str>) -> Request<Body> {
    let mut builder = Request::post("/api/contact")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT, "application/json");
    if let Some(origin) = origin {
        builder = builder.header(header::ORIGIN, origin);
    }
    builder.body(Body::from(body)).unwrap()
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap()
    }

    pub fn header(&self, name: header::HeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Sends one request through the router, no network.
pub async fn send(state: &AppState, request: Request<Body>) -> Answer {
    let response = app(state.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    Answer {
        status,
        headers,
        body: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

/// A log writer that keeps everything written, for the tests that search the logs for
/// personal data.
#[derive(Clone, Default)]
pub struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl Captured {
    pub fn bytes(&self) -> Vec<u8> {
        self.0.lock().unwrap().clone()
    }
}

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}
