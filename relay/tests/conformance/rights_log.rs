//! The rights log role: the audit log, and data-subject requests with conditional updates.

use std::sync::Arc;

use kelisim_relay::domain::audit::{AuditAction, AuditEntry};
use kelisim_relay::domain::key_check::KeyState;
use kelisim_relay::domain::outbox::{MailQuota, OutboxItem, OutboxKind};
use kelisim_relay::domain::record::RecordId;
use kelisim_relay::domain::request::{
    Channel, Outcome, RequestKind, SubjectRequest, default_deadlines,
};
use kelisim_relay::store::{RequestInserted, Store, StoreError};
use time::{Duration, OffsetDateTime};

on_every_store!(
    audit_log_appends_and_reads_oldest_first,
    audit_log_reads_from_a_date,
    a_request_reads_back_as_stored,
    requests_are_listed_oldest_first,
    a_request_update_raises_its_revision,
    a_stale_request_update_is_a_conflict,
    updating_an_unknown_request_finds_nothing,
    a_second_waiting_request_of_a_kind_for_a_mailbox_is_not_stored,
    a_request_over_the_mail_cap_is_not_stored,
    a_request_under_a_key_the_store_does_not_take_is_refused,
    a_confirmation_is_stored_with_its_notice_and_audit_entry,
    a_stale_confirmation_stores_nothing,
    unconfirmed_requests_go_when_their_link_expires,
);

/// A form request for `email_hmac` whose link works until `until`.
fn waiting(email_hmac: &str, kind: RequestKind, until: OffsetDateTime) -> SubjectRequest {
    let mut request = SubjectRequest::new(
        kind,
        Channel::Form,
        "kk",
        "person@example.kz",
        email_hmac,
        OffsetDateTime::now_utc(),
    );
    request.link_expires_at = Some(until);
    request
}

fn confirmation_mail(request: &SubjectRequest) -> OutboxItem {
    OutboxItem::new(
        OutboxKind::ConfirmRequest {
            request_id: request.id,
            secret: None,
        },
        OffsetDateTime::now_utc(),
    )
}

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

async fn a_second_waiting_request_of_a_kind_for_a_mailbox_is_not_stored(store: Arc<dyn Store>) {
    let until = OffsetDateTime::now_utc() + Duration::days(7);
    let first = waiting("mailbox-1", RequestKind::Erasure, until);
    let mails = [confirmation_mail(&first)];
    let stored = store.insert_request(&first, &mails, None).await.unwrap();
    assert_eq!(stored, RequestInserted::New);
    let second = waiting("mailbox-1", RequestKind::Erasure, until);
    let again = store
        .insert_request(&second, &[confirmation_mail(&second)], None)
        .await
        .unwrap();
    assert_eq!(again, RequestInserted::AlreadyPending);
    assert_eq!(store.get_request(second.id).await.unwrap(), None);
    assert_eq!(
        store.list_items().await.unwrap().len(),
        1,
        "one mail queued"
    );
    // Another kind, or another mailbox, is a request of its own.
    for other in [
        waiting("mailbox-1", RequestKind::Access, until),
        waiting("mailbox-2", RequestKind::Erasure, until),
    ] {
        let stored = store.insert_request(&other, &[], None).await.unwrap();
        assert_eq!(stored, RequestInserted::New);
    }
}

async fn a_request_over_the_mail_cap_is_not_stored(store: Arc<dyn Store>) {
    let now = OffsetDateTime::now_utc();
    let quota = MailQuota {
        limit: 1,
        ..MailQuota::confirmations("mailbox-q", now)
    };
    let first = waiting("mailbox-q", RequestKind::Access, now + Duration::days(7));
    assert_eq!(
        store
            .insert_request(&first, &[], Some(&quota))
            .await
            .unwrap(),
        RequestInserted::New
    );
    let second = waiting("mailbox-q", RequestKind::Erasure, now + Duration::days(7));
    assert_eq!(
        store
            .insert_request(&second, &[], Some(&quota))
            .await
            .unwrap(),
        RequestInserted::OverQuota
    );
    assert_eq!(store.get_request(second.id).await.unwrap(), None);
}

