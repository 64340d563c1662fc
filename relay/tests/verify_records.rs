//! `records verify` (issue #16): records stamped by the real router over a site's history
//! (a version published before labels were locked, a policy change, a label change, a version
//! later dropped from the site), checked against a site written in the published format
//! (`support/published_site.rs`) through `app::verify`, on a SQLite file and on DynamoDB
//! (moto); then the `kelisim-relay records verify` binary: its text and JSON lines, its exit
//! status, and the same answers from the directory, over HTTP and from the configured
//! manifest's base URL.
#![cfg(all(feature = "verify", feature = "http", feature = "sqlite"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use kelisim_relay::app::verify::{VerifyError, verify_all, verify_one};
use kelisim_relay::domain::record::RecordId;
use kelisim_relay::domain::verify::{Missing, Problem, StampCheck, Status};
use kelisim_relay::published::{PublishedSite, SiteDir, SiteError, SitePath};
use kelisim_relay::store::Store;

use crate::published_site::{
    Edition, LANGS, labels_file, manifest_at, page_file, page_url, post, write_site,
};

const BASE: &str = "https://woow.kz";

/// Published once, later dropped from the site's archive: its records name a version the
/// site no longer knows.
const V0_9: Edition = Edition {
    version: "0.9",
    text: 0,
    labels: 0,
    labels_locked: true,
};
/// Published before labels were locked: its labels were never kept.
const V1: Edition = Edition {
    version: "1",
    text: 1,
    labels: 1,
    labels_locked: false,
};
const V2: Edition = Edition {
    version: "2",
    text: 2,
    labels: 2,
    labels_locked: true,
};
/// A policy change: new text, the same labels.
const V3: Edition = Edition {
    version: "3",
    text: 3,
    labels: 2,
    labels_locked: true,
};
/// A label change: the same text, new labels.
const V4: Edition = Edition {
    version: "4",
    text: 3,
    labels: 3,
    labels_locked: true,
};

/// The record made in each language while each version was current, by (language, version).
type History = BTreeMap<(&'static str, &'static str), RecordId>;

/// The site's history: one record per language under each version, each stamped by the
/// router with the manifest of its day; then the site as it stands today (version 4, with 3,
/// 2 and 1 archived, 0.9 gone) written into `dir`.
async fn history(store: &Arc<dyn Store>, dir: &Path) -> History {
    let mut records = History::new();
    for edition in [V0_9, V1, V2, V3, V4] {
        let manifest = manifest_at(BASE, &edition, &[]);
        for lang in LANGS {
            let id = post(Arc::clone(store), &manifest, lang).await;
            records.insert((lang, edition.version), id);
        }
    }
    write_site(dir, BASE, &V4, &[V3, V2, V1]);
    records
}

async fn checks(store: &Arc<dyn Store>, dir: &Path) -> BTreeMap<RecordId, StampCheck> {
    let site = SiteDir::open(dir).unwrap();
    verify_all(store.as_ref(), &site)
        .await
        .unwrap()
        .into_iter()
        .map(|check| (check.id, check))
        .collect()
}

/// The problems of the record made in `lang` under `edition`, as (reason, purpose).
fn reasons<'a>(
    checks: &'a BTreeMap<RecordId, StampCheck>,
    records: &History,
    lang: &str,
    edition: &Edition,
) -> Vec<(&'static str, Option<&'a str>)> {
    let id = records[&(lang, edition.version)];
    checks[&id]
        .problems
        .iter()
        .map(|p| (p.reason(), p.purpose()))
        .collect()
}

/// Every purpose of the fixture, in the stamp's order, with `reason`.
fn every_label(reason: &'static str) -> Vec<(&'static str, Option<&'static str>)> {
    vec![(reason, Some("reply")), (reason, Some("newsletter"))]
}

