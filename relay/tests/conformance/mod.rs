//! The store conformance suites: one module per store role ([`records`], [`outbox`],
//! [`rights_log`], [`key_state`]) and one for the rights use cases on top of them
//! ([`rights`]). Every behaviour is its own `#[test]`, run on every back end: a SQLite file,
//! SQLite in memory, and DynamoDB on moto (`KELISIM_TEST_DYNAMODB_ENDPOINT`, started by
//! `scripts/test`), each on a fresh store. So the first failure hides nothing and any one
//! behaviour runs by name, e.g. `cargo test -p kelisim-relay --all-features
//! conformance::records::moto::idempotency_key_dedups`.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use kelisim_relay::domain::outbox::{Channel, OutboxItem, OutboxKind};
use kelisim_relay::domain::record::{
    CollectionMethod, ConsentRecord, ConsentStamp, PurposeConsent, RECORD_SCHEMA_VERSION, RecordId,
    RecordState, Subject,
};
use kelisim_relay::manifest::{Operator, sha256_hex};
use kelisim_relay::store::{DedupKeys, Store};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// A fresh store of one back end, and whatever must live as long as it (its folder).
pub struct Backend {
    store: Arc<dyn Store>,
    _dir: Option<tempfile::TempDir>,
}

impl Backend {
    pub fn store(&self) -> Arc<dyn Store> {
        Arc::clone(&self.store)
    }

    /// A new SQLite file in a folder of its own.
    #[cfg(feature = "sqlite")]
    pub fn sqlite_file() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store =
            kelisim_relay::store::sqlite::SqliteStore::open(&dir.path().join("relay.sqlite"))
                .unwrap();
        Self {
            store: Arc::new(store),
            _dir: Some(dir),
        }
    }

    /// A new in-memory SQLite database.
    #[cfg(feature = "sqlite")]
    pub fn sqlite_memory() -> Self {
        let store = kelisim_relay::store::sqlite::SqliteStore::open_in_memory().unwrap();
        Self {
            store: Arc::new(store),
            _dir: None,
        }
    }

    /// A new table on the test's DynamoDB-compatible server.
    #[cfg(feature = "dynamodb")]
    pub async fn moto() -> Self {
        Self {
            store: Arc::new(crate::dynamodb_store::fresh_store().await),
            _dir: None,
        }
    }
}

/// Runs each named behaviour, an `async fn(Arc<dyn Store>)` of the calling module, as a test
/// of its own on every back end.
macro_rules! on_every_store {
    ($($behaviour:ident),* $(,)?) => {
        #[cfg(feature = "sqlite")]
        mod sqlite_file {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $behaviour() {
                    let backend = crate::conformance::Backend::sqlite_file();
                    super::$behaviour(backend.store()).await;
                }
            )*
        }
        #[cfg(feature = "sqlite")]
        mod sqlite_memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $behaviour() {
                    let backend = crate::conformance::Backend::sqlite_memory();
                    super::$behaviour(backend.store()).await;
                }
            )*
        }
        #[cfg(feature = "dynamodb")]
        mod moto {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $behaviour() {
                    let backend = crate::conformance::Backend::moto().await;
                    super::$behaviour(backend.store()).await;
                }
            )*
        }
    };
}

mod inbox;
mod key_state;
mod outbox;
mod records;
#[cfg(feature = "intake")]
pub mod rights;
mod rights_log;

/// A realistic record with a fresh id and a unique email lookup key.
pub fn sample_record() -> ConsentRecord {
    let now = OffsetDateTime::now_utc();
    let unique = Uuid::now_v7().to_string();
    ConsentRecord {
        id: RecordId::new(),
        schema_version: RECORD_SCHEMA_VERSION,
        received_at: now,
        subject: Subject {
            surname: "Серікбаева".to_owned(),
            first_name: "Әйгерім".to_owned(),
            patronymic: Some("Нұрланқызы".to_owned()),
            email: "aigerim@example.kz".to_owned(),
            phone: "+77011234567".to_owned(),
        },
        message: "Сәлеметсіз бе! Тапсырыс туралы сұрағым бар.\nРақмет.".to_owned(),
        consent: ConsentStamp {
            language: "kk".to_owned(),
            policy_version: "1.0".to_owned(),
            policy_sha256: sha256_hex(b"policy"),
            policy_url: "https://woow.kz/kk/privacy/1.0/".to_owned(),
            purposes: vec![
                PurposeConsent {
                    purpose: "reply".to_owned(),
                    granted: true,
                    legal_basis: "consent (Law 94-V, Art. 7-8)".to_owned(),
                    label_sha256: sha256_hex("Келісемін".as_bytes()),
                    expires_at: Some(now + Duration::days(365)),
                    withdrawn_at: None,
                    confirm_by: None,
                    confirmed_at: None,
                    confirm_secret_sha256: None,
                    data_categories: vec![
                        "name".to_owned(),
                        "email".to_owned(),
                        "phone".to_owned(),
                        "message".to_owned(),
                    ],
                },
                PurposeConsent {
                    purpose: "newsletter".to_owned(),
                    granted: false,
                    legal_basis: "prior consent (Law 94-V, Art. 8)".to_owned(),
                    label_sha256: sha256_hex("Хаттар".as_bytes()),
                    expires_at: None,
                    withdrawn_at: None,
                    confirm_by: None,
                    confirmed_at: None,
                    confirm_secret_sha256: None,
                    data_categories: vec!["name".to_owned(), "email".to_owned()],
                },
            ],
            collection_method: CollectionMethod::Script,
            page_url: "https://woow.kz/kk/contact/".to_owned(),
            operator: Operator {
                name: "«Z Distribution Company» ЖШС".to_owned(),
                email: "info@woow.kz".to_owned(),
                website: "https://woow.kz".to_owned(),
            },
            storage_location: "conformance test store".to_owned(),
        },
        state: RecordState::Active,
        email_hmac: sha256_hex(unique.as_bytes()),
        idempotency_key: None,
        expires_at: now + Duration::days(365),
        answered: None,
        revision: 0,
        phone_hmac: sha256_hex(format!("phone {unique}").as_bytes()),
        key_check: String::new(),
        blocked_at: None,
        dropped: Vec::new(),
        history: Vec::new(),
    }
}

/// Dedup keys with a unique fingerprint, blocking until `until`.
pub fn dedup_keys(idempotency_key: Option<String>, until: OffsetDateTime) -> DedupKeys {
    DedupKeys {
        idempotency_key,
        fingerprint: sha256_hex(Uuid::now_v7().to_string().as_bytes()),
        fingerprint_until: until,
    }
}

pub fn unique_key() -> String {
    Uuid::now_v7().to_string()
}

pub fn in_a_minute() -> OffsetDateTime {
    OffsetDateTime::now_utc() + Duration::seconds(60)
}

/// Stores `record` with fresh dedup keys and no outbox items.
pub async fn store_plain(store: &dyn Store, record: &ConsentRecord) {
    store
        .insert_record(record, &dedup_keys(None, in_a_minute()), &[])
        .await
        .expect("insert");
}

/// The operator's notification and a newsletter confirmation about `record`.
pub fn notify_items(record: &ConsentRecord, now: OffsetDateTime) -> Vec<OutboxItem> {
    vec![
        OutboxItem::new(
            OutboxKind::NotifyOperator {
                record_id: record.id,
                channel: Channel::Email,
            },
            now,
        ),
        OutboxItem::new(
            OutboxKind::ConfirmPurpose {
                record_id: record.id,
                purpose: "newsletter".to_owned(),
                secret: None,
            },
            now,
        ),
    ]
}
