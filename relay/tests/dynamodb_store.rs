#![cfg(feature = "dynamodb")]
//! `DynamoStore` against a real DynamoDB-compatible server (moto), one fresh table per test.
//!
//! The endpoint comes from `KELISIM_TEST_DYNAMODB_ENDPOINT`; `scripts/test` starts moto and
//! sets it. Without it these tests fail on purpose rather than skip: a skipped store test
//! looks exactly like a passing one in a CI log.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::types::AttributeValue;
use kelisim_relay::dynamodb::{self, DynamoStore};
use kelisim_relay::manifest::Operator;
use kelisim_relay::record::{
    CollectionMethod, ConsentRecord, ConsentStamp, PurposeConsent, RECORD_SCHEMA_VERSION, RecordId,
    RecordState, Subject,
};
use kelisim_relay::store::{DedupKeys, Inserted, Store};
use time::{Duration, OffsetDateTime};

const ENDPOINT_VAR: &str = "KELISIM_TEST_DYNAMODB_ENDPOINT";

fn endpoint() -> String {
    match std::env::var(ENDPOINT_VAR) {
        Ok(url) if !url.trim().is_empty() => url,
        _ => panic!(
            "{ENDPOINT_VAR} is not set. These tests need a DynamoDB-compatible server: run \
             `scripts/test`, or start one with `scripts/moto-server` and export the \
             {ENDPOINT_VAR}=... line it prints."
        ),
    }
}

/// A client for the test server. Explicit dummy credentials (moto accepts any) so the SDK
/// never goes looking for real ones, e.g. on the instance-metadata address.
fn client() -> Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint())
        .credentials_provider(Credentials::new(
            "kelisim-test",
            "kelisim-test",
            None,
            None,
            "test",
        ))
        .http_client(dynamodb::https_client())
        .build();
    Client::from_conf(config)
}

/// A store on a new table with a unique name, created from `relay/dynamodb-table.json`.
async fn fresh_store() -> DynamoStore {
    let table = format!("kelisim-test-{}", uuid::Uuid::now_v7().simple());
    let store = DynamoStore::new(client(), table);
    store.create_table().await.expect("create the test table");
    store
}

fn record(email_hmac: &str, expires_at: OffsetDateTime) -> ConsentRecord {
    let now = OffsetDateTime::now_utc();
    ConsentRecord {
        id: RecordId::new(),
        schema_version: RECORD_SCHEMA_VERSION,
        received_at: now,
        subject: Subject {
            surname: "Сейткали".into(),
            first_name: "Айгерим".into(),
            patronymic: None,
            email: "aigerim@example.kz".into(),
            phone: "+77011234567".into(),
        },
        message: "Сәлеметсіз бе! Бағаны білгім келеді.".into(),
        consent: ConsentStamp {
            language: "kk".into(),
            policy_version: "1.0".into(),
            policy_sha256: "a".repeat(64),
            policy_url: "https://woow.kz/kk/privacy/1.0/".into(),
            purposes: vec![PurposeConsent {
                purpose: "reply".into(),
                granted: true,
                legal_basis: "consent (Law 94-V, Art. 8)".into(),
                label_sha256: "b".repeat(64),
                expires_at: Some(expires_at),
                withdrawn_at: None,
            }],
            collection_method: CollectionMethod::FormPost,
            page_url: "https://woow.kz/kk/contact/".into(),
            operator: Operator {
                name: "Z Distribution Company".into(),
                email: "privacy@woow.kz".into(),
                website: "https://woow.kz".into(),
            },
            storage_location: "test (moto)".into(),
        },
        state: RecordState::Active,
        email_hmac: email_hmac.into(),
        idempotency_key: None,
        expires_at,
    }
}

fn dedup(fingerprint: &str, key: Option<&str>, window: Duration) -> DedupKeys {
    DedupKeys {
        idempotency_key: key.map(str::to_owned),
        fingerprint: fingerprint.into(),
        fingerprint_until: OffsetDateTime::now_utc() + window,
    }
}

fn next_year() -> OffsetDateTime {
    OffsetDateTime::now_utc() + Duration::days(365)
}

async fn raw_item(store: &DynamoStore, pk: &str) -> Option<HashMap<String, AttributeValue>> {
    store
        .client()
        .get_item()
        .table_name(store.table())
        .key("pk", AttributeValue::S(pk.into()))
        .consistent_read(true)
        .send()
        .await
        .expect("GetItem")
        .item
}

#[tokio::test]
async fn insert_then_get_round_trips_the_record() {
    let store = fresh_store().await;
    let rec = record("h1", next_year());
    let inserted = store
        .insert(&rec, &dedup("fp-1", Some("key-1"), Duration::minutes(10)))
        .await
        .unwrap();
    assert_eq!(inserted, Inserted::New(rec.id));
    assert_eq!(store.get(rec.id).await.unwrap(), Some(rec.clone()));
    assert_eq!(store.get(RecordId::new()).await.unwrap(), None);

    // The record sits in one JSON attribute with the key, index and TTL attributes beside it.
    let item = raw_item(&store, &dynamodb::record_pk(rec.id))
        .await
        .unwrap();
    assert_eq!(item["kind"], AttributeValue::S("record".into()));
    assert_eq!(item["email_hmac"], AttributeValue::S("h1".into()));
    assert_eq!(
        item["expires_at"],
        AttributeValue::N(rec.expires_at.unix_timestamp().to_string())
    );
}

