//! The data-subject rights on a real store: every use case of `app::rights` and `app::keys`,
//! identical on every back end, each behaviour on a fresh store (the key-check and rekey
//! cases change the whole store's key).

use std::sync::Arc;

use kelisim_relay::app::inbox::{self, Answering};
use kelisim_relay::app::keys::{self, RekeyStage};
use kelisim_relay::app::retention;
use kelisim_relay::app::rights::{self as rights, Lookup, RightsError};
use kelisim_relay::domain::audit::AuditAction;
use kelisim_relay::domain::hmac_key::HmacKey;
use kelisim_relay::domain::key_check::{KeyMismatch, KeyState};
use kelisim_relay::domain::plan;
use kelisim_relay::domain::record::{ConsentRecord, RecordState};
use kelisim_relay::store::{Store, StoreError};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::{dedup_keys, in_a_minute, sample_record};

const KEY_A: &str = "6b656c6973696d2d7269676874732d6b65792d612d2d2d2d2d2d2d2d2d2d2d21";
const KEY_B: &str = "6b656c6973696d2d7269676874732d6b65792d622d2d2d2d2d2d2d2d2d2d2d21";
const ACTOR: &str = "conformance";

fn key_a() -> HmacKey {
    HmacKey::parse(KEY_A).unwrap()
}

fn key_b() -> HmacKey {
    HmacKey::parse(KEY_B).unwrap()
}

/// A person with unique, searchable values.
pub struct Person {
    pub email: String,
    pub phone: String,
    pub surname: String,
    pub message: String,
}

impl Person {
    pub fn new() -> Self {
        let n = Uuid::now_v7().as_u128() % 10_000_000;
        Self {
            email: format!("rights.{n:07}@example.kz"),
            phone: format!("+7701{n:07}"),
            surname: format!("Маркербаева{n:07}"),
            message: format!("Құпия маркер {n:07}"),
        }
    }

    /// Every value the audit log must never hold.
    pub fn secrets(&self, key: &HmacKey) -> Vec<String> {
        let email = kelisim_relay::domain::fields::Email::parse(&self.email).unwrap();
        vec![
            self.email.clone(),
            self.phone.clone(),
            self.surname.clone(),
            self.message.clone(),
            key.email_hmac(&email),
            key.phone_hmac(&self.phone),
        ]
    }
}

/// A record of `person` granting reply (365 days) and newsletter (1095 days), under `key`.
pub fn record_of(person: &Person, key: &HmacKey) -> ConsentRecord {
    let now = OffsetDateTime::now_utc();
    let mut record = sample_record();
    record.subject.email = person.email.clone();
    record.subject.phone = person.phone.clone();
    record.subject.surname = person.surname.clone();
    record.message = person.message.clone();
    record.email_hmac =
        key.email_hmac(&kelisim_relay::domain::fields::Email::parse(&person.email).unwrap());
    record.phone_hmac = key.phone_hmac(&person.phone);
    record.key_check = key.key_check();
    record.consent.purposes[1].granted = true;
    record.consent.purposes[1].expires_at = Some(now + Duration::days(1095));
    record.expires_at = now + Duration::days(1095);
    record
}

async fn stored(store: &dyn Store, person: &Person) -> ConsentRecord {
    let record = record_of(person, &key_a());
    store
        .insert_record(&record, &dedup_keys(None, in_a_minute()), &[])
        .await
        .unwrap();
    record
}

async fn reread(store: &dyn Store, record: &ConsentRecord) -> ConsentRecord {
    store
        .get_record(record.id)
        .await
        .unwrap()
        .expect("still stored")
}

on_every_store!(
    wrong_key_is_refused,
    find_by_email_and_phone,
    withdraw_recomputes_expiry_drops_categories_and_leaves_lists,
    block_excludes_from_lists_and_exports_for_processing,
    rectify_keeps_history_and_follows_the_lookup_keys,
    concurrent_withdraws_one_wins_one_conflicts,
    anonymize_keeps_the_stamp_and_drops_the_person,
    purge_is_per_purpose,
    an_answer_ends_the_reply_purpose_and_the_purge_follows,
    erase_leaves_audit_entries_that_point_to_nothing_personal,
    audit_entries_hold_no_personal_data,
    rekey_rederives_lookups_resumably,
    requests_get_due_dates_and_close_without_the_address,
    rekey_keeps_records_written_under_either_key_while_it_runs,
    rekey_rederives_the_address_hash_of_open_requests,
);

