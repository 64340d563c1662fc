//! The operator's console as the route tests drive it, with no network and no browser: the
//! console's router on a store, entered with its one-time token like a browser would (the
//! cookie kept, each form's CSRF token read from the page), and the relay's own router on
//! the same store, so records and requests are made through the real form and the real
//! request form, and links confirmed as a person would.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use kelisim_relay::console::{self, Console, Settings};
use kelisim_relay::domain::link::link_token;
use kelisim_relay::domain::outbox::OutboxKind;
use kelisim_relay::domain::record::RecordId;
use kelisim_relay::domain::request::default_deadlines;
use kelisim_relay::store::Store;
use kelisim_relay::web::AppState;
use tower::ServiceExt as _;

use crate::common::{
    Answer, SITE_ORIGIN, form_body, hmac_key, json_body, json_request, manifest_with_request_pages,
    send, settings, valid_fields, with,
};

/// Where the tests say the console is.
pub const HOST: &str = "127.0.0.1:8788";
pub const ORIGIN: &str = "http://127.0.0.1:8788";
/// Who acts in the console, as `--by` would set it.
pub const OPERATOR: &str = "Әйгерім Сейітқазы";

/// Sends `request` through `router`.
pub async fn call(router: &Router, request: Request<Body>) -> Answer {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// The value of `name="…" value="…"`-style attribute `attr` after the first `marker`.
pub fn attribute_after(html: &str, marker: &str, attr: &str) -> Option<String> {
    let start = html.find(marker)?;
    let rest = &html[start..];
    let at = rest.find(&format!("{attr}=\""))? + attr.len() + 2;
    let end = rest[at..].find('"')? + at;
    Some(rest[at..end].replace("&amp;", "&"))
}

/// A console on a store, entered once, and the relay's router on the same store.
pub struct Desk {
    pub store: Arc<dyn Store>,
    pub router: Router,
    pub relay: AppState,
    pub token: String,
    pub cookie: String,
    pub csrf: String,
}

impl Desk {
    /// A console on `store` (the fixture manifest with its request pages), entered with its
    /// token.
    pub async fn open(store: Arc<dyn Store>) -> Self {
        let token = console::gate::random_hex().unwrap();
        let console_settings = Settings {
            key: hmac_key(),
            manifest: Some(manifest_with_request_pages()),
            actor: OPERATOR.to_owned(),
            lang: "kk".to_owned(),
            deadlines: default_deadlines(),
            reply_after_answer: 30,
        };
        let desk = Console::new(Arc::clone(&store), console_settings, token.clone()).unwrap();
        let router = console::router(Arc::new(desk));
        let relay = AppState::new(
            Arc::clone(&store),
            manifest_with_request_pages(),
            settings(),
        )
        .unwrap();
        let mut desk = Self {
            store,
            router,
            relay,
            token,
            cookie: String::new(),
            csrf: String::new(),
        };
        let entered = desk.enter().await;
        assert_eq!(entered.status, StatusCode::SEE_OTHER, "{}", entered.body);
        let cookie = entered.header(header::SET_COOKIE).unwrap();
        desk.cookie = cookie.split(';').next().unwrap().to_owned();
        let inbox = desk.get("/kk/inbox").await;
        assert_eq!(inbox.status, StatusCode::OK, "{}", inbox.body);
        desk.csrf = attribute_after(&inbox.body, "name=\"csrf\"", "value").unwrap();
        desk
    }

    /// `GET /?token=…`, as the printed link is opened.
    pub async fn enter(&self) -> Answer {
        let request = Request::get(format!("/?token={}", self.token))
            .header(header::HOST, HOST)
            .body(Body::empty())
            .unwrap();
        call(&self.router, request).await
    }

    /// A GET with the session.
    pub async fn get(&self, path: &str) -> Answer {
        let request = Request::get(path)
            .header(header::HOST, HOST)
            .header(header::COOKIE, &self.cookie)
            .body(Body::empty())
            .unwrap();
        call(&self.router, request).await
    }

    /// A form POST from a console page: the session, the console's origin, its CSRF token.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let mut pairs: Vec<(String, String)> = fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        pairs.push(("csrf".to_owned(), self.csrf.clone()));
        self.post_raw(path, &form_body(&pairs), Some(ORIGIN)).await
    }

    /// A POST of `body` as it is, with the session and `origin`.
    pub async fn post_raw(&self, path: &str, body: &str, origin: Option<&str>) -> Answer {
        let mut request = Request::post(path)
            .header(header::HOST, HOST)
            .header(header::COOKIE, &self.cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(origin) = origin {
            request = request.header(header::ORIGIN, origin);
        }
        call(
            &self.router,
            request.body(Body::from(body.to_owned())).unwrap(),
        )
        .await
    }

    /// A message sent through the contact form's script in `lang`, from `email`, saying
    /// `message`, with the newsletter ticked when asked. Returns its record id.
    pub async fn message(
        &self,
        lang: &str,
        email: &str,
        message: &str,
        newsletter: bool,
    ) -> RecordId {
        let mut fields = with(valid_fields(lang), "email", Some(email));
        fields = with(fields, "message", Some(message));
        if newsletter {
            fields.push(("consent".to_owned(), "newsletter".to_owned()));
        }
        let answer = send(
            &self.relay,
            json_request(json_body(&fields), Some(SITE_ORIGIN)),
        )
        .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
        answer.json()["id"].as_str().unwrap().parse().unwrap()
    }

    /// The secret of the confirmation link mailed about `subject`, from the outbox.
    async fn mailed_token(&self, subject: uuid::Uuid) -> String {
        let items = self.store.list_items().await.unwrap();
        let secret = items.iter().find_map(|item| match &item.kind {
            OutboxKind::ConfirmPurpose {
                record_id,
                secret: Some(s),
                ..
            } if record_id.0 == subject => Some(s.clone()),
            OutboxKind::ConfirmRequest {
                request_id,
                secret: Some(s),
            } if *request_id == subject => Some(s.clone()),
            _ => None,
        });
        link_token(subject, &secret.expect("a confirmation link was queued"))
    }

    /// Presses the button of the link mailed about `subject` (`/confirm` or
    /// `/request/confirm`), as the person would.
    pub async fn confirm_link(&self, path: &str, subject: uuid::Uuid) {
        let token = self.mailed_token(subject).await;
        let body = form_body(&[
            ("token".to_owned(), token),
            ("lang".to_owned(), "kk".to_owned()),
        ]);
        let request = Request::post(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ORIGIN, SITE_ORIGIN)
            .body(Body::from(body))
            .unwrap();
        let answer = send(&self.relay, request).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    }

    /// A data-subject request of `kind` for `email` through the request form, confirmed
    /// through its mailed link. Returns its id.
    pub async fn request(&self, kind: &str, email: &str) -> uuid::Uuid {
        let fields = [
            ("kind", kind),
            ("email", email),
            ("lang", "kk"),
            ("website", ""),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        let request = Request::post("/api/contact/request")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ORIGIN, SITE_ORIGIN)
            .body(Body::from(form_body(&fields)))
            .unwrap();
        let answer = send(&self.relay, request).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
        let requests = self.store.list_requests().await.unwrap();
        let id = requests
            .iter()
            .find(|r| r.email == email)
            .expect("stored")
            .id;
        self.confirm_link("/api/contact/request/confirm", id).await;
        id
    }

    /// The action of the form whose button reads `label` on `html`.
    /// Marks `id` answered as the operator does: the button shows the plan (the reply
    /// purpose's data kept `reply_after_answer` more days), the plan's button carries it out.
    /// Returns the confirmation's answer.
    pub async fn answer(&self, id: RecordId) -> Answer {
        let plan = self.post(&format!("/kk/records/{id}/answer"), &[]).await;
        assert_eq!(plan.status, StatusCode::OK, "the plan is shown first");
        assert!(
            plan.body.contains("answer: 1 record(s) to change"),
            "{}",
            plan.body
        );
        let confirm = Self::form_action(&plan.body, "Растау және орындау");
        self.post(&confirm, &[]).await
    }

    pub fn form_action(html: &str, label: &str) -> String {
        let at = html.find(label).expect("the button");
        let start = html[..at].rfind("<form").expect("its form");
        attribute_after(&html[start..], "<form", "action").unwrap()
    }
}
