//! The `Store` conformance suite against `SqliteStore` on a real file, plus SQLite specifics:
//! migrations, WAL and `synchronous=FULL`, and reopening.
#![cfg(feature = "sqlite")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "conformance/mod.rs"]
mod conformance;

use std::sync::Arc;

use kelisim_relay::sqlite::{SCHEMA_VERSION, SqliteStore};
use kelisim_relay::store::{Inserted, Store};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_store_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("relay.sqlite")).unwrap();
    conformance::run_all(Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_memory_store_passes_the_conformance_suite() {
    conformance::run_all(Arc::new(SqliteStore::open_in_memory().unwrap())).await;
}

#[tokio::test]
async fn records_survive_reopening_and_the_file_is_wal_full_and_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("relay.sqlite");
    let record = conformance::sample_record();
    {
        let store = SqliteStore::open(&path).unwrap();
        let dedup = conformance::dedup_keys(None, record.expires_at);
        assert_eq!(
            store.insert(&record, &dedup).await.unwrap(),
            Inserted::New(record.id)
        );
    }
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.get(record.id).await.unwrap(), Some(record));

    let conn = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn refuses_a_database_from_a_newer_relay() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("relay.sqlite");
    rusqlite::Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    let error = SqliteStore::open(&path).unwrap_err();
    assert!(error.to_string().contains("newer"), "{error}");
}