async fn records_before_and_after_a_policy_change_and_a_label_change_verify(store: Arc<dyn Store>) {
    let dir = tempfile::tempdir().unwrap();
    let records = history(&store, dir.path()).await;
    let checks = checks(&store, dir.path()).await;
    assert_eq!(checks.len(), records.len(), "every record is checked");
    for lang in LANGS {
        for edition in [V2, V3, V4] {
            let check = &checks[&records[&(lang, edition.version)]];
            assert_eq!(check.status, Status::Verified, "{check:?}");
            assert_eq!(
                (check.language.as_str(), check.policy_version.as_str()),
                (lang, edition.version)
            );
        }
    }
    // The two records that cannot be verified say why, honestly.
    for lang in LANGS {
        assert_eq!(
            reasons(&checks, &records, lang, &V1),
            every_label("label text missing"),
            "{lang} 1: its labels were never kept"
        );
        assert_eq!(
            reasons(&checks, &records, lang, &V0_9),
            [("version unknown", None)]
        );
    }
    let v1 = &checks[&records[&("kk", "1")]];
    assert!(
        v1.problems.iter().all(|p| matches!(
            p,
            Problem::LabelTextMissing {
                url: None,
                why: Missing::NotPublished,
                ..
            }
        )),
        "{v1:?}"
    );
}

async fn a_policy_text_edited_behind_the_locks_back_differs(store: Arc<dyn Store>) {
    let dir = tempfile::tempdir().unwrap();
    let records = history(&store, dir.path()).await;
    let file = page_file(dir.path(), "kk", &V2);
    let page = std::fs::read_to_string(&file).unwrap();
    let edited = page.replace("мәтін 2.", "мәтін 2, түзетілген.");
    assert_ne!(page, edited);
    std::fs::write(&file, edited).unwrap();

    let checks = checks(&store, dir.path()).await;
    let id = records[&("kk", "2")];
    let [
        Problem::PolicyHashDiffers {
            url,
            published_sha256,
            stamped_sha256,
        },
    ] = checks[&id].problems.as_slice()
    else {
        panic!("{:?}", checks[&id])
    };
    assert_eq!(*url, page_url(BASE, "kk", &V2));
    assert_ne!(published_sha256, stamped_sha256);
    let manifest = manifest_at(BASE, &V2, &[]);
    assert_eq!(*stamped_sha256, manifest.languages["kk"].policy.sha256);
    // The same version in the other language, and the other versions, still verify.
    assert!(checks[&records[&("ru", "2")]].is_verified());
    assert!(checks[&records[&("kk", "3")]].is_verified());
}

async fn a_label_edited_after_publication_differs(store: Arc<dyn Store>) {
    let dir = tempfile::tempdir().unwrap();
    let records = history(&store, dir.path()).await;
    let file = labels_file(dir.path(), "ru", &V4);
    let labels = std::fs::read_to_string(&file).unwrap();
    let edited = labels.replace("(ru, reply)", "(ru, ответ)");
    assert_ne!(labels, edited);
    std::fs::write(&file, edited).unwrap();

    let checks = checks(&store, dir.path()).await;
    assert_eq!(
        reasons(&checks, &records, "ru", &V4),
        [("label hash differs", Some("reply"))]
    );
    assert!(checks[&records[&("kk", "4")]].is_verified());
}

async fn missing_texts_are_said_with_where_and_why(store: Arc<dyn Store>) {
    let dir = tempfile::tempdir().unwrap();
    let records = history(&store, dir.path()).await;
    // A page gone, a page without its markers, a labels file gone.
    std::fs::remove_file(page_file(dir.path(), "ru", &V4)).unwrap();
    let file = page_file(dir.path(), "kk", &V3);
    let page = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, page.replace("<!-- kelisim:policy-text -->", "")).unwrap();
    std::fs::remove_file(labels_file(dir.path(), "ru", &V3)).unwrap();

    let checks = checks(&store, dir.path()).await;
    assert_eq!(
        checks[&records[&("ru", "4")]].problems,
        [Problem::PolicyTextMissing {
            url: page_url(BASE, "ru", &V4),
            why: Missing::NotFound
        }]
    );
    assert_eq!(
        checks[&records[&("kk", "3")]].problems,
        [Problem::PolicyTextMissing {
            url: page_url(BASE, "kk", &V3),
            why: Missing::NoMarkers
        }]
    );
    let ru3 = &checks[&records[&("ru", "3")]];
    assert_eq!(
        reasons(&checks, &records, "ru", &V3),
        every_label("label text missing")
    );
    assert!(
        ru3.problems[0]
            .detail()
            .ends_with("/ru/privacy/3/consent-labels.json: not found"),
        "{ru3:?}"
    );
    // Each record is one result; one record by id gives the same.
    let site = SiteDir::open(dir.path()).unwrap();
    let one = verify_one(store.as_ref(), &site, ru3.id).await.unwrap();
    assert_eq!(one, *ru3);
    let absent = RecordId::new();
    assert!(matches!(
        verify_one(store.as_ref(), &site, absent).await,
        Err(VerifyError::NoSuchRecord(id)) if id == absent
    ));
}

