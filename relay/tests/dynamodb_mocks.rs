#![cfg(feature = "dynamodb")]
//! `DynamoStore`'s error mapping, without a server: aws-smithy-mocks answers the SDK's calls
//! with the errors a real table sends under load or on a bad day, which moto cannot produce.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::conformance;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::ErrorMetadata;
use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
use aws_sdk_dynamodb::operation::transact_write_items::{
    TransactWriteItemsError, TransactWriteItemsOutput,
};
use aws_sdk_dynamodb::types::error::{
    InternalServerError, ProvisionedThroughputExceededException, RequestLimitExceeded,
    TransactionCanceledException,
};
use aws_sdk_dynamodb::types::{AttributeValue, CancellationReason};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use kelisim_relay::domain::record::RecordId;
use kelisim_relay::store::dynamodb::DynamoStore;
use kelisim_relay::store::{DedupKeys, Inserted, RecordStore, StoreError};
use time::{Duration, OffsetDateTime};

/// A client that answers only from `rules`, in order, with the SDK's retries off so each
/// rule answers exactly one call.
fn client(rules: &[&Rule]) -> Client {
    mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, rules, |config| {
        config.retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
    })
}

fn store(rules: &[&Rule]) -> DynamoStore {
    DynamoStore::new(client(rules), "kelisim-mock")
}

/// Error metadata as the SDK's deserializer fills it from a real response.
fn meta(code: &str, message: &str) -> ErrorMetadata {
    ErrorMetadata::builder().code(code).message(message).build()
}

fn dedup() -> DedupKeys {
    DedupKeys {
        idempotency_key: Some("a-page-visit-key".into()),
        fingerprint: "f".repeat(64),
        fingerprint_until: OffsetDateTime::now_utc() + Duration::minutes(1),
    }
}

async fn insert_with(rules: &[&Rule]) -> Result<Inserted, StoreError> {
    store(rules)
        .insert_record(&conformance::sample_record(), &dedup(), &[])
        .await
}

#[tokio::test]
async fn throttling_errors_become_busy() {
    let throughput = mock!(Client::transact_write_items).then_error(|| {
        TransactWriteItemsError::ProvisionedThroughputExceededException(
            ProvisionedThroughputExceededException::builder()
                .meta(meta(
                    "ProvisionedThroughputExceededException",
                    "The level of configured provisioned throughput for the table was exceeded",
                ))
                .build(),
        )
    });
    let request_limit = mock!(Client::transact_write_items).then_error(|| {
        TransactWriteItemsError::RequestLimitExceeded(
            RequestLimitExceeded::builder()
                .meta(meta(
                    "RequestLimitExceeded",
                    "Throughput exceeds the account limit",
                ))
                .build(),
        )
    });
    let throttling = mock!(Client::transact_write_items).then_error(|| {
        TransactWriteItemsError::generic(meta("ThrottlingException", "Rate exceeded"))
    });
    for rule in [&throughput, &request_limit, &throttling] {
        match insert_with(&[rule]).await {
            Err(StoreError::Busy(message)) => {
                assert!(message.starts_with("TransactWriteItems: "), "{message}");
            }
            other => panic!("expected Busy, got {other:?}"),
        }
        assert_eq!(rule.num_calls(), 1);
    }
}

#[tokio::test]
async fn a_throttled_item_inside_a_cancelled_transaction_is_busy_too() {
    let cancelled = mock!(Client::transact_write_items).then_error(|| {
        TransactWriteItemsError::TransactionCanceledException(
            TransactionCanceledException::builder()
                .meta(meta(
                    "TransactionCanceledException",
                    "Transaction cancelled",
                ))
                .cancellation_reasons(CancellationReason::builder().code("None").build())
                .cancellation_reasons(
                    CancellationReason::builder()
                        .code("ThrottlingError")
                        .build(),
                )
                .build(),
        )
    });
    assert!(matches!(
        insert_with(&[&cancelled]).await,
        Err(StoreError::Busy(_))
    ));
}

