#![cfg(feature = "dynamodb")]
//! `DynamoStore` specifics against a real DynamoDB-compatible server (moto), one fresh table
//! per test: the item layout, TTL attributes and index entries (the conformance suites run on
//! moto too, through [`fresh_store`]).
//!
//! The endpoint comes from `KELISIM_TEST_DYNAMODB_ENDPOINT`; `scripts/test` starts moto and
//! sets it. Without it these tests fail on purpose rather than skip: a skipped store test
//! looks exactly like a passing one in a CI log.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::conformance;

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::types::AttributeValue;
use kelisim_relay::domain::record::{ConsentRecord, RecordId, RecordState};
use kelisim_relay::store::dynamodb::{self, DynamoStore};
use kelisim_relay::store::{DedupKeys, Inserted, RecordStore};
use time::{Duration, OffsetDateTime};

const ENDPOINT_VAR: &str = "KELISIM_TEST_DYNAMODB_ENDPOINT";

pub(crate) fn endpoint() -> String {
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
pub(crate) async fn fresh_store() -> DynamoStore {
    let table = format!("kelisim-test-{}", uuid::Uuid::now_v7().simple());
    let store = DynamoStore::new(client(), table);
    store.create_table().await.expect("create the test table");
    store
}

/// The suite's sample record with a chosen email lookup key and expiry.
fn record(email_hmac: &str, expires_at: OffsetDateTime) -> ConsentRecord {
    let mut record = conformance::sample_record();
    record.email_hmac = email_hmac.to_owned();
    record.expires_at = expires_at;
    record
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
        .insert_record(
            &rec,
            &dedup("fp-1", Some("key-1"), Duration::minutes(10)),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(inserted, Inserted::New(rec.id));
    assert_eq!(store.get_record(rec.id).await.unwrap(), Some(rec.clone()));
    assert_eq!(store.get_record(RecordId::new()).await.unwrap(), None);

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
async fn same_fingerprint_blocks_inside_its_window_only() {
    let store = fresh_store().await;
    let first = record("h1", next_year());
    store
        .insert_record(&first, &dedup("fp", None, Duration::minutes(10)), &[])
        .await
        .unwrap();
    let second = record("h1", next_year());
    assert_eq!(
        store
            .insert_record(&second, &dedup("fp", None, Duration::minutes(10)), &[])
            .await
            .unwrap(),
        Inserted::Duplicate(first.id)
    );

    // A window that is already over does not block.
    let store = fresh_store().await;
    let old = record("h1", next_year());
    store
        .insert_record(&old, &dedup("fp", None, Duration::seconds(-5)), &[])
        .await
        .unwrap();
    let new = record("h1", next_year());
    assert_eq!(
        store
            .insert_record(&new, &dedup("fp", None, Duration::minutes(10)), &[])
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

#[tokio::test]
async fn update_replaces_and_delete_removes_record_and_dedup_items() {
    let store = fresh_store().await;
    let mut rec = record("h1", next_year());
    store
        .insert_record(
            &rec,
            &dedup("fp-d", Some("key-d"), Duration::minutes(10)),
            &[],
        )
        .await
        .unwrap();

    rec.state = RecordState::Withdrawn;
    rec.consent.purposes[0].withdrawn_at = Some(OffsetDateTime::now_utc());
    assert!(store.update_record(&rec).await.unwrap());
    rec.revision += 1;
    assert_eq!(store.get_record(rec.id).await.unwrap(), Some(rec.clone()));
    assert!(
        !store
            .update_record(&record("h1", next_year()))
            .await
            .unwrap()
    );

    assert!(store.delete_record(rec.id).await.unwrap());
    assert!(!store.delete_record(rec.id).await.unwrap());
    assert_eq!(store.get_record(rec.id).await.unwrap(), None);
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
            .insert_record(
                &again,
                &dedup("fp-d", Some("key-d"), Duration::minutes(10)),
                &[]
            )
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
        .insert_record(
            &expired,
            &dedup("fp-x", Some("kx"), Duration::seconds(-1)),
            &[],
        )
        .await
        .unwrap();
    store
        .insert_record(&live, &dedup("fp-l", None, Duration::minutes(10)), &[])
        .await
        .unwrap();

    assert_eq!(store.purge_expired(now).await.unwrap(), 1);
    assert_eq!(store.get_record(expired.id).await.unwrap(), None);
    assert_eq!(store.get_record(live.id).await.unwrap(), Some(live.clone()));
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

/// A request waiting for its link carries the table's TTL attribute at the link's expiry, so
/// DynamoDB removes it (address and hash) even without the purge; a confirmed one loses the
/// attribute and stays until it is closed.
#[tokio::test]
async fn an_unconfirmed_request_expires_with_its_link_by_ttl() {
    use kelisim_relay::domain::outbox::MailQuota;
    use kelisim_relay::domain::request::{Channel, RequestKind, SubjectRequest};
    use kelisim_relay::store::RightsLog;
    let store = fresh_store().await;
    let now = OffsetDateTime::now_utc();
    let mut request = SubjectRequest::new(
        RequestKind::Access,
        Channel::Form,
        "kk",
        "ttl@example.kz",
        "ttl-mailbox-hash",
        now,
    );
    let until = now + Duration::days(7);
    request.link_expires_at = Some(until);
    let quota = MailQuota::confirmations("ttl-mailbox-hash", now);
    store
        .insert_request(&request, &[], Some(&quota))
        .await
        .unwrap();
    let pk = format!("REQ#{}", request.id);
    let item = raw_item(&store, &pk).await.unwrap();
    assert_eq!(
        item["expires_at"],
        AttributeValue::N(until.unix_timestamp().to_string())
    );
    let mut stored = store.get_request(request.id).await.unwrap().unwrap();
    stored.confirm(&Default::default(), now);
    store.update_request_with(&stored, &[], &[]).await.unwrap();
    let item = raw_item(&store, &pk).await.unwrap();
    assert!(!item.contains_key("expires_at"), "{item:?}");
}

/// A record item written before the inbox's sort key existed is on no inbox page until
/// `shelve_older_records` gives it its shelf's key, once; the marker makes later calls free.
#[tokio::test]
async fn records_without_a_sort_key_are_shelved_once() {
    use kelisim_relay::domain::inbox::{InboxFilter, InboxQuery};

    let store = fresh_store().await;
    let older = record("h-older", next_year());
    let newer = record("h-newer", next_year());
    for (rec, fp) in [(&older, "fp-older"), (&newer, "fp-newer")] {
        store
            .insert_record(rec, &dedup(fp, None, Duration::minutes(1)), &[])
            .await
            .unwrap();
    }
    let pk = dynamodb::record_pk(older.id);
    assert_eq!(
        raw_item(&store, &pk).await.unwrap()["sort_key"],
        AttributeValue::S(format!("unanswered#{}", older.id))
    );
    store
        .client()
        .update_item()
        .table_name(store.table())
        .key("pk", AttributeValue::S(pk.clone()))
        .update_expression("REMOVE sort_key")
        .send()
        .await
        .expect("UpdateItem");
    let inbox = InboxQuery::first(InboxFilter::Unanswered, 10);
    let ids = |page: kelisim_relay::domain::inbox::InboxPage| {
        page.records.iter().map(|r| r.id).collect::<Vec<_>>()
    };
    assert_eq!(ids(store.inbox_page(&inbox).await.unwrap()), vec![newer.id]);
    assert_eq!(store.shelve_older_records().await.unwrap(), 1);
    let mut both = vec![older.id, newer.id];
    both.sort();
    assert_eq!(ids(store.inbox_page(&inbox).await.unwrap()), both);
    assert_eq!(store.shelve_older_records().await.unwrap(), 0, "done once");
}
