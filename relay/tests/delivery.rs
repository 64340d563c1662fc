//! The operator's side of a submission, with real parts: records stored through the router on
//! a real SQLite file, notifications and confirmation mail delivered over a real SMTP
//! conversation to a loopback sink, the signed webhook POSTed to a loopback HTTP server, and
//! the double opt-in link followed back through the router.
#![cfg(all(feature = "notify", feature = "sqlite"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;
use crate::smtp_sink;

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use common::*;
use hmac::{Hmac, Mac};
use kelisim_relay::delivery::senders::{HttpWebhook, SIGNATURE_HEADER, SmtpMailer};
use kelisim_relay::delivery::{Deliverer, DeliverySettings};
use kelisim_relay::domain::messages::Messages;
use kelisim_relay::domain::outbox::Channel;
use kelisim_relay::domain::record::{ConsentStatus, RecordId};
use kelisim_relay::domain::secret::Secret;
use kelisim_relay::domain::token::{self, TokenAction, TokenClaims};
use kelisim_relay::manifest::ConsentManifest;
use kelisim_relay::store::sqlite::SqliteStore;
use kelisim_relay::store::{OutboxStore, RecordStore, RightsLog};
use kelisim_relay::views::inbox;
use kelisim_relay::web::AppState;
use sha2::Sha256;
use smtp_sink::SmtpSink;
use time::{Duration, OffsetDateTime};

const OPERATOR_INBOX: &str = "info@woow.kz";
const PUBLIC_URL: &str = "https://woow.kz/api/contact";

struct Relay {
    _dir: tempfile::TempDir,
    store: Arc<SqliteStore>,
    state: AppState,
    manifest: ConsentManifest,
}

fn relay(channels: &[Channel]) -> Relay {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("relay.sqlite")).unwrap());
    let manifest = manifest_with_opt_in();
    let state = AppState::new(store.clone(), manifest.clone(), settings())
        .unwrap()
        .with_notify_channels(channels);
    Relay {
        _dir: dir,
        store,
        state,
        manifest,
    }
}

impl Relay {
    fn deliverer(&self) -> Deliverer {
        Deliverer::new(
            self.store.clone(),
            hmac_key(),
            Arc::new(self.manifest.clone()),
            Messages::from_manifest(&self.manifest).unwrap(),
            DeliverySettings {
                notify_to: vec![OPERATOR_INBOX.to_owned()],
                operator_language: "kk".to_owned(),
                include_personal_data: false,
                public_url: PUBLIC_URL.to_owned(),
                confirm_within: time::Duration::days(7),
                lease: kelisim_relay::domain::outbox::LEASE,
            },
        )
    }

    /// Submits the valid form in `lang` (with the newsletter box if `newsletter`) as the
    /// page's script does; returns the record id.
    async fn submit(&self, lang: &str, newsletter: bool) -> RecordId {
        let mut fields = valid_fields(lang);
        if newsletter {
            fields.push(("consent".to_owned(), "newsletter".to_owned()));
        }
        let answer = send(
            &self.state,
            json_request(json_body(&fields), Some(SITE_ORIGIN)),
        )
        .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
        answer.json()["id"].as_str().unwrap().parse().unwrap()
    }

    async fn get(&self, path_and_query: &str) -> Answer {
        let request = Request::get(path_and_query).body(Body::empty()).unwrap();
        send(&self.state, request).await
    }

    async fn head(&self, path_and_query: &str) -> Answer {
        let request = Request::head(path_and_query).body(Body::empty()).unwrap();
        send(&self.state, request).await
    }

    /// What a person does with a mailed link: opens it (a page with one button, which changes
    /// nothing), then presses the button (a POST of the page's form).
    async fn click(&self, link: &str) -> Answer {
        let page = self.get(link).await;
        assert_eq!(
            page.status,
            StatusCode::OK,
            "the link opens a page: {}",
            page.body
        );
        let (action, fields) = form_of(&page.body);
        let request = Request::post(action)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ORIGIN, SITE_ORIGIN)
            .body(Body::from(serde_html_form::to_string(&fields).unwrap()))
            .unwrap();
        send(&self.state, request).await
    }
}

