//! Every log line the relay writes, at TRACE, is searched for the personal data that was
//! submitted: names, email, phone and message must never appear (policy §8.2; the brief's
//! hard rule). It installs the global subscriber, so it runs in a process of its own.
#![cfg(all(feature = "http", feature = "sqlite"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::sync::Arc;

use common::*;
use kelisim_relay::app::rights;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_submitted_personal_data_reaches_the_logs() {
    // The global subscriber can be installed once per process, and must see only this test.
    if !crate::own_process::in_own_process(concat!(
        module_path!(),
        "::no_submitted_personal_data_reaches_the_logs"
    )) {
        return;
    }
    let captured = Captured::default();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(captured.clone())
        .with_ansi(false)
        .init();

    let store = memory_store();
    let ok = state(store.clone());
    let failing = state(Arc::new(FailingStore));
    let valid = valid_fields("kk");
    let invalid = with(valid.clone(), "phone", Some("12"));
    let honeypot = with(valid.clone(), "website", Some("x"));
    let keyed = with(valid_fields("ru"), "idempotency_key", Some("k-1"));
    for body in [&valid, &invalid, &honeypot] {
        send(&ok, form_request(form_body(body), Some(SITE_ORIGIN))).await;
        send(&ok, json_request(json_body(body), Some(FOREIGN_ORIGIN))).await;
        send(&failing, json_request(json_body(body), None)).await;
    }
    send(&ok, json_request(json_body(&keyed), None)).await;
    send(&ok, json_request(json_body(&keyed), None)).await;
    let key = hmac_key();
    rights::export(store.as_ref(), &key, EMAIL).await.unwrap();
    let now = time::OffsetDateTime::now_utc();
    let found = rights::export(store.as_ref(), &key, EMAIL).await.unwrap();
    let plan = kelisim_relay::domain::plan::plan_withdraw(found, Some("reply"), now);
    rights::apply(store.as_ref(), &plan, "operator")
        .await
        .unwrap();
    let found = rights::export(store.as_ref(), &key, EMAIL).await.unwrap();
    let rectify =
        kelisim_relay::domain::plan::parse_assignments(&["surname=Басқаева".to_owned()]).unwrap();
    let refused =
        kelisim_relay::domain::plan::plan_rectify(found[0].clone(), &key, &rectify, 30, now)
            .expect_err("the name went with the only purpose");
    tracing::error!(%refused, "rectify refused");
    let plan = kelisim_relay::domain::plan::plan_erase(found);
    rights::apply(store.as_ref(), &plan, "operator")
        .await
        .unwrap();
    // An error's text too: a failing store during a subject request.
    let error = rights::export(&FailingStore, &key, EMAIL)
        .await
        .unwrap_err();
    tracing::error!(%error, "subject request failed");

    let logs = String::from_utf8(captured.bytes()).unwrap();
    assert!(logs.contains("form received"), "capture works: {logs}");
    assert!(logs.contains("store did not confirm the write"));
    assert!(logs.contains("honeypot"));
    for secret in [
        SURNAME,
        FIRST_NAME,
        PATRONYMIC,
        EMAIL,
        &EMAIL.to_uppercase(),
        PHONE_E164,
        "7017654321",
        "765-43-21",
        MESSAGE,
        "Құпия хабарлама",
        "Тестбаева",
    ] {
        assert!(
            !logs.contains(secret),
            "`{secret}` leaked into the logs:\n{logs}"
        );
    }
}
