//! SQLite specifics beyond the conformance suites (which run on a SQLite file too):
//! migrations, WAL and `synchronous=FULL`, reopening, and what a removal leaves in the files.
#![cfg(feature = "sqlite")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::conformance;

use std::path::Path;

use kelisim_relay::store::sqlite::{SCHEMA_VERSION, SqliteStore};
use kelisim_relay::store::{Inserted, RecordStore};

/// Every place a value could survive in: the database file and its WAL, read raw.
fn raw_files(path: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    for suffix in ["", "-wal", "-journal", "-shm"] {
        let name = format!("{}{suffix}", path.display());
        if let Ok(bytes) = std::fs::read(&name) {
            files.push((name, bytes));
        }
    }
    files
}

fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
    text.encode_utf16()
        .flat_map(|u| {
            if big_endian {
                u.to_be_bytes()
            } else {
                u.to_le_bytes()
            }
        })
        .collect()
}

/// Where `marker` still is, in UTF-8 or UTF-16 (either byte order).
pub(crate) fn places_holding(path: &Path, marker: &str) -> Vec<String> {
    let needles = [
        marker.as_bytes().to_vec(),
        utf16(marker, false),
        utf16(marker, true),
    ];
    raw_files(path)
        .into_iter()
        .filter(|(_, bytes)| {
            needles
                .iter()
                .any(|n| bytes.windows(n.len()).any(|w| w == n.as_slice()))
        })
        .map(|(name, _)| name)
        .collect()
}

#[tokio::test]
async fn erased_and_dropped_values_are_gone_from_the_raw_sqlite_and_wal_bytes() {
    use kelisim_relay::app::rights;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("erase.sqlite");
    let unique = uuid::Uuid::now_v7().simple().to_string();
    let erased_marker = format!("ERASE-MARKER-{unique}");
    let erased_cyrillic = format!("Өшірілетінмаркер{}", &unique[..8]);
    let dropped_marker = format!("DROP-MARKER-{unique}");
    let kept_marker = format!("KEEP-MARKER-{unique}");
    let store = SqliteStore::open(&path).unwrap();

    let mut erased = conformance::sample_record();
    erased.message = format!("{erased_marker} {erased_cyrillic}");
    erased.subject.surname = erased_cyrillic.clone();
    let mut withdrawn = conformance::sample_record();
    withdrawn.message = dropped_marker.clone();
    withdrawn.consent.purposes[1].granted = true;
    withdrawn.consent.purposes[1].expires_at = Some(withdrawn.expires_at);
    let mut kept = conformance::sample_record();
    kept.message = kept_marker.clone();
    for record in [&erased, &withdrawn, &kept] {
        let dedup = conformance::dedup_keys(None, record.expires_at);
        store.insert_record(record, &dedup, &[]).await.unwrap();
    }
    // The scan works: before erasure the values are in the files.
    assert!(!places_holding(&path, &erased_marker).is_empty());
    assert!(!places_holding(&path, &dropped_marker).is_empty());

    assert!(store.delete_record(erased.id).await.unwrap());
    let now = time::OffsetDateTime::now_utc();
    let plan =
        kelisim_relay::domain::plan::plan_withdraw(vec![withdrawn.clone()], Some("reply"), now);
    rights::apply(&store, &plan, "test").await.unwrap();
    // While the store is still open, the WAL is already truncated...
    for marker in [&erased_marker, &erased_cyrillic, &dropped_marker] {
        assert_eq!(
            places_holding(&path, marker),
            Vec::<String>::new(),
            "open store"
        );
    }
    drop(store);
    // ...and after it is closed nothing holds them either.
    for marker in [&erased_marker, &erased_cyrillic, &dropped_marker] {
        assert_eq!(
            places_holding(&path, marker),
            Vec::<String>::new(),
            "closed store"
        );
    }
    assert!(
        !places_holding(&path, &kept_marker).is_empty(),
        "the other record is untouched"
    );
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
            store.insert_record(&record, &dedup, &[]).await.unwrap(),
            Inserted::New(record.id)
        );
    }
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.get_record(record.id).await.unwrap(), Some(record));

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

/// A file from before the inbox's shelves (schema 5) gets each record's shelf from its JSON
/// when it is opened: answered, blocked and anonymized records leave the unanswered shelf.
#[tokio::test]
async fn opening_an_older_file_shelves_its_records_from_their_json() {
    use kelisim_relay::domain::inbox::{InboxFilter, InboxQuery};
    use time::OffsetDateTime;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("older.sqlite");
    let now = OffsetDateTime::now_utc();
    let waiting = conformance::sample_record();
    let mut answered = conformance::sample_record();
    answered.answered = Some(kelisim_relay::domain::record::Answered {
        at: now,
        by: "older".to_owned(),
    });
    let mut blocked = conformance::sample_record();
    blocked.blocked_at = Some(now);
    let mut anonymized = conformance::sample_record();
    anonymized.anonymize(now);
    {
        let store = SqliteStore::open(&path).unwrap();
        for record in [&waiting, &answered, &blocked, &anonymized] {
            conformance::store_plain(&store, record).await;
        }
    }
    // Back to how schema 5 kept it: no shelf column.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "DROP INDEX records_by_shelf; ALTER TABLE records DROP COLUMN shelf;
         PRAGMA user_version = 5;",
    )
    .unwrap();
    drop(conn);
    let store = SqliteStore::open(&path).unwrap();
    let ids = |filter| {
        let store = &store;
        async move {
            let page = store
                .inbox_page(&InboxQuery::first(filter, 10))
                .await
                .unwrap();
            page.records.iter().map(|r| r.id).collect::<Vec<_>>()
        }
    };
    assert_eq!(ids(InboxFilter::Unanswered).await, vec![waiting.id]);
    assert_eq!(ids(InboxFilter::Answered).await, vec![answered.id]);
    assert_eq!(ids(InboxFilter::Blocked).await, vec![blocked.id]);
}
