//! The rights log role: the audit log, and data-subject requests with conditional updates.

use std::sync::Arc;

use kelisim_relay::domain::audit::{AuditAction, AuditEntry};
use kelisim_relay::domain::record::RecordId;
use kelisim_relay::domain::request::{Channel, Outcome, RequestKind, SubjectRequest};
use kelisim_relay::store::{Store, StoreError};
use time::{Duration, OffsetDateTime};

on_every_store!(
    audit_log_appends_and_reads_oldest_first,
    audit_log_reads_from_a_date,
    a_request_reads_back_as_stored,
    requests_are_listed_oldest_first,
    a_request_update_raises_its_revision,
    a_stale_request_update_is_a_conflict,
    updating_an_unknown_request_finds_nothing,
);

fn entries() -> (AuditEntry, AuditEntry) {
    let old = AuditEntry {
        at: OffsetDateTime::now_utc() - Duration::days(10),
        ..AuditEntry::new("operator", AuditAction::Block, Some(RecordId::new()), 1, "")
    };
    let new = AuditEntry::new("operator", AuditAction::Withdraw, None, 2, "newsletter");
    (old, new)
}

fn request() -> SubjectRequest {
    SubjectRequest::new(
        RequestKind::Erasure,
        Channel::Operator,
        "ru",
        "a@example.kz",
        "hash",
        OffsetDateTime::now_utc(),
    )
}

async fn audit_log_appends_and_reads_oldest_first(store: Arc<dyn Store>) {
    let (old, new) = entries();
    store.append_audit(&new).await.unwrap();
    store.append_audit(&old).await.unwrap();
    assert_eq!(store.list_audit(None).await.unwrap(), vec![old, new]);
}

async fn audit_log_reads_from_a_date(store: Arc<dyn Store>) {
    let (old, new) = entries();
    store.append_audit(&old).await.unwrap();
    store.append_audit(&new).await.unwrap();
    let recent = store
        .list_audit(Some(OffsetDateTime::now_utc() - Duration::days(1)))
        .await
        .unwrap();
    assert_eq!(recent, vec![new], "older entries are left out");
}

async fn a_request_reads_back_as_stored(store: Arc<dyn Store>) {
    let request = request();
    store.insert_request(&request, &[], None).await.unwrap();
    assert_eq!(store.get_request(request.id).await.unwrap(), Some(request));
    assert_eq!(store.get_request(uuid::Uuid::now_v7()).await.unwrap(), None);
}

async fn requests_are_listed_oldest_first(store: Arc<dyn Store>) {
    let (first, second) = (request(), request());
    store.insert_request(&second, &[], None).await.unwrap();
    store.insert_request(&first, &[], None).await.unwrap();
    assert_eq!(store.list_requests().await.unwrap(), vec![first, second]);
}

async fn a_request_update_raises_its_revision(store: Arc<dyn Store>) {
    let mut request = request();
    store.insert_request(&request, &[], None).await.unwrap();
    request.close(Outcome::Done, OffsetDateTime::now_utc());
    assert!(store.update_request(&request).await.unwrap());
    let stored = store.get_request(request.id).await.unwrap().unwrap();
    assert_eq!(stored.revision, 1);
    assert!(stored.email.is_empty(), "a closed request holds no address");
}

async fn a_stale_request_update_is_a_conflict(store: Arc<dyn Store>) {
    let request = request();
    store.insert_request(&request, &[], None).await.unwrap();
    let mut first = request.clone();
    first.close(Outcome::Done, OffsetDateTime::now_utc());
    let mut stale = request.clone();
    stale.close(Outcome::Refused, OffsetDateTime::now_utc());
    assert!(store.update_request(&first).await.unwrap());
    assert!(matches!(
        store.update_request(&stale).await,
        Err(StoreError::Conflict(_))
    ));
    let stored = store.get_request(request.id).await.unwrap().unwrap();
    assert_eq!(
        stored.outcome,
        Some(Outcome::Done),
        "nothing was overwritten"
    );
}

async fn updating_an_unknown_request_finds_nothing(store: Arc<dyn Store>) {
    assert!(!store.update_request(&request()).await.unwrap());
}
