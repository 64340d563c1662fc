//! Trust under abuse, through the real router and the real binary: what a stranger can make
//! the relay do to someone else's mailbox, what stays of things nobody confirmed, mail that
//! can never be delivered, removals that meet a busy reader, and deliverers that overlap.
//! Where the store matters the test runs on a SQLite file and on DynamoDB (moto).
#![cfg(all(feature = "notify", feature = "sqlite", feature = "server"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::*;
use crate::conformance::Backend;
use crate::relay_process::{BIN, KEY};
use crate::smtp_sink::SmtpSink;

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use kelisim_relay::config::RateLimitConfig;
use kelisim_relay::delivery::senders::SmtpMailer;
use kelisim_relay::delivery::{Deliverer, DeliverySettings};
use kelisim_relay::domain::messages::Messages;
use kelisim_relay::domain::outbox::Channel;
use kelisim_relay::store::Store;
use kelisim_relay::store::sqlite::SqliteStore;
use kelisim_relay::web::AppState;
use time::{Duration, OffsetDateTime};

const OPERATOR_INBOX: &str = "info@woow.kz";

/// The relay's router on `store`, with the request pages, the newsletter behind a double
/// opt-in and the default rate limits.
fn state_on(store: Arc<dyn Store>, channels: &[Channel]) -> AppState {
    AppState::new(store, manifest_with_request_pages(), settings())
        .unwrap()
        .with_rate_limit(&RateLimitConfig::default())
        .with_notify_channels(channels)
}

fn deliverer(store: Arc<dyn Store>, sink: &SmtpSink, lease: Duration) -> Deliverer {
    let manifest = manifest_with_request_pages();
    Deliverer::new(
        store,
        hmac_key(),
        Arc::new(manifest.clone()),
        Messages::from_manifest(&manifest).unwrap(),
        DeliverySettings {
            notify_to: vec![OPERATOR_INBOX.to_owned()],
            operator_language: "kk".to_owned(),
            include_personal_data: false,
            public_url: "https://woow.kz/api/contact".to_owned(),
            confirm_within: Duration::days(7),
            lease,
        },
    )
    .with_mailer(Arc::new(
        SmtpMailer::new(&sink.url(), None, "woow.kz <relay@woow.kz>").unwrap(),
    ))
}

/// A post as if from the client at `ip` (the TCP peer the server would see).
fn from(mut request: Request<Body>, ip: &str) -> Request<Body> {
    let peer: SocketAddr = format!("{ip}:40000").parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(peer));
    request
}

fn request_form(kind: &str, email: &str, lang: &str) -> Request<Body> {
    let body = serde_html_form::to_string([
        ("kind", kind),
        ("email", email),
        ("lang", lang),
        ("website", ""),
    ])
    .unwrap();
    Request::post("/api/contact/request")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ORIGIN, SITE_ORIGIN)
        .body(Body::from(body))
        .unwrap()
}

/// The contact form with the newsletter ticked, its message made unique by `n` (so no post
/// is a double click of another).
fn contact_form_with_newsletter(email: &str, n: usize) -> Request<Body> {
    let mut fields = with(valid_fields("kk"), "email", Some(email));
    fields = with(fields, "message", Some(&format!("{MESSAGE} #{n}")));
    fields.push(("consent".to_owned(), "newsletter".to_owned()));
    json_request(json_body(&fields), Some(SITE_ORIGIN))
}

/// Runs delivery rounds until nothing is due.
async fn deliver_all(deliverer: &Deliverer) {
    for _ in 0..5 {
        let report = deliverer.run_once(OffsetDateTime::now_utc()).await.unwrap();
        if report.delivered + report.retried + report.dead == 0 {
            return;
        }
    }
}

const KINDS: [&str; 5] = [
    "access",
    "rectification",
    "withdrawal",
    "blocking",
    "erasure",
];

