//! The `Store` conformance suite: every back end must pass these same cases.
//!
//! Included by each back end's test file with
//! `#[path = "conformance/mod.rs"] mod conformance;` and run with
//! `conformance::run_all(store).await`. Cases create their own unique keys, fingerprints
//! and email lookup keys, so they can share one store (one table) and run in any order.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::sync::Arc;

use kelisim_relay::audit::{AuditAction, AuditEntry};
use kelisim_relay::key_check::KeyState;
use kelisim_relay::manifest::{Operator, sha256_hex};
use kelisim_relay::outbox::{Channel, OutboxItem, OutboxKind};
use kelisim_relay::record::{
    CollectionMethod, ConsentRecord, ConsentStamp, PurposeConsent, RECORD_SCHEMA_VERSION, RecordId,
    RecordState, Subject,
};
use kelisim_relay::store::{DedupKeys, Inserted, Store, StoreError};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

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

#[cfg(feature = "intake")]
pub mod rights;

fn unique_key() -> String {
    Uuid::now_v7().to_string()
}

fn in_a_minute() -> OffsetDateTime {
    OffsetDateTime::now_utc() + Duration::seconds(60)
}

/// Runs every case against `store`.
pub async fn run_all(store: Arc<dyn Store>) {
    insert_then_get_roundtrips(store.as_ref()).await;
    get_of_unknown_id_is_none(store.as_ref()).await;
    idempotency_key_dedups(store.as_ref()).await;
    fingerprint_dedups_within_window(store.as_ref()).await;
    fingerprint_does_not_dedup_after_window(store.as_ref()).await;
    find_by_email_hmac_finds_exactly_that_person(store.as_ref()).await;
    update_replaces_the_record(store.as_ref()).await;
    delete_removes_record_and_dedup_entries(store.as_ref()).await;
    purge_expired_deletes_only_expired(store.as_ref()).await;
    concurrent_inserts_with_one_key_store_one(Arc::clone(&store)).await;
    update_is_conditional_on_the_revision_read(Arc::clone(&store)).await;
    find_by_phone_hmac_finds_exactly_that_person(store.as_ref()).await;
    audit_log_appends_and_reads_from_a_date(store.as_ref()).await;
    key_state_is_compare_and_set(store.as_ref()).await;
    outbox_is_written_with_the_record_or_not_at_all(store.as_ref()).await;
    outbox_claims_are_exclusive_and_retries_rescheduled(store.as_ref()).await;
    erasing_a_record_removes_its_outbox_items(store.as_ref()).await;
    list_records_holds_every_record_oldest_first(store.as_ref()).await;
}

fn notify_items(record: &ConsentRecord, now: OffsetDateTime) -> Vec<OutboxItem> {
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
            },
            now,
        ),
    ]
}

/// The outbox items of `record`, as the store holds them.
async fn items_of(store: &dyn Store, record: &ConsentRecord) -> Vec<OutboxItem> {
    store
        .outbox_all()
        .await
        .expect("outbox_all")
        .into_iter()
        .filter(|i| i.kind.record_id() == Some(record.id))
        .collect()
}

pub async fn outbox_is_written_with_the_record_or_not_at_all(store: &dyn Store) {
    let now = OffsetDateTime::now_utc();
    let key = unique_key();
    let record = sample_record();
    let items = notify_items(&record, now);
    let dedup = dedup_keys(Some(key.clone()), in_a_minute());
    let inserted = store
        .insert_with_outbox(&record, &dedup, &items)
        .await
        .expect("insert");
    assert_eq!(inserted, Inserted::New(record.id));
    let mut stored = items_of(store, &record).await;
    stored.sort_by_key(|i| i.id);
    assert_eq!(stored, items, "both items were queued with the record");
    // A retry of the same submission queues nothing new.
    let retry = sample_record();
    let retry_items = notify_items(&retry, now);
    let again = store
        .insert_with_outbox(&retry, &dedup_keys(Some(key), in_a_minute()), &retry_items)
        .await
        .expect("retry");
    assert_eq!(again, Inserted::Duplicate(record.id));
    assert!(items_of(store, &retry).await.is_empty());
    let due: Vec<_> = store
        .outbox_due(now + Duration::seconds(1), 10_000)
        .await
        .expect("due")
        .into_iter()
        .filter(|i| i.kind.record_id() == Some(record.id))
        .collect();
    assert_eq!(due.len(), 2, "new items are due at once");
}

