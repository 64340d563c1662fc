//! The outbox role: items written with what they are about, claimed by one deliverer at a
//! time, rescheduled, removed, and gone with an erased record.

use std::sync::Arc;

use kelisim_relay::domain::outbox::{LEASE, OutboxItem, OutboxKind};
use kelisim_relay::domain::record::ConsentRecord;
use kelisim_relay::domain::request::{Channel, RequestKind, SubjectRequest};
use kelisim_relay::store::{Inserted, Store};
use time::{Duration, OffsetDateTime};

use super::{dedup_keys, in_a_minute, notify_items, sample_record, unique_key};

on_every_store!(
    outbox_is_written_with_the_record,
    a_duplicate_queues_nothing,
    new_items_are_due_at_once,
    claims_are_exclusive,
    a_leased_item_is_not_due,
    retries_are_rescheduled_with_their_reason,
    removing_an_item_leaves_the_others,
    erasing_a_record_removes_its_outbox_items,
    a_request_is_stored_with_its_mail,
);

/// The outbox items of `record`, as the store holds them, by id.
async fn items_of(store: &dyn Store, record: &ConsentRecord) -> Vec<OutboxItem> {
    let mut items: Vec<_> = store
        .list_items()
        .await
        .unwrap()
        .into_iter()
        .filter(|i| i.kind.record_id() == Some(record.id))
        .collect();
    items.sort_by_key(|i| i.id);
    items
}

/// A record stored with its two items, queued `now`.
async fn queued(store: &dyn Store, now: OffsetDateTime) -> (ConsentRecord, Vec<OutboxItem>) {
    let record = sample_record();
    let items = notify_items(&record, now);
    let inserted = store
        .insert_record(&record, &dedup_keys(None, in_a_minute()), &items)
        .await
        .unwrap();
    assert_eq!(inserted, Inserted::New(record.id));
    (record, items)
}

async fn outbox_is_written_with_the_record(store: Arc<dyn Store>) {
    let (record, items) = queued(store.as_ref(), OffsetDateTime::now_utc()).await;
    assert_eq!(items_of(store.as_ref(), &record).await, items);
}

async fn a_duplicate_queues_nothing(store: Arc<dyn Store>) {
    let now = OffsetDateTime::now_utc();
    let key = unique_key();
    let record = sample_record();
    store
        .insert_record(&record, &dedup_keys(Some(key.clone()), in_a_minute()), &[])
        .await
        .unwrap();
    let retry = sample_record();
    let again = store
        .insert_record(
            &retry,
            &dedup_keys(Some(key), in_a_minute()),
            &notify_items(&retry, now),
        )
        .await
        .unwrap();
    assert_eq!(again, Inserted::Duplicate(record.id));
    assert!(store.list_items().await.unwrap().is_empty());
}

async fn new_items_are_due_at_once(store: Arc<dyn Store>) {
    let now = OffsetDateTime::now_utc();
    let (_, items) = queued(store.as_ref(), now).await;
    let mut due: Vec<_> = store
        .list_due_items(now + Duration::seconds(1), 100)
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.id)
        .collect();
    due.sort();
    assert_eq!(due, items.iter().map(|i| i.id).collect::<Vec<_>>());
}

async fn claims_are_exclusive(store: Arc<dyn Store>) {
    let now = OffsetDateTime::now_utc();
    let (_, items) = queued(store.as_ref(), now).await;
    let first = store.claim_item(items[0].id, now, LEASE).await.unwrap();
    let second = store.claim_item(items[0].id, now, LEASE).await.unwrap();
    let claimed = first.expect("the first deliverer gets the item");
    assert_eq!(second, None, "a second deliverer does not");
    assert_eq!(claimed.attempts, 1);
    assert!(claimed.due_at > now, "a claimed item is leased");
}

async fn a_leased_item_is_not_due(store: Arc<dyn Store>) {
    let now = OffsetDateTime::now_utc();
    let (_, items) = queued(store.as_ref(), now).await;
    store
        .claim_item(items[0].id, now, LEASE)
        .await
        .unwrap()
        .unwrap();
    let due: Vec<_> = store
        .list_due_items(now, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(due, vec![items[1].id]);
}

async fn retries_are_rescheduled_with_their_reason(store: Arc<dyn Store>) {
    let now = OffsetDateTime::now_utc();
    let (record, items) = queued(store.as_ref(), now).await;
    let id = items[0].id;
    store.claim_item(id, now, LEASE).await.unwrap().unwrap();
    let later = now + Duration::minutes(5);
    store
        .reschedule_item(id, later, "smtp transient 451")
        .await
        .unwrap();
    let stored = items_of(store.as_ref(), &record).await.remove(0);
    assert_eq!(stored.last_error.as_deref(), Some("smtp transient 451"));
    assert_eq!(stored.attempts, 1);
    assert_eq!(
        store.claim_item(id, now, LEASE).await.unwrap(),
        None,
        "not before its time"
    );
    let again = store.claim_item(id, later, LEASE).await.unwrap();
    assert_eq!(again.map(|i| i.attempts), Some(2));
}

async fn removing_an_item_leaves_the_others(store: Arc<dyn Store>) {
    let now = OffsetDateTime::now_utc();
    let (record, items) = queued(store.as_ref(), now).await;
    store.remove_item(items[0].id).await.unwrap();
    let left: Vec<_> = items_of(store.as_ref(), &record)
        .await
        .into_iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(left, vec![items[1].id]);
}

async fn erasing_a_record_removes_its_outbox_items(store: Arc<dyn Store>) {
    let (record, _) = queued(store.as_ref(), OffsetDateTime::now_utc()).await;
    assert!(store.delete_record(record.id).await.unwrap());
    assert!(
        items_of(store.as_ref(), &record).await.is_empty(),
        "no message about an erased record is left to send"
    );
}

async fn a_request_is_stored_with_its_mail(store: Arc<dyn Store>) {
    let now = OffsetDateTime::now_utc();
    let request = SubjectRequest::new(
        RequestKind::Access,
        Channel::Form,
        "kk",
        "a@example.kz",
        "hash",
        now,
    );
    let mail = OutboxItem::new(
        OutboxKind::ConfirmRequest {
            request_id: request.id,
            secret: None,
        },
        now,
    );
    store
        .insert_request(&request, std::slice::from_ref(&mail), None)
        .await
        .unwrap();
    assert_eq!(store.get_request(request.id).await.unwrap(), Some(request));
    assert_eq!(store.list_items().await.unwrap(), vec![mail]);
}
