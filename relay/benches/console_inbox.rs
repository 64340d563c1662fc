//! How long the operator's console takes to answer its inbox on a SQLite file holding 10,000
//! records (stamped as the form stamps them; one in five answered, one in fifty blocked): the
//! whole route, from the request with its session cookie to the last byte of the page, for the
//! first page of unanswered messages and for a page of "all" deep in the list. The inbox reads
//! one page from the store's index, so neither depends on how many records there are (issue
//! #17 asks for under 200 ms); beside them, for comparison, the `inbox` command's use case,
//! which reads every record. Run with `cargo bench -p kelisim-relay --bench console_inbox`.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, header};
use criterion::{Criterion, criterion_group, criterion_main};
use kelisim_relay::console::{self, Console, Settings};
use kelisim_relay::domain::hmac_key::HmacKey;
use kelisim_relay::domain::record::{Answered, CollectionMethod, RecordId};
use kelisim_relay::domain::stamp::{self, IntakeSettings, Stamped};
use kelisim_relay::domain::submission::{RawSubmission, Submission};
use kelisim_relay::manifest::ConsentManifest;
use kelisim_relay::store::sqlite::SqliteStore;
use kelisim_relay::store::{RecordStore, Store};
use time::OffsetDateTime;
use tower::ServiceExt as _;

const RECORDS: usize = 10_000;

fn manifest() -> ConsentManifest {
    let json = include_str!("../tests/fixtures/consent-manifest.json");
    ConsentManifest::from_json(json).expect("the fixture manifest parses")
}

fn settings() -> IntakeSettings {
    IntakeSettings {
        hmac_key: HmacKey::from_bytes(vec![7; 32]).expect("a 32-byte key"),
        retention_days: BTreeMap::from([
            ("reply".to_owned(), 365),
            ("newsletter".to_owned(), 1095),
        ]),
        fingerprint_window: time::Duration::seconds(60),
        storage_location: "benchmark".to_owned(),
        confirm_within: time::Duration::days(7),
    }
}

/// Record `n` as the form would stamp it (each with its own address and message).
fn stamped(n: usize, manifest: &ConsentManifest, settings: &IntakeSettings) -> Stamped {
    let lang = if n.is_multiple_of(2) { "kk" } else { "ru" };
    let policy = &manifest.languages[lang].policy;
    let email = format!("person{n}@example.kz");
    let message = format!("Сәлеметсіз бе! Тапсырыс №{n} туралы сұрағым бар. ").repeat(8);
    let body = serde_html_form::to_string([
        ("surname", "Сейітқазы"),
        ("first_name", "Әйгерім"),
        ("email", email.as_str()),
        ("phone", "8 (701) 123-45-67"),
        ("message", message.as_str()),
        ("lang", lang),
        ("consent", "reply"),
        ("policy_version", policy.version.as_str()),
        ("policy_hash", policy.sha256.as_str()),
    ])
    .expect("the form encodes");
    let now = OffsetDateTime::now_utc();
    let raw = RawSubmission::from_form(body.as_bytes()).expect("decodes");
    let submission = Submission::parse(&raw, manifest, now).expect("valid");
    let mut stamped = stamp::stamp(
        submission,
        manifest,
        settings,
        &[],
        CollectionMethod::FormPost,
        now,
    )
    .expect("stamped");
    if n.is_multiple_of(5) {
        stamped.record.answered = Some(Answered {
            at: now,
            by: "bench".to_owned(),
        });
    } else if n % 50 == 1 {
        stamped.record.blocked_at = Some(now);
    }
    stamped
}

/// A SQLite file of `RECORDS` records, written concurrently so the group commit batches them.
async fn fill(store: Arc<SqliteStore>) -> Vec<RecordId> {
    let (manifest, settings) = (manifest(), settings());
    let mut writes = tokio::task::JoinSet::new();
    for n in 0..RECORDS {
        let stamped = stamped(n, &manifest, &settings);
        let store = Arc::clone(&store);
        writes.spawn(async move {
            store
                .insert_record(&stamped.record, &stamped.dedup, &stamped.outbox)
                .await
                .expect("stored");
            stamped.record.id
        });
    }
    let mut ids = writes.join_all().await;
    ids.sort();
    ids
}

/// `GET path` with the session's cookie; the page's length.
async fn get(router: &Router, cookie: &str, path: &str) -> usize {
    let request = Request::get(path)
        .header(header::HOST, "127.0.0.1:8788")
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .expect("a request");
    let response = router.clone().oneshot(request).await.expect("an answer");
    assert!(response.status().is_success(), "{}", response.status());
    axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("the page")
        .len()
}

/// The console on the file, entered with its token: the router and the session cookie.
async fn console_on(store: Arc<SqliteStore>) -> (Router, String) {
    let token = console::gate::random_hex().expect("randomness");
    let settings = Settings {
        key: HmacKey::from_bytes(vec![7; 32]).expect("a key"),
        manifest: Some(manifest()),
        actor: "bench".to_owned(),
        lang: "kk".to_owned(),
        deadlines: BTreeMap::new(),
        reply_after_answer: 30,
    };
    let store: Arc<dyn Store> = store;
    let console = Console::new(store, settings, token.clone()).expect("the console");
    let router = console::router(Arc::new(console));
    let enter = Request::get(format!("/?token={token}"))
        .header(header::HOST, "127.0.0.1:8788")
        .body(Body::empty())
        .expect("a request");
    let entered = router.clone().oneshot(enter).await.expect("an answer");
    let cookie = entered.headers()[header::SET_COOKIE]
        .to_str()
        .expect("a cookie")
        .split(';')
        .next()
        .expect("its value")
        .to_owned();
    (router, cookie)
}

fn inbox(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let dir = tempfile::tempdir().expect("a folder");
    let store = Arc::new(SqliteStore::open(&dir.path().join("bench.sqlite")).expect("a store"));
    let ids = runtime.block_on(fill(Arc::clone(&store)));
    let (router, cookie) = runtime.block_on(console_on(Arc::clone(&store)));
    let deep = format!("/kk/inbox?show=all&after={}", ids[RECORDS * 9 / 10]);
    for (name, path) in [
        (
            "console inbox, 10,000 records: first page of unanswered",
            "/kk/inbox",
        ),
        (
            "console inbox, 10,000 records: a page of all, 9,000 in",
            deep.as_str(),
        ),
    ] {
        let size = runtime.block_on(get(&router, &cookie, path));
        assert!(size > 20_000, "{path}: a page of 50 messages, {size} bytes");
        c.bench_function(name, |b| {
            b.iter(|| runtime.block_on(get(&router, &cookie, path)))
        });
    }
    // For comparison: what reading every record costs (the `inbox` command's way).
    c.bench_function(
        "inbox command's use case, 10,000 records: every record read",
        |b| b.iter(|| runtime.block_on(kelisim_relay::app::inbox::inbox(store.as_ref(), false))),
    );
}

criterion_group!(benches, inbox);
criterion_main!(benches);