#[tokio::test]
async fn twelve_request_posts_from_one_client_get_429_from_the_sixth_and_at_most_five_mails() {
    let backend = Backend::sqlite_file();
    let state = state_on(backend.store(), &[]);
    let sink = SmtpSink::start().await;
    let mut statuses = Vec::new();
    for n in 0..12 {
        let email = format!("person{n}@example.kz");
        let answer = send(
            &state,
            from(request_form(KINDS[n % 5], &email, "ru"), "203.0.113.7"),
        )
        .await;
        if answer.status == StatusCode::TOO_MANY_REQUESTS {
            assert!(answer.header(header::RETRY_AFTER).is_some());
            assert!(answer.body.contains("lang=\"ru\""), "{}", answer.body);
            assert!(!answer.body.contains(&email), "{}", answer.body);
        }
        statuses.push(answer.status.as_u16());
    }
    assert_eq!(statuses[..5], [303; 5], "{statuses:?}");
    assert_eq!(statuses[5..], [429; 7], "{statuses:?}");
    // Another client is not held back by the first one's limit.
    let other = send(
        &state,
        from(
            request_form("access", "other@example.kz", "kk"),
            "198.51.100.9",
        ),
    )
    .await;
    assert_eq!(other.status, StatusCode::SEE_OTHER);

    deliver_all(&deliverer(backend.store(), &sink, Duration::minutes(2))).await;
    let to_the_client_s_posts = sink
        .received()
        .iter()
        .filter(|m| m.to.iter().any(|t| t.contains("person")))
        .count();
    assert_eq!(to_the_client_s_posts, 5);
}

/// Twelve spellings of one mailbox: case anywhere, spaces around it.
fn spellings() -> Vec<String> {
    let forms = [
        "victim@example.kz",
        "VICTIM@EXAMPLE.KZ",
        "  Victim@Example.kz",
        "victim@EXAMPLE.kz  ",
        "ViCtIm@example.KZ",
        "\tvictim@example.kz",
    ];
    (0..12).map(|n| forms[n % forms.len()].to_owned()).collect()
}

/// Posts `posts` (each from a client address of its own) and returns how many mails reached
/// the mailbox and how many answers looked like success.
async fn aim_at_one_mailbox(store: Arc<dyn Store>, posts: Vec<Request<Body>>) -> (usize, usize) {
    let state = state_on(store.clone(), &[Channel::Email]);
    let sink = SmtpSink::start().await;
    let mut accepted = 0;
    for (n, post) in posts.into_iter().enumerate() {
        let answer = send(&state, from(post, &format!("192.0.2.{}", n + 1))).await;
        if [StatusCode::CREATED, StatusCode::SEE_OTHER].contains(&answer.status) {
            accepted += 1;
        }
    }
    deliver_all(&deliverer(store, &sink, Duration::minutes(2))).await;
    (sink.attempts_for("victim@example.kz"), accepted)
}

async fn requests_naming_one_mailbox_send_it_at_most_three_mails(store: Arc<dyn Store>) {
    let posts = spellings()
        .iter()
        .enumerate()
        .map(|(n, email)| request_form(KINDS[n % 5], email, ["kk", "ru"][n % 2]))
        .collect();
    let (mails, accepted) = aim_at_one_mailbox(store.clone(), posts).await;
    assert_eq!(mails, 3, "at most 3 confirmation mails a day");
    assert_eq!(accepted, 12, "every post is answered as accepted");
    assert_eq!(
        store.list_requests().await.unwrap().len(),
        3,
        "nothing is stored over the cap"
    );
}

async fn contact_posts_naming_one_mailbox_send_it_at_most_three_mails(store: Arc<dyn Store>) {
    let posts = spellings()
        .iter()
        .enumerate()
        .map(|(n, email)| contact_form_with_newsletter(email, n))
        .collect();
    let (mails, accepted) = aim_at_one_mailbox(store.clone(), posts).await;
    assert_eq!(mails, 3, "at most 3 confirmation mails a day");
    assert_eq!(accepted, 12, "every post is answered as accepted");
    assert_eq!(
        store.list_records().await.unwrap().len(),
        3,
        "nothing is stored over the cap"
    );
}

/// The request form and the newsletter share the mailbox's cap.
async fn both_forms_together_share_the_cap(store: Arc<dyn Store>) {
    let spelled = spellings();
    let posts = (0..12)
        .map(|n| match n % 2 {
            0 => request_form(KINDS[n % 5], &spelled[n], "kk"),
            _ => contact_form_with_newsletter(&spelled[n], n),
        })
        .collect();
    let (mails, accepted) = aim_at_one_mailbox(store, posts).await;
    assert_eq!(mails, 3);
    assert_eq!(accepted, 12);
}

// Each on a SQLite file, SQLite in memory and moto (the conformance suites' macro).
on_every_store!(
    requests_naming_one_mailbox_send_it_at_most_three_mails,
    contact_posts_naming_one_mailbox_send_it_at_most_three_mails,
    both_forms_together_share_the_cap,
    two_deliverers_past_their_lease_send_each_item_once,
);