/// The action and the hidden fields of the one form on a link's page.
fn form_of(page: &str) -> (String, Vec<(String, String)>) {
    let attribute = |tag: &str, name: &str| -> Option<String> {
        let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
        let end = tag[start..].find('"')? + start;
        Some(tag[start..end].replace("&amp;", "&"))
    };
    let form_start = page.find("<form").expect("a form");
    let form_tag = &page[form_start..page[form_start..].find('>').unwrap() + form_start];
    assert!(form_tag.contains("method=\"post\""), "{form_tag}");
    let action = attribute(form_tag, "action").expect("an action");
    let mut fields = Vec::new();
    for input in page[form_start..].split("<input").skip(1) {
        let tag = &input[..input.find('>').unwrap()];
        if let (Some(name), Some(value)) = (attribute(tag, "name"), attribute(tag, "value")) {
            fields.push((name, value));
        }
    }
    (action, fields)
}

fn mailer(sink_url: &str) -> Arc<SmtpMailer> {
    Arc::new(SmtpMailer::new(sink_url, None, "woow.kz <relay@woow.kz>").unwrap())
}

fn assert_no_personal_data(text: &str) {
    for value in [
        SURNAME, FIRST_NAME, PATRONYMIC, EMAIL, PHONE_E164, MESSAGE, "4242",
    ] {
        assert!(!text.contains(value), "`{value}` leaked into: {text}");
    }
}

#[tokio::test]
async fn the_operator_is_notified_without_personal_data_and_the_visitor_gets_a_link() {
    let sink = SmtpSink::start().await;
    let relay = relay(&[Channel::Email]);
    let id = relay.submit("ru", true).await;
    let deliverer = relay.deliverer().with_mailer(mailer(&sink.url()));

    let report = deliverer.run_once(OffsetDateTime::now_utc()).await.unwrap();
    assert_eq!((report.delivered, report.retried), (2, 0));
    assert!(relay.store.list_items().await.unwrap().is_empty());

    let mails = sink.received();
    let notification = mails
        .iter()
        .find(|m| m.to.iter().any(|t| t.contains(OPERATOR_INBOX)))
        .expect("the operator's notification");
    let body = notification.body();
    assert!(body.contains(&id.to_string()), "{body}");
    assert!(
        body.contains(&format!("kelisim-relay records show {id}")),
        "{body}"
    );
    // The purposes and the visitor's language in the operator's language's words.
    assert!(
        body.contains("Мақсаттар: сұрауға жауап беру, ақпараттық хаттар жіберу"),
        "{body}"
    );
    assert!(body.contains("Тілі: орыс тілі"), "{body}");
    assert_no_personal_data(&notification.raw);
    assert_no_personal_data(&body);

    let confirmation = mails
        .iter()
        .find(|m| m.to.iter().any(|t| t.contains(EMAIL)))
        .expect("the visitor's confirmation mail");
    let body = confirmation.body();
    assert!(
        body.contains("Чтобы подтвердить подписку"),
        "in Russian: {body}"
    );
    assert!(body.contains("7 дней"), "Russian plural: {body}");
    // The operator as Russian writes it, not the Kazakh legal form.
    assert!(
        body.contains("(ТОО «Z Distribution Company»)") && !body.contains("ЖШС"),
        "{body}"
    );
    assert!(
        body.contains(&format!("{PUBLIC_URL}/confirm?token=")),
        "{body}"
    );
    assert!(!body.contains(MESSAGE) && !body.contains(PHONE_E164));
}

/// The confirmation link in the mail the sink got for `email`, site-relative.
fn link_for(sink: &SmtpSink, email: &str) -> String {
    let mail = sink
        .received()
        .into_iter()
        .find(|m| m.to.iter().any(|t| t.contains(email)))
        .expect("a confirmation mail");
    let body = mail.body();
    let start = body.find(PUBLIC_URL).expect("a link");
    let link = body[start..].split_whitespace().next().unwrap();
    link.trim_start_matches("https://woow.kz").to_owned()
}

