//! The relay against a manifest really written by the generator (its golden test output),
//! so the two sides of the `consent-manifest.json` contract are checked together.
#![cfg(all(feature = "http", feature = "sqlite"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use axum::http::{StatusCode, header};
use common::*;
use kelisim_relay::manifest::ConsentManifest;
use kelisim_relay::store::RecordStore;
use kelisim_relay::web::AppState;

const GENERATED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../generator/tests/fixtures/expected/consent-manifest.json"
);

#[tokio::test]
async fn a_generator_built_manifest_drives_the_relay() {
    let manifest = ConsentManifest::from_path(std::path::Path::new(GENERATED)).unwrap();
    let store = memory_store();
    let state = AppState::new(store.clone(), manifest.clone(), settings()).unwrap();
    for lang in manifest.languages.keys() {
        let policy = &manifest.languages[lang].policy;
        let fields = with(valid_fields("kk"), "lang", Some(lang));
        let fields = with(fields, "policy_version", Some(&policy.version));
        let fields = with(fields, "policy_hash", Some(&policy.sha256));
        let fields = with(
            fields,
            "message",
            Some(&format!("generated manifest, {lang}")),
        );
        let origin = manifest.base_url.as_str();
        let answer = send(&state, form_request(form_body(&fields), Some(origin))).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{lang}");
        assert_eq!(
            answer.header(header::LOCATION),
            Some(manifest.languages[lang].thanks_url.as_str())
        );
        let answer = send(
            &state,
            json_request(
                json_body(&with(fields, "message", Some("json"))),
                Some(origin),
            ),
        )
        .await;
        assert_eq!(
            answer.status,
            StatusCode::CREATED,
            "{lang}: {}",
            answer.body
        );
        let id = answer.json()["id"].as_str().unwrap().parse().unwrap();
        let record = store.get_record(id).await.unwrap().unwrap();
        assert_eq!(record.consent.policy_sha256, policy.sha256);
        assert_eq!(
            record.consent.purposes[0].label_sha256,
            manifest.languages[lang].labels["reply"].sha256
        );
    }
}