/// Two deliverers on one outbox, against a mail server slow enough that a round lasts much
/// longer than the lease, the second starting when the first's round is already older than
/// the lease: every item is claimed by one of them for a lease counted from its own claim, so
/// the second never takes what the first is still sending, and each message arrives once.
async fn two_deliverers_past_their_lease_send_each_item_once(store: Arc<dyn Store>) {
    const ITEMS: usize = 16;
    let state = AppState::new(store.clone(), manifest(), settings())
        .unwrap()
        .with_notify_channels(&[Channel::Email]);
    let mut ids = Vec::new();
    for n in 0..ITEMS {
        let fields = with(valid_fields("kk"), "message", Some(&format!("хабар {n}")));
        let answer = send(&state, json_request(json_body(&fields), Some(SITE_ORIGIN))).await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
        ids.push(answer.json()["id"].as_str().unwrap().to_owned());
    }
    let sink = SmtpSink::start().await;
    sink.slow_down(std::time::Duration::from_millis(700));
    let lease = Duration::seconds(2);
    // A second handle on the same store, as a second process would have.
    let other: Arc<dyn Store> = store.clone();
    let (first, second) = (
        deliverer(store, &sink, lease),
        deliverer(other, &sink, lease),
    );
    // The second starts its round once the first one's round is older than the lease.
    let late_start = async {
        tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
        second.run_once(OffsetDateTime::now_utc()).await
    };
    let (a, b) = tokio::join!(first.run_once(OffsetDateTime::now_utc()), late_start);
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.delivered + b.delivered, ITEMS, "{a:?} {b:?}");
    assert!(
        a.delivered > 0 && b.delivered > 0,
        "both took part: {a:?} {b:?}"
    );
    let mails = sink.received();
    assert_eq!(mails.len(), ITEMS);
    for id in ids {
        let times = mails.iter().filter(|m| m.body().contains(&id)).count();
        assert_eq!(times, 1, "record {id} notified {times} times");
    }
}

/// The binary on `db` with the tests' key; panics unless it succeeded.
fn relay(db: &Path, args: &[&str]) -> String {
    let output = Command::new(BIN)
        .args(args)
        .arg("--db")
        .arg(db)
        .env("KELISIM_HMAC_KEY", KEY)
        .output()
        .unwrap();
    assert!(output.status.success(), "{args:?}: {output:?}");
    String::from_utf8(output.stdout).unwrap()
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

#[tokio::test]
async fn nothing_unconfirmed_outlives_its_link() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("relay.sqlite");
    let typed = "typed.by.a.stranger@example.kz";
    {
        let state = state_on(Arc::new(SqliteStore::open(&db).unwrap()), &[]);
        let answer = send(&state, request_form("erasure", typed, "kk")).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER);
        let answer = send(&state, contact_form_with_newsletter(EMAIL, 0)).await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    }
    assert!(!crate::sqlite_store::places_holding(&db, typed).is_empty());
    // Before the link expires nothing goes.
    let early = relay(
        &db,
        &[
            "purge-expired",
            "--yes",
            "--now",
            &rfc3339(OffsetDateTime::now_utc() + Duration::days(6)),
        ],
    );
    assert!(
        early.contains(" 0 unconfirmed request(s) removed"),
        "{early}"
    );
    let later = OffsetDateTime::now_utc() + Duration::days(8);
    let purged = relay(&db, &["purge-expired", "--yes", "--now", &rfc3339(later)]);
    assert!(
        purged.contains(" 1 unconfirmed request(s) removed"),
        "{purged}"
    );
    let open: serde_json::Value =
        serde_json::from_str(&relay(&db, &["requests", "list", "--all", "--json"])).unwrap();
    assert_eq!(open.as_array().unwrap().len(), 0, "{open}");
    assert_eq!(
        crate::sqlite_store::places_holding(&db, typed),
        Vec::<String>::new(),
        "the typed address is gone from the files"
    );
    // The never-confirmed newsletter grant has lapsed: it keeps nothing the reply does not
    // need, and the record's retention is the reply's again.
    let store = SqliteStore::open(&db).unwrap();
    let record = &kelisim_relay::store::RecordStore::list_records(&store)
        .await
        .unwrap()[0];
    let newsletter = record.purpose("newsletter").unwrap();
    assert_eq!(
        newsletter.status(later),
        kelisim_relay::domain::record::ConsentStatus::Lapsed
    );
    let reply = record.purpose("reply").unwrap();
    assert_eq!(Some(record.expires_at), reply.expires_at);
}