fn cancelled_by_condition(reasons: Vec<CancellationReason>) -> Rule {
    mock!(Client::transact_write_items).then_error(move || {
        TransactWriteItemsError::TransactionCanceledException(
            TransactionCanceledException::builder()
                .meta(meta(
                    "TransactionCanceledException",
                    "Transaction cancelled",
                ))
                .set_cancellation_reasons(Some(reasons.clone()))
                .build(),
        )
    })
}

fn none() -> CancellationReason {
    CancellationReason::builder().code("None").build()
}

#[tokio::test]
async fn a_failed_idempotency_condition_returns_the_earlier_id_from_the_reason() {
    let earlier = RecordId::new();
    // Order of the transaction: record, fingerprint, idempotency key.
    let rule = cancelled_by_condition(vec![
        none(),
        none(),
        CancellationReason::builder()
            .code("ConditionalCheckFailed")
            .item("record_id", AttributeValue::S(earlier.to_string()))
            .build(),
    ]);
    assert_eq!(
        insert_with(&[&rule]).await.unwrap(),
        Inserted::Duplicate(earlier)
    );
}

#[tokio::test]
async fn a_failed_fingerprint_condition_reads_the_earlier_id_when_the_reason_has_no_item() {
    let earlier = RecordId::new();
    let rule = cancelled_by_condition(vec![
        none(),
        CancellationReason::builder()
            .code("ConditionalCheckFailed")
            .build(),
        none(),
    ]);
    let read = mock!(Client::get_item)
        .match_requests(|req| {
            req.consistent_read() == Some(true)
                && req
                    .key()
                    .and_then(|k| k.get("pk"))
                    .and_then(|v| v.as_s().ok())
                    .is_some_and(|pk| pk.starts_with("FP#"))
        })
        .then_output(move || {
            GetItemOutput::builder()
                .item("record_id", AttributeValue::S(earlier.to_string()))
                .build()
        });
    assert_eq!(
        insert_with(&[&rule, &read]).await.unwrap(),
        Inserted::Duplicate(earlier)
    );
    assert_eq!(read.num_calls(), 1);
}

#[tokio::test]
async fn a_transaction_conflict_is_retried() {
    let conflict = cancelled_by_condition(vec![
        none(),
        CancellationReason::builder()
            .code("TransactionConflict")
            .build(),
        none(),
    ]);
    let success = mock!(Client::transact_write_items)
        .then_output(|| TransactWriteItemsOutput::builder().build());
    let record = conformance::sample_record();
    let inserted = store(&[&conflict, &success])
        .insert_record(&record, &dedup(), &[])
        .await
        .unwrap();
    assert_eq!(inserted, Inserted::New(record.id));
    assert_eq!((conflict.num_calls(), success.num_calls()), (1, 1));
}

#[tokio::test]
async fn other_service_errors_are_backend_errors_without_the_service_message() {
    // A service message can quote item values; the store error must not carry it on.
    let rule = mock!(Client::transact_write_items).then_error(|| {
        TransactWriteItemsError::InternalServerError(
            InternalServerError::builder()
                .message("failed on item with surname Серікбаева")
                .meta(meta(
                    "InternalServerError",
                    "failed on item with surname Серікбаева",
                ))
                .build(),
        )
    });
    match insert_with(&[&rule]).await {
        Err(StoreError::Backend(message)) => {
            assert_eq!(message, "TransactWriteItems: InternalServerError");
        }
        other => panic!("expected Backend, got {other:?}"),
    }

    let validation = mock!(Client::get_item).then_error(|| {
        aws_sdk_dynamodb::operation::get_item::GetItemError::generic(meta(
            "ValidationException",
            "One or more parameter values were invalid: aigerim@example.kz",
        ))
    });
    let err = store(&[&validation])
        .get_record(RecordId::new())
        .await
        .expect_err("a validation error");
    assert!(matches!(err, StoreError::Backend(_)), "{err:?}");
    assert!(!err.to_string().contains("aigerim"), "{err}");
}

