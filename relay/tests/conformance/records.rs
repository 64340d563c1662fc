//! The records role: inserts with their dedup keys, look-ups, conditional updates,
//! deletions and the retention sweep.

use std::collections::BTreeSet;
use std::sync::Arc;

use kelisim_relay::domain::key_check::KeyState;
use kelisim_relay::domain::outbox::{CONFIRMATIONS_PER_MAILBOX, MailQuota};
use kelisim_relay::domain::record::{ConsentRecord, RecordId, RecordState};
use kelisim_relay::manifest::sha256_hex;
use kelisim_relay::store::{DedupKeys, Inserted, Store, StoreError};
use time::{Duration, OffsetDateTime};

use super::{dedup_keys, in_a_minute, sample_record, store_plain, unique_key};

on_every_store!(
    insert_then_get_roundtrips,
    get_of_unknown_id_is_none,
    idempotency_key_dedups,
    fingerprint_dedups_within_window,
    fingerprint_does_not_dedup_after_window,
    find_by_email_finds_exactly_that_person,
    find_by_phone_finds_exactly_that_person,
    empty_lookup_keys_find_nothing,
    update_replaces_the_record,
    update_never_inserts,
    update_is_conditional_on_the_revision_read,
    concurrent_updates_from_one_read_one_wins,
    delete_removes_record_and_dedup_entries,
    purge_expired_deletes_only_expired,
    concurrent_inserts_with_one_key_store_one,
    list_records_holds_every_record_oldest_first,
    a_write_under_a_key_the_store_does_not_take_is_refused,
    during_a_rekey_both_keys_write_and_after_the_seal_only_the_new_one,
    a_full_mail_cap_stores_nothing,
    a_duplicate_takes_no_place_in_the_mail_cap,
    the_mail_cap_has_room_again_after_its_window,
    an_erasure_leaves_nothing_to_finish,
);

fn keyed(check: &str) -> ConsentRecord {
    let mut record = sample_record();
    record.key_check = check.to_owned();
    record
}

async fn set_state(store: &dyn Store, state: KeyState) {
    let current = store.get_key_state().await.unwrap();
    store.set_key_state(&current, &state).await.unwrap();
}

async fn insert_capped(
    store: &dyn Store,
    record: &ConsentRecord,
    quota: &MailQuota,
) -> Result<Inserted, StoreError> {
    store
        .insert_record_capped(record, &dedup_keys(None, in_a_minute()), &[], Some(quota))
        .await
}

async fn insert_then_get_roundtrips(store: Arc<dyn Store>) {
    let mut record = sample_record();
    record.idempotency_key = Some(unique_key());
    let dedup = dedup_keys(record.idempotency_key.clone(), in_a_minute());
    let inserted = store.insert_record(&record, &dedup, &[]).await.unwrap();
    assert_eq!(inserted, Inserted::New(record.id));
    let stored = store.get_record(record.id).await.unwrap();
    assert_eq!(
        stored.as_ref(),
        Some(&record),
        "the record reads back unchanged"
    );
}

async fn get_of_unknown_id_is_none(store: Arc<dyn Store>) {
    assert_eq!(store.get_record(RecordId::new()).await.unwrap(), None);
}

async fn idempotency_key_dedups(store: Arc<dyn Store>) {
    let key = unique_key();
    let (first, second) = (sample_record(), sample_record());
    let a = store
        .insert_record(&first, &dedup_keys(Some(key.clone()), in_a_minute()), &[])
        .await
        .unwrap();
    // Different content, same key: the script retried, nothing new may be stored.
    let b = store
        .insert_record(&second, &dedup_keys(Some(key), in_a_minute()), &[])
        .await
        .unwrap();
    assert_eq!(a, Inserted::New(first.id));
    assert_eq!(b, Inserted::Duplicate(first.id));
    assert_eq!(store.get_record(second.id).await.unwrap(), None);
}