#[tokio::test]
async fn a_recipient_refused_for_good_is_tried_once_and_listed_as_a_dead_letter() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("relay.sqlite");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&db).unwrap());
    let state = state_on(store.clone(), &[]);
    let answer = send(
        &state,
        request_form("access", "no-such-box@example.kz", "kk"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    let sink = SmtpSink::start().await;
    sink.reject_recipient("no-such-box");
    let deliverer = deliverer(store.clone(), &sink, Duration::minutes(2));
    let now = OffsetDateTime::now_utc();
    let first = deliverer.run_once(now).await.unwrap();
    assert_eq!((first.dead, first.dead_letters), (1, 1), "{first:?}");
    for later in [Duration::hours(7), Duration::days(1), Duration::days(4)] {
        let report = deliverer.run_once(now + later).await.unwrap();
        assert_eq!(report.delivered + report.retried + report.dead, 0);
        assert_eq!(report.backlog(), 1, "the dead letter counts until handled");
    }
    assert_eq!(sink.attempts_for("no-such-box"), 1);
    let status = relay(&db, &["deliver", "--status"]);
    assert!(status.contains("DEAD"), "{status}");
    assert!(status.contains("550"), "the reason: {status}");
    assert!(!status.contains("no-such-box"), "no address: {status}");
}

/// A reader holding a snapshot (a second connection inside `BEGIN; SELECT …`) keeps the
/// write-ahead log from being truncated. The removal has still happened: the command says
/// so and the audit holds the record's id; once the reader is gone, the next write finishes
/// the scrub and the bytes are gone from the files.
#[tokio::test]
async fn removals_that_meet_a_busy_reader_are_done_audited_and_scrubbed_later() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("relay.sqlite");
    let marker = |n: usize| format!("BUSY-READER-MARKER-{n}-{}", uuid::Uuid::now_v7().simple());
    let markers: Vec<String> = (0..3).map(marker).collect();
    let mut ids = Vec::new();
    {
        let state = AppState::new(
            Arc::new(SqliteStore::open(&db).unwrap()),
            manifest(),
            settings(),
        )
        .unwrap();
        for (n, text) in markers.iter().enumerate() {
            let mut fields = with(valid_fields("kk"), "message", Some(text));
            fields = with(fields, "email", Some(&format!("busy{n}@example.kz")));
            let answer = send(&state, json_request(json_body(&fields), Some(SITE_ORIGIN))).await;
            assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
            ids.push(answer.json()["id"].as_str().unwrap().to_owned());
        }
    }
    let reader = rusqlite::Connection::open(&db).unwrap();
    reader
        .execute_batch("BEGIN; SELECT count(*) FROM records;")
        .unwrap();
    let erased = relay(&db, &["records", "erase", &ids[0], "--yes"]);
    assert!(erased.contains("1 record(s) erased"), "{erased}");
    let anonymized = relay(&db, &["records", "anonymize", &ids[1], "--yes"]);
    assert!(anonymized.contains("1 record(s)"), "{anonymized}");
    let withdrawn = relay(
        &db,
        &[
            "records",
            "withdraw",
            "--email",
            "busy2@example.kz",
            "--yes",
        ],
    );
    assert!(
        withdrawn.contains(&ids[2]) || withdrawn.contains("1 record"),
        "{withdrawn}"
    );
    let audit = relay(&db, &["audit", "--json"]);
    for (action, id) in [
        ("erase", &ids[0]),
        ("anonymize", &ids[1]),
        ("withdraw", &ids[2]),
    ] {
        assert!(
            audit
                .lines()
                .any(|line| line.contains(action) && line.contains(id.as_str())),
            "no {action} entry with {id}: {audit}"
        );
    }
    let pinned = crate::sqlite_store::places_holding(&db, &markers[0]);
    assert!(
        !pinned.is_empty(),
        "the reader's snapshot still pins the old bytes (else this test proves nothing)"
    );
    reader.execute_batch("COMMIT").unwrap();
    drop(reader);
    // One more write: a post through the router.
    {
        let state = AppState::new(
            Arc::new(SqliteStore::open(&db).unwrap()),
            manifest(),
            settings(),
        )
        .unwrap();
        let fields = with(valid_fields("ru"), "email", Some("after@example.kz"));
        let answer = send(&state, json_request(json_body(&fields), Some(SITE_ORIGIN))).await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    }
    for text in &markers {
        assert_eq!(
            crate::sqlite_store::places_holding(&db, text),
            Vec::<String>::new(),
            "{text} survived"
        );
    }
}