/// The relay's router on a throttled DynamoDB table answers 503 with `Retry-After`, the
/// status the page's script and browsers know to retry on.
#[cfg(feature = "http")]
mod through_the_router {
    use std::sync::Arc;

    use axum::body::Body;
    use axum::http::{Request, StatusCode, header};
    use kelisim_relay::domain::hmac_key::HmacKey;
    use kelisim_relay::domain::stamp::IntakeSettings;
    use kelisim_relay::manifest::ConsentManifest;
    use kelisim_relay::web::{AppState, app};
    use tower::ServiceExt;

    use super::*;

    const MANIFEST: &str = include_str!("fixtures/consent-manifest.json");

    fn state(store: DynamoStore) -> AppState {
        let manifest: ConsentManifest = serde_json::from_str(MANIFEST).unwrap();
        let settings = IntakeSettings {
            hmac_key: HmacKey::from_bytes(vec![7; 32]).unwrap(),
            retention_days: [("reply".to_owned(), 365), ("newsletter".to_owned(), 1095)].into(),
            fingerprint_window: Duration::seconds(60),
            storage_location: "mock DynamoDB".into(),
            confirm_within: time::Duration::days(7),
        };
        AppState::new(Arc::new(store), manifest, settings).unwrap()
    }

    fn valid_json_body(manifest: &ConsentManifest) -> String {
        let kk = &manifest.languages["kk"].policy;
        serde_json::json!({
            "surname": "Серікбаева",
            "first_name": "Әйгерім",
            "patronymic": "",
            "email": "aigerim@example.kz",
            "phone": "+7 701 123 45 67",
            "message": "Сәлеметсіз бе!",
            "lang": "kk",
            "consent": ["reply"],
            "policy_version": kk.version,
            "policy_hash": kk.sha256,
            "idempotency_key": uuid::Uuid::now_v7().to_string(),
            "website": "",
        })
        .to_string()
    }

    #[tokio::test]
    async fn a_throttled_store_answers_503_with_retry_after() {
        let throttled = mock!(Client::transact_write_items).then_error(|| {
            TransactWriteItemsError::ProvisionedThroughputExceededException(
                ProvisionedThroughputExceededException::builder()
                    .meta(meta("ProvisionedThroughputExceededException", "slow down"))
                    .build(),
            )
        });
        let state = state(store(&[&throttled]));
        let body = valid_json_body(state.manifest());
        let response = app(state)
            .oneshot(
                Request::post("/api/contact")
                    .header(header::CONTENT_TYPE, "application/json")
                    .header(header::ACCEPT, "application/json")
                    .header(header::ORIGIN, "https://woow.kz")
                    .body(Body::from(body))
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(response.headers().contains_key(header::RETRY_AFTER));
        let bytes = axum::body::to_bytes(response.into_body(), 64 * 1024)
            .await
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(json["error"], "unavailable");
        assert_eq!(throttled.num_calls(), 1, "the store was really asked");
    }
}

/// Faults around a write that a real table can commit: a small in-memory table behind the
/// mocks applies each transaction's `attribute_not_exists(#pk)` conditions and answers as
/// DynamoDB does (a cancellation with the old items), so a test can see what was stored.
/// The list: throttling on every attempt, 5xx, a timeout after the write, and a
/// cancelled transaction. Each asserts no record lost or duplicated, and a 503 only when
/// nothing was stored or the store cannot know (then the visitor's retry resolves it).
#[cfg(feature = "http")]
mod faults {
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    use aws_sdk_dynamodb::config::http::HttpResponse;
    use aws_sdk_dynamodb::config::retry::RetryConfig;
    use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
    use aws_sdk_dynamodb::config::{AsyncSleep, Sleep};
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput;
    use axum::body::Body;
    use axum::http::{Request, StatusCode, header};
    use kelisim_relay::domain::hmac_key::HmacKey;
    use kelisim_relay::domain::stamp::IntakeSettings;
    use kelisim_relay::manifest::ConsentManifest;
    use kelisim_relay::web::{AppState, app};
    use tower::ServiceExt;