async fn fingerprint_dedups_within_window(store: Arc<dyn Store>) {
    let (first, second) = (sample_record(), sample_record());
    let dedup = dedup_keys(None, in_a_minute());
    let a = store.insert_record(&first, &dedup, &[]).await.unwrap();
    let b = store.insert_record(&second, &dedup, &[]).await.unwrap();
    assert_eq!(a, Inserted::New(first.id));
    assert_eq!(
        b,
        Inserted::Duplicate(first.id),
        "a double click stores one record"
    );
    assert_eq!(store.get_record(second.id).await.unwrap(), None);
}

async fn fingerprint_does_not_dedup_after_window(store: Arc<dyn Store>) {
    let (first, second, third) = (sample_record(), sample_record(), sample_record());
    // The window has already passed: the same text later is a new submission.
    let expired = dedup_keys(None, OffsetDateTime::now_utc() - Duration::seconds(1));
    let later = DedupKeys {
        fingerprint_until: in_a_minute(),
        ..expired.clone()
    };
    let a = store.insert_record(&first, &expired, &[]).await.unwrap();
    let b = store.insert_record(&second, &later, &[]).await.unwrap();
    assert_eq!(a, Inserted::New(first.id));
    assert_eq!(b, Inserted::New(second.id));
    // And the new fingerprint window now blocks a third.
    let c = store.insert_record(&third, &later, &[]).await.unwrap();
    assert_eq!(c, Inserted::Duplicate(second.id));
}

async fn find_by_email_finds_exactly_that_person(store: Arc<dyn Store>) {
    let first = sample_record();
    let mut second = sample_record();
    second.email_hmac = first.email_hmac.clone();
    for record in [&first, &second, &sample_record()] {
        store_plain(store.as_ref(), record).await;
    }
    let found: BTreeSet<RecordId> = store
        .find_records_by_email(&first.email_hmac)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(found, BTreeSet::from([first.id, second.id]));
    let nobody = sha256_hex(b"nobody");
    assert!(
        store
            .find_records_by_email(&nobody)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn find_by_phone_finds_exactly_that_person(store: Arc<dyn Store>) {
    let first = sample_record();
    let mut second = sample_record();
    second.phone_hmac = first.phone_hmac.clone();
    let mut no_phone = sample_record();
    no_phone.phone_hmac = String::new();
    for record in [&first, &second, &no_phone] {
        store_plain(store.as_ref(), record).await;
    }
    let found: BTreeSet<RecordId> = store
        .find_records_by_phone(&first.phone_hmac)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(found, BTreeSet::from([first.id, second.id]));
}

async fn empty_lookup_keys_find_nothing(store: Arc<dyn Store>) {
    let mut record = sample_record();
    record.phone_hmac = String::new();
    store_plain(store.as_ref(), &record).await;
    assert!(store.find_records_by_phone("").await.unwrap().is_empty());
    assert!(store.find_records_by_email("").await.unwrap().is_empty());
}

async fn update_replaces_the_record(store: Arc<dyn Store>) {
    let mut record = sample_record();
    store_plain(store.as_ref(), &record).await;
    record.consent.purposes[0].withdrawn_at = Some(OffsetDateTime::now_utc());
    record.state = RecordState::Withdrawn;
    assert!(store.update_record(&record).await.unwrap());
    record.revision += 1;
    assert_eq!(
        store.get_record(record.id).await.unwrap(),
        Some(record.clone()),
        "stored as given, one revision later"
    );
}

async fn update_never_inserts(store: Arc<dyn Store>) {
    let unknown = sample_record();
    assert!(!store.update_record(&unknown).await.unwrap());
    assert_eq!(store.get_record(unknown.id).await.unwrap(), None);
}

async fn update_is_conditional_on_the_revision_read(store: Arc<dyn Store>) {
    let record = sample_record();
    store_plain(store.as_ref(), &record).await;
    // Two writers read the same revision; the first update wins, the second is refused.
    let mut first = record.clone();
    first.message = "first writer".to_owned();
    let mut second = record.clone();
    second.message = "second writer".to_owned();
    assert!(store.update_record(&first).await.unwrap());
    let refused = store.update_record(&second).await;
    assert!(
        matches!(refused, Err(StoreError::Conflict(_))),
        "a stale revision is a conflict: {refused:?}"
    );
    let stored = store.get_record(record.id).await.unwrap().unwrap();
    assert_eq!(stored.message, "first writer", "nothing was overwritten");
    assert_eq!(stored.revision, 1);
    let text = format!("{:?}", refused.unwrap_err());
    assert!(!text.contains("writer"), "no content in the error: {text}");
}

async fn concurrent_updates_from_one_read_one_wins(store: Arc<dyn Store>) {
    let record = sample_record();
    store_plain(store.as_ref(), &record).await;
    let mut tasks = Vec::new();
    for n in 0..6 {
        let store = Arc::clone(&store);
        let mut copy = record.clone();
        copy.message = format!("concurrent {n}");
        tasks.push(tokio::spawn(
            async move { store.update_record(&copy).await },
        ));
    }
    let (mut won, mut conflicts) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(true) => won += 1,
            Err(StoreError::Conflict(_)) => conflicts += 1,
            other => panic!("unexpected outcome {other:?}"),
        }
    }
    assert_eq!((won, conflicts), (1, 5));
    let stored = store.get_record(record.id).await.unwrap().unwrap();
    assert_eq!(stored.revision, 1);
}