pub async fn outbox_claims_are_exclusive_and_retries_rescheduled(store: &dyn Store) {
    let now = OffsetDateTime::now_utc();
    let record = sample_record();
    let items = notify_items(&record, now);
    store
        .insert_with_outbox(&record, &dedup_keys(None, in_a_minute()), &items)
        .await
        .expect("insert");
    let id = items[0].id;
    let first = store.outbox_claim(id, now).await.expect("claim");
    let second = store.outbox_claim(id, now).await.expect("second claim");
    let claimed = first.expect("the first deliverer gets the item");
    assert_eq!(second, None, "a second deliverer does not");
    assert_eq!(claimed.attempts, 1);
    assert!(claimed.due_at > now, "a claimed item is leased");
    let due_ids: Vec<_> = store
        .outbox_due(now, 10_000)
        .await
        .expect("due")
        .into_iter()
        .map(|i| i.id)
        .collect();
    assert!(!due_ids.contains(&id), "a leased item is not due");

    let later = now + Duration::minutes(5);
    store
        .outbox_retry(id, later, "smtp transient 451")
        .await
        .expect("retry");
    let stored = items_of(store, &record)
        .await
        .into_iter()
        .find(|i| i.id == id)
        .expect("still queued");
    assert_eq!(stored.last_error.as_deref(), Some("smtp transient 451"));
    assert_eq!(stored.attempts, 1);
    assert_eq!(store.outbox_claim(id, now).await.expect("early"), None);
    let again = store.outbox_claim(id, later).await.expect("claim later");
    assert_eq!(again.map(|i| i.attempts), Some(2));

    store.outbox_done(id).await.expect("done");
    let left: Vec<_> = items_of(store, &record)
        .await
        .into_iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(left, vec![items[1].id], "only the delivered item is gone");
}

pub async fn erasing_a_record_removes_its_outbox_items(store: &dyn Store) {
    let now = OffsetDateTime::now_utc();
    let record = sample_record();
    store
        .insert_with_outbox(
            &record,
            &dedup_keys(None, in_a_minute()),
            &notify_items(&record, now),
        )
        .await
        .expect("insert");
    assert_eq!(items_of(store, &record).await.len(), 2);
    assert!(store.delete(record.id).await.expect("delete"));
    assert!(
        items_of(store, &record).await.is_empty(),
        "no message about an erased record is left to send"
    );
}

pub async fn list_records_holds_every_record_oldest_first(store: &dyn Store) {
    let first = sample_record();
    let second = sample_record();
    for record in [&first, &second] {
        store
            .insert(record, &dedup_keys(None, in_a_minute()))
            .await
            .expect("insert");
    }
    let listed = store.list_records().await.expect("list");
    let position = |id| listed.iter().position(|r| r.id == id);
    let (a, b) = (position(first.id), position(second.id));
    assert!(a.is_some() && b.is_some(), "both records are listed");
    assert!(a < b, "oldest first");
    assert_eq!(listed[a.expect("listed")], first);
}

pub async fn insert_then_get_roundtrips(store: &dyn Store) {
    let mut record = sample_record();
    record.idempotency_key = Some(unique_key());
    let dedup = dedup_keys(record.idempotency_key.clone(), in_a_minute());
    let inserted = store.insert(&record, &dedup).await.expect("insert");
    assert_eq!(inserted, Inserted::New(record.id));
    let stored = store.get(record.id).await.expect("get");
    assert_eq!(
        stored.as_ref(),
        Some(&record),
        "the record reads back unchanged"
    );
}

pub async fn get_of_unknown_id_is_none(store: &dyn Store) {
    assert_eq!(store.get(RecordId::new()).await.expect("get"), None);
}

pub async fn idempotency_key_dedups(store: &dyn Store) {
    let key = unique_key();
    let first = sample_record();
    let second = sample_record();
    let a = store
        .insert(&first, &dedup_keys(Some(key.clone()), in_a_minute()))
        .await
        .expect("first insert");
    // Different content, same key: the script retried, nothing new may be stored.
    let b = store
        .insert(&second, &dedup_keys(Some(key), in_a_minute()))
        .await
        .expect("second insert");
    assert_eq!(a, Inserted::New(first.id));
    assert_eq!(b, Inserted::Duplicate(first.id));
    assert_eq!(store.get(second.id).await.expect("get"), None);
}

pub async fn fingerprint_dedups_within_window(store: &dyn Store) {
    let first = sample_record();
    let second = sample_record();
    let dedup = dedup_keys(None, in_a_minute());
    let a = store.insert(&first, &dedup).await.expect("first insert");
    let b = store.insert(&second, &dedup).await.expect("second insert");
    assert_eq!(a, Inserted::New(first.id));
    assert_eq!(
        b,
        Inserted::Duplicate(first.id),
        "a double click stores one record"
    );
    assert_eq!(store.get(second.id).await.expect("get"), None);
}