    use super::*;

    type Item = HashMap<String, AttributeValue>;

    /// The table: `pk` to item.
    #[derive(Clone, Default)]
    struct Table(Arc<Mutex<HashMap<String, Item>>>);

    impl Table {
        /// Applies one TransactWriteItems as DynamoDB would, all puts or none, and returns
        /// the service's answer: 200, or 400 with the cancellation reasons and old items.
        fn transact(&self, input: &TransactWriteItemsInput) -> HttpResponse {
            let mut items = self.0.lock().unwrap();
            // The insert puts its items and checks the key state, which this table (like a
            // fresh store) has none of, so every check passes.
            let puts: Vec<Option<Item>> = input
                .transact_items()
                .iter()
                .map(|t| match (t.put(), t.condition_check()) {
                    (Some(put), _) => Some(put.item().clone()),
                    (None, Some(_)) => None,
                    (None, None) => panic!("the insert only puts and checks"),
                })
                .collect();
            let pk = |item: &Item| item["pk"].as_s().unwrap().clone();
            let reasons: Vec<serde_json::Value> = puts
                .iter()
                .map(
                    |put| match put.as_ref().and_then(|put| items.get(&pk(put))) {
                        Some(old) => serde_json::json!({
                            "Code": "ConditionalCheckFailed",
                            "Message": "The conditional request failed",
                            "Item": to_json(old),
                        }),
                        None => serde_json::json!({ "Code": "None" }),
                    },
                )
                .collect();
            if reasons.iter().any(|r| r["Code"] != "None") {
                return cancellation(reasons);
            }
            for put in puts.into_iter().flatten() {
                items.insert(pk(&put), put);
            }
            http(200, "{}")
        }

        /// Answers GetItem from the table (the relay reads an earlier record back to compare
        /// a replayed idempotency key's content).
        fn get_rule(&self) -> Rule {
            let table = self.clone();
            mock!(Client::get_item).then_compute_output(move |input| {
                let pk = input
                    .key()
                    .and_then(|k| k.get("pk"))
                    .and_then(|v| v.as_s().ok());
                let item = pk.and_then(|pk| table.0.lock().unwrap().get(pk).cloned());
                GetItemOutput::builder().set_item(item).build()
            })
        }

        /// The record ids of the stored records.
        fn records(&self) -> Vec<String> {
            self.0
                .lock()
                .unwrap()
                .values()
                .filter(|item| {
                    item.get("kind")
                        .and_then(|k| k.as_s().ok())
                        .map(String::as_str)
                        == Some("record")
                })
                .map(|item| item["record_id"].as_s().unwrap().clone())
                .collect()
        }
    }

    /// An item in DynamoDB's JSON (the attribute types the store writes).
    fn to_json(item: &Item) -> serde_json::Value {
        item.iter()
            .map(|(name, value)| {
                let typed = match value {
                    AttributeValue::S(v) => serde_json::json!({ "S": v }),
                    AttributeValue::N(v) => serde_json::json!({ "N": v }),
                    AttributeValue::Ss(v) => serde_json::json!({ "SS": v }),
                    other => panic!("the store does not write {other:?}"),
                };
                (name.clone(), typed)
            })
            .collect::<serde_json::Map<_, _>>()
            .into()
    }

    /// An error answer as the service sends it (awsJson1_0).
    fn service_error(status: u16, kind: &str, mut fields: serde_json::Value) -> HttpResponse {
        fields["__type"] = format!("com.amazonaws.dynamodb.v20120810#{kind}").into();
        http(status, &fields.to_string())
    }

    fn cancellation(reasons: Vec<serde_json::Value>) -> HttpResponse {
        service_error(
            400,
            "TransactionCanceledException",
            serde_json::json!({
                "Message": "Transaction cancelled, please refer cancellation reasons for specific reasons",
                "CancellationReasons": reasons,
            }),
        )
    }