async fn a_request_under_a_key_the_store_does_not_take_is_refused(store: Arc<dyn Store>) {
    let state = KeyState {
        key_check: Some("key-a".to_owned()),
        ..KeyState::default()
    };
    store
        .set_key_state(&KeyState::default(), &state)
        .await
        .unwrap();
    let mut request = request();
    request.key_check = "key-b".to_owned();
    let answer = store.insert_request(&request, &[], None).await;
    assert!(matches!(answer, Err(StoreError::WrongKey)), "{answer:?}");
    request.key_check = "key-a".to_owned();
    assert_eq!(
        store.insert_request(&request, &[], None).await.unwrap(),
        RequestInserted::New
    );
}

async fn a_confirmation_is_stored_with_its_notice_and_audit_entry(store: Arc<dyn Store>) {
    let now = OffsetDateTime::now_utc();
    let mut request = waiting("mailbox-c", RequestKind::Erasure, now + Duration::days(7));
    store.insert_request(&request, &[], None).await.unwrap();
    request.confirm(&default_deadlines(), now);
    let notice = OutboxItem::new(
        OutboxKind::NotifyRequest {
            request_id: request.id,
        },
        now,
    );
    let audit = AuditEntry::new(
        "data subject",
        AuditAction::RequestOpened,
        None,
        1,
        "confirmed",
    );
    assert!(
        store
            .update_request_with(
                &request,
                std::slice::from_ref(&notice),
                std::slice::from_ref(&audit)
            )
            .await
            .unwrap()
    );
    assert!(
        store
            .get_request(request.id)
            .await
            .unwrap()
            .unwrap()
            .confirmed_at
            .is_some()
    );
    assert_eq!(store.list_items().await.unwrap(), vec![notice]);
    assert_eq!(store.list_audit(None).await.unwrap(), vec![audit]);
    // Confirmed, it no longer keeps the mailbox's next request waiting.
    let next = waiting("mailbox-c", RequestKind::Erasure, now + Duration::days(7));
    assert_eq!(
        store.insert_request(&next, &[], None).await.unwrap(),
        RequestInserted::New
    );
}

async fn a_stale_confirmation_stores_nothing(store: Arc<dyn Store>) {
    let now = OffsetDateTime::now_utc();
    let request = waiting("mailbox-s", RequestKind::Access, now + Duration::days(7));
    store.insert_request(&request, &[], None).await.unwrap();
    let mut first = request.clone();
    first.close(Outcome::Abandoned, now);
    assert!(store.update_request(&first).await.unwrap());
    let mut stale = request.clone();
    stale.confirm(&default_deadlines(), now);
    let notice = OutboxItem::new(
        OutboxKind::NotifyRequest {
            request_id: request.id,
        },
        now,
    );
    let audit = AuditEntry::new(
        "data subject",
        AuditAction::RequestOpened,
        None,
        1,
        "confirmed",
    );
    let answer = store.update_request_with(&stale, &[notice], &[audit]).await;
    assert!(matches!(answer, Err(StoreError::Conflict(_))), "{answer:?}");
    assert!(store.list_items().await.unwrap().is_empty(), "no notice");
    assert!(
        store.list_audit(None).await.unwrap().is_empty(),
        "no audit entry"
    );
}

async fn unconfirmed_requests_go_when_their_link_expires(store: Arc<dyn Store>) {
    let now = OffsetDateTime::now_utc();
    let expired = waiting(
        "mailbox-e",
        RequestKind::Erasure,
        now - Duration::minutes(1),
    );
    let waiting_still = waiting("mailbox-w", RequestKind::Erasure, now + Duration::days(1));
    let mut confirmed = waiting("mailbox-k", RequestKind::Access, now - Duration::minutes(1));
    confirmed.confirm(&default_deadlines(), now - Duration::days(2));
    let operator = request();
    for request in [&expired, &waiting_still, &confirmed, &operator] {
        store
            .insert_request(request, &[confirmation_mail(request)], None)
            .await
            .unwrap();
    }
    assert_eq!(store.purge_unconfirmed_requests(now).await.unwrap(), 1);
    assert_eq!(store.get_request(expired.id).await.unwrap(), None);
    for kept in [&waiting_still, &confirmed, &operator] {
        assert!(store.get_request(kept.id).await.unwrap().is_some());
    }
    let about: Vec<_> = store
        .list_items()
        .await
        .unwrap()
        .iter()
        .map(|i| i.kind.subject())
        .collect();
    assert!(
        !about.contains(&expired.id),
        "its confirmation mail goes with it"
    );
    assert_eq!(about.len(), 3);
}
