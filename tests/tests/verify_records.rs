//! `records verify` (issue #16) on a site the real generator built: the relay's check and the
//! generator's output meet. The generator's fixture site is built, records are stamped by the
//! relay's router under each manifest it publishes, through a policy change (`kelisim policy
//! new-version` and an edited text) and a label change (a new version with an edited consent
//! label), and every record verifies against the built `public/` folder; a policy text edited
//! in the built page afterwards no longer does.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, header};
use kelisim_manifest::{ConsentManifest, MANIFEST_FILE};
use kelisim_relay::app::verify::verify_all;
use kelisim_relay::domain::hmac_key::HmacKey;
use kelisim_relay::domain::record::RecordId;
use kelisim_relay::domain::stamp::IntakeSettings;
use kelisim_relay::domain::verify::{Problem, Status};
use kelisim_relay::published::SiteDir;
use kelisim_relay::store::Store;
use kelisim_relay::store::sqlite::SqliteStore;
use kelisim_relay::web::{AppState, app};
use kelisim_tests::paths::repo_root;
use tower::ServiceExt as _;

const KEY: &str = "6b656c6973696d2d746573742d6b65792d6f662d33322d62797465732d2d2d21";

/// The generator's fixture site with the repository's theme and strings, in a folder of its
/// own (the test edits it).
fn fixture_site() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let copy = |from: &Path, to: &Path| {
        for entry in walkdir::WalkDir::new(from) {
            let entry = entry.unwrap();
            let target = to.join(entry.path().strip_prefix(from).unwrap());
            if entry.file_type().is_dir() {
                std::fs::create_dir_all(&target).unwrap();
            } else {
                std::fs::copy(entry.path(), &target).unwrap();
            }
        }
    };
    let root = repo_root();
    copy(&root.join("generator/tests/fixtures/site"), dir.path());
    copy(&root.join("themes"), &dir.path().join("themes"));
    copy(&root.join("locales"), &dir.path().join("locales"));
    dir
}

fn build(root: &Path) -> ConsentManifest {
    kelisim::build(&kelisim::BuildOptions::new(root)).unwrap();
    ConsentManifest::from_path(&root.join("public").join(MANIFEST_FILE)).unwrap()
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{} has no {from:?}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

/// One contact form in `lang` through the relay's router, under the manifest's current
/// version, granting every purpose; the stored record's id.
async fn post(store: &Arc<dyn Store>, manifest: &ConsentManifest, lang: &str) -> RecordId {
    let settings = IntakeSettings {
        hmac_key: HmacKey::parse(KEY).unwrap(),
        retention_days: manifest
            .purposes
            .iter()
            .map(|p| (p.id.clone(), p.retention_days.unwrap_or(365)))
            .collect(),
        fingerprint_window: time::Duration::seconds(60),
        storage_location: "kelisim-tests (SQLite)".to_owned(),
        confirm_within: time::Duration::days(7),
    };
    let state = AppState::new(Arc::clone(store), manifest.clone(), settings).unwrap();
    let policy = &manifest.languages[lang].policy;
    let consent: Vec<&str> = manifest.purposes.iter().map(|p| p.id.as_str()).collect();
    let body = serde_json::json!({
        "surname": "Серікбаева",
        "first_name": "Әйгерім",
        "patronymic": "",
        "email": "aigerim@example.kz",
        "phone": "+77011234567",
        "message": format!("Сұрақ, {lang}, {}", policy.version),
        "lang": lang,
        "consent": consent,
        "policy_version": policy.version,
        "policy_hash": policy.sha256,
        "idempotency_key": "",
        "website": "",
    });
    let request = Request::post(&manifest.form_endpoint)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT, "application/json")
        .header(header::ORIGIN, &manifest.base_url)
        .body(Body::from(body.to_string()))
        .unwrap();
    let response = app(state).oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&bytes));
    let answer: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    answer["id"].as_str().unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_verify_against_the_site_the_generator_built_through_a_policy_and_a_label_change() {
    let site = fixture_site();
    let root = site.path();
    let db = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(&db.path().join("relay.sqlite")).unwrap());
    let mut records: BTreeMap<(&str, String), RecordId> = BTreeMap::new();
    let date = |text: &str| kelisim_manifest::dates::parse_date(text).unwrap();

    // The site as first built.
    let manifest = build(root);
    let first = manifest.languages["kk"].policy.version.clone();
    for lang in ["kk", "ru"] {
        records.insert((lang, first.clone()), post(&store, &manifest, lang).await);
    }
    // A policy change: a new version with another text.
    kelisim::commands::new_version::new_version(root, "3", date("2025-01-01")).unwrap();
    for lang in ["kk", "ru"] {
        let page = root.join(format!("content/{lang}/privacy.md"));
        let text = std::fs::read_to_string(&page).unwrap();
        std::fs::write(&page, format!("{text}\nЖаңа абзац, 3-нұсқа.\n")).unwrap();
    }
    let manifest = build(root);
    let kk = &manifest.languages["kk"];
    assert_eq!(kk.policy.version, "3");
    assert_ne!(kk.policy.sha256, kk.previous_policies[0].sha256);
    for lang in ["kk", "ru"] {
        records.insert((lang, "3".to_owned()), post(&store, &manifest, lang).await);
    }
    // A label change: a new version carrying an edited consent label.
    kelisim::commands::new_version::new_version(root, "4", date("2025-06-01")).unwrap();
    edit(
        &root.join("locales/ru/main.ftl"),
        "и моего сообщения",
        "и текста моего сообщения",
    );
    let manifest = build(root);
    let ru = &manifest.languages["ru"];
    assert_eq!(ru.policy.version, "4");
    assert_ne!(
        ru.labels["reply"].sha256,
        ru.previous_policies[0].labels["reply"].sha256
    );
    for lang in ["kk", "ru"] {
        records.insert((lang, "4".to_owned()), post(&store, &manifest, lang).await);
    }

    let public = SiteDir::open(&root.join("public")).unwrap();
    let checks = verify_all(store.as_ref(), &public).await.unwrap();
    assert_eq!(checks.len(), records.len());
    for check in &checks {
        assert_eq!(check.status, Status::Verified, "{check:?}");
    }

    // A text edited in the built page behind the lock's back no longer verifies.
    edit(
        &root.join(format!("public/kk/privacy/{first}/index.html")),
        "Соңы.",
        "Соңы!",
    );
    let checks = verify_all(store.as_ref(), &public).await.unwrap();
    let edited = records[&("kk", first.clone())];
    for check in &checks {
        if check.id == edited {
            assert!(
                matches!(
                    check.problems.as_slice(),
                    [Problem::PolicyHashDiffers { url, .. }]
                        if url.ends_with(&format!("/kk/privacy/{first}/"))
                ),
                "{check:?}"
            );
        } else {
            assert!(check.is_verified(), "{check:?}");
        }
    }
}