    /// An HTTP answer as the service sends it; 5xx and throttling ones the SDK retries.
    fn http(status: u16, body: &str) -> HttpResponse {
        // The status and body types are the SDK's own (`StatusCode`, `SdkBody`); conversions
        // name them without another dependency.
        let mut response = HttpResponse::new(status.try_into().unwrap(), body.to_owned().into());
        response
            .headers_mut()
            .insert("content-type", "application/x-amz-json-1.0");
        response
    }

    /// What the table does on the n-th TransactWriteItems attempt (from 0).
    #[derive(Clone, Copy, Debug)]
    enum Fault {
        /// Works as DynamoDB does.
        Healthy,
        /// Refuses with throttling before writing.
        Throttle,
        /// Answers 500 before writing.
        ServerErrorBefore,
        /// Commits, then answers 500: the answer says "failed", the write is there.
        ServerErrorAfter,
        /// Commits, then the answer never arrives (the client's attempt timeout fires).
        LostAfter,
        /// Cancels the whole transaction for a reason other than dedup or throttling.
        Cancel(&'static str),
    }

    /// The one rule: every TransactWriteItems attempt goes through `plan` and the table.
    /// The mocks hand a retried attempt no input, so the request is kept from the first
    /// attempt (the SDK resends the same one), and every answer is an HTTP response.
    fn table_rule(table: &Table, plan: impl Fn(usize) -> Fault + Send + Sync + 'static) -> Rule {
        let table = table.clone();
        let request: Arc<Mutex<Option<TransactWriteItemsInput>>> = Arc::default();
        let keep = request.clone();
        let calls = AtomicUsize::new(0);
        mock!(Client::transact_write_items)
            .match_requests(move |input| {
                *keep.lock().unwrap() = Some(input.clone());
                true
            })
            .sequence()
            .http_response(move || {
                let input = request.lock().unwrap().clone().expect("a request was sent");
                match plan(calls.fetch_add(1, Ordering::SeqCst)) {
                    Fault::Healthy => table.transact(&input),
                    Fault::Throttle => service_error(
                        400,
                        "ProvisionedThroughputExceededException",
                        serde_json::json!({ "message": "slow down" }),
                    ),
                    Fault::ServerErrorBefore => service_error(
                        500,
                        "InternalServerError",
                        serde_json::json!({ "message": "Internal server error" }),
                    ),
                    Fault::ServerErrorAfter => {
                        let _ = table.transact(&input);
                        service_error(
                            500,
                            "InternalServerError",
                            serde_json::json!({ "message": "Internal server error" }),
                        )
                    }
                    Fault::LostAfter => {
                        // Handed to the HTTP client, which never answers (`NeverClient`).
                        table.transact(&input)
                    }
                    Fault::Cancel(code) => cancellation(
                        input
                            .transact_items()
                            .iter()
                            .enumerate()
                            .map(|(i, _)| {
                                serde_json::json!({ "Code": if i == 0 { code } else { "None" } })
                            })
                            .collect(),
                    ),
                }
            })
            .repeatedly()
            .build()
    }

    #[derive(Debug)]
    struct TokioSleep;

    impl AsyncSleep for TokioSleep {
        fn sleep(&self, duration: std::time::Duration) -> Sleep {
            Sleep::new(tokio::time::sleep(duration))
        }
    }

    /// A client as the relay builds one (the SDK's standard retries, three attempts), with
    /// millisecond backoff so the tests stay quick.
    fn retrying_client(rule: &Rule, table: &Table) -> Client {
        let reads = table.get_rule();
        mock_client!(
            aws_sdk_dynamodb,
            RuleMode::MatchAny,
            [rule, &reads],
            |config| {
                config
                    .retry_config(
                        RetryConfig::standard()
                            .with_max_attempts(3)
                            .with_initial_backoff(std::time::Duration::from_millis(1)),
                    )
                    .sleep_impl(TokioSleep)
            }
        )
    }

