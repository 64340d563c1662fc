//! The form endpoint through `app()` with `oneshot`: no network, a real SQLite store.
#![cfg(all(feature = "http", feature = "sqlite"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::*;
use kelisim_relay::domain::fields::Email;
use kelisim_relay::domain::fields::ErrorCode;
use kelisim_relay::domain::messages::{self, Notice};
use kelisim_relay::domain::record::{CollectionMethod, RecordId, RecordState};
use kelisim_relay::store::RecordStore;
use kelisim_relay::web::form::BODY_LIMIT;

fn email_hmac() -> String {
    hmac_key().email_hmac(&Email::parse(EMAIL).unwrap())
}

#[tokio::test]
async fn plain_form_post_is_stored_and_redirected_to_thanks() {
    let store = memory_store();
    let state = state(store.clone());
    let answer = send(
        &state,
        form_request(form_body(&valid_fields("kk")), Some(SITE_ORIGIN)),
    )
    .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(
        answer.header(header::LOCATION),
        Some("https://woow.kz/kk/thanks/")
    );
    assert_eq!(
        answer.header(header::ACCESS_CONTROL_ALLOW_ORIGIN),
        Some(SITE_ORIGIN)
    );

    let records = store.find_records_by_email(&email_hmac()).await.unwrap();
    assert_eq!(records.len(), 1);
    let record = &records[0];
    assert_eq!(record.subject.surname, SURNAME);
    assert_eq!(
        record.subject.phone, PHONE_E164,
        "phone normalized to E.164"
    );
    assert_eq!(record.message, MESSAGE);
    assert_eq!(record.state, RecordState::Active);
    assert_eq!(record.idempotency_key, None);
    let stamp = &record.consent;
    let manifest = manifest();
    assert_eq!(stamp.language, "kk");
    assert_eq!(
        stamp.policy_version,
        manifest.languages["kk"].policy.version
    );
    assert_eq!(stamp.policy_sha256, manifest.languages["kk"].policy.sha256);
    assert_eq!(stamp.policy_url, "https://woow.kz/kk/privacy/1.0/");
    assert_eq!(stamp.page_url, "https://woow.kz/kk/contact/");
    assert_eq!(stamp.collection_method, CollectionMethod::FormPost);
    assert_eq!(stamp.storage_location, "test host (SQLite)");
    assert_eq!(stamp.operator, manifest.operator);
    let reply = &stamp.purposes[0];
    assert_eq!((reply.purpose.as_str(), reply.granted), ("reply", true));
    assert_eq!(
        reply.label_sha256,
        manifest.languages["kk"].labels["reply"].sha256
    );
    assert_eq!(
        reply.expires_at,
        Some(record.received_at + time::Duration::days(365))
    );
    let newsletter = &stamp.purposes[1];
    assert_eq!(
        (newsletter.purpose.as_str(), newsletter.granted),
        ("newsletter", false)
    );
    assert_eq!(newsletter.expires_at, None);
    assert_eq!(
        record.expires_at,
        record.received_at + time::Duration::days(365)
    );
}

#[tokio::test]
async fn script_post_gets_201_with_the_stored_id() {
    let store = memory_store();
    let state = state(store.clone());
    let mut fields = with(
        valid_fields("ru"),
        "idempotency_key",
        Some("0b8f6c1e-1f0a-4f7e-9a51-2c1c3c0f9e01"),
    );
    fields.push(("consent".to_owned(), "newsletter".to_owned()));
    let answer = send(&state, json_request(json_body(&fields), Some(SITE_ORIGIN))).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    let id: RecordId = answer.json()["id"].as_str().unwrap().parse().unwrap();
    let record = store.get_record(id).await.unwrap().expect("stored");
    assert_eq!(record.consent.language, "ru");
    assert_eq!(record.consent.collection_method, CollectionMethod::Script);
    assert!(record.consent.purposes.iter().all(|p| p.granted));
    assert_eq!(
        record.expires_at,
        record.received_at + time::Duration::days(1095)
    );
    assert_eq!(record.email_hmac, email_hmac());
}