async fn wrong_key_is_refused(owned: Arc<dyn Store>) {
    let store = owned.as_ref();
    // The form function only verifies: a fresh store passes and nothing is written.
    keys::verify_key(store, &key_b()).await.unwrap();
    assert_eq!(store.get_key_state().await.unwrap(), KeyState::default());
    keys::check_key(store, &key_a(), ACTOR).await.unwrap();
    assert!(matches!(
        keys::verify_key(store, &key_b()).await,
        Err(RightsError::Key(KeyMismatch::WrongKey))
    ));
    assert_eq!(
        store.get_key_state().await.unwrap().key_check,
        Some(key_a().key_check()),
        "the first run stores its key's check value"
    );
    keys::check_key(store, &key_a(), ACTOR).await.unwrap();
    let refused = keys::check_key(store, &key_b(), ACTOR).await;
    assert!(
        matches!(refused, Err(RightsError::Key(KeyMismatch::WrongKey))),
        "{refused:?}"
    );
}

async fn find_by_email_and_phone(owned: Arc<dyn Store>) {
    let store = owned.as_ref();
    let person = Person::new();
    let record = stored(store, &person).await;
    let by_email = rights::find(store, &key_a(), Lookup::Email(&person.email.to_uppercase()))
        .await
        .unwrap();
    assert_eq!(by_email.len(), 1);
    assert_eq!(by_email[0].id, record.id);
    // The phone as a person would type it in Kazakhstan.
    let local = format!("8 {}", &person.phone[2..]);
    let by_phone = rights::find(store, &key_a(), Lookup::Phone(&local))
        .await
        .unwrap();
    assert_eq!(by_phone.len(), 1);
    assert_eq!(by_phone[0].id, record.id);
    assert!(matches!(
        rights::find(store, &key_a(), Lookup::Email("not an email")).await,
        Err(RightsError::InvalidEmail)
    ));
}

