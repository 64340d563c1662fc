//! Keeps `relay/openapi.yaml` true: its fields, limits, required list, error codes and status
//! codes must equal what the code accepts and what the handler really answers.
#![cfg(all(feature = "http", feature = "sqlite"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, header};
use common::*;
use kelisim_relay::config::RateLimitConfig;
use kelisim_relay::domain::fields::{ACCEPTED_FIELDS, ErrorCode, limit};
use kelisim_relay::web::AppState;
use kelisim_relay::web::form::BODY_LIMIT;
use serde_json::Value;

fn spec() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml");
    serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn keys(value: &Value) -> BTreeSet<String> {
    value.as_object().unwrap().keys().cloned().collect()
}

fn strings(value: &Value) -> BTreeSet<String> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn documented_fields_and_limits_are_the_accepted_ones() {
    let spec = spec();
    let accepted: BTreeSet<String> = ACCEPTED_FIELDS.iter().map(|f| (*f).to_owned()).collect();
    for schema in ["ContactForm", "ContactFormJson"] {
        let schema = &spec["components"]["schemas"][schema];
        assert_eq!(keys(&schema["properties"]), accepted, "{schema}");
        assert_eq!(schema["additionalProperties"], false);
        let props = &schema["properties"];
        for (field, max) in [
            ("surname", limit::NAME),
            ("first_name", limit::NAME),
            ("patronymic", limit::NAME),
            ("email", limit::EMAIL),
            ("phone", limit::PHONE),
            ("message", limit::MESSAGE),
            ("idempotency_key", limit::IDEMPOTENCY_KEY),
        ] {
            assert_eq!(props[field]["maxLength"], max, "{field}");
        }
        let purposes: BTreeSet<String> = manifest().purposes.iter().map(|p| p.id.clone()).collect();
        assert_eq!(strings(&props["consent"]["items"]["enum"]), purposes);
    }
}

#[test]
fn documented_error_codes_are_the_real_ones() {
    let documented = strings(&spec()["components"]["schemas"]["ErrorCode"]["enum"]);
    let real: BTreeSet<String> = ErrorCode::ALL
        .iter()
        .map(|c| c.as_str().to_owned())
        .collect();
    assert_eq!(documented, real);
}

/// The statuses and `error` values the handler actually produces, by method.
#[derive(Default)]
struct Observed {
    post: BTreeSet<String>,
    options: BTreeSet<String>,
    other: BTreeSet<String>,
    problems: BTreeSet<String>,
}

impl Observed {
    fn note(set: &mut BTreeSet<String>, problems: &mut BTreeSet<String>, answer: &Answer) {
        set.insert(answer.status.as_u16().to_string());
        if let Ok(Value::Object(body)) = serde_json::from_str::<Value>(&answer.body)
            && let Some(Value::String(error)) = body.get("error")
            && error != "validation"
        {
            problems.insert(error.clone());
        }
    }
    fn post(&mut self, answer: &Answer) {
        Self::note(&mut self.post, &mut self.problems, answer);
    }
    fn options(&mut self, answer: &Answer) {
        Self::note(&mut self.options, &mut self.problems, answer);
    }
    fn other(&mut self, answer: &Answer) {
        Self::note(&mut self.other, &mut self.problems, answer);
    }
}