    /// The same, on an endpoint that takes requests and never answers: every attempt ends
    /// in the SDK's attempt timeout.
    fn hanging_client(rule: &Rule, table: &Table) -> Client {
        let reads = table.get_rule();
        mock_client!(
            aws_sdk_dynamodb,
            RuleMode::MatchAny,
            [rule, &reads],
            |config| {
                config
                    .retry_config(
                        RetryConfig::standard()
                            .with_max_attempts(2)
                            .with_initial_backoff(std::time::Duration::from_millis(1)),
                    )
                    .timeout_config(
                        TimeoutConfig::builder()
                            .operation_attempt_timeout(std::time::Duration::from_millis(50))
                            .build(),
                    )
                    .http_client(aws_smithy_http_client::test_util::NeverClient::new())
                    .sleep_impl(TokioSleep)
            }
        )
    }

    const MANIFEST: &str = include_str!("fixtures/consent-manifest.json");

    fn state(client: Client) -> AppState {
        let manifest: ConsentManifest = serde_json::from_str(MANIFEST).unwrap();
        let settings = IntakeSettings {
            hmac_key: HmacKey::from_bytes(vec![7; 32]).unwrap(),
            retention_days: [("reply".to_owned(), 365), ("newsletter".to_owned(), 1095)].into(),
            fingerprint_window: Duration::seconds(60),
            storage_location: "mock DynamoDB".into(),
            confirm_within: time::Duration::days(7),
        };
        AppState::new(
            Arc::new(DynamoStore::new(client, "kelisim-mock")),
            manifest,
            settings,
        )
        .unwrap()
    }

    /// The script's JSON post; `key` None is the no-JavaScript case (fingerprint dedup only).
    fn body(key: Option<&str>) -> String {
        let manifest: ConsentManifest = serde_json::from_str(MANIFEST).unwrap();
        let kk = &manifest.languages["kk"].policy;
        serde_json::json!({
            "surname": "Серікбаева",
            "first_name": "Әйгерім",
            "email": "aigerim@example.kz",
            "phone": "+7 701 123 45 67",
            "message": "Сәлеметсіз бе!",
            "lang": "kk",
            "consent": ["reply"],
            "policy_version": kk.version,
            "policy_hash": kk.sha256,
            "idempotency_key": key.unwrap_or(""),
            "website": "",
        })
        .to_string()
    }

    /// Posts `body` and returns the status and, for a 201, the record id.
    async fn post(state: AppState, body: &str) -> (StatusCode, Option<String>, bool) {
        let response = app(state)
            .oneshot(
                Request::post("/api/contact")
                    .header(header::CONTENT_TYPE, "application/json")
                    .header(header::ACCEPT, "application/json")
                    .header(header::ORIGIN, "https://woow.kz")
                    .body(Body::from(body.to_owned()))
                    .unwrap(),
            )
            .await
            .unwrap();
        let status = response.status();
        let retry_after = response.headers().contains_key(header::RETRY_AFTER);
        let bytes = axum::body::to_bytes(response.into_body(), 64 * 1024)
            .await
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let id = json["id"].as_str().map(str::to_owned);
        (status, id, retry_after)
    }

    #[tokio::test]
    async fn throttled_on_every_attempt_is_503_with_nothing_stored_then_the_retry_stores_once() {
        let table = Table::default();
        let rule = table_rule(&table, |_| Fault::Throttle);
        let state = state(retrying_client(&rule, &table));
        let key = uuid::Uuid::now_v7().to_string();
        let (status, _, retry_after) = post(state, &body(Some(&key))).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(retry_after);
        assert_eq!(
            rule.num_calls(),
            3,
            "the SDK's three attempts, each throttled"
        );
        assert!(table.records().is_empty());

        // The throttling passes; the visitor's retry (same key) is stored once.
        let healthy = table_rule(&table, |_| Fault::Healthy);
        let (status, id, _) = post(state_on(&healthy, &table), &body(Some(&key))).await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(table.records(), vec![id.unwrap()]);
    }

