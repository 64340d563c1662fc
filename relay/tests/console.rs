//! The operator's console through its HTTP routes, on every store (SQLite in memory and
//! DynamoDB on moto; the browser tests in `tests/tests/console_browser.rs` run it on a SQLite
//! file): the day's flow from a message to an answered inbox, an erasure request carried out
//! from its page and closed, the mailing list downloaded; and every refusal: no session, a
//! forged one, a used token, a cross-site POST, a missing CSRF token, another host, a plan
//! replayed after its record changed or carried out twice.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use kelisim_relay::domain::audit::AuditAction;
use kelisim_relay::domain::record::RecordId;
use kelisim_relay::store::Store;

use crate::common::memory_store;
use crate::console_desk::{Desk, HOST, OPERATOR, call};

const FIRST: &str = "Бірінші хабарлама: жеткізу қашан болады?";
const SECOND: &str = "Второе сообщение: хочу подписаться на рассылку.";
const THIRD: &str = "Үшінші хабарлама: деректерімді өшіріңіз.";
const NEWSLETTER_EMAIL: &str = "maria.subscriber@example.kz";
const ERASED_EMAIL: &str = "erase.me@example.kz";

/// Three messages through the contact form (the second with a confirmed newsletter grant)
/// and an erasure request through the request form for the third's sender.
async fn seeded(store: Arc<dyn Store>) -> (Desk, [RecordId; 3], uuid::Uuid) {
    let desk = Desk::open(store).await;
    let first = desk
        .message("kk", "first.sender@example.kz", FIRST, false)
        .await;
    let second = desk.message("ru", NEWSLETTER_EMAIL, SECOND, true).await;
    desk.confirm_link("/api/contact/confirm", second.0).await;
    let third = desk.message("kk", ERASED_EMAIL, THIRD, false).await;
    let request = desk.request("erasure", ERASED_EMAIL).await;
    (desk, [first, second, third], request)
}

/// The flow the issue asks for, through the routes: read, answer, fulfil an erasure request
/// from its page (plan, then confirm), close it, download the mailing list.
async fn the_operators_day(store: Arc<dyn Store>) {
    let (desk, [first, second, third], request) = seeded(store).await;
    let inbox = desk.get("/kk/inbox").await;
    assert_eq!(inbox.status, StatusCode::OK);
    let at = |id: RecordId| inbox.body.find(&format!("/kk/records/{id}")).unwrap();
    assert!(
        at(first) < at(second) && at(second) < at(third),
        "oldest first"
    );

    let record = desk.get(&format!("/kk/records/{first}")).await;
    assert_eq!(record.status, StatusCode::OK);
    assert!(record.body.contains(FIRST), "the message is shown");
    assert!(
        record
            .body
            .contains("mailto:first.sender@example.kz?subject=")
    );
    let answered = desk.answer(first).await;
    assert_eq!(answered.status, StatusCode::OK, "{}", answered.body);
    assert!(
        answered.body.contains("href=\"/kk/inbox?done=answered\""),
        "the way on is the inbox: {}",
        answered.body
    );
    let inbox = desk.get("/kk/inbox?done=answered").await;
    assert!(
        !inbox.body.contains(&first.to_string()),
        "it left the inbox"
    );
    assert!(inbox.body.contains(&second.to_string()));
    let answered_list = desk.get("/kk/inbox?show=answered").await;
    assert!(answered_list.body.contains(&first.to_string()));

    fulfil_the_erasure(&desk, third, request).await;
    download_the_mailing_list(&desk).await;

    let audit = desk.store.list_audit(None).await.unwrap();
    let by_operator = |action: AuditAction, id: Option<RecordId>| {
        audit.iter().any(|e| {
            e.action == action && e.actor == OPERATOR && (id.is_none() || e.record_id == id)
        })
    };
    assert!(by_operator(AuditAction::Answer, Some(first)));
    assert!(by_operator(AuditAction::Erase, Some(third)));
    assert!(by_operator(AuditAction::RequestClosed, None));
    assert!(by_operator(AuditAction::MailingList, None));
    let log = desk.get("/kk/audit?action=erase").await;
    assert!(log.body.contains(&third.to_string()) && log.body.contains(OPERATOR));
}