async fn withdraw_recomputes_expiry_drops_categories_and_leaves_lists(owned: Arc<dyn Store>) {
    let store = owned.as_ref();
    let person = Person::new();
    let record = stored(store, &person).await;
    let now = OffsetDateTime::now_utc();
    let all = store.list_records().await.unwrap();
    assert_eq!(
        plan::processable(&all, Some("newsletter"), now)
            .filter(|r| r.id == record.id)
            .count(),
        1,
        "on the mailing list before"
    );

    // Reply ends, newsletter stays: phone and message go at once, name and email stay, and
    // the record is kept only as long as the newsletter's retention.
    let found = rights::export(store, &key_a(), &person.email)
        .await
        .unwrap();
    let plan = plan::plan_withdraw(found, Some("reply"), now);
    assert_eq!(plan.changes.len(), 1);
    assert!(
        plan.describe().contains("drops phone, message"),
        "{}",
        plan.describe()
    );
    assert!(
        !plan.describe().contains(&person.surname),
        "no personal data in the plan"
    );
    assert_eq!(rights::apply(store, &plan, ACTOR).await.unwrap().changed, 1);
    let after = reread(store, &record).await;
    assert_eq!(after.state, RecordState::Active);
    assert_eq!(after.subject.phone, "");
    assert_eq!(after.message, "");
    assert_eq!(after.phone_hmac, "", "the phone's lookup hash goes with it");
    assert_eq!(after.subject.surname, person.surname);
    assert_eq!(after.subject.email, person.email);
    assert_eq!(Some(after.expires_at), after.consent.purposes[1].expires_at);
    assert!(
        rights::find(store, &key_a(), Lookup::Phone(&person.phone))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(after.revision, record.revision + 1);

    // Newsletter withdrawn too: nothing in force, every category dropped, out of every list.
    let found = rights::export(store, &key_a(), &person.email)
        .await
        .unwrap();
    let plan = plan::plan_withdraw(found, Some("newsletter"), now);
    rights::apply(store, &plan, ACTOR).await.unwrap();
    let after = reread(store, &record).await;
    assert_eq!(after.state, RecordState::Withdrawn);
    assert_eq!(after.subject.surname, "");
    assert_eq!(after.subject.email, "");
    let all = store.list_records().await.unwrap();
    assert!(
        plan::processable(&all, None, now).all(|r| r.id != record.id),
        "a withdrawn record is in no list"
    );
    // The person can still see that the withdrawal was carried out.
    let found = rights::export(store, &key_a(), &person.email)
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    // Withdrawing again changes nothing.
    let again = plan::plan_withdraw(found, None, now);
    assert!(again.is_empty());
    assert_eq!(again.unchanged, 1);
}

async fn block_excludes_from_lists_and_exports_for_processing(owned: Arc<dyn Store>) {
    let store = owned.as_ref();
    let person = Person::new();
    let record = stored(store, &person).await;
    let now = OffsetDateTime::now_utc();
    let plan = plan::plan_block(reread(store, &record).await, true, now);
    assert_eq!(rights::apply(store, &plan, ACTOR).await.unwrap().changed, 1);
    let all = store.list_records().await.unwrap();
    for purpose in [None, Some("newsletter"), Some("reply")] {
        assert!(
            plan::processable(&all, purpose, now).all(|r| r.id != record.id),
            "blocked: not listed for {purpose:?}"
        );
    }
    // The person's own access request still shows it, marked blocked.
    let found = rights::export(store, &key_a(), &person.email)
        .await
        .unwrap();
    assert!(found[0].blocked_at.is_some());
    assert_eq!(
        found[0].subject.surname, person.surname,
        "blocking keeps the data"
    );
    let twice = plan::plan_block(found[0].clone(), true, now);
    assert!(
        twice.is_empty(),
        "blocking a blocked record changes nothing"
    );

    let plan = plan::plan_block(reread(store, &record).await, false, now);
    rights::apply(store, &plan, ACTOR).await.unwrap();
    let all = store.list_records().await.unwrap();
    assert_eq!(
        plan::processable(&all, Some("newsletter"), now)
            .filter(|r| r.id == record.id)
            .count(),
        1,
        "unblocked: listed again"
    );
}

async fn rectify_keeps_history_and_follows_the_lookup_keys(owned: Arc<dyn Store>) {
    let store = owned.as_ref();
    let person = Person::new();
    let record = stored(store, &person).await;
    let now = OffsetDateTime::now_utc();
    let new_phone = format!("+7702{}", &person.phone[5..]);
    let assignments = plan::parse_assignments(&[
        "surname=Түзетілгенова".to_owned(),
        format!("phone={new_phone}"),
    ])
    .unwrap();
    let plan = plan::plan_rectify(
        reread(store, &record).await,
        &key_a(),
        &assignments,
        30,
        now,
    )
    .unwrap();
    assert!(!plan.describe().contains(&person.surname));
    rights::apply(store, &plan, ACTOR).await.unwrap();
    let after = reread(store, &record).await;
    assert_eq!(after.subject.surname, "Түзетілгенова");
    assert_eq!(after.subject.phone, new_phone);
    assert_eq!(after.history.len(), 1);
    let changes = &after.history[0].changes;
    assert_eq!(changes[0].field, "surname");
    assert_eq!(changes[0].old.as_deref(), Some(person.surname.as_str()));
    assert_eq!(changes[1].old.as_deref(), Some(person.phone.as_str()));
    let by_new = rights::find(store, &key_a(), Lookup::Phone(&new_phone))
        .await
        .unwrap();
    assert_eq!(by_new.len(), 1);
    assert!(
        rights::find(store, &key_a(), Lookup::Phone(&person.phone))
            .await
            .unwrap()
            .is_empty()
    );
    // Bad values are refused as the form refuses them, without quoting them.
    let bad = plan::parse_assignments(&["email=not-an-address".to_owned()]).unwrap();
    let refused = plan::plan_rectify(after.clone(), &key_a(), &bad, 30, now).unwrap_err();
    assert!(!refused.to_string().contains("not-an-address"), "{refused}");

    // After the history's retention the old values go; the field names and date stay.
    let later = now + Duration::days(31);
    let plan = plan::plan_purge(vec![after], later);
    assert_eq!(plan.changes.len(), 1);
    rights::apply(store, &plan, ACTOR).await.unwrap();
    let after = reread(store, &record).await;
    assert_eq!(after.history.len(), 1);
    assert!(after.history[0].changes.iter().all(|c| c.old.is_none()));
    assert_eq!(after.history[0].changes[0].field, "surname");
}

async fn concurrent_withdraws_one_wins_one_conflicts(store: Arc<dyn Store>) {
    let person = Person::new();
    stored(store.as_ref(), &person).await;
    let now = OffsetDateTime::now_utc();
    // Two operators read the same records, then both withdraw.
    let first = rights::export(store.as_ref(), &key_a(), &person.email)
        .await
        .unwrap();
    let second = first.clone();
    let plans = [
        plan::plan_withdraw(first, Some("newsletter"), now),
        plan::plan_withdraw(second, None, now),
    ];
    let mut tasks = Vec::new();
    for plan in plans {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            rights::apply(store.as_ref(), &plan, ACTOR).await
        }));
    }
    let mut won = 0;
    let mut conflicts = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(applied) => {
                assert_eq!(applied.changed, 1);
                won += 1;
            }
            Err(RightsError::Store(StoreError::Conflict(message))) => {
                assert!(!message.contains(&person.email));
                conflicts += 1;
            }
            Err(other) => panic!("unexpected error: {other}"),
        }
    }
    assert_eq!(
        (won, conflicts),
        (1, 1),
        "one wins, the other reports a conflict"
    );
}