async fn delete_removes_record_and_dedup_entries(store: Arc<dyn Store>) {
    let first = sample_record();
    let dedup = dedup_keys(Some(unique_key()), in_a_minute());
    store.insert_record(&first, &dedup, &[]).await.unwrap();
    assert!(store.delete_record(first.id).await.unwrap());
    assert_eq!(store.get_record(first.id).await.unwrap(), None);
    assert!(
        !store.delete_record(first.id).await.unwrap(),
        "a second delete finds nothing"
    );
    // Erasure leaves no trace that would make the same person's next message a "duplicate".
    let again = sample_record();
    let inserted = store.insert_record(&again, &dedup, &[]).await.unwrap();
    assert_eq!(inserted, Inserted::New(again.id));
}

async fn purge_expired_deletes_only_expired(store: Arc<dyn Store>) {
    let now = OffsetDateTime::now_utc();
    let mut expired = sample_record();
    expired.expires_at = now - Duration::days(1);
    let mut live = sample_record();
    live.expires_at = now + Duration::days(1);
    for record in [&expired, &live] {
        store_plain(store.as_ref(), record).await;
    }
    assert_eq!(store.purge_expired(now).await.unwrap(), 1);
    assert_eq!(store.get_record(expired.id).await.unwrap(), None);
    assert_eq!(store.get_record(live.id).await.unwrap(), Some(live));
}

async fn concurrent_inserts_with_one_key_store_one(store: Arc<dyn Store>) {
    let key = unique_key();
    let records: Vec<ConsentRecord> = (0..8).map(|_| sample_record()).collect();
    let mut tasks = Vec::new();
    for record in records.clone() {
        let store = Arc::clone(&store);
        let dedup = dedup_keys(Some(key.clone()), in_a_minute());
        tasks.push(tokio::spawn(async move {
            store.insert_record(&record, &dedup, &[]).await
        }));
    }
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap().unwrap());
    }
    let new: Vec<RecordId> = results
        .iter()
        .filter_map(|r| match r {
            Inserted::New(id) => Some(*id),
            Inserted::Duplicate(_) | Inserted::OverQuota => None,
        })
        .collect();
    assert_eq!(new.len(), 1, "exactly one insert wins: {results:?}");
    assert!(
        results.iter().all(|r| r.id() == Some(new[0])),
        "all see the winner's id"
    );
    let mut stored = 0;
    for record in &records {
        stored += usize::from(store.get_record(record.id).await.unwrap().is_some());
    }
    assert_eq!(stored, 1);
}

async fn list_records_holds_every_record_oldest_first(store: Arc<dyn Store>) {
    let (first, second) = (sample_record(), sample_record());
    for record in [&first, &second] {
        store_plain(store.as_ref(), record).await;
    }
    let listed = store.list_records().await.unwrap();
    assert_eq!(listed, vec![first, second], "both, oldest first, unchanged");
}