#[tokio::test]
async fn the_link_confirms_the_newsletter_once_and_everything_else_is_refused() {
    let sink = SmtpSink::start().await;
    let relay = relay(&[]);
    let id = relay.submit("kk", true).await;
    let now = OffsetDateTime::now_utc();
    let record = relay.store.get_record(id).await.unwrap().unwrap();
    let newsletter = record.purpose("newsletter").unwrap();
    assert_eq!(newsletter.status(now), ConsentStatus::Pending);
    assert!(
        record.expires_at < now + Duration::days(366),
        "a pending grant does not extend retention"
    );
    assert!(inbox::purpose_list(&[record], "newsletter", now).is_empty());

    relay
        .deliverer()
        .with_mailer(mailer(&sink.url()))
        .run_once(now)
        .await
        .unwrap();
    let link = link_for(&sink, EMAIL);
    assert!(link.starts_with("/api/contact/confirm?token="), "{link}");

    // A mail scanner's GET and HEAD, and the page the person sees, change nothing.
    for answer in [relay.head(&link).await, relay.get(&link).await] {
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.header(header::CACHE_CONTROL), Some("no-store"));
    }
    let unchanged = relay.store.get_record(id).await.unwrap().unwrap();
    assert_eq!(
        unchanged.purpose("newsletter").unwrap().status(now),
        ConsentStatus::Pending,
        "looking at the link confirms nothing"
    );
    let answer = relay.click(&link).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(
        answer.header(header::LOCATION),
        Some("https://woow.kz/kk/confirmed/")
    );
    let record = relay.store.get_record(id).await.unwrap().unwrap();
    let newsletter = record.purpose("newsletter").unwrap();
    assert_eq!(newsletter.status(now), ConsentStatus::Active);
    assert!(newsletter.confirmed_at.is_some());
    assert!(
        record.expires_at > now + Duration::days(1000),
        "now kept as long as the newsletter"
    );
    let list = inbox::purpose_list(&[record], "newsletter", OffsetDateTime::now_utc());
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].email, EMAIL);

    // Replayed: nothing changes.
    let replay = relay.get(&link).await;
    assert_eq!(
        replay.header(header::LOCATION),
        Some("https://woow.kz/kk/confirm-error/?reason=used")
    );
    // Tampered, missing, garbage: invalid, never a 500, in the language asked for.
    let tampered = link.replacen("token=", "token=A", 1);
    for path in [
        tampered.as_str(),
        "/api/contact/confirm",
        "/api/contact/confirm?token=%FF%FE&lang=ru",
        "/api/contact/confirm?token=x.y&lang=ru",
    ] {
        let answer = relay.get(path).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{path}");
        let location = answer.header(header::LOCATION).unwrap();
        assert!(
            location.ends_with("confirm-error/?reason=invalid"),
            "{path}: {location}"
        );
    }
    assert_eq!(
        relay
            .get("/api/contact/confirm?token=x.y&lang=ru")
            .await
            .header(header::LOCATION),
        Some("https://woow.kz/ru/confirm-error/?reason=invalid")
    );
}

#[tokio::test]
async fn an_expired_link_is_refused_and_changes_nothing() {
    let relay = relay(&[]);
    let id = relay.submit("ru", true).await;
    let before = relay.store.get_record(id).await.unwrap().unwrap();
    let claims = TokenClaims {
        action: TokenAction::Confirm,
        subject: id.0,
        purpose: "newsletter".to_owned(),
        expires_at: OffsetDateTime::now_utc() - Duration::seconds(1),
    };
    let path = format!(
        "/api/contact/confirm?token={}&lang=ru",
        token::sign(&hmac_key(), &claims)
    );
    let answer = relay.get(&path).await;
    assert_eq!(
        answer.header(header::LOCATION),
        Some("https://woow.kz/ru/confirm-error/?reason=expired")
    );
    assert_eq!(relay.store.get_record(id).await.unwrap().unwrap(), before);
}