async fn anonymize_keeps_the_stamp_and_drops_the_person(owned: Arc<dyn Store>) {
    let store = owned.as_ref();
    let person = Person::new();
    let record = stored(store, &person).await;
    let now = OffsetDateTime::now_utc();
    let found = rights::export(store, &key_a(), &person.email)
        .await
        .unwrap();
    let plan = plan::plan_anonymize(found, now);
    assert_eq!(rights::apply(store, &plan, ACTOR).await.unwrap().changed, 1);
    let after = reread(store, &record).await;
    assert_eq!(after.state, RecordState::Anonymized);
    assert_eq!(after.received_at, record.received_at);
    assert_eq!(after.consent.purposes, record.consent.purposes);
    assert_eq!(after.consent.policy_sha256, record.consent.policy_sha256);
    assert_eq!(after.expires_at, record.expires_at);
    let text = serde_json::to_string(&after).unwrap();
    for secret in person.secrets(&key_a()) {
        assert!(
            !text.contains(&secret),
            "anonymized record still holds a personal value"
        );
    }
    assert!(
        rights::find(store, &key_a(), Lookup::Email(&person.email))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(plan::plan_anonymize(vec![after], now).is_empty());
}

async fn purge_is_per_purpose(owned: Arc<dyn Store>) {
    let store = owned.as_ref();
    let person = Person::new();
    let now = OffsetDateTime::now_utc();
    // The reply purpose's retention ended yesterday; the newsletter's runs on.
    let mut record = record_of(&person, &key_a());
    record.consent.purposes[0].expires_at = Some(now - Duration::days(1));
    store
        .insert_record(&record, &dedup_keys(None, in_a_minute()), &[])
        .await
        .unwrap();
    let mut gone = record_of(&Person::new(), &key_a());
    gone.expires_at = now - Duration::days(1);
    gone.consent.purposes[1].expires_at = Some(now - Duration::days(1));
    store
        .insert_record(&gone, &dedup_keys(None, in_a_minute()), &[])
        .await
        .unwrap();

    let plan = plan::plan_purge(vec![record.clone(), gone.clone()], now);
    assert_eq!(plan.changes.len(), 2, "{}", plan.describe());
    rights::apply(store, &plan, ACTOR).await.unwrap();
    let after = reread(store, &record).await;
    assert_eq!(after.subject.phone, "", "phone goes with the reply purpose");
    assert_eq!(after.message, "");
    assert_eq!(
        after.subject.surname, person.surname,
        "name stays for the newsletter"
    );
    assert_eq!(after.subject.email, person.email);
    assert_eq!(Some(after.expires_at), after.consent.purposes[1].expires_at);
    assert_eq!(store.get_record(gone.id).await.unwrap(), None);
}

/// `records answer`: the reply purpose ends 30 days after the answer, and the purge then
/// removes what no other purpose needs: phone and message where a newsletter grant remains,
/// the whole record where none does.
async fn an_answer_ends_the_reply_purpose_and_the_purge_follows(owned: Arc<dyn Store>) {
    let store = owned.as_ref();
    let now = OffsetDateTime::now_utc();
    let person = Person::new();
    let subscribed = stored(store, &person).await;
    let mut reply_only = record_of(&Person::new(), &key_a());
    reply_only.consent.purposes[1].granted = false;
    reply_only.consent.purposes[1].expires_at = None;
    reply_only.expires_at = now + Duration::days(365);
    store
        .insert_record(&reply_only, &dedup_keys(None, in_a_minute()), &[])
        .await
        .unwrap();

    for record in [&subscribed, &reply_only] {
        let Answering::Plan(plan) = inbox::plan_answer(store, record.id, ACTOR, 30, now)
            .await
            .unwrap()
        else {
            panic!("not answered yet");
        };
        assert_eq!(rights::apply(store, &plan, ACTOR).await.unwrap().changed, 1);
    }
    let answered = reread(store, &subscribed).await;
    assert_eq!(answered.answered.as_ref().map(|a| a.at), Some(now));
    assert_eq!(
        answered.consent.purposes[0].expires_at,
        Some(now + Duration::days(30))
    );
    assert_eq!(
        Some(answered.expires_at),
        answered.consent.purposes[1].expires_at
    );
    assert_eq!(
        reread(store, &reply_only).await.expires_at,
        now + Duration::days(30)
    );
    assert!(matches!(
        inbox::plan_answer(store, subscribed.id, "someone else", 30, now)
            .await
            .unwrap(),
        Answering::Already(by) if by == ACTOR
    ));

    let early = retention::purge(store, ACTOR, now + Duration::days(29))
        .await
        .unwrap();
    assert_eq!(early.total(), 0, "{early:?}");
    assert_eq!(reread(store, &subscribed).await, answered);

    let late = retention::purge(store, ACTOR, now + Duration::days(31))
        .await
        .unwrap();
    assert_eq!((late.deleted + late.late as usize, late.reduced), (1, 1));
    let kept = reread(store, &subscribed).await;
    assert_eq!(kept.subject.phone, "");
    assert_eq!(kept.message, "");
    assert_eq!(kept.subject.surname, person.surname);
    assert_eq!(kept.subject.email, person.email);
    assert_eq!(store.get_record(reply_only.id).await.unwrap(), None);

    let audit = store.list_audit(None).await.unwrap();
    let answers: Vec<_> = audit
        .iter()
        .filter(|e| e.action == AuditAction::Answer)
        .collect();
    assert_eq!(answers.len(), 2);
    assert!(answers.iter().all(|e| e.detail == "reply_after_answer=30"));
    assert_eq!(answers[0].record_id, Some(subscribed.id));
}

async fn erase_leaves_audit_entries_that_point_to_nothing_personal(owned: Arc<dyn Store>) {
    let store = owned.as_ref();
    let person = Person::new();
    let first = stored(store, &person).await;
    let second = stored(store, &person).await;
    let found = rights::export(store, &key_a(), &person.email)
        .await
        .unwrap();
    assert_eq!(found.len(), 2);
    let plan = plan::plan_erase(found);
    assert_eq!(rights::apply(store, &plan, ACTOR).await.unwrap().changed, 2);
    for record in [&first, &second] {
        assert_eq!(store.get_record(record.id).await.unwrap(), None);
    }
    assert!(
        rights::find(store, &key_a(), Lookup::Email(&person.email))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        rights::find(store, &key_a(), Lookup::Phone(&person.phone))
            .await
            .unwrap()
            .is_empty()
    );
    let audit = store.list_audit(None).await.unwrap();
    for record in [&first, &second] {
        let entry = audit
            .iter()
            .find(|e| e.record_id == Some(record.id) && e.action.as_str() == "erase")
            .expect("the erasure is audited");
        assert_eq!(entry.actor, ACTOR);
        assert_eq!(entry.affected, 1);
    }
}

async fn audit_entries_hold_no_personal_data(owned: Arc<dyn Store>) {
    use kelisim_relay::domain::request::{Outcome, RequestKind, default_deadlines};
    let store = owned.as_ref();
    let person = Person::new();
    let record = stored(store, &person).await;
    let now = OffsetDateTime::now_utc();
    // Every kind of action on the person: a look-up, a correction, a withdrawal, a request
    // opened and closed, an erasure.
    let found = rights::find(store, &key_a(), Lookup::Email(&person.email))
        .await
        .unwrap();
    rights::audit_read(store, ACTOR, AuditAction::Find, &found, "by email")
        .await
        .unwrap();
    let assignments = plan::parse_assignments(&["surname=Түзетілгенова".to_owned()]).unwrap();
    let rectify = plan::plan_rectify(
        reread(store, &record).await,
        &key_a(),
        &assignments,
        30,
        now,
    )
    .unwrap();
    rights::apply(store, &rectify, ACTOR).await.unwrap();
    let withdraw = plan::plan_withdraw(vec![reread(store, &record).await], Some("newsletter"), now);
    rights::apply(store, &withdraw, ACTOR).await.unwrap();
    let request = rights::open_request(
        store,
        &key_a(),
        RequestKind::Erasure,
        &person.email,
        "kk",
        &default_deadlines(),
        ACTOR,
    )
    .await
    .unwrap();
    rights::close_request(store, request.id, Outcome::Done, ACTOR)
        .await
        .unwrap();
    let erase = plan::plan_erase(vec![reread(store, &record).await]);
    rights::apply(store, &erase, ACTOR).await.unwrap();

    let audit = store.list_audit(None).await.unwrap();
    assert!(
        audit.len() >= 6,
        "every action left an entry: {}",
        audit.len()
    );
    let text = serde_json::to_string(&audit).unwrap();
    for secret in person.secrets(&key_a()) {
        assert!(
            !text.contains(&secret),
            "the audit log holds a personal value"
        );
    }
    assert!(!text.contains("Түзетілгенова"), "nor a corrected value");
}

async fn rekey_rederives_lookups_resumably(owned: Arc<dyn Store>) {
    let store = owned.as_ref();
    let person = Person::new();
    let record = stored(store, &person).await;
    // An interrupted rekey: the store says one is under way; everything else refuses.
    let start = store.get_key_state().await.unwrap();
    let under_way = KeyState {
        key_check: Some(key_a().key_check()),
        rekey_to: Some(key_b().key_check()),
        sealed: false,
    };
    store.set_key_state(&start, &under_way).await.unwrap();
    assert!(matches!(
        keys::check_key(store, &key_a(), ACTOR).await,
        Err(RightsError::Key(KeyMismatch::RekeyInProgress))
    ));
    // Running it again finishes it.
    let done = keys::rekey(store, &key_a(), &key_b(), ACTOR, RekeyStage::Finish)
        .await
        .unwrap();
    assert!(done.rekeyed >= 1);
    keys::check_key(store, &key_b(), ACTOR).await.unwrap();
    assert!(matches!(
        keys::check_key(store, &key_a(), ACTOR).await,
        Err(RightsError::Key(KeyMismatch::WrongKey))
    ));
    let found = rights::find(store, &key_b(), Lookup::Email(&person.email))
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, record.id);
    assert_eq!(
        rights::find(store, &key_b(), Lookup::Phone(&person.phone))
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        rights::find(store, &key_a(), Lookup::Email(&person.email))
            .await
            .unwrap()
            .is_empty()
    );
    // A second run finds nothing left to do.
    let again = keys::rekey(store, &key_b(), &key_b(), ACTOR, RekeyStage::Finish).await;
    assert!(again.is_ok(), "{again:?}");
}