async fn a_site_without_a_manifest_stops_the_run(store: Arc<dyn Store>) {
    let dir = tempfile::tempdir().unwrap();
    history(&store, dir.path()).await;
    std::fs::remove_file(dir.path().join("consent-manifest.json")).unwrap();
    let site = SiteDir::open(dir.path()).unwrap();
    let error = verify_all(store.as_ref(), &site).await.unwrap_err();
    assert!(matches!(error, VerifyError::Manifest { .. }), "{error}");
    assert!(
        error.to_string().contains("no consent-manifest.json"),
        "{error}"
    );
}

/// A site that counts what it is asked for.
struct Counting {
    site: SiteDir,
    asked: std::sync::Mutex<BTreeMap<String, usize>>,
}

#[async_trait::async_trait]
impl PublishedSite for Counting {
    async fn fetch(&self, path: &SitePath) -> Result<Option<Vec<u8>>, SiteError> {
        *self
            .asked
            .lock()
            .unwrap()
            .entry(path.as_str().to_owned())
            .or_default() += 1;
        self.site.fetch(path).await
    }

    fn describe(&self) -> String {
        self.site.describe()
    }
}

/// Each distinct URL is read once per run, however many records name it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_url_is_read_once_per_run() {
    let backend = crate::conformance::Backend::sqlite_file();
    let store = backend.store();
    let dir = tempfile::tempdir().unwrap();
    let records = history(&store, dir.path()).await;
    // A second record under every version: twice the records, the same URLs.
    for edition in [V1, V2, V3, V4] {
        let manifest = manifest_at(BASE, &edition, &[]);
        post(Arc::clone(&store), &manifest, "kk").await;
    }
    let site = Counting {
        site: SiteDir::open(dir.path()).unwrap(),
        asked: Default::default(),
    };
    let checks = verify_all(store.as_ref(), &site).await.unwrap();
    assert_eq!(checks.len(), records.len() + 4);
    let asked = site.asked.into_inner().unwrap();
    // The manifest, and per language a page for 1, 2, 3, 4 and labels for 2, 3, 4.
    assert_eq!(asked.len(), 1 + 2 * (4 + 3), "{asked:?}");
    assert!(asked.values().all(|&n| n == 1), "{asked:?}");
    assert!(asked.contains_key("/consent-manifest.json"));
    assert!(asked.contains_key("/ru/privacy/3/consent-labels.json"));
}

/// Runs each scenario as a test of its own on a SQLite file and on DynamoDB (moto).
macro_rules! on_both_stores {
    ($($scenario:ident),* $(,)?) => {
        mod sqlite_file {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    let backend = crate::conformance::Backend::sqlite_file();
                    super::$scenario(backend.store()).await;
                }
            )*
        }
        #[cfg(feature = "dynamodb")]
        mod moto {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    let backend = crate::conformance::Backend::moto().await;
                    super::$scenario(backend.store()).await;
                }
            )*
        }
    };
}

on_both_stores!(
    records_before_and_after_a_policy_change_and_a_label_change_verify,
    a_policy_text_edited_behind_the_locks_back_differs,
    a_label_edited_after_publication_differs,
    missing_texts_are_said_with_where_and_why,
    a_site_without_a_manifest_stops_the_run,
);

/// The `kelisim-relay records verify` binary on a SQLite file.
#[cfg(feature = "server")]
mod binary {
    use std::path::Path;
    use std::process::Command;
    use std::sync::Arc;

