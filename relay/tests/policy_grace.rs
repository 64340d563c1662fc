//! The policy grace window (issue: locked policy versions with a grace period): after a new
//! version takes effect, a page opened before the deploy still submits the previous version
//! and hash. The relay accepts them for `policy_grace_hours` and stamps the record with the
//! version the person was shown; after that it answers "the policy changed, please reload".
//! Through `app()` on a real SQLite file, and through `Submission::parse` at exact instants.
#![cfg(all(feature = "http", feature = "sqlite"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::sync::Arc;

use axum::http::{StatusCode, header};
use common::*;
use kelisim_relay::domain::fields::ErrorCode;
use kelisim_relay::domain::messages::{Messages, Notice};
use kelisim_relay::domain::record::RecordId;
use kelisim_relay::domain::submission::{RawSubmission, Submission, grace_ends};
use kelisim_relay::manifest::{ConsentManifest, PolicyVersion};
use kelisim_relay::store::RecordStore;
use kelisim_relay::store::sqlite::SqliteStore;
use kelisim_relay::web::AppState;
use time::macros::datetime;
use time::{Date, Duration, OffsetDateTime};

/// The fixture's manifest after `kelisim policy new-version 1.1 --effective <effective>` and a
/// deploy: 1.1 is current in both languages, the fixture's 1.0 is the newest archived one, and
/// an older 0.9 sits behind it.
fn manifest_after_new_version(effective: Date, grace_hours: u32) -> ConsentManifest {
    let mut manifest = manifest();
    manifest.policy_grace_hours = grace_hours;
    for (lang, language) in &mut manifest.languages {
        // 1.0 was published with the fixture's labels; 1.1 changed the reply label.
        let mut previous = language.policy.clone();
        previous.labels = language.labels.clone();
        let mut changed = language.labels.clone();
        let reply = changed.get_mut("reply").expect("a reply label");
        *reply = kelisim_relay::manifest::ConsentLabel::new(format!("{} (1.1)", reply.text));
        language.labels = changed.clone();
        let older = PolicyVersion {
            version: "0.9".to_owned(),
            effective_date: "2023-01-01".to_owned(),
            url: format!("https://woow.kz/{lang}/privacy/0.9/"),
            sha256: "9".repeat(64),
            translation_of: previous.translation_of.clone(),
            labels: Default::default(),
            labels_url: None,
            permanent_url: None,
        };
        language.policy = PolicyVersion {
            version: "1.1".to_owned(),
            effective_date: effective.to_string(),
            url: format!("https://woow.kz/{lang}/privacy/1.1/"),
            sha256: "a".repeat(64),
            translation_of: previous.translation_of.clone(),
            labels: changed,
            labels_url: None,
            permanent_url: None,
        };
        language.previous_policies = vec![previous, older];
    }
    manifest
}

fn today() -> Date {
    OffsetDateTime::now_utc().date()
}

/// The app on a fresh SQLite file, and the store to read it back (the directory must live as
/// long as the store).
fn app_on_disk(manifest: ConsentManifest) -> (AppState, Arc<SqliteStore>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("records.sqlite")).unwrap());
    let state = AppState::new(store.clone(), manifest, settings()).unwrap();
    (state, store, dir)
}

/// A valid submission naming `version` and `hash`.
fn naming(lang: &str, version: &str, hash: &str) -> Vec<(String, String)> {
    let fields = with(valid_fields(lang), "policy_version", Some(version));
    with(fields, "policy_hash", Some(hash))
}

