//! A DynamoDB-compatible endpoint that accepts connections and never answers: the SDK's
//! operation and attempt timeouts must give the visitor a 503 with `Retry-After` within
//! seconds, instead of holding the request open. A real TCP server on loopback plays the hung
//! endpoint; the store is configured exactly as `kelisim-relay` and the Lambda configure it.
#![cfg(all(feature = "dynamodb", feature = "http", feature = "sqlite"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::{StatusCode, header};
use common::*;
use kelisim_relay::store::dynamodb::{DynamoConfig, DynamoStore, OPERATION_TIMEOUT};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_endpoint_gets_the_visitor_a_503_within_seconds() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    // Accepts every connection, reads nothing, answers nothing, keeps it open.
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    // Dummy credentials from the environment, so the SDK never looks further.
    let config = DynamoConfig {
        table: Some("kelisim-hung".to_owned()),
        region: Some("us-east-1".to_owned()),
        endpoint_url: Some(endpoint),
    };
    if std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
        panic!("set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (scripts/test sets dummy ones)");
    }
    let store = DynamoStore::from_config(&config).await.unwrap();
    let state = state(Arc::new(store));
    let started = Instant::now();
    // Without SDK timeouts this would hang; the outer bound turns a hang into a failure.
    let answer = tokio::time::timeout(
        Duration::from_secs(60),
        send(
            &state,
            json_request(json_body(&valid_fields("kk")), Some(SITE_ORIGIN)),
        ),
    )
    .await
    .expect("the relay answered instead of hanging on the endpoint");
    let took = started.elapsed();
    assert_eq!(
        answer.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        answer.body
    );
    assert_eq!(answer.header(header::RETRY_AFTER), Some("30"));
    // The bound is the configured operation timeout plus slack for a loaded machine; without
    // timeouts the request would hang until the test harness gave up.
    assert!(
        took < OPERATION_TIMEOUT + Duration::from_secs(10),
        "answered after {took:?}"
    );
}