#[tokio::test]
async fn a_mail_server_that_is_down_then_refusing_then_up_gets_each_message_exactly_once() {
    // A free port with nothing listening: the operator's mail server is down.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let relay = relay(&[Channel::Email]);
    let started = std::time::Instant::now();
    let id = relay.submit("kk", false).await;
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "the visitor is answered without waiting for mail"
    );
    let deliverer = relay
        .deliverer()
        .with_mailer(mailer(&format!("smtp://{port}")));
    let now = OffsetDateTime::now_utc();
    let report = deliverer.run_once(now).await.unwrap();
    assert_eq!((report.delivered, report.retried), (0, 1));
    let queued = relay.store.list_items().await.unwrap();
    assert_eq!(queued.len(), 1);
    assert!(queued[0].last_error.as_deref().unwrap().starts_with("smtp"));
    assert!(
        relay.store.get_record(id).await.unwrap().is_some(),
        "the record is safe"
    );

    // Back up, but refusing once with a transient error.
    let sink = SmtpSink::start_on(port).await;
    sink.refuse_next(1);
    assert_eq!(
        deliverer.run_once(now).await.unwrap().delivered,
        0,
        "not due yet"
    );
    let later = now + Duration::seconds(31);
    let report = deliverer.run_once(later).await.unwrap();
    assert_eq!((report.delivered, report.retried), (0, 1));
    let report = deliverer
        .run_once(later + Duration::seconds(61))
        .await
        .unwrap();
    assert_eq!((report.delivered, report.retried), (1, 0));
    let report = deliverer
        .run_once(later + Duration::hours(7))
        .await
        .unwrap();
    assert_eq!(report.delivered, 0, "nothing is sent twice");
    assert_eq!(sink.received().len(), 1);
    assert!(relay.store.list_items().await.unwrap().is_empty());
}