#[tokio::test]
async fn inside_the_window_the_previous_version_is_accepted_and_stamped_as_shown() {
    let manifest = manifest_after_new_version(today(), 24);
    let previous = manifest.languages["ru"].previous_policies[0].clone();
    let (state, store, _dir) = app_on_disk(manifest);

    let fields = naming("ru", &previous.version, &previous.sha256);
    let answer = send(&state, json_request(json_body(&fields), Some(SITE_ORIGIN))).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    let id: RecordId = answer.json()["id"].as_str().unwrap().parse().unwrap();
    let stamp = store.get_record(id).await.unwrap().expect("stored").consent;
    assert_eq!(stamp.policy_version, "1.0");
    assert_eq!(stamp.policy_sha256, previous.sha256);
    assert_eq!(stamp.policy_url, "https://woow.kz/ru/privacy/1.0/");
    let label_of = |stamp: &kelisim_relay::domain::record::ConsentStamp| {
        stamp
            .purposes
            .iter()
            .find(|p| p.purpose == "reply")
            .unwrap()
            .label_sha256
            .clone()
    };
    assert_eq!(
        label_of(&stamp),
        previous.labels["reply"].sha256,
        "stamped with the label its page showed, 1.0's"
    );

    // The new version is accepted at the same time, and stamped as itself.
    let fields = naming("ru", "1.1", &"A".repeat(64));
    let answer = send(&state, json_request(json_body(&fields), Some(SITE_ORIGIN))).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    let id: RecordId = answer.json()["id"].as_str().unwrap().parse().unwrap();
    let stamp = store.get_record(id).await.unwrap().expect("stored").consent;
    assert_eq!(stamp.policy_version, "1.1");
    assert_eq!(stamp.policy_sha256, "a".repeat(64));
    assert_eq!(stamp.policy_url, "https://woow.kz/ru/privacy/1.1/");
    assert_eq!(
        label_of(&stamp),
        state.manifest().languages["ru"].labels["reply"].sha256
    );
    assert_ne!(label_of(&stamp), previous.labels["reply"].sha256);

    // A plain form post (no script) takes the same path to the thank-you page.
    let previous = previous_of(&state, "kk");
    let fields = naming("kk", &previous.version, &previous.sha256);
    let answer = send(&state, form_request(form_body(&fields), Some(SITE_ORIGIN))).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(
        answer.header(header::LOCATION),
        Some("https://woow.kz/kk/thanks/")
    );
}

fn previous_of(state: &AppState, lang: &str) -> PolicyVersion {
    state.manifest().languages[lang].previous_policies[0].clone()
}

#[tokio::test]
async fn after_the_window_the_previous_version_gets_the_localized_reload_answer() {
    let manifest = manifest_after_new_version(today() - Duration::days(2), 24);
    let (state, store, _dir) = app_on_disk(manifest);
    for lang in ["kk", "ru"] {
        let previous = previous_of(&state, lang);
        let fields = naming(lang, &previous.version, &previous.sha256);
        let answer = send(&state, json_request(json_body(&fields), Some(SITE_ORIGIN))).await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{lang}");
        let body = answer.json();
        let reload = Messages::built_in().text(lang, Notice::Field(ErrorCode::PolicyMismatch));
        assert_eq!(body["fields"]["policy_version"]["code"], "policy_mismatch");
        assert_eq!(body["fields"]["policy_version"]["message"], reload.as_str());
        assert_eq!(body["fields"]["policy_hash"]["code"], "policy_mismatch");

        let answer = send(&state, form_request(form_body(&fields), Some(SITE_ORIGIN))).await;
        assert_eq!(
            answer.header(header::LOCATION),
            Some(
                format!(
                    "https://woow.kz/{lang}/error/?errors=policy_version:policy_mismatch,policy_hash:policy_mismatch"
                )
                .as_str()
            )
        );
    }
    let reload_kk = Messages::built_in().text("kk", Notice::Field(ErrorCode::PolicyMismatch));
    assert!(reload_kk.contains("қайта жүктеп"), "{reload_kk}");
    assert!(
        store
            .find_records_by_email(
                &hmac_key()
                    .email_hmac(&kelisim_relay::domain::fields::Email::parse(EMAIL).unwrap())
            )
            .await
            .unwrap()
            .is_empty(),
        "nothing stored after the window"
    );
}

#[tokio::test]
async fn a_longer_grace_keeps_the_previous_version_and_zero_turns_it_off() {
    let two_days_ago = today() - Duration::days(2);
    let (state, _store, _dir) = app_on_disk(manifest_after_new_version(two_days_ago, 72));
    let previous = previous_of(&state, "kk");
    let fields = naming("kk", &previous.version, &previous.sha256);
    let answer = send(&state, json_request(json_body(&fields), Some(SITE_ORIGIN))).await;
    assert_eq!(
        answer.status,
        StatusCode::CREATED,
        "72 h after a date 2 days back"
    );

    // Grace 0 ends at 00:00 UTC of the effective date, before any instant of that day.
    let (state, _store, _dir) = app_on_disk(manifest_after_new_version(today(), 0));
    let answer = send(&state, json_request(json_body(&fields), Some(SITE_ORIGIN))).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
}

