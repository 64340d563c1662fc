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
    a_claim_is_leased_from_its_own_moment,
    a_buried_item_is_a_dead_letter_never_due_and_without_its_secret,
    a_withheld_item_waits_until_it_is_released,
    reviving_makes_a_dead_letter_due_again,
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

async fn a_claim_is_leased_from_its_own_moment(store: Arc<dyn Store>) {
    let now = OffsetDateTime::now_utc();
    let (_, items) = queued(store.as_ref(), now).await;
    let late = now + Duration::minutes(7);
    let lease = Duration::seconds(5);
    let claimed = store
        .claim_item(items[0].id, late, lease)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claimed.due_at, late + lease);
    let before_it_ends = late + Duration::seconds(4);
    assert_eq!(
        store
            .claim_item(items[0].id, before_it_ends, lease)
            .await
            .unwrap(),
        None
    );
    let after = late + Duration::seconds(6);
    assert!(
        store
            .claim_item(items[0].id, after, lease)
            .await
            .unwrap()
            .is_some()
    );
}

async fn a_buried_item_is_a_dead_letter_never_due_and_without_its_secret(store: Arc<dyn Store>) {
    let now = OffsetDateTime::now_utc();
    let record = sample_record();
    let mut items = notify_items(&record, now);
    if let OutboxKind::ConfirmPurpose { secret, .. } = &mut items[1].kind {
        *secret = Some("a-link-secret".to_owned());
    }
    store
        .insert_record(&record, &dedup_keys(None, in_a_minute()), &items)
        .await
        .unwrap();
    store
        .claim_item(items[1].id, now, LEASE)
        .await
        .unwrap()
        .unwrap();
    store
        .bury_item(items[1].id, "smtp permanent 550", now)
        .await
        .unwrap();
    let far = now + Duration::days(365 * 50);
    let due: Vec<_> = store
        .list_due_items(far, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(due, vec![items[0].id], "a dead letter is never due");
    let dead = items_of(store.as_ref(), &record)
        .await
        .into_iter()
        .find(|i| i.id == items[1].id)
        .unwrap();
    assert_eq!(
        dead.dead.as_ref().map(|d| d.reason.as_str()),
        Some("smtp permanent 550")
    );
    assert!(
        !serde_json::to_string(&dead)
            .unwrap()
            .contains("a-link-secret"),
        "a dead letter keeps no secret"
    );
}

async fn a_withheld_item_waits_until_it_is_released(store: Arc<dyn Store>) {
    let now = OffsetDateTime::now_utc();
    let (record, items) = queued(store.as_ref(), now).await;
    for item in &items {
        store.withhold_item(item.id).await.unwrap();
    }
    assert!(
        store
            .list_due_items(now + Duration::days(30), 100)
            .await
            .unwrap()
            .is_empty()
    );
    let released = store.release_items(record.id.0, now).await.unwrap();
    assert_eq!(released, 2);
    assert_eq!(store.list_due_items(now, 100).await.unwrap().len(), 2);
}

async fn reviving_makes_a_dead_letter_due_again(store: Arc<dyn Store>) {
    let now = OffsetDateTime::now_utc();
    let (_, items) = queued(store.as_ref(), now).await;
    store.bury_item(items[0].id, "gave up", now).await.unwrap();
    let later = now + Duration::hours(1);
    assert!(store.revive_item(items[0].id, later).await.unwrap());
    let revived = store
        .claim_item(items[0].id, later, LEASE)
        .await
        .unwrap()
        .unwrap();
    assert!(revived.dead.is_none());
    assert_eq!(revived.attempts, 1, "attempts counted afresh");
    assert!(
        !store
            .revive_item(uuid::Uuid::now_v7(), later)
            .await
            .unwrap()
    );
}