    fn state_on(rule: &Rule, table: &Table) -> AppState {
        state(retrying_client(rule, table))
    }

    #[tokio::test]
    async fn a_5xx_on_every_attempt_is_503_with_nothing_stored() {
        let table = Table::default();
        let rule = table_rule(&table, |_| Fault::ServerErrorBefore);
        let (status, _, retry_after) = post(
            state_on(&rule, &table),
            &body(Some(&uuid::Uuid::now_v7().to_string())),
        )
        .await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(retry_after);
        assert_eq!(rule.num_calls(), 3, "5xx is retried by the SDK");
        assert!(table.records().is_empty());
    }

    #[tokio::test]
    async fn a_5xx_after_the_write_resolves_to_the_stored_record_not_a_second_one() {
        let table = Table::default();
        // The first attempt commits and answers 500; the SDK's retry meets its own items.
        let rule = table_rule(&table, |call| {
            if call == 0 {
                Fault::ServerErrorAfter
            } else {
                Fault::Healthy
            }
        });
        let (status, id, _) = post(
            state_on(&rule, &table),
            &body(Some(&uuid::Uuid::now_v7().to_string())),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "stored, so not 503");
        assert_eq!(rule.num_calls(), 2);
        assert_eq!(
            table.records(),
            vec![id.unwrap()],
            "exactly one record, the one named"
        );
    }

    #[tokio::test]
    async fn a_timeout_after_the_write_is_resolved_by_the_idempotency_key_on_retry() {
        let table = Table::default();
        let lost = table_rule(&table, |_| Fault::LostAfter);
        let key = uuid::Uuid::now_v7().to_string();
        // Every attempt commits (the first) or meets its own items (the second), and no
        // answer arrives: the relay cannot know, so it says 503 and the visitor retries.
        let (status, _, retry_after) =
            post(state(hanging_client(&lost, &table)), &body(Some(&key))).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(retry_after);
        assert_eq!(lost.num_calls(), 2, "the SDK retried the timed-out attempt");
        let stored = table.records();
        assert_eq!(stored.len(), 1, "the first attempt was committed");

        // The endpoint answers again; the script's retry carries the same key.
        let healthy = table_rule(&table, |_| Fault::Healthy);
        let (status, id, _) = post(state_on(&healthy, &table), &body(Some(&key))).await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(
            id.as_deref(),
            Some(stored[0].as_str()),
            "the same record, not a second"
        );
        assert_eq!(table.records(), stored);
    }

    #[tokio::test]
    async fn a_timeout_after_the_write_is_resolved_by_the_fingerprint_without_a_key() {
        let table = Table::default();
        let lost = table_rule(&table, |_| Fault::LostAfter);
        let (status, _, _) = post(state(hanging_client(&lost, &table)), &body(None)).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        let stored = table.records();
        assert_eq!(stored.len(), 1);

        let healthy = table_rule(&table, |_| Fault::Healthy);
        let (status, id, _) = post(state_on(&healthy, &table), &body(None)).await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(id.as_deref(), Some(stored[0].as_str()));
        assert_eq!(table.records(), stored);
    }

    #[tokio::test]
    async fn a_cancelled_transaction_is_503_with_nothing_stored() {
        for code in [
            "ValidationError",
            "ItemCollectionSizeLimitExceeded",
            "TransactionConflict",
        ] {
            let table = Table::default();
            let rule = table_rule(&table, move |_| Fault::Cancel(code));
            let (status, _, retry_after) = post(
                state_on(&rule, &table),
                &body(Some(&uuid::Uuid::now_v7().to_string())),
            )
            .await;
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{code}");
            assert!(retry_after, "{code}");
            assert!(table.records().is_empty(), "{code}");
            assert!(rule.num_calls() >= 1, "{code}");
        }
    }
}