#[tokio::test]
async fn repeated_consent_keys_in_a_form_post_are_all_read() {
    let store = memory_store();
    let state = state(store.clone());
    let mut fields = valid_fields("kk");
    fields.push(("consent".to_owned(), "newsletter".to_owned()));
    let answer = send(&state, form_request(form_body(&fields), None)).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    let records = store.find_records_by_email(&email_hmac()).await.unwrap();
    assert!(records[0].consent.purposes.iter().all(|p| p.granted));
}

#[tokio::test]
async fn invalid_script_post_gets_localized_messages_per_field() {
    for lang in ["kk", "ru"] {
        let store = memory_store();
        let state = state(store.clone());
        let fields = with(valid_fields(lang), "email", Some("not-an-email"));
        let fields = with(fields, "phone", Some("12"));
        let fields = with(fields, "consent", None);
        let fields = with(fields, "surname", Some(""));
        let answer = send(&state, json_request(json_body(&fields), None)).await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
        let body = answer.json();
        assert_eq!(body["error"], "validation");
        for (field, code) in [
            ("email", ErrorCode::InvalidEmail),
            ("phone", ErrorCode::InvalidPhone),
            ("consent", ErrorCode::ConsentRequired),
            ("surname", ErrorCode::Required),
        ] {
            assert_eq!(
                body["fields"][field]["code"],
                code.as_str(),
                "{lang} {field}"
            );
            assert_eq!(
                body["fields"][field]["message"],
                messages::Messages::built_in().text(lang, Notice::Field(code)),
                "{lang} {field}"
            );
        }
        assert_eq!(body["fields"].as_object().unwrap().len(), 4);
        assert!(
            store
                .find_records_by_email(&email_hmac())
                .await
                .unwrap()
                .is_empty()
        );
    }
    // The two languages really differ.
    assert_ne!(
        messages::Messages::built_in().text("kk", Notice::Field(ErrorCode::InvalidEmail)),
        messages::Messages::built_in().text("ru", Notice::Field(ErrorCode::InvalidEmail))
    );
}

#[tokio::test]
async fn invalid_form_post_redirects_to_the_error_page_with_codes_only() {
    let state = state(memory_store());
    let fields = with(valid_fields("ru"), "email", Some("zhansaya.testbayeva@"));
    let fields = with(fields, "message", Some(&"ә".repeat(4500)));
    let answer = send(&state, form_request(form_body(&fields), None)).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    let location = answer.header(header::LOCATION).unwrap();
    assert_eq!(
        location,
        "https://woow.kz/ru/error/?errors=email:invalid_email,message:too_long"
    );
    assert!(!location.contains("zhansaya"));
}

#[tokio::test]
async fn unknown_fields_are_refused() {
    let state = state(memory_store());
    let mut fields = valid_fields("kk");
    fields.push(("birth_date".to_owned(), "1990-01-01".to_owned()));
    let answer = send(&state, json_request(json_body(&fields), None)).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        answer.json()["fields"]["birth_date"]["code"],
        "unknown_field"
    );

    let answer = send(&state, form_request(form_body(&fields), None)).await;
    assert_eq!(
        answer.header(header::LOCATION),
        Some("https://woow.kz/kk/error/?errors=birth_date:unknown_field")
    );

    // A hostile field name is reported on `form`, never echoed into the URL.
    let mut fields = valid_fields("kk");
    fields.push(("<script>".to_owned(), "x".to_owned()));
    let answer = send(&state, form_request(form_body(&fields), None)).await;
    assert_eq!(
        answer.header(header::LOCATION),
        Some("https://woow.kz/kk/error/?errors=form:unknown_field")
    );
}