#[tokio::test]
async fn same_idempotency_key_is_a_duplicate_of_the_first_record() {
    let store = fresh_store().await;
    let first = record("h1", next_year());
    let second = record("h1", next_year());
    let window = Duration::minutes(10);
    store
        .insert(&first, &dedup("fp-a", Some("k"), window))
        .await
        .unwrap();
    // Different content (fingerprint), same key: still the same submission.
    let again = store
        .insert(&second, &dedup("fp-b", Some("k"), window))
        .await
        .unwrap();
    assert_eq!(again, Inserted::Duplicate(first.id));
    assert_eq!(store.get(second.id).await.unwrap(), None);
}

#[tokio::test]
async fn same_fingerprint_blocks_inside_its_window_only() {
    let store = fresh_store().await;
    let first = record("h1", next_year());
    store
        .insert(&first, &dedup("fp", None, Duration::minutes(10)))
        .await
        .unwrap();
    let second = record("h1", next_year());
    assert_eq!(
        store
            .insert(&second, &dedup("fp", None, Duration::minutes(10)))
            .await
            .unwrap(),
        Inserted::Duplicate(first.id)
    );

    // A window that is already over does not block.
    let store = fresh_store().await;
    let old = record("h1", next_year());
    store
        .insert(&old, &dedup("fp", None, Duration::seconds(-5)))
        .await
        .unwrap();
    let new = record("h1", next_year());
    assert_eq!(
        store
            .insert(&new, &dedup("fp", None, Duration::minutes(10)))
            .await
            .unwrap(),
        Inserted::New(new.id)
    );
    // The fingerprint item now points at the new record.
    let fp = raw_item(&store, &dynamodb::fingerprint_pk("fp"))
        .await
        .unwrap();
    assert_eq!(fp["record_id"], AttributeValue::S(new.id.to_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_identical_submissions_store_one_record() {
    let store = fresh_store().await;
    let keys = dedup("fp-race", Some("race"), Duration::minutes(10));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..6 {
        let (store, keys) = (store.clone(), keys.clone());
        tasks.spawn(async move { store.insert(&record("h1", next_year()), &keys).await });
    }
    let results: Vec<Inserted> = tasks
        .join_all()
        .await
        .into_iter()
        .map(|r| r.expect("insert under contention"))
        .collect();
    let new: Vec<RecordId> = results
        .iter()
        .filter_map(|r| match r {
            Inserted::New(id) => Some(*id),
            Inserted::Duplicate(_) => None,
        })
        .collect();
    assert_eq!(new.len(), 1, "exactly one insert wins: {results:?}");
    assert!(results.iter().all(|r| r.id() == new[0]), "{results:?}");
}

#[tokio::test]
async fn find_by_email_hmac_uses_the_index() {
    let store = fresh_store().await;
    let a = record("alice", next_year());
    let b = record("alice", next_year());
    let c = record("bob", next_year());
    for (i, r) in [&a, &b, &c].into_iter().enumerate() {
        store
            .insert(r, &dedup(&format!("fp{i}"), None, Duration::minutes(1)))
            .await
            .unwrap();
    }
    let found = store.find_by_email_hmac("alice").await.unwrap();
    assert_eq!(found, vec![a, b]);
    assert!(store.find_by_email_hmac("nobody").await.unwrap().is_empty());
}

#[tokio::test]
async fn update_replaces_and_delete_removes_record_and_dedup_items() {
    let store = fresh_store().await;
    let mut rec = record("h1", next_year());
    store
        .insert(&rec, &dedup("fp-d", Some("key-d"), Duration::minutes(10)))
        .await
        .unwrap();

    rec.state = RecordState::Withdrawn;
    rec.consent.purposes[0].withdrawn_at = Some(OffsetDateTime::now_utc());
    assert!(store.update(&rec).await.unwrap());
    assert_eq!(store.get(rec.id).await.unwrap(), Some(rec.clone()));
    assert!(!store.update(&record("h1", next_year())).await.unwrap());

    assert!(store.delete(rec.id).await.unwrap());
    assert!(!store.delete(rec.id).await.unwrap());
    assert_eq!(store.get(rec.id).await.unwrap(), None);
    assert!(
        raw_item(&store, &dynamodb::fingerprint_pk("fp-d"))
            .await
            .is_none()
    );
    assert!(
        raw_item(&store, &dynamodb::idempotency_pk("key-d"))
            .await
            .is_none()
    );
    // With the dedup items gone the same key is free again (erasure means forgotten).
    let again = record("h1", next_year());
    assert_eq!(
        store
            .insert(&again, &dedup("fp-d", Some("key-d"), Duration::minutes(10)))
            .await
            .unwrap(),
        Inserted::New(again.id)
    );
}

#[tokio::test]
async fn purge_expired_deletes_only_expired_records() {
    let store = fresh_store().await;
    let now = OffsetDateTime::now_utc();
    let expired = record("h1", now - Duration::days(1));
    let live = record("h1", now + Duration::days(1));
    store
        .insert(&expired, &dedup("fp-x", Some("kx"), Duration::seconds(-1)))
        .await
        .unwrap();
    store
        .insert(&live, &dedup("fp-l", None, Duration::minutes(10)))
        .await
        .unwrap();

    assert_eq!(store.purge_expired(now).await.unwrap(), 1);
    assert_eq!(store.get(expired.id).await.unwrap(), None);
    assert_eq!(store.get(live.id).await.unwrap(), Some(live.clone()));
    assert!(
        raw_item(&store, &dynamodb::idempotency_pk("kx"))
            .await
            .is_none()
    );
    assert!(
        raw_item(&store, &dynamodb::fingerprint_pk("fp-x"))
            .await
            .is_none()
    );
    assert_eq!(store.purge_expired(now).await.unwrap(), 0);
}