#[tokio::test]
async fn documented_status_codes_and_required_fields_are_what_the_handler_does() {
    let spec = spec();
    let ok = state(memory_store());
    let failing = state(Arc::new(FailingStore));
    let mut seen = Observed::default();
    let valid = valid_fields("kk");

    seen.post(&send(&ok, json_request(json_body(&valid), None)).await);
    seen.post(&send(&ok, form_request(form_body(&valid), None)).await);
    let with_receipts = AppState::new(memory_store(), manifest_with_receipts(), settings())
        .unwrap()
        .with_receipts(Some(
            kelisim_relay::domain::receipt_key::ReceiptSigner::generate("openapi").unwrap(),
        ));
    seen.post(&send(&with_receipts, form_request(form_body(&valid), None)).await);
    let created = send(&with_receipts, json_request(json_body(&valid), None)).await;
    let pattern = spec["components"]["schemas"]["Created"]["properties"]["receipt"]["pattern"]
        .as_str()
        .unwrap()
        .to_owned();
    let receipt = created.json()["receipt"].as_str().unwrap().to_owned();
    // The documented pattern, three non-empty base64url parts, checked by hand.
    let parts: Vec<&str> = receipt.split('.').collect();
    let base64url = |p: &&str| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    assert!(
        pattern.contains("[A-Za-z0-9_-]+") && parts.len() == 3 && parts.iter().all(base64url),
        "{receipt} does not match {pattern}"
    );
    let invalid = with(valid.clone(), "email", Some("x"));
    seen.post(&send(&ok, json_request(json_body(&invalid), None)).await);
    seen.post(&send(&ok, form_request(form_body(&invalid), None)).await);
    seen.post(&send(&ok, json_request(json_body(&valid), Some(FOREIGN_ORIGIN))).await);
    let big = with(valid.clone(), "message", Some(&"x".repeat(BODY_LIMIT)));
    seen.post(&send(&ok, json_request(json_body(&big), None)).await);
    let text = Request::post("/api/contact")
        .header(header::CONTENT_TYPE, "text/plain")
        .header(header::ACCEPT, "application/json")
        .body(Body::from("hi"))
        .unwrap();
    seen.post(&send(&ok, text).await);
    seen.post(&send(&failing, json_request(json_body(&valid), None)).await);
    let keyed = with(
        with(valid.clone(), "idempotency_key", Some("openapi-409")),
        "message",
        Some("a message of its own"),
    );
    seen.post(&send(&ok, json_request(json_body(&keyed), None)).await);
    let reused = with(keyed, "message", Some("another message"));
    seen.post(&send(&ok, json_request(json_body(&reused), None)).await);
    let closed = state(memory_store()).with_rate_limit(&RateLimitConfig {
        global_per_minute: 0,
        ..RateLimitConfig::default()
    });
    seen.post(&send(&closed, json_request(json_body(&valid), None)).await);
    for origin in [SITE_ORIGIN, FOREIGN_ORIGIN] {
        let request = Request::options("/api/contact")
            .header(header::ORIGIN, origin)
            .header(header::ACCEPT, "application/json")
            .body(Body::empty())
            .unwrap();
        seen.options(&send(&ok, request).await);
    }
    for method in ["GET", "PUT", "DELETE"] {
        let request = Request::builder()
            .method(method)
            .uri("/api/contact")
            .header(header::ACCEPT, "application/json")
            .body(Body::empty())
            .unwrap();
        seen.other(&send(&ok, request).await);
    }

    let operations = &spec["paths"]["/api/contact"];
    assert_eq!(keys(&operations["post"]["responses"]), seen.post);
    assert_eq!(keys(&operations["options"]["responses"]), seen.options);
    assert_eq!(keys(&operations["get"]["responses"]), seen.other);
    let problem_enum = &spec["components"]["schemas"]["Problem"]["properties"]["error"]["enum"];
    assert_eq!(strings(problem_enum), seen.problems);

    // Required fields: those whose absence alone makes the handler refuse the submission.
    let mut required = BTreeSet::new();
    for field in ACCEPTED_FIELDS {
        let answer = send(
            &ok,
            json_request(json_body(&with(valid.clone(), field, None)), None),
        )
        .await;
        if answer.status.as_u16() == 422 {
            required.insert(field.to_owned());
        }
    }
    for schema in ["ContactForm", "ContactFormJson"] {
        assert_eq!(
            strings(&spec["components"]["schemas"][schema]["required"]),
            required,
            "{schema}"
        );
    }
}

/// Every path the router serves under the form endpoint is documented with exactly the
/// methods it answers: a documented method is served (not 405), every other one is 405.
#[tokio::test]
async fn every_route_and_method_is_documented_and_nothing_else_is_served() {
    use kelisim_relay::web::routes::{CONFIRM, REQUEST, REQUEST_CONFIRM, under};
    let spec = spec();
    let served: BTreeSet<String> = ["", CONFIRM, REQUEST, REQUEST_CONFIRM]
        .iter()
        .map(|suffix| under("/api/contact", suffix))
        .collect();
    assert_eq!(keys(&spec["paths"]), served);
    let state = AppState::new(memory_store(), manifest_with_request_pages(), settings()).unwrap();
    for path in &served {
        // `GET /api/contact` is documented as the 405 every other method gets.
        let documented: BTreeSet<String> = keys(&spec["paths"][path.as_str()])
            .into_iter()
            .filter(|m| {
                keys(&spec["paths"][path.as_str()][m.as_str()]["responses"])
                    != BTreeSet::from(["405".to_owned()])
            })
            .collect();
        for method in ["get", "head", "post", "put", "delete", "patch", "options"] {
            let request = Request::builder()
                .method(method.to_ascii_uppercase().as_str())
                .uri(format!("{path}?token=x.y"))
                .header(header::ORIGIN, SITE_ORIGIN)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
                .body(Body::from("token=x.y"))
                .unwrap();
            let answer = send(&state, request).await;
            // axum answers HEAD with the GET handler; HEAD is documented wherever GET is.
            let served = answer.status != 405;
            assert_eq!(
                served,
                documented.contains(method),
                "{method} {path}: {} (documented: {documented:?})",
                answer.status
            );
            if served {
                let statuses = keys(&spec["paths"][path.as_str()][method]["responses"]);
                assert!(
                    statuses.contains(answer.status.as_str()),
                    "{method} {path} answered {}, documented {statuses:?}",
                    answer.status
                );
            }
        }
    }
}
