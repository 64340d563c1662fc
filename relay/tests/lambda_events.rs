#![cfg(feature = "lambda")]
//! The Lambda path end to end, minus AWS: function-URL events (payload 2.0, as captured from
//! a real function URL, in `fixtures/lambda/`) go through `lambda_http`'s own adapter, the
//! relay's router built by `kelisim_relay::lambda`, and a DynamoDB store whose SDK calls are
//! answered by aws-smithy-mocks. Asserted on the serialized response Lambda would return.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::sync::Arc;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::{
    TransactWriteItemsInput, TransactWriteItemsOutput,
};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use kelisim_relay::config::RelayConfig;
use kelisim_relay::lambda;
use kelisim_relay::store::dynamodb::DynamoStore;
use lambda_http::request::LambdaRequest;
use lambda_http::tower::ServiceExt;
use lambda_http::{Adapter, Context, LambdaEvent};
use serde_json::Value;

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The configuration a deployed function gets from its environment.
fn config() -> RelayConfig {
    let manifest = fixture_dir().join("consent-manifest.json");
    let mut config = RelayConfig::default();
    config
        .apply_env(|name| match name {
            "KELISIM_STORE" => Some("dynamodb".to_owned()),
            "KELISIM_DYNAMODB_TABLE" => Some("kelisim-records".to_owned()),
            "KELISIM_MANIFEST" => Some(manifest.display().to_string()),
            "KELISIM_HMAC_KEY" => {
                Some("4f1c2a9e7b3d5f60812a4c6e8b0d2f4163859a7bcde0f1a2b3c4d5e6f7081920".to_owned())
            }
            _ => None,
        })
        .unwrap();
    config
}

/// The text of the record being written, from a TransactWriteItems request.
fn record_json(input: &TransactWriteItemsInput) -> Option<Value> {
    let put = input.transact_items().first()?.put()?;
    let body = put.item().get("record")?.as_s().ok()?;
    serde_json::from_str(body).ok()
}

/// Sends one fixture event through lambda_http's adapter and the relay's router; returns
/// the response as Lambda serializes it for the function URL.
async fn invoke(fixture: &str, rules: &[&Rule]) -> Value {
    let text = std::fs::read_to_string(fixture_dir().join("lambda").join(fixture)).unwrap();
    let event: LambdaRequest = serde_json::from_str(&text).expect("a payload 2.0 event");
    let client: Client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, rules);
    let store = DynamoStore::new(client, "kelisim-records");
    let router = lambda::router(&config(), Arc::new(store)).unwrap();
    let response = Adapter::from(router)
        .oneshot(LambdaEvent::new(event, Context::default()))
        .await
        .expect("the router never fails an invocation");
    serde_json::to_value(&response).unwrap()
}

fn header<'a>(response: &'a Value, name: &str) -> &'a str {
    response["headers"][name]
        .as_str()
        .unwrap_or_else(|| panic!("no {name} header in {response}"))
}

#[tokio::test]
async fn a_base64_form_post_is_stored_and_redirected_to_thanks() {
    let stored = mock!(Client::transact_write_items)
        .match_requests(|input| {
            // The body arrived base64-encoded; the record proves it was decoded, repeated
            // `consent` keys included, and normalized.
            record_json(input).is_some_and(|record| {
                record["subject"]["surname"] == "Серікбаева"
                    && record["subject"]["phone"] == "+77011234567"
                    && record["consent"]["collection_method"] == "form_post"
                    && record["consent"]["purposes"][1]["purpose"] == "newsletter"
                    && record["consent"]["purposes"][1]["granted"] == true
            })
        })
        .then_output(|| TransactWriteItemsOutput::builder().build());
    let response = invoke("form-post.json", &[&stored]).await;
    assert_eq!(response["statusCode"], 303, "{response}");
    assert_eq!(header(&response, "location"), "https://woow.kz/kk/thanks/");
    assert_eq!(stored.num_calls(), 1);
}

#[tokio::test]
async fn an_invalid_form_post_is_redirected_to_the_error_page_with_codes_only() {
    // No rules: any store call would fail the request with a 503.
    let response = invoke("form-post-invalid.json", &[]).await;
    assert_eq!(response["statusCode"], 303, "{response}");
    let location = header(&response, "location");
    assert!(
        location.starts_with("https://woow.kz/kk/error/?errors="),
        "{location}"
    );
    assert!(location.contains("email:invalid_email"), "{location}");
    assert!(!location.contains("not-an-address"), "{location}");
}

#[tokio::test]
async fn a_json_post_answers_201_with_the_id_and_cors_headers() {
    let stored = mock!(Client::transact_write_items)
        .match_requests(|input| {
            record_json(input).is_some_and(|r| r["consent"]["collection_method"] == "script")
        })
        .then_output(|| TransactWriteItemsOutput::builder().build());
    let response = invoke("json-post.json", &[&stored]).await;
    assert_eq!(response["statusCode"], 201, "{response}");
    assert_eq!(
        header(&response, "access-control-allow-origin"),
        "https://woow.kz"
    );
    let body: Value = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
    let id = body["id"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{body}");
    assert_eq!(stored.num_calls(), 1);
}

#[tokio::test]
async fn an_options_preflight_from_the_site_is_allowed() {
    let response = invoke("preflight.json", &[]).await;
    assert_eq!(response["statusCode"], 204, "{response}");
    assert_eq!(
        header(&response, "access-control-allow-origin"),
        "https://woow.kz"
    );
    assert!(header(&response, "access-control-allow-methods").contains("POST"));
}

#[tokio::test]
async fn a_get_is_405() {
    let response = invoke("get.json", &[]).await;
    assert_eq!(response["statusCode"], 405, "{response}");
}

#[tokio::test]
async fn the_rate_limit_keys_on_the_request_context_source_ip() {
    let mut config = config();
    config.rate_limit.per_client = 1;
    let client: Client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, &[]);
    let store = DynamoStore::new(client, "kelisim-records");
    let router = lambda::router(&config, Arc::new(store)).unwrap();
    let text =
        std::fs::read_to_string(fixture_dir().join("lambda/form-post-invalid.json")).unwrap();
    let send = |source_ip: &str| {
        let mut event: Value = serde_json::from_str(&text).unwrap();
        event["requestContext"]["http"]["sourceIp"] = Value::from(source_ip);
        let event: LambdaRequest = serde_json::from_value(event).unwrap();
        let router = router.clone();
        async move {
            let response = Adapter::from(router)
                .oneshot(LambdaEvent::new(event, Context::default()))
                .await
                .unwrap();
            serde_json::to_value(&response).unwrap()
        }
    };
    // The invalid post needs no store; the first from 203.0.113.7 is judged on its fields.
    let first = send("203.0.113.7").await;
    assert!(
        header(&first, "location").contains("email:invalid_email"),
        "{first}"
    );
    let second = send("203.0.113.7").await;
    assert_eq!(
        header(&second, "location"),
        "https://woow.kz/kk/error/?errors=form:rate_limited"
    );
    let other = send("198.51.100.4").await;
    assert!(
        header(&other, "location").contains("email:invalid_email"),
        "{other}"
    );
}