async fn requests_get_due_dates_and_close_without_the_address(owned: Arc<dyn Store>) {
    let store = owned.as_ref();
    use kelisim_relay::domain::request::{Outcome, RequestKind, RequestStatus, default_deadlines};
    let person = Person::new();
    let now = OffsetDateTime::now_utc();
    let opened = rights::open_request(
        store,
        &key_a(),
        RequestKind::Erasure,
        &person.email,
        "ru",
        &default_deadlines(),
        ACTOR,
    )
    .await
    .unwrap();
    let due = opened.due_at.expect("confirmed at once, so due");
    assert!(due >= now + Duration::days(3) - Duration::minutes(1));
    assert!(due <= OffsetDateTime::now_utc() + Duration::days(3));
    let stored = store.get_request(opened.id).await.unwrap().expect("stored");
    assert_eq!(stored, opened);
    assert_eq!(stored.status(now), RequestStatus::Open);
    assert_eq!(
        stored.status(now + Duration::days(4)),
        RequestStatus::Overdue
    );
    let listed = store.list_requests().await.unwrap();
    assert!(listed.iter().any(|r| r.id == opened.id));

    // Two operators close it at once from the same read: one wins.
    let mut stale = stored.clone();
    let closed = rights::close_request(store, opened.id, Outcome::Done, ACTOR)
        .await
        .unwrap();
    assert!(closed.email.is_empty() && closed.email_hmac.is_empty());
    let again = store.get_request(opened.id).await.unwrap().unwrap();
    assert_eq!(again.outcome, Some(Outcome::Done));
    assert!(again.email.is_empty(), "a closed request holds no address");
    stale.close(Outcome::Refused, now);
    assert!(matches!(
        store.update_request(&stale).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        rights::close_request(store, opened.id, Outcome::Done, ACTOR).await,
        Err(RightsError::AlreadyClosed(_))
    ));
    assert!(matches!(
        rights::close_request(store, Uuid::now_v7(), Outcome::Done, ACTOR).await,
        Err(RightsError::NoSuchRequest(_))
    ));
}