fn parse_at(
    manifest: &ConsentManifest,
    fields: &[(String, String)],
    at: OffsetDateTime,
) -> Result<Submission, String> {
    let raw = RawSubmission::from_json(json_body(fields).as_bytes()).unwrap();
    Submission::parse(&raw, manifest, at).map_err(|errors| errors.to_query_value())
}

#[test]
fn the_window_ends_grace_hours_after_midnight_utc_of_the_effective_date() {
    let manifest = manifest_after_new_version(
        Date::from_calendar_date(2026, time::Month::December, 1).unwrap(),
        24,
    );
    let current = &manifest.languages["kk"].policy;
    assert_eq!(
        grace_ends(current, 24),
        Some(datetime!(2026-12-02 00:00 UTC))
    );
    let previous = manifest.languages["kk"].previous_policies[0].clone();
    let old = naming("kk", &previous.version, &previous.sha256);

    let last_second = datetime!(2026-12-01 23:59:59 UTC);
    let submission = parse_at(&manifest, &old, last_second).unwrap();
    assert_eq!(submission.policy_version, "1.0");
    assert_eq!(submission.policy_url, "https://woow.kz/kk/privacy/1.0/");
    assert_eq!(
        parse_at(&manifest, &old, datetime!(2026-12-02 00:00 UTC)).unwrap_err(),
        "policy_version:policy_mismatch,policy_hash:policy_mismatch"
    );
    // Before the new version takes effect the previous one is still in force, so accepted.
    assert!(parse_at(&manifest, &old, datetime!(2026-11-20 12:00 UTC)).is_ok());
}

#[test]
fn only_the_newest_previous_version_and_only_its_own_hash_get_the_grace() {
    let manifest = manifest_after_new_version(
        Date::from_calendar_date(2026, time::Month::December, 1).unwrap(),
        24,
    );
    let inside = datetime!(2026-12-01 08:00 UTC);
    let previous = manifest.languages["kk"].previous_policies[0].clone();

    // The version before the previous one: refused even inside the window.
    let older = naming("kk", "0.9", &"9".repeat(64));
    assert_eq!(
        parse_at(&manifest, &older, inside).unwrap_err(),
        "policy_version:policy_mismatch,policy_hash:policy_mismatch"
    );
    // The previous version with the current hash, and the reverse: the pair must be one text.
    let mixed = naming("kk", &previous.version, &"a".repeat(64));
    assert_eq!(
        parse_at(&manifest, &mixed, inside).unwrap_err(),
        "policy_hash:policy_mismatch"
    );
    let mixed = naming("kk", "1.1", &previous.sha256);
    assert_eq!(
        parse_at(&manifest, &mixed, inside).unwrap_err(),
        "policy_hash:policy_mismatch"
    );
    // Another language's previous hash.
    let ru_previous = manifest.languages["ru"].previous_policies[0].sha256.clone();
    let foreign = naming("kk", &previous.version, &ru_previous);
    assert_eq!(
        parse_at(&manifest, &foreign, inside).unwrap_err(),
        "policy_hash:policy_mismatch"
    );
}

#[test]
fn an_unreadable_effective_date_gives_no_grace_rather_than_an_endless_one() {
    let mut manifest = manifest_after_new_version(today(), 24);
    for language in manifest.languages.values_mut() {
        language.policy.effective_date = "soon".to_owned();
    }
    assert_eq!(grace_ends(&manifest.languages["kk"].policy, 24), None);
    let previous = manifest.languages["kk"].previous_policies[0].clone();
    let old = naming("kk", &previous.version, &previous.sha256);
    assert!(parse_at(&manifest, &old, OffsetDateTime::now_utc()).is_err());
    // The current version is unaffected.
    let current = naming("kk", "1.1", &"a".repeat(64));
    assert!(parse_at(&manifest, &current, OffsetDateTime::now_utc()).is_ok());
}

#[test]
fn a_manifest_without_the_setting_reads_as_24_hours() {
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture_path()).unwrap()).unwrap();
    json.as_object_mut().unwrap().remove("policy_grace_hours");
    let manifest: ConsentManifest = serde_json::from_value(json).unwrap();
    assert_eq!(manifest.policy_grace_hours, 24);
}