async fn a_write_under_a_key_the_store_does_not_take_is_refused(store: Arc<dyn Store>) {
    set_state(
        store.as_ref(),
        KeyState {
            key_check: Some("key-a".to_owned()),
            ..KeyState::default()
        },
    )
    .await;
    let refused = keyed("key-b");
    let answer = store
        .insert_record(&refused, &dedup_keys(None, in_a_minute()), &[])
        .await;
    assert!(matches!(answer, Err(StoreError::WrongKey)), "{answer:?}");
    assert_eq!(store.get_record(refused.id).await.unwrap(), None);
    store_plain(store.as_ref(), &keyed("key-a")).await;
}

async fn during_a_rekey_both_keys_write_and_after_the_seal_only_the_new_one(store: Arc<dyn Store>) {
    let moving = KeyState {
        key_check: Some("key-a".to_owned()),
        rekey_to: Some("key-b".to_owned()),
        sealed: false,
    };
    set_state(store.as_ref(), moving.clone()).await;
    store_plain(store.as_ref(), &keyed("key-a")).await;
    store_plain(store.as_ref(), &keyed("key-b")).await;
    set_state(
        store.as_ref(),
        KeyState {
            sealed: true,
            ..moving
        },
    )
    .await;
    let old = store
        .insert_record(&keyed("key-a"), &dedup_keys(None, in_a_minute()), &[])
        .await;
    assert!(matches!(old, Err(StoreError::WrongKey)), "{old:?}");
    store_plain(store.as_ref(), &keyed("key-b")).await;
}

async fn a_full_mail_cap_stores_nothing(store: Arc<dyn Store>) {
    let now = OffsetDateTime::now_utc();
    let quota = MailQuota::confirmations(&unique_key(), now);
    for _ in 0..CONFIRMATIONS_PER_MAILBOX {
        let record = sample_record();
        let inserted = insert_capped(store.as_ref(), &record, &quota)
            .await
            .unwrap();
        assert_eq!(inserted, Inserted::New(record.id));
    }
    let over = sample_record();
    let inserted = insert_capped(store.as_ref(), &over, &quota).await.unwrap();
    assert_eq!(inserted, Inserted::OverQuota);
    assert_eq!(
        store.get_record(over.id).await.unwrap(),
        None,
        "nothing stored"
    );
    // Another mailbox has its own cap.
    let other = MailQuota::confirmations(&unique_key(), now);
    let record = sample_record();
    assert_eq!(
        insert_capped(store.as_ref(), &record, &other)
            .await
            .unwrap(),
        Inserted::New(record.id)
    );
}

async fn a_duplicate_takes_no_place_in_the_mail_cap(store: Arc<dyn Store>) {
    let quota = MailQuota::confirmations(&unique_key(), OffsetDateTime::now_utc());
    let dedup = dedup_keys(Some(unique_key()), in_a_minute());
    let first = sample_record();
    for _ in 0..5 {
        let inserted = store
            .insert_record_capped(&first, &dedup, &[], Some(&quota))
            .await
            .unwrap();
        assert!(inserted.id() == Some(first.id), "{inserted:?}");
    }
    for _ in 1..CONFIRMATIONS_PER_MAILBOX {
        let record = sample_record();
        let inserted = insert_capped(store.as_ref(), &record, &quota)
            .await
            .unwrap();
        assert_eq!(inserted, Inserted::New(record.id), "retries took no place");
    }
}

async fn the_mail_cap_has_room_again_after_its_window(store: Arc<dyn Store>) {
    let recipient = unique_key();
    let then = OffsetDateTime::now_utc() - Duration::hours(25);
    for _ in 0..CONFIRMATIONS_PER_MAILBOX {
        let quota = MailQuota::confirmations(&recipient, then);
        insert_capped(store.as_ref(), &sample_record(), &quota)
            .await
            .unwrap();
    }
    let now = MailQuota::confirmations(&recipient, OffsetDateTime::now_utc());
    let record = sample_record();
    assert_eq!(
        insert_capped(store.as_ref(), &record, &now).await.unwrap(),
        Inserted::New(record.id)
    );
}

async fn an_erasure_leaves_nothing_to_finish(store: Arc<dyn Store>) {
    let record = sample_record();
    store_plain(store.as_ref(), &record).await;
    assert!(store.delete_record(record.id).await.unwrap());
    assert!(
        !store.finish_removals().await.unwrap(),
        "no reader held the WAL"
    );
}