async fn fulfil_the_erasure(desk: &Desk, third: RecordId, request: uuid::Uuid) {
    let requests = desk.get("/ru/requests").await;
    assert!(requests.body.contains(&format!("/ru/requests/{request}")));
    let page = desk.get(&format!("/ru/requests/{request}")).await;
    assert!(
        page.body
            .contains("Удалить всё, что хранится по этому адресу")
    );
    let plan = desk
        .post(&format!("/ru/requests/{request}/plan"), &[])
        .await;
    assert_eq!(plan.status, StatusCode::OK, "{}", plan.body);
    assert!(
        plan.body.contains("erase: 1 record(s) to change"),
        "the --dry-run plan"
    );
    assert!(plan.body.contains(&third.to_string()));
    assert!(
        desk.store.get_record(third).await.unwrap().is_some(),
        "nothing done yet"
    );
    let confirm = Desk::form_action(&plan.body, "Подтвердить и выполнить");
    let done = desk.post(&confirm, &[]).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(done.body.contains("Выполнено: изменена 1 запись."));
    assert_eq!(desk.store.get_record(third).await.unwrap(), None, "erased");
    let again = desk.post(&confirm, &[]).await;
    assert_eq!(again.status, StatusCode::GONE, "a plan is carried out once");
    let closed = desk
        .post(
            &format!("/ru/requests/{request}/close"),
            &[("outcome", "done")],
        )
        .await;
    assert_eq!(closed.status, StatusCode::SEE_OTHER);
    let stored = desk.store.get_request(request).await.unwrap().unwrap();
    assert!(stored.closed_at.is_some() && stored.email.is_empty());
    let open = desk.get("/ru/requests").await;
    assert!(!open.body.contains(&request.to_string()), "no longer open");
}

async fn download_the_mailing_list(desk: &Desk) {
    let page = desk.get("/kk/mailing-list").await;
    assert!(page.body.contains("Тізімде 1 адам."), "{}", page.body);
    let csv = desk
        .post(
            "/kk/mailing-list",
            &[("purpose", "newsletter"), ("format", "csv")],
        )
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(
        csv.header(header::CONTENT_DISPOSITION)
            .unwrap()
            .starts_with("attachment")
    );
    assert!(
        csv.body
            .starts_with("\u{feff}email,name,language,since,record\r\n")
    );
    assert!(csv.body.contains(NEWSLETTER_EMAIL));
    assert_eq!(
        csv.body.matches("\r\n").count(),
        2,
        "the header and one person"
    );
    let json = desk
        .post(
            "/kk/mailing-list",
            &[("purpose", "newsletter"), ("format", "json")],
        )
        .await;
    let list: serde_json::Value = serde_json::from_str(&json.body).unwrap();
    assert_eq!(list[0]["email"], NEWSLETTER_EMAIL);
}

#[tokio::test]
async fn the_operators_day_on_sqlite() {
    the_operators_day(memory_store()).await;
}

#[cfg(feature = "dynamodb")]
#[tokio::test]
async fn the_operators_day_on_dynamodb() {
    the_operators_day(Arc::new(crate::dynamodb_store::fresh_store().await)).await;
}

/// A plan shown, then its record changed by someone else: the confirmation is refused and
/// nothing of the plan is done.
async fn a_replayed_plan_after_a_change_is_refused(store: Arc<dyn Store>) {
    let (desk, [first, ..], _) = seeded(store).await;
    let plan = desk
        .post(&format!("/kk/records/{first}/plan"), &[("action", "block")])
        .await;
    assert!(
        plan.body.contains("block: 1 record(s) to change"),
        "{}",
        plan.body
    );
    let confirm = Desk::form_action(&plan.body, "Растау және орындау");
    desk.answer(first).await;
    let refused = desk.post(&confirm, &[]).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(refused.body.contains("жазба өзгерді"));
    let record = desk.store.get_record(first).await.unwrap().unwrap();
    assert!(record.blocked_at.is_none(), "not blocked");
    assert!(record.answered.is_some());
}