pub async fn fingerprint_does_not_dedup_after_window(store: &dyn Store) {
    let first = sample_record();
    let second = sample_record();
    // The window has already passed: the same text later is a new submission.
    let expired = dedup_keys(None, OffsetDateTime::now_utc() - Duration::seconds(1));
    let later = DedupKeys {
        fingerprint_until: in_a_minute(),
        ..expired.clone()
    };
    let a = store.insert(&first, &expired).await.expect("first insert");
    let b = store.insert(&second, &later).await.expect("second insert");
    assert_eq!(a, Inserted::New(first.id));
    assert_eq!(b, Inserted::New(second.id));
    assert!(store.get(second.id).await.expect("get").is_some());
    // And the new fingerprint window now blocks a third.
    let third = sample_record();
    let c = store.insert(&third, &later).await.expect("third insert");
    assert_eq!(c, Inserted::Duplicate(second.id));
}

pub async fn find_by_email_hmac_finds_exactly_that_person(store: &dyn Store) {
    let first = sample_record();
    let mut second = sample_record();
    second.email_hmac = first.email_hmac.clone();
    let other = sample_record();
    for record in [&first, &second, &other] {
        store
            .insert(record, &dedup_keys(None, in_a_minute()))
            .await
            .expect("insert");
    }
    let found: BTreeSet<RecordId> = store
        .find_by_email_hmac(&first.email_hmac)
        .await
        .expect("find")
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(found, BTreeSet::from([first.id, second.id]));
    let nobody = sha256_hex(b"nobody");
    assert!(
        store
            .find_by_email_hmac(&nobody)
            .await
            .expect("find")
            .is_empty()
    );
}

pub async fn update_replaces_the_record(store: &dyn Store) {
    let mut record = sample_record();
    store
        .insert(&record, &dedup_keys(None, in_a_minute()))
        .await
        .expect("insert");
    let now = OffsetDateTime::now_utc();
    record.consent.purposes[0].withdrawn_at = Some(now);
    record.state = RecordState::Withdrawn;
    assert!(store.update(&record).await.expect("update"));
    record.revision += 1;
    assert_eq!(
        store.get(record.id).await.expect("get"),
        Some(record.clone()),
        "stored as given, one revision later"
    );
    let unknown = sample_record();
    assert!(!store.update(&unknown).await.expect("update of unknown id"));
    assert_eq!(
        store.get(unknown.id).await.expect("get"),
        None,
        "update never inserts"
    );
}

pub async fn delete_removes_record_and_dedup_entries(store: &dyn Store) {
    let key = unique_key();
    let first = sample_record();
    let dedup = dedup_keys(Some(key), in_a_minute());
    store.insert(&first, &dedup).await.expect("insert");
    assert!(store.delete(first.id).await.expect("delete"));
    assert_eq!(store.get(first.id).await.expect("get"), None);
    assert!(!store.delete(first.id).await.expect("second delete"));
    // Erasure leaves no trace that would make the same person's next message a "duplicate".
    let again = sample_record();
    let inserted = store.insert(&again, &dedup).await.expect("insert again");
    assert_eq!(inserted, Inserted::New(again.id));
}

pub async fn purge_expired_deletes_only_expired(store: &dyn Store) {
    let now = OffsetDateTime::now_utc();
    let mut expired = sample_record();
    expired.expires_at = now - Duration::days(1);
    let mut live = sample_record();
    live.expires_at = now + Duration::days(1);
    for record in [&expired, &live] {
        store
            .insert(record, &dedup_keys(None, in_a_minute()))
            .await
            .expect("insert");
    }
    let purged = store.purge_expired(now).await.expect("purge");
    assert!(purged >= 1, "the expired record is counted");
    assert_eq!(store.get(expired.id).await.expect("get"), None);
    assert_eq!(store.get(live.id).await.expect("get"), Some(live));
}

pub async fn concurrent_inserts_with_one_key_store_one(store: Arc<dyn Store>) {
    let key = unique_key();
    let records: Vec<ConsentRecord> = (0..8).map(|_| sample_record()).collect();
    let mut tasks = Vec::new();
    for record in records.clone() {
        let store = Arc::clone(&store);
        let dedup = dedup_keys(Some(key.clone()), in_a_minute());
        tasks.push(tokio::spawn(
            async move { store.insert(&record, &dedup).await },
        ));
    }
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.expect("task").expect("insert"));
    }
    let new: Vec<RecordId> = results
        .iter()
        .filter_map(|r| match r {
            Inserted::New(id) => Some(*id),
            Inserted::Duplicate(_) => None,
        })
        .collect();
    assert_eq!(new.len(), 1, "exactly one insert wins: {results:?}");
    assert!(
        results.iter().all(|r| r.id() == new[0]),
        "all see the winner's id"
    );
    let mut stored = 0;
    for record in &records {
        if store.get(record.id).await.expect("get").is_some() {
            stored += 1;
        }
    }
    assert_eq!(stored, 1);
}