/// A webhook receiver on loopback that answers 500 to its first `fail` requests, then 200.
async fn webhook_receiver(fail: usize) -> (String, Arc<Mutex<Vec<(HeaderMap, String)>>>) {
    let seen: Arc<Mutex<Vec<(HeaderMap, String)>>> = Arc::default();
    let log = Arc::clone(&seen);
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let log = Arc::clone(&log);
            async move {
                let mut log = log.lock().unwrap();
                log.push((headers, body));
                if log.len() <= fail {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::OK
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

#[tokio::test]
async fn the_webhook_is_signed_retried_after_a_500_and_sent_once() {
    let (url, seen) = webhook_receiver(1).await;
    let secret = "whsec_kelisim_test";
    let relay = relay(&[Channel::Webhook]);
    let id = relay.submit("kk", false).await;
    let deliverer = relay.deliverer().with_webhook(Arc::new(
        HttpWebhook::new(&url, Secret::new(secret.to_owned())).unwrap(),
    ));
    let now = OffsetDateTime::now_utc();
    assert_eq!(deliverer.run_once(now).await.unwrap().retried, 1);
    let report = deliverer
        .run_once(now + Duration::seconds(31))
        .await
        .unwrap();
    assert_eq!(report.delivered, 1);
    assert_eq!(
        deliverer
            .run_once(now + Duration::hours(7))
            .await
            .unwrap()
            .delivered,
        0
    );

    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2, "one failed and one accepted POST");
    let (headers, body) = &seen[1];
    let payload: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(payload["id"], id.to_string());
    assert_eq!(payload["type"], "record.received");
    assert_no_personal_data(body);

    // Verify as the README tells a receiver to: HMAC-SHA256 of "t.body", fresh timestamp.
    let signature = headers[SIGNATURE_HEADER].to_str().unwrap();
    let (t, v1) = signature.split_once(',').unwrap();
    let t: i64 = t.strip_prefix("t=").unwrap().parse().unwrap();
    assert!((OffsetDateTime::now_utc().unix_timestamp() - t).abs() < 300);
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    mac.verify_slice(&hex::decode(v1.strip_prefix("v1=").unwrap()).unwrap())
        .expect("the signature verifies");
}

#[tokio::test]
async fn an_erased_record_is_not_notified_about() {
    let sink = SmtpSink::start().await;
    let relay = relay(&[Channel::Email]);
    let id = relay.submit("kk", true).await;
    assert!(relay.store.delete_record(id).await.unwrap());
    let report = relay
        .deliverer()
        .with_mailer(mailer(&sink.url()))
        .run_once(OffsetDateTime::now_utc())
        .await
        .unwrap();
    assert_eq!(report.delivered, 0);
    assert!(sink.received().is_empty());
}

#[tokio::test]
async fn a_blocked_record_is_not_notified_about_nor_mailed_until_it_is_unblocked() {
    let sink = SmtpSink::start().await;
    let relay = relay(&[Channel::Email]);
    let id = relay.submit("kk", true).await;
    let record = relay.store.get_record(id).await.unwrap().unwrap();
    let plan = kelisim_relay::domain::plan::plan_block(record, true, OffsetDateTime::now_utc());
    kelisim_relay::app::rights::apply(relay.store.as_ref(), &plan, "operator")
        .await
        .unwrap();
    let report = relay
        .deliverer()
        .with_mailer(mailer(&sink.url()))
        .run_once(OffsetDateTime::now_utc())
        .await
        .unwrap();
    assert_eq!(report.delivered, 0);
    assert_eq!(
        report.withheld, 2,
        "the notification and the confirmation mail are held back"
    );
    assert!(
        sink.received().is_empty(),
        "nothing is sent about a blocked record"
    );
    let held = relay.store.list_items().await.unwrap();
    assert!(held.iter().all(|i| i.withheld) && held.len() == 2);
    let again = relay
        .deliverer()
        .with_mailer(mailer(&sink.url()))
        .run_once(OffsetDateTime::now_utc() + Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(again, Default::default(), "a held item is not due");

    // Unblocking queues again what blocking held back.
    let record = relay.store.get_record(id).await.unwrap().unwrap();
    let plan = kelisim_relay::domain::plan::plan_block(record, false, OffsetDateTime::now_utc());
    kelisim_relay::app::rights::apply(relay.store.as_ref(), &plan, "operator")
        .await
        .unwrap();
    let report = relay
        .deliverer()
        .with_mailer(mailer(&sink.url()))
        .run_once(OffsetDateTime::now_utc())
        .await
        .unwrap();
    assert_eq!(report.delivered, 2, "{report:?}");
    assert_eq!(sink.received().len(), 2);
}

#[tokio::test]
async fn include_personal_data_is_an_explicit_opt_in_that_puts_the_message_in_the_mail() {
    let sink = SmtpSink::start().await;
    let relay = relay(&[Channel::Email]);
    let id = relay.submit("kk", false).await;
    let settings = DeliverySettings {
        notify_to: vec![OPERATOR_INBOX.to_owned()],
        operator_language: "ru".to_owned(),
        include_personal_data: true,
        public_url: PUBLIC_URL.to_owned(),
        confirm_within: time::Duration::days(7),
        lease: kelisim_relay::domain::outbox::LEASE,
    };
    let deliverer = Deliverer::new(
        relay.store.clone(),
        hmac_key(),
        Arc::new(relay.manifest.clone()),
        Messages::from_manifest(&relay.manifest).unwrap(),
        settings,
    )
    .with_mailer(mailer(&sink.url()));
    assert_eq!(
        deliverer
            .run_once(OffsetDateTime::now_utc())
            .await
            .unwrap()
            .delivered,
        1
    );
    let body = sink.received()[0].body();
    assert!(
        body.contains("Обращение (включён параметр include_personal_data = true)"),
        "{body}"
    );
    for value in [SURNAME, FIRST_NAME, EMAIL, PHONE_E164, MESSAGE] {
        assert!(
            body.contains(value),
            "{value} is in the opted-in mail: {body}"
        );
    }
    assert!(body.contains(&id.to_string()));
}

fn request_post(fields: &[(&str, &str)], origin: Option<&str>) -> Request<Body> {
    let body = serde_html_form::to_string(fields).unwrap();
    let mut builder = Request::post("/api/contact/request")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(origin) = origin {
        builder = builder.header(header::ORIGIN, origin);
    }
    builder.body(Body::from(body)).unwrap()
}

#[tokio::test]
async fn a_data_subject_request_is_confirmed_by_the_mailed_link_and_the_operator_is_told() {
    let sink = SmtpSink::start().await;
    let mut relay = relay(&[]);
    relay.manifest = manifest_with_request_pages();
    relay.state = AppState::new(relay.store.clone(), relay.manifest.clone(), settings()).unwrap();
    let deliverer = relay.deliverer().with_mailer(mailer(&sink.url()));

    let answer = send(
        &relay.state,
        request_post(
            &[
                ("kind", "erasure"),
                ("email", EMAIL),
                ("lang", "ru"),
                ("website", ""),
            ],
            Some(SITE_ORIGIN),
        ),
    )
    .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(
        answer.header(header::LOCATION),
        Some("https://woow.kz/ru/request-sent/")
    );
    let requests = relay.store.list_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    assert!(
        requests[0].confirmed_at.is_none(),
        "waits for its confirmation"
    );

    let report = deliverer.run_once(OffsetDateTime::now_utc()).await.unwrap();
    assert_eq!(report.delivered, 1);
    let mail = &sink.received()[0];
    assert!(mail.to.iter().any(|t| t.contains(EMAIL)));
    let body = mail.body();
    assert!(
        body.contains("Уничтожить мои персональные данные"),
        "{body}"
    );
    let start = body.find(PUBLIC_URL).unwrap();
    let link = body[start..].split_whitespace().next().unwrap();
    let path = link.trim_start_matches("https://woow.kz").to_owned();
    assert!(
        path.starts_with("/api/contact/request/confirm?token="),
        "{path}"
    );

    let looked = relay.get(&path).await;
    assert_eq!(looked.status, StatusCode::OK, "a page with the button");
    assert!(
        relay.store.list_requests().await.unwrap()[0]
            .confirmed_at
            .is_none(),
        "looking at the link confirms nothing"
    );
    let answer = relay.click(&path).await;
    assert_eq!(
        answer.header(header::LOCATION),
        Some("https://woow.kz/ru/request-confirmed/")
    );
    let request = &relay.store.list_requests().await.unwrap()[0];
    let confirmed = request.confirmed_at.expect("confirmed");
    assert_eq!(
        request.due_at,
        Some(confirmed + Duration::days(3)),
        "erasure is due in the default 3 days"
    );
    // The operator is told, without the person's address.
    let report = deliverer.run_once(OffsetDateTime::now_utc()).await.unwrap();
    assert_eq!(report.delivered, 1);
    let notice = &sink.received()[1];
    assert!(notice.to.iter().any(|t| t.contains(OPERATOR_INBOX)));
    let body = notice.body();
    assert!(body.contains(&request.id.to_string()), "{body}");
    assert!(!notice.raw.contains(EMAIL) && !body.contains(EMAIL));
    // The same link again, and links that were never signed, change nothing.
    assert_eq!(
        relay.get(&path).await.header(header::LOCATION),
        Some("https://woow.kz/ru/confirm-error/?reason=used")
    );
    let newsletter_link = relay
        .get("/api/contact/request/confirm?token=x.y&lang=kk")
        .await;
    assert_eq!(
        newsletter_link.header(header::LOCATION),
        Some("https://woow.kz/kk/confirm-error/?reason=invalid")
    );
}

#[tokio::test]
async fn request_posts_that_are_bots_invalid_or_foreign_store_nothing() {
    let mut relay = relay(&[]);
    relay.manifest = manifest_with_request_pages();
    relay.state = AppState::new(relay.store.clone(), relay.manifest.clone(), settings()).unwrap();
    let honeypot = send(
        &relay.state,
        request_post(
            &[
                ("kind", "access"),
                ("email", EMAIL),
                ("lang", "kk"),
                ("website", "x"),
            ],
            None,
        ),
    )
    .await;
    assert_eq!(
        honeypot.header(header::LOCATION),
        Some("https://woow.kz/kk/request-sent/"),
        "a bot sees success"
    );
    for (fields, expected) in [
        (
            vec![("kind", "access"), ("email", "nope"), ("lang", "kk")],
            "https://woow.kz/kk/error/?errors=email:invalid_email",
        ),
        (
            vec![("kind", "everything"), ("email", EMAIL), ("lang", "ru")],
            "https://woow.kz/ru/error/?errors=kind:required",
        ),
    ] {
        let answer = send(&relay.state, request_post(&fields, None)).await;
        assert_eq!(answer.header(header::LOCATION), Some(expected));
        assert!(!answer.header(header::LOCATION).unwrap().contains("nope"));
    }
    let foreign = send(
        &relay.state,
        request_post(
            &[("kind", "erasure"), ("email", EMAIL), ("lang", "kk")],
            Some(FOREIGN_ORIGIN),
        ),
    )
    .await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN);
    assert!(relay.store.list_requests().await.unwrap().is_empty());
    assert!(relay.store.list_items().await.unwrap().is_empty());
}