#[tokio::test]
async fn policy_version_and_hash_must_match_the_manifest_for_the_language() {
    let state = state(memory_store());
    // The Russian policy's hash on a Kazakh submission.
    let ru_hash = manifest().languages["ru"].policy.sha256.clone();
    let fields = with(valid_fields("kk"), "policy_hash", Some(&ru_hash));
    let fields = with(fields, "policy_version", Some("0.9"));
    let answer = send(&state, json_request(json_body(&fields), None)).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    let body = answer.json();
    assert_eq!(body["fields"]["policy_hash"]["code"], "policy_mismatch");
    assert_eq!(body["fields"]["policy_version"]["code"], "policy_mismatch");
}

#[tokio::test]
async fn unknown_language_is_refused_in_the_default_language() {
    let state = state(memory_store());
    let fields = with(valid_fields("kk"), "lang", Some("en"));
    let answer = send(&state, json_request(json_body(&fields), None)).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    let body = answer.json();
    assert_eq!(body["fields"]["lang"]["code"], "invalid_lang");
    assert_eq!(
        body["fields"]["lang"]["message"],
        messages::Messages::built_in().text("kk", Notice::Field(ErrorCode::InvalidLang))
    );
}

#[tokio::test]
async fn bodies_over_32_kib_get_413() {
    let state = state(memory_store());
    let fields = with(
        valid_fields("kk"),
        "message",
        Some(&"x".repeat(BODY_LIMIT + 1)),
    );
    let answer = send(&state, json_request(json_body(&fields), None)).await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(answer.json()["error"], "payload_too_large");
    let answer = send(&state, form_request(form_body(&fields), None)).await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(answer.body.contains("<html lang=\"kk\""));
}

#[tokio::test]
async fn other_methods_get_405_with_allow() {
    let state = state(memory_store());
    for method in ["GET", "PUT", "DELETE", "PATCH"] {
        let request = Request::builder()
            .method(method)
            .uri("/api/contact")
            .body(Body::empty())
            .unwrap();
        let answer = send(&state, request).await;
        assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(answer.header(header::ALLOW), Some("OPTIONS, POST"));
    }
}

#[tokio::test]
async fn unsupported_content_type_gets_415() {
    let state = state(memory_store());
    let request = Request::post("/api/contact")
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from("hello"))
        .unwrap();
    assert_eq!(
        send(&state, request).await.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
}

fn preflight(origin: &str) -> Request<Body> {
    Request::options("/api/contact")
        .header(header::ORIGIN, origin)
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "content-type")
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn cors_preflight_is_answered_for_the_site_origin_only() {
    let state = state(memory_store());
    let allowed = send(&state, preflight(SITE_ORIGIN)).await;
    assert_eq!(allowed.status, StatusCode::NO_CONTENT);
    assert_eq!(
        allowed.header(header::ACCESS_CONTROL_ALLOW_ORIGIN),
        Some(SITE_ORIGIN)
    );
    assert_eq!(
        allowed.header(header::ACCESS_CONTROL_ALLOW_METHODS),
        Some("POST")
    );

    let refused = send(&state, preflight(FOREIGN_ORIGIN)).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.header(header::ACCESS_CONTROL_ALLOW_ORIGIN), None);
}