pub async fn update_is_conditional_on_the_revision_read(store: Arc<dyn Store>) {
    let record = sample_record();
    store
        .insert(&record, &dedup_keys(None, in_a_minute()))
        .await
        .expect("insert");
    // Two writers read the same revision; the first update wins, the second is refused.
    let mut first = record.clone();
    first.message = "first writer".to_owned();
    let mut second = record.clone();
    second.message = "second writer".to_owned();
    assert!(store.update(&first).await.expect("first update"));
    let refused = store.update(&second).await;
    assert!(
        matches!(refused, Err(StoreError::Conflict(_))),
        "a stale revision is a conflict: {refused:?}"
    );
    let stored = store.get(record.id).await.expect("get").expect("stored");
    assert_eq!(stored.message, "first writer", "nothing was overwritten");
    assert_eq!(stored.revision, 1);
    let text = format!("{:?}", refused.expect_err("conflict"));
    assert!(!text.contains("writer"), "no content in the error: {text}");

    // Concurrent updates from one read: exactly one succeeds.
    let mut tasks = Vec::new();
    for n in 0..6 {
        let store = Arc::clone(&store);
        let mut copy = stored.clone();
        copy.message = format!("concurrent {n}");
        tasks.push(tokio::spawn(async move { store.update(&copy).await }));
    }
    let mut won = 0;
    let mut conflicts = 0;
    for task in tasks {
        match task.await.expect("task") {
            Ok(true) => won += 1,
            Err(StoreError::Conflict(_)) => conflicts += 1,
            other => panic!("unexpected outcome {other:?}"),
        }
    }
    assert_eq!((won, conflicts), (1, 5));
    assert_eq!(
        store
            .get(record.id)
            .await
            .expect("get")
            .expect("stored")
            .revision,
        2
    );
}

pub async fn find_by_phone_hmac_finds_exactly_that_person(store: &dyn Store) {
    let first = sample_record();
    let mut second = sample_record();
    second.phone_hmac = first.phone_hmac.clone();
    let mut no_phone = sample_record();
    no_phone.phone_hmac = String::new();
    for record in [&first, &second, &no_phone] {
        store
            .insert(record, &dedup_keys(None, in_a_minute()))
            .await
            .expect("insert");
    }
    let found: BTreeSet<RecordId> = store
        .find_by_phone_hmac(&first.phone_hmac)
        .await
        .expect("find")
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(found, BTreeSet::from([first.id, second.id]));
    assert!(store.find_by_phone_hmac("").await.expect("find").is_empty());
    assert!(store.find_by_email_hmac("").await.expect("find").is_empty());
}

pub async fn audit_log_appends_and_reads_from_a_date(store: &dyn Store) {
    let old = AuditEntry {
        at: OffsetDateTime::now_utc() - Duration::days(10),
        ..AuditEntry::new("operator", AuditAction::Block, Some(RecordId::new()), 1, "")
    };
    let new = AuditEntry::new("operator", AuditAction::Withdraw, None, 2, "newsletter");
    store.append_audit(&old).await.expect("append");
    store.append_audit(&new).await.expect("append");
    let all = store.audit_since(None).await.expect("audit");
    assert!(all.contains(&old) && all.contains(&new));
    let recent = store
        .audit_since(Some(OffsetDateTime::now_utc() - Duration::days(1)))
        .await
        .expect("audit");
    assert!(recent.contains(&new));
    assert!(!recent.contains(&old), "older entries are left out");
    let position = |e: &AuditEntry| all.iter().position(|x| x == e);
    assert!(position(&old) < position(&new), "oldest first");
}

pub async fn key_state_is_compare_and_set(store: &dyn Store) {
    let start = store.key_state().await.expect("key state");
    let set = KeyState {
        key_check: Some("check-a".to_owned()),
        rekey_to: None,
    };
    store.set_key_state(&start, &set).await.expect("set");
    assert_eq!(store.key_state().await.expect("key state"), set);
    let stale = store.set_key_state(&start, &KeyState::default()).await;
    assert!(matches!(stale, Err(StoreError::Conflict(_))), "{stale:?}");
    store.set_key_state(&set, &start).await.expect("restore");
    assert_eq!(store.key_state().await.expect("key state"), start);
}