    use kelisim_relay::store::Store;
    use kelisim_relay::store::sqlite::SqliteStore;

    use super::{BASE, History, history};
    use crate::common::{EMAIL, FIRST_NAME, MESSAGE, PHONE_E164, SURNAME};
    use crate::relay_process::{BIN, KEY, Stopped, fixture, spawn_serving};

    struct Run {
        ok: bool,
        stdout: String,
        stderr: String,
    }

    fn verify(db: &Path, args: &[&str], envs: &[(&str, &str)]) -> Run {
        let output = Command::new(BIN)
            .args(["records", "verify"])
            .args(args)
            .arg("--db")
            .arg(db)
            .env("KELISIM_HMAC_KEY", KEY)
            .envs(envs.iter().copied())
            .output()
            .unwrap();
        let run = Run {
            ok: output.status.success(),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: String::from_utf8(output.stderr).unwrap(),
        };
        // Nothing of the people, whatever the outcome.
        for secret in [SURNAME, FIRST_NAME, EMAIL, PHONE_E164, MESSAGE] {
            assert!(
                !run.stdout.contains(secret) && !run.stderr.contains(secret),
                "{secret} in {}{}",
                run.stdout,
                run.stderr
            );
        }
        run
    }

    /// A SQLite file with the site's history, and the site.
    async fn setup(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf, History) {
        let db = dir.join("relay.sqlite");
        let site = dir.join("public");
        std::fs::create_dir(&site).unwrap();
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&db).unwrap());
        let records = history(&store, &site).await;
        (db, site, records)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_line_per_record_id_first_and_a_failing_exit_when_any_is_unverifiable() {
        let dir = tempfile::tempdir().unwrap();
        let (db, site, records) = setup(dir.path()).await;
        let site_arg = site.to_str().unwrap();
        let run = verify(&db, &["--all", "--site", site_arg], &[]);
        assert!(!run.ok, "two versions cannot be verified: {}", run.stdout);
        let lines: Vec<&str> = run.stdout.lines().collect();
        assert_eq!(lines.len(), records.len(), "{}", run.stdout);
        // Oldest first, as the records were made.
        let mut ids: Vec<_> = records.values().copied().collect();
        ids.sort();
        for (line, id) in lines.iter().zip(&ids) {
            assert!(line.starts_with(&format!("{id} ")), "{line}");
        }
        let line_of = |lang: &str, version: &str| {
            let id = records[&(lang, version)];
            lines
                .iter()
                .find(|l| l.starts_with(&id.to_string()))
                .copied()
                .unwrap()
        };
        assert_eq!(
            line_of("kk", "2"),
            format!("{} verified kk 2", records[&("kk", "2")])
        );
        assert_eq!(
            line_of("ru", "1"),
            format!(
                "{} unverifiable ru 1: label text missing: reply, newsletter (the site publishes \
                 no labels for this version)",
                records[&("ru", "1")]
            )
        );
        assert_eq!(
            line_of("kk", "0.9"),
            format!(
                "{} unverifiable kk 0.9: version unknown (not in the site's consent manifest)",
                records[&("kk", "0.9")]
            )
        );
        assert!(
            run.stderr
                .contains("10 record(s) checked: 6 verified, 4 unverifiable"),
            "{}",
            run.stderr
        );
        assert!(
            run.stderr.contains("4 of 10 record(s) unverifiable"),
            "{}",
            run.stderr
        );

        // One record by id: its one line, and the exit status of that record alone.
        let id = records[&("ru", "2")].to_string();
        let run = verify(&db, &[&id, "--site", site_arg], &[]);
        assert!(run.ok, "{}", run.stderr);
        assert_eq!(run.stdout, format!("{id} verified ru 2\n"));
        let id = records[&("ru", "1")].to_string();
        assert!(!verify(&db, &[&id, "--site", site_arg], &[]).ok);
        // Neither an id nor --all: a usage error, not a silent pass.
        let run = verify(&db, &["--site", site_arg], &[]);
        assert!(!run.ok && run.stderr.contains("--all"), "{}", run.stderr);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn json_gives_one_object_per_record() {
        let dir = tempfile::tempdir().unwrap();
        let (db, site, records) = setup(dir.path()).await;
        let run = verify(
            &db,
            &["--all", "--json", "--site", site.to_str().unwrap()],
            &[],
        );
        assert!(!run.ok);
        let objects: Vec<serde_json::Value> = run
            .stdout
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        assert_eq!(objects.len(), records.len());
        let object = |lang: &str, version: &str| {
            let id = records[&(lang, version)].to_string();
            objects.iter().find(|o| o["id"] == id.as_str()).unwrap()
        };
        assert_eq!(
            *object("kk", "2"),
            serde_json::json!({
                "id": records[&("kk", "2")].to_string(),
                "status": "verified",
                "language": "kk",
                "policy_version": "2",
                "problems": [],
            })
        );
        let v1 = object("kk", "1");
        assert_eq!(v1["status"], "unverifiable");
        assert_eq!(
            v1["problems"][0],
            serde_json::json!({
                "reason": "label_text_missing",
                "purpose": "reply",
                "why": "not_published",
            })
        );
        assert_eq!(
            object("ru", "0.9")["problems"],
            serde_json::json!([{ "reason": "version_unknown" }])
        );
    }

    /// The same answers from the directory, from the site served over HTTP (`--base-url`),
    /// and from the configured manifest's `base_url` (the default).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_directory_http_and_the_configured_base_url_agree() {
        let dir = tempfile::tempdir().unwrap();
        let (db, site, records) = setup(dir.path()).await;
        // The site's own relay serves it, as on one host.
        let (server, base) = spawn_serving(
            Command::new(BIN)
                .args(["serve", "--listen", "127.0.0.1:0", "--manifest"])
                .arg(fixture())
                .arg("--db")
                .arg(dir.path().join("served.sqlite"))
                .arg("--static-dir")
                .arg(&site)
                .env("KELISIM_HMAC_KEY", KEY),
        );
        let server = Stopped(server);
        let from_dir = verify(&db, &["--all", "--site", site.to_str().unwrap()], &[]);
        let over_http = verify(&db, &["--all", "--base-url", &base], &[]);
        // The configured manifest names the site at `base` (a copy of the published one).
        let mut manifest: serde_json::Value =
            serde_json::from_slice(&std::fs::read(site.join("consent-manifest.json")).unwrap())
                .unwrap();
        manifest["base_url"] = base.clone().into();
        let configured = dir.path().join("configured.json");
        std::fs::write(&configured, manifest.to_string()).unwrap();
        let default = verify(
            &db,
            &["--all"],
            &[("KELISIM_MANIFEST", configured.to_str().unwrap())],
        );
        // An edited page is seen over HTTP too.
        let page = site.join("kk/privacy/2/index.html");
        let text = std::fs::read_to_string(&page).unwrap();
        std::fs::write(&page, text.replace("мәтін 2.", "мәтін 2!")).unwrap();
        let id = records[&("kk", "2")].to_string();
        let edited = verify(&db, &[&id, "--base-url", &base], &[]);
        drop(server);

        assert!(!from_dir.ok && !over_http.ok && !default.ok);
        assert_eq!(from_dir.stdout.lines().count(), records.len());
        assert_eq!(over_http.stdout, from_dir.stdout, "{}", over_http.stderr);
        assert_eq!(default.stdout, from_dir.stdout, "{}", default.stderr);
        assert!(over_http.stderr.contains(&base), "{}", over_http.stderr);
        assert!(!edited.ok);
        assert!(
            edited.stdout.starts_with(&format!(
                "{id} unverifiable kk 2: policy hash differs ({BASE}/kk/privacy/2/: published "
            )),
            "{}",
            edited.stdout
        );
        // Nothing is served there: the site cannot be read, and the run says so.
        let run = verify(&db, &["--all", "--base-url", "http://127.0.0.1:9"], &[]);
        assert!(!run.ok);
        assert!(
            run.stderr
                .contains("cannot read the site's consent manifest at http://127.0.0.1:9"),
            "{}",
            run.stderr
        );
    }
}
