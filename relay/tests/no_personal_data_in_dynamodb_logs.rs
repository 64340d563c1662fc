//! The no-personal-data-in-logs check on the DynamoDB store, through the relay's own logging
//! setup at `RUST_LOG=trace`: the AWS SDK and hyper log request and response bodies at
//! debug and trace, and here a body is a record, so `telemetry` must hold them to `info`.
//! Needs a DynamoDB-compatible server (`KELISIM_TEST_DYNAMODB_ENDPOINT`, as `scripts/test`
//! sets). It installs the global subscriber, so it runs in a process of its own.
#![cfg(all(feature = "dynamodb", feature = "http", feature = "sqlite"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::sync::Arc;

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use common::*;
use kelisim_relay::domain::fields::Email;
use kelisim_relay::store::Store;
use kelisim_relay::store::dynamodb::{self, DynamoStore};
use kelisim_relay::telemetry::{self, LogFormat};

fn store() -> DynamoStore {
    let endpoint = std::env::var("KELISIM_TEST_DYNAMODB_ENDPOINT")
        .expect("KELISIM_TEST_DYNAMODB_ENDPOINT: run scripts/test or scripts/moto-server");
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new(
            "kelisim-test",
            "kelisim-test",
            None,
            None,
            "test",
        ))
        .http_client(dynamodb::https_client())
        .build();
    let table = format!("kelisim-logs-{}", uuid::Uuid::now_v7().simple());
    DynamoStore::new(aws_sdk_dynamodb::Client::from_conf(config), table)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_submitted_personal_data_reaches_the_logs_on_dynamodb_even_at_trace() {
    // The global subscriber can be installed once per process, and must see only this test.
    if !crate::own_process::in_own_process(concat!(
        module_path!(),
        "::no_submitted_personal_data_reaches_the_logs_on_dynamodb_even_at_trace"
    )) {
        return;
    }
    let captured = Captured::default();
    telemetry::init_with(LogFormat::Json, captured.clone(), Some("trace"));

    let dynamo = store();
    dynamo.create_table().await.unwrap();
    let store: Arc<dyn Store> = Arc::new(dynamo);
    let ok = state(Arc::clone(&store));
    let valid = valid_fields("kk");
    let keyed = with(valid_fields("ru"), "idempotency_key", Some("k-dynamo-1"));
    for body in [&valid, &keyed, &keyed] {
        let answer = send(&ok, json_request(json_body(body), Some(SITE_ORIGIN))).await;
        assert_eq!(
            answer.status,
            axum::http::StatusCode::CREATED,
            "{}",
            answer.body
        );
    }
    let email_hmac = hmac_key().email_hmac(&Email::parse(EMAIL).unwrap());
    let found = store.find_records_by_email(&email_hmac).await.unwrap();
    assert_eq!(found.len(), 2);
    assert_eq!(store.list_records().await.unwrap().len(), 2);
    for record in found {
        assert!(store.delete_record(record.id).await.unwrap());
    }

    let logs = String::from_utf8(captured.bytes()).unwrap();
    assert!(logs.contains("form received"), "capture works: {logs}");
    assert!(
        logs.contains("\"level\":\"TRACE\"") || logs.contains("\"level\":\"DEBUG\""),
        "the relay's own verbose lines are kept"
    );
    assert!(
        !logs
            .lines()
            .any(|l| l.contains("aws_smithy") && l.contains("\"level\":\"TRACE\"")),
        "the SDK is clamped to info"
    );
    for secret in [
        SURNAME,
        FIRST_NAME,
        PATRONYMIC,
        EMAIL,
        PHONE_E164,
        "7017654321",
        MESSAGE,
        "Тестбаева",
    ] {
        assert!(!logs.contains(secret), "`{secret}` leaked into the logs");
    }
}