#[tokio::test]
async fn a_replayed_plan_after_a_change_is_refused_on_sqlite() {
    a_replayed_plan_after_a_change_is_refused(memory_store()).await;
}

#[cfg(feature = "dynamodb")]
#[tokio::test]
async fn a_replayed_plan_after_a_change_is_refused_on_dynamodb() {
    let store = Arc::new(crate::dynamodb_store::fresh_store().await);
    a_replayed_plan_after_a_change_is_refused(store).await;
}

#[tokio::test]
async fn without_a_session_of_its_own_nobody_gets_in() {
    let desk = Desk::open(memory_store()).await;
    let how_to_start = "kelisim-relay console";
    let bare = Request::get("/kk/inbox").header(header::HOST, HOST);
    let answer = call(&desk.router, bare.body(Body::empty()).unwrap()).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert!(answer.body.contains(how_to_start) && answer.body.contains("lang=\"ru\""));
    let forged = Request::get("/kk/inbox").header(header::HOST, HOST).header(
        header::COOKIE,
        format!("kelisim_console={}", "ab".repeat(32)),
    );
    let answer = call(&desk.router, forged.body(Body::empty()).unwrap()).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "a forged session");
    let again = desk.enter().await;
    assert_eq!(again.status, StatusCode::FORBIDDEN, "the token works once");
    assert!(again.body.contains("бір рет"));
    assert!(again.header(header::SET_COOKIE).is_none());
    let rebound = Request::get("/kk/inbox")
        .header(header::HOST, "evil.example:8788")
        .header(header::COOKIE, &desk.cookie);
    let answer = call(&desk.router, rebound.body(Body::empty()).unwrap()).await;
    assert_eq!(
        answer.status,
        StatusCode::FORBIDDEN,
        "a page on another host"
    );
}

#[tokio::test]
async fn a_post_from_another_site_or_without_the_csrf_token_changes_nothing() {
    let (desk, [first, ..], _) = seeded(memory_store()).await;
    let path = format!("/kk/records/{first}/answer");
    let body = format!("csrf={}", desk.csrf);
    for (origin, body) in [
        (Some("https://evil.example"), body.as_str()),
        (None, body.as_str()),
        (Some("http://127.0.0.1:8788"), ""),
        (Some("http://127.0.0.1:8788"), "csrf=0000"),
    ] {
        let answer = desk.post_raw(&path, body, origin).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{origin:?} {body}");
    }
    let record = desk.store.get_record(first).await.unwrap().unwrap();
    assert!(record.answered.is_none(), "nothing changed");
}