#[tokio::test]
async fn posts_from_a_foreign_origin_are_refused_and_not_stored() {
    let store = memory_store();
    let state = state(store.clone());
    // (`Origin: null` is tested in hostile_input.rs: it depends on `Sec-Fetch-Site`.)
    for origin in [FOREIGN_ORIGIN] {
        let answer = send(
            &state,
            json_request(json_body(&valid_fields("kk")), Some(origin)),
        )
        .await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{origin}");
        assert_eq!(answer.json()["error"], "forbidden_origin");
        let answer = send(
            &state,
            form_request(form_body(&valid_fields("kk")), Some(origin)),
        )
        .await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{origin}");
    }
    assert!(
        store
            .find_records_by_email(&email_hmac())
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn configured_origins_replace_the_default() {
    let store = memory_store();
    let state = state(store)
        .with_allowed_origins(&["http://127.0.0.1:1111".to_owned()])
        .unwrap();
    assert_eq!(
        send(&state, preflight("http://127.0.0.1:1111"))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        send(&state, preflight(SITE_ORIGIN)).await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn a_filled_honeypot_looks_like_success_and_stores_nothing() {
    let store = memory_store();
    let state = state(store.clone());
    let fields = with(valid_fields("kk"), "website", Some("http://spam.example"));
    let answer = send(&state, json_request(json_body(&fields), None)).await;
    assert_eq!(answer.status, StatusCode::CREATED);
    let id: RecordId = answer.json()["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(store.get_record(id).await.unwrap(), None);
    let answer = send(&state, form_request(form_body(&fields), None)).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(
        answer.header(header::LOCATION),
        Some("https://woow.kz/kk/thanks/")
    );
    assert!(
        store
            .find_records_by_email(&email_hmac())
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_repeated_idempotency_key_stores_once_and_returns_the_same_id() {
    let store = memory_store();
    let state = state(store.clone());
    let key = "5d2c7a43-8f1e-4b59-9c3a-7e0d1f2a3b4c";
    let first = with(valid_fields("kk"), "idempotency_key", Some(key));
    // A retry of the same submission: the same id. (The same key with an edited message is
    // a 409, tested in hostile_input.rs.)
    let second = first.clone();
    let a = send(&state, json_request(json_body(&first), None)).await;
    let b = send(&state, json_request(json_body(&second), None)).await;
    assert_eq!(
        (a.status, b.status),
        (StatusCode::CREATED, StatusCode::CREATED)
    );
    assert_eq!(a.json()["id"], b.json()["id"]);
    assert_eq!(
        store
            .find_records_by_email(&email_hmac())
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn a_double_click_without_js_stores_one_record() {
    let store = memory_store();
    let state = state(store.clone());
    let body = form_body(&valid_fields("kk"));
    let a = send(&state, form_request(body.clone(), None)).await;
    let b = send(&state, form_request(body, None)).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    assert_eq!(b.header(header::LOCATION), a.header(header::LOCATION));
    assert_eq!(
        store
            .find_records_by_email(&email_hmac())
            .await
            .unwrap()
            .len(),
        1
    );

    // A different message from the same person is a new record.
    let other = with(valid_fields("kk"), "message", Some("Екінші сұрақ"));
    send(&state, form_request(form_body(&other), None)).await;
    assert_eq!(
        store
            .find_records_by_email(&email_hmac())
            .await
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn a_store_failure_gets_503_with_retry_after_and_nothing_in_the_url() {
    let state = state(Arc::new(FailingStore));
    for lang in ["kk", "ru"] {
        let answer = send(&state, json_request(json_body(&valid_fields(lang)), None)).await;
        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(answer.header(header::RETRY_AFTER), Some("30"));
        let body = answer.json();
        assert_eq!(body["error"], "unavailable");
        assert_eq!(
            body["message"],
            messages::Messages::built_in().text(lang, Notice::Unavailable)
        );

        let answer = send(&state, form_request(form_body(&valid_fields(lang)), None)).await;
        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(answer.header(header::RETRY_AFTER), Some("30"));
        assert_eq!(answer.header(header::LOCATION), None);
        assert!(
            answer
                .body
                .contains(&messages::Messages::built_in().text(lang, Notice::Unavailable))
        );
        assert!(answer.body.contains(&format!("<html lang=\"{lang}\"")));
        // The site's own icon, so the browser asks for no /favicon.ico; never indexed.
        assert!(
            answer
                .body
                .contains("<link rel=\"icon\" href=\"/static/favicon.svg\"")
        );
        assert!(
            answer
                .body
                .contains("<meta name=\"robots\" content=\"noindex\">")
        );
        assert!(!answer.body.contains(EMAIL) && !answer.body.contains(SURNAME));
    }
}

#[tokio::test]
async fn undecodable_bodies_are_invalid_encoding() {
    let state = state(memory_store());
    let answer = send(&state, json_request("{not json".to_owned(), None)).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(answer.json()["fields"]["form"]["code"], "invalid_encoding");

    let request = Request::post("/api/contact")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(vec![b's', b'=', 0xff, 0xfe]))
        .unwrap();
    let answer = send(&state, request).await;
    assert_eq!(
        answer.header(header::LOCATION),
        Some("https://woow.kz/kk/error/?errors=form:invalid_encoding")
    );

    // A number where a string belongs.
    let answer = send(&state, json_request(r#"{"surname": 5}"#.to_owned(), None)).await;
    assert_eq!(
        answer.json()["fields"]["surname"]["code"],
        "invalid_encoding"
    );
}

#[tokio::test]
async fn names_are_stored_in_nfc() {
    let store = memory_store();
    let state = state(store.clone());
    // "й" typed as "и" + combining breve.
    let fields = with(valid_fields("kk"), "first_name", Some("  Сеи\u{0306}т "));
    send(&state, form_request(form_body(&fields), None)).await;
    let records = store.find_records_by_email(&email_hmac()).await.unwrap();
    assert_eq!(records[0].subject.first_name, "Се\u{0439}т");
}

/// `request` as the standalone server hands it over: with the TCP peer's address.
fn from_peer(mut request: Request<Body>, peer: &str) -> Request<Body> {
    let addr = std::net::SocketAddr::new(peer.parse().unwrap(), 51234);
    request
        .extensions_mut()
        .insert(axum::extract::ConnectInfo(addr));
    request
}

/// Distinct submissions (each would be its own record), so a refused one is visible as a
/// missing record rather than hidden by deduplication.
fn numbered(lang: &str, n: usize) -> Vec<(String, String)> {
    with(
        valid_fields(lang),
        "message",
        Some(&format!("{MESSAGE} #{n}")),
    )
}

#[tokio::test]
async fn the_sixth_post_from_one_address_is_refused_and_not_stored() {
    let store = memory_store();
    let state = state(store.clone());
    for n in 0..5 {
        let request = json_request(json_body(&numbered("kk", n)), Some(SITE_ORIGIN));
        let answer = send(&state, from_peer(request, "203.0.113.7")).await;
        assert_eq!(answer.status, StatusCode::CREATED, "{n}: {}", answer.body);
    }
    for (n, lang) in [(5, "kk"), (6, "ru")] {
        let request = json_request(json_body(&numbered(lang, n)), Some(SITE_ORIGIN));
        let answer = send(&state, from_peer(request, "203.0.113.7")).await;
        assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS, "{lang}");
        let retry: u64 = answer.header(header::RETRY_AFTER).unwrap().parse().unwrap();
        assert!((1..=600).contains(&retry), "{retry}");
        let body = answer.json();
        assert_eq!(body["error"], "rate_limited");
        assert_eq!(
            body["message"],
            messages::Messages::built_in().text(lang, Notice::Field(ErrorCode::RateLimited))
        );
        assert_eq!(
            answer.header(header::ACCESS_CONTROL_ALLOW_ORIGIN),
            Some(SITE_ORIGIN)
        );
        assert!(!answer.body.contains(EMAIL) && !answer.body.contains("203.0.113.7"));
    }
    assert_ne!(
        messages::Messages::built_in().text("kk", Notice::Field(ErrorCode::RateLimited)),
        messages::Messages::built_in().text("ru", Notice::Field(ErrorCode::RateLimited))
    );

    // A plain form post from the same address: 303 to the error page in its language.
    let request = form_request(form_body(&numbered("ru", 7)), Some(SITE_ORIGIN));
    let answer = send(&state, from_peer(request, "203.0.113.7")).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(
        answer.header(header::LOCATION),
        Some("https://woow.kz/ru/error/?errors=form:rate_limited")
    );

    // Another address is unaffected.
    let request = form_request(form_body(&numbered("kk", 8)), Some(SITE_ORIGIN));
    let answer = send(&state, from_peer(request, "198.51.100.20")).await;
    assert_eq!(
        answer.header(header::LOCATION),
        Some("https://woow.kz/kk/thanks/")
    );

    let records = store.find_records_by_email(&email_hmac()).await.unwrap();
    let mut messages_stored: Vec<_> = records.iter().map(|r| r.message.clone()).collect();
    messages_stored.sort();
    let expected: Vec<_> = [0, 1, 2, 3, 4, 8]
        .iter()
        .map(|n| format!("{MESSAGE} #{n}"))
        .collect();
    assert_eq!(messages_stored, expected, "refused posts are not stored");
    // The limiter keeps two keyed hashes, no address.
    let keys = state.rate_limiter().tracked_keys();
    assert_eq!(keys.len(), 2);
    assert!(
        keys.iter()
            .all(|k| k.len() == 64 && !k.contains("203.0.113"))
    );
}

#[tokio::test]
async fn honeypot_hits_count_against_the_limit() {
    let store = memory_store();
    let state = state(store.clone());
    let bot = with(valid_fields("kk"), "website", Some("http://spam.example"));
    for _ in 0..5 {
        let request = form_request(form_body(&bot), None);
        let answer = send(&state, from_peer(request, "192.0.2.66")).await;
        assert_eq!(
            answer.header(header::LOCATION),
            Some("https://woow.kz/kk/thanks/")
        );
    }
    let request = form_request(form_body(&valid_fields("kk")), None);
    let answer = send(&state, from_peer(request, "192.0.2.66")).await;
    assert_eq!(
        answer.header(header::LOCATION),
        Some("https://woow.kz/kk/error/?errors=form:rate_limited")
    );
    assert!(
        store
            .find_records_by_email(&email_hmac())
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn unknown_and_loopback_clients_share_a_pool_of_their_own() {
    use kelisim_relay::config::RateLimitConfig;
    let state = state(memory_store()).with_rate_limit(&RateLimitConfig {
        per_client: 1,
        global_per_minute: 12,
        ..RateLimitConfig::default()
    });
    // No connect info (as through `kelisim serve`) and a loopback peer: three posts pass
    // although the per-client limit is one; the unknown pool is a quarter of the global 12.
    let requests = [
        json_request(json_body(&numbered("kk", 1)), None),
        from_peer(
            json_request(json_body(&numbered("kk", 2)), None),
            "127.0.0.1",
        ),
        from_peer(json_request(json_body(&numbered("kk", 3)), None), "::1"),
    ];
    for request in requests {
        assert_eq!(send(&state, request).await.status, StatusCode::CREATED);
    }
    let answer = send(&state, json_request(json_body(&numbered("kk", 4)), None)).await;
    assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(state.rate_limiter().tracked_keys().is_empty());
}

#[tokio::test]
async fn forwarded_for_is_used_only_when_trusted() {
    use kelisim_relay::config::RateLimitConfig;
    let limits = RateLimitConfig {
        per_client: 1,
        ..RateLimitConfig::default()
    };
    let behind_proxy = |n: usize, client: &str| {
        let mut request = json_request(json_body(&numbered("kk", n)), None);
        // The first entry is whatever the client claims; the proxy appends the real one.
        request.headers_mut().insert(
            "x-forwarded-for",
            format!("10.9.9.9, {client}").parse().unwrap(),
        );
        from_peer(request, "127.0.0.1")
    };
    let trusting = state(memory_store()).with_rate_limit(&RateLimitConfig {
        trust_forwarded_for: true,
        ..limits
    });
    assert_eq!(
        send(&trusting, behind_proxy(1, "203.0.113.7")).await.status,
        StatusCode::CREATED
    );
    assert_eq!(
        send(&trusting, behind_proxy(2, "203.0.113.7")).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        send(&trusting, behind_proxy(3, "198.51.100.2"))
            .await
            .status,
        StatusCode::CREATED
    );

    // Not trusted: the header is ignored and the loopback peer is an unknown client.
    let plain = state(memory_store()).with_rate_limit(&limits);
    for n in 0..3 {
        assert_eq!(
            send(&plain, behind_proxy(n, "203.0.113.7")).await.status,
            StatusCode::CREATED
        );
    }
}