async fn rekey_keeps_records_written_under_either_key_while_it_runs(owned: Arc<dyn Store>) {
    let store = owned.as_ref();
    keys::check_key(store, &key_a(), ACTOR).await.unwrap();
    let before = Person::new();
    stored(store, &before).await;
    keys::rekey(store, &key_a(), &key_b(), ACTOR, RekeyStage::Prepare)
        .await
        .unwrap();
    // Meanwhile a relay still on the old key, and one already on the new key, take posts.
    let on_old = Person::new();
    stored(store, &on_old).await;
    let on_new = Person::new();
    store
        .insert_record(
            &record_of(&on_new, &key_b()),
            &dedup_keys(None, in_a_minute()),
            &[],
        )
        .await
        .unwrap();
    keys::rekey(store, &key_a(), &key_b(), ACTOR, RekeyStage::Finish)
        .await
        .unwrap();
    for person in [&before, &on_old, &on_new] {
        let found = rights::find(store, &key_b(), Lookup::Email(&person.email))
            .await
            .unwrap();
        assert_eq!(found.len(), 1, "found with the new key");
    }
    // The old key may no longer write: nothing can be stranded under it.
    let late = store
        .insert_record(
            &record_of(&Person::new(), &key_a()),
            &dedup_keys(None, in_a_minute()),
            &[],
        )
        .await;
    assert!(matches!(late, Err(StoreError::WrongKey)), "{late:?}");
}

async fn rekey_rederives_the_address_hash_of_open_requests(owned: Arc<dyn Store>) {
    use kelisim_relay::domain::request::{RequestKind, default_deadlines};
    let store = owned.as_ref();
    keys::check_key(store, &key_a(), ACTOR).await.unwrap();
    let person = Person::new();
    let request = rights::open_request(
        store,
        &key_a(),
        RequestKind::Access,
        &person.email,
        "kk",
        &default_deadlines(),
        ACTOR,
    )
    .await
    .unwrap();
    keys::rekey(store, &key_a(), &key_b(), ACTOR, RekeyStage::Finish)
        .await
        .unwrap();
    let after = store.get_request(request.id).await.unwrap().unwrap();
    let email = kelisim_relay::domain::fields::Email::parse(&person.email).unwrap();
    assert_eq!(after.email_hmac, key_b().email_hmac(&email));
    assert_eq!(after.key_check, key_b().key_check());
}