/// The mailed link's path and query (`/api/contact/confirm?token=…`) in the mail to `email`.
fn mailed_link(sink: &SmtpSink, email: &str) -> Option<String> {
    let mail = sink
        .received()
        .into_iter()
        .find(|m| m.to.iter().any(|t| t.contains(email)))?;
    let body = mail.body();
    let start = body.find("/api/contact/confirm?token=")?;
    Some(body[start..].split_whitespace().next()?.to_owned())
}

fn http() -> ureq::Agent {
    ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .build()
        .into()
}

/// A JSON post of the contact form to the serving relay (the newsletter ticked on the first,
/// `n == 0`, only: the mailbox's cap of confirmation mails is not what this is about); its
/// record id.
fn post_to(base: &str, email: &str, n: usize) -> String {
    let mut fields = with(valid_fields("kk"), "email", Some(email));
    fields = with(fields, "message", Some(&format!("хабар {n}")));
    if n == 0 {
        fields.push(("consent".to_owned(), "newsletter".to_owned()));
    }
    let mut response = http()
        .post(format!("{base}/api/contact"))
        .header("Content-Type", "application/json")
        .header("Accept", "application/json")
        .header("Origin", SITE_ORIGIN)
        .send(json_body(&fields))
        .unwrap();
    let body = response.body_mut().read_to_string().unwrap();
    assert_eq!(response.status(), 201, "{body}");
    serde_json::from_str::<serde_json::Value>(&body).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// `rekey --install` while `kelisim-relay serve` takes posts: the posts made while it runs and
/// after it are found with the new key, and a newsletter link mailed before it still confirms.
#[test]
fn a_rekey_while_serving_strands_no_record_and_breaks_no_link() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sink = runtime.block_on(SmtpSink::start());
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("relay.sqlite");
    let key_file = dir.path().join("hmac.key");
    std::fs::write(&key_file, KEY).unwrap();
    let new_key = "ab".repeat(32);
    let new_key_file = dir.path().join("new.key");
    std::fs::write(&new_key_file, &new_key).unwrap();
    let manifest_file = dir.path().join("manifest.json");
    std::fs::write(
        &manifest_file,
        serde_json::to_string(&manifest_with_opt_in()).unwrap(),
    )
    .unwrap();
    let env = |command: &mut Command| {
        command
            .arg("--db")
            .arg(&db)
            .env_remove("KELISIM_HMAC_KEY")
            .env("KELISIM_HMAC_KEY_FILE", &key_file)
            .env("KELISIM_RATE_LIMIT_ENABLED", "false");
    };
    let mut serve = Command::new(BIN);
    serve
        .args(["serve", "--listen", "127.0.0.1:0", "--manifest"])
        .arg(&manifest_file)
        .env("KELISIM_SMTP_URL", sink.url())
        .env("KELISIM_MAIL_FROM", "relay@woow.kz")
        .env("KELISIM_STORAGE_LOCATION", "rekey test host")
        .stderr(std::process::Stdio::null());
    env(&mut serve);
    let (mut child, base) = crate::relay_process::spawn_serving(&mut serve);

    let before = post_to(&base, EMAIL, 0);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let link = loop {
        if let Some(link) = mailed_link(&sink, EMAIL) {
            break link;
        }
        assert!(std::time::Instant::now() < deadline, "no confirmation mail");
        std::thread::sleep(std::time::Duration::from_millis(50));
    };

    // Posts keep coming from before the rekey starts until after it ends.
    let rekeying = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let posting = {
        let (base, rekeying) = (base.clone(), rekeying.clone());
        std::thread::spawn(move || {
            let mut ids = Vec::new();
            while rekeying.load(std::sync::atomic::Ordering::SeqCst) || ids.len() < 3 {
                ids.push(post_to(&base, EMAIL, ids.len() + 1));
            }
            ids
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(30));
    let mut rekey = Command::new(BIN);
    rekey
        .args(["rekey", "--install", "--yes", "--new-key-file"])
        .arg(&new_key_file);
    env(&mut rekey);
    let output = rekey.output().unwrap();
    assert!(output.status.success(), "{output:?}");
    std::thread::sleep(std::time::Duration::from_millis(30));
    rekeying.store(false, std::sync::atomic::Ordering::SeqCst);
    let during = posting.join().unwrap();
    assert_eq!(std::fs::read_to_string(&key_file).unwrap().trim(), new_key);

    // The link mailed before the rekey: its page, then its button.
    let page = http()
        .get(format!("{base}{link}"))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    let action_at = page.find("action=\"").expect("a form") + 8;
    let action = &page[action_at..action_at + page[action_at..].find('"').unwrap()];
    let action = action.replace("&amp;", "&");
    let action = action.trim_start_matches(SITE_ORIGIN);
    let token_at = page
        .find("name=\"token\" value=\"")
        .expect("the token field")
        + 20;
    let token = &page[token_at..token_at + page[token_at..].find('"').unwrap()];
    let confirmed = http()
        .post(format!("{base}{action}"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("Origin", SITE_ORIGIN)
        .send(serde_html_form::to_string([("token", token)]).unwrap())
        .unwrap();
    assert_eq!(confirmed.status(), 303);
    let location = confirmed.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.contains("/confirmed/"), "{location}");

    let after = post_to(&base, EMAIL, 99);
    let _ = child.kill();
    let _ = child.wait();

    // Everything is found with the new key alone.
    let mut export = Command::new(BIN);
    export.args(["records", "export", "--email", EMAIL]);
    env(&mut export);
    let output = export.output().unwrap();
    assert!(output.status.success(), "{output:?}");
    let found: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let found = found.as_array().unwrap();
    for id in std::iter::once(&before).chain(&during).chain([&after]) {
        assert!(
            found.iter().any(|r| r["id"] == id.as_str()),
            "{id} stranded: found {:?}; before {before}, during {during:?}, after {after}",
            found
                .iter()
                .map(|r| r["id"].as_str().unwrap())
                .collect::<Vec<_>>()
        );
    }
    let first = found.iter().find(|r| r["id"] == before.as_str()).unwrap();
    let newsletter = first["consent"]["purposes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["purpose"] == "newsletter")
        .unwrap();
    assert!(
        newsletter["confirmed_at"].is_string(),
        "the pre-rekey link confirmed it: {newsletter}"
    );
}

/// Several posts stamped under the old key meet the sealed store at once: one of them reloads
/// the key file, and every other one sees the key in force has moved on and stamps again,
/// instead of giving up with 503 because "reloading changed nothing".
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_posts_after_a_rekey_all_stamp_again_under_the_new_key() {
    use kelisim_relay::app::keys::{self, RekeyStage};
    use kelisim_relay::domain::hmac_key::HmacKey;
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("hmac.key");
    std::fs::write(&key_file, HMAC_KEY_HEX).unwrap();
    let config = kelisim_relay::config::RelayConfig {
        hmac_key_file: Some(key_file.clone()),
        rate_limit: RateLimitConfig {
            enabled: false,
            ..RateLimitConfig::default()
        },
        ..Default::default()
    };
    let store = Arc::new(SqliteStore::open(&dir.path().join("relay.sqlite")).unwrap());
    let state = AppState::from_config(store.clone(), manifest(), &config).unwrap();
    let post = |n: usize| {
        let fields = with(valid_fields("kk"), "message", Some(&format!("хабар {n}")));
        json_request(json_body(&fields), Some(SITE_ORIGIN))
    };
    assert_eq!(send(&state, post(0)).await.status, StatusCode::CREATED);

    let (old, new) = (hmac_key(), HmacKey::parse(&"cd".repeat(32)).unwrap());
    keys::rekey(store.as_ref(), &old, &new, "test", RekeyStage::Prepare)
        .await
        .unwrap();
    std::fs::write(&key_file, "cd".repeat(32)).unwrap();
    keys::rekey(store.as_ref(), &old, &new, "test", RekeyStage::Finish)
        .await
        .unwrap();

    let answers = futures_join(&state, (1..=8).map(post).collect()).await;
    for answer in &answers {
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    }
    let found = kelisim_relay::app::rights::export(store.as_ref(), &new, EMAIL)
        .await
        .unwrap();
    assert_eq!(found.len(), 9, "every record under the new key");
}

/// Sends every request at once through the router.
async fn futures_join(state: &AppState, requests: Vec<Request<Body>>) -> Vec<Answer> {
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|request| {
            let state = state.clone();
            tokio::spawn(async move { send(&state, request).await })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    answers
}
