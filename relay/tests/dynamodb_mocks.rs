#![cfg(feature = "dynamodb")]
//! `DynamoStore`'s error mapping, without a server: aws-smithy-mocks answers the SDK's calls
//! with the errors a real table sends under load or on a bad day, which moto cannot produce.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "conformance/mod.rs"]
mod conformance;

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
use kelisim_relay::dynamodb::DynamoStore;
use kelisim_relay::record::RecordId;
use kelisim_relay::store::{DedupKeys, Inserted, Store, StoreError};
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
        .insert(&conformance::sample_record(), &dedup())
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
        .insert(&record, &dedup())
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
        .get(RecordId::new())
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
    use kelisim_relay::fingerprint::HmacKey;
    use kelisim_relay::intake::IntakeSettings;
    use kelisim_relay::manifest::ConsentManifest;
    use kelisim_relay::{AppState, app};
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