#[tokio::test]
async fn pages_are_uncached_script_free_and_hold_no_address_in_a_url() {
    let (desk, [first, second, _], request) = seeded(memory_store()).await;
    let cookie = desk.enter().await;
    assert!(cookie.header(header::SET_COOKIE).is_none());
    for path in [
        "/kk/inbox".to_owned(),
        "/ru/inbox?show=all".to_owned(),
        format!("/kk/records/{first}"),
        format!("/ru/records/{second}"),
        format!("/kk/records/{first}/rectify"),
        "/kk/requests".to_owned(),
        format!("/kk/requests/{request}"),
        "/ru/deliveries".to_owned(),
        "/kk/mailing-list".to_owned(),
        "/ru/audit".to_owned(),
    ] {
        let page = desk.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert_eq!(
            page.header(header::CACHE_CONTROL),
            Some("no-store"),
            "{path}"
        );
        let csp = page.header(header::CONTENT_SECURITY_POLICY).unwrap();
        assert!(
            csp.starts_with("default-src 'none'") && !csp.contains("script"),
            "{csp}"
        );
        assert!(
            !page.body.contains("<script") && !page.body.contains(" style="),
            "{path}"
        );
        for attr in ["href=\"", "action=\""] {
            for value in page.body.split(attr).skip(1) {
                let url = &value[..value.find('"').unwrap()];
                assert!(
                    url.starts_with("mailto:") || !url.contains('@'),
                    "{path}: {url}"
                );
            }
        }
    }
    let unknown = desk.get("/en/inbox").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let gone = desk.get(&format!("/kk/records/{}", RecordId::new())).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    let nonsense = desk.get("/kk/records/not-an-id").await;
    assert_eq!(nonsense.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_rectification_is_checked_like_the_form_and_shown_before_it_is_made() {
    let (desk, [first, ..], _) = seeded(memory_store()).await;
    let path = format!("/kk/records/{first}/rectify");
    let refused = desk.post(&path, &[("email", "not-an-address")]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("aria-invalid=\"true\""));
    assert!(
        refused.body.contains("name@example.kz"),
        "the form's own message"
    );
    let plan = desk.post(&path, &[("surname", "Әлиева")]).await;
    assert!(
        plan.body.contains("rectify: 1 record(s) to change"),
        "{}",
        plan.body
    );
    let done = desk
        .post(&Desk::form_action(&plan.body, "Растау және орындау"), &[])
        .await;
    assert_eq!(done.status, StatusCode::OK);
    let record = desk.store.get_record(first).await.unwrap().unwrap();
    assert_eq!(record.subject.surname, "Әлиева");
    assert_eq!(record.history[0].changes[0].field, "surname");
    let page = desk.get(&format!("/kk/records/{first}")).await;
    assert!(page.body.contains("Түзетулер тарихы") && page.body.contains("rectify"));
}

#[tokio::test]
async fn a_dead_letter_is_retried_now_and_the_retry_is_audited() {
    let (desk, ..) = seeded(memory_store()).await;
    let items = desk.store.list_items().await.unwrap();
    let item = items.first().expect("the confirmation mails are queued");
    let now = time::OffsetDateTime::now_utc();
    desk.store
        .bury_item(item.id, "smtp 550", now)
        .await
        .unwrap();
    let page = desk.get("/kk/deliveries").await;
    assert!(page.body.contains("Жөнелтілмеген хаттар") && page.body.contains("smtp 550"));
    let retried = desk
        .post(&format!("/kk/deliveries/{}/retry", item.id), &[])
        .await;
    assert_eq!(retried.status, StatusCode::SEE_OTHER);
    let items = desk.store.list_items().await.unwrap();
    let revived = items.iter().find(|i| i.id == item.id).unwrap();
    assert!(revived.dead.is_none());
    let audit = desk.store.list_audit(None).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == AuditAction::DeliveryRetry && e.actor == OPERATOR)
    );
}

#[tokio::test]
async fn a_paper_request_is_entered_and_a_bad_address_is_refused_in_the_operators_language() {
    let desk = Desk::open(memory_store()).await;
    let refused = desk
        .post(
            "/ru/requests",
            &[("kind", "access"), ("email", "nobody"), ("language", "ru")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.body.contains("Проверьте адрес электронной почты"),
        "{}",
        refused.body
    );
    let opened = desk
        .post(
            "/ru/requests",
            &[
                ("kind", "access"),
                ("email", "paper@example.kz"),
                ("language", "kk"),
            ],
        )
        .await;
    assert_eq!(opened.status, StatusCode::SEE_OTHER);
    let requests = desk.store.list_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    assert!(requests[0].confirmed_at.is_some() && requests[0].due_at.is_some());
    let audit = desk.store.list_audit(None).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == AuditAction::RequestOpened && e.actor == OPERATOR)
    );
}
