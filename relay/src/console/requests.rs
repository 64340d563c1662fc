//! Data-subject requests: the open ones with their kind and due date (overdue and due today
//! said in words, not by colour alone), each request's page with the action that fulfils it
//! (a plan for erasure, withdrawal and blocking; the access report; the records to rectify)
//! and its closing with an outcome, and requests received on paper entered here
//! (`app::rights::open_request`, as `requests open`).

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use serde::Deserialize;
use time::OffsetDateTime;

use super::gate::Session;
use super::page::{self, Ctx, Done, Page, esc, facts};
use super::{Console, PageCtx};
use crate::app::desk;
use crate::app::rights::{self, Lookup, RightsError};
use crate::domain::audit::AuditAction;
use crate::domain::messages::CONSOLE_LANGUAGES;
use crate::domain::plan::for_the_person;
use crate::domain::request::{Channel, Outcome, RequestKind, SubjectRequest};
use crate::views::access_report;

/// The request named in a path, or the page that says why there is none.
pub async fn load(console: &Console, ctx: &Ctx, id: &str) -> Result<SubjectRequest, Box<Response>> {
    let gone = || {
        Box::new(page::message_page(
            ctx,
            StatusCode::NOT_FOUND,
            &ctx.t("console-request-title"),
            &ctx.t("console-request-gone"),
        ))
    };
    let id: uuid::Uuid = id.parse().map_err(|_| gone())?;
    match console.store.get_request(id).await {
        Ok(Some(request)) => Ok(request),
        Ok(None) => Err(gone()),
        Err(error) => Err(Box::new(page::store_failed(ctx, &error))),
    }
}

/// The kind in words (the relay's `request-kind-*`).
fn kind_name(ctx: &Ctx, kind: RequestKind) -> String {
    ctx.t(&format!("request-kind-{}", kind.as_str()))
}

/// When the answer is due, in words: overdue by days, today, or days left.
pub fn due_text(ctx: &Ctx, due: Option<OffsetDateTime>, now: OffsetDateTime) -> String {
    let Some(due) = due else {
        return "—".to_owned();
    };
    let days = (due.date() - now.date()).whole_days();
    let words = match days {
        0 => ctx.t("console-due-today"),
        d if d < 0 => ctx.ta("console-due-overdue", &[("days", (-d).into())]),
        d => ctx.ta("console-due-in", &[("days", d.into())]),
    };
    let class = if days <= 0 { "due urgent" } else { "due" };
    format!("<span class=\"{class}\">{}</span>", esc(&words))
}

/// `GET /<lang>/requests`.
pub async fn list(
    State(console): State<Arc<Console>>,
    PageCtx(ctx): PageCtx,
    Query(done): Query<Done>,
) -> Response {
    let notice = match done.done.as_deref() {
        Some("closed") => Some(ctx.t("console-done-closed")),
        _ => None,
    };
    list_page(&console, &ctx, notice, &PaperForm::default(), None).await
}

async fn list_page(
    console: &Console,
    ctx: &Ctx,
    notice: Option<String>,
    paper: &PaperForm,
    error: Option<String>,
) -> Response {
    let now = OffsetDateTime::now_utc();
    let open = match desk::open_requests(console.store.as_ref(), now).await {
        Ok(open) => open,
        Err(error) => return page::store_failed(ctx, &error),
    };
    let mut body = String::new();
    if open.is_empty() {
        let _ = writeln!(body, "<p>{}</p>", ctx.h("console-requests-empty"));
    } else {
        let _ = writeln!(body, "<p>{}</p>", ctx.h("console-requests-due-first"));
        body.push_str(&table(ctx, &open, now));
    }
    body.push_str(&paper_form(ctx, paper, error.as_deref()));
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = Page {
        ctx,
        title: ctx.t("console-requests-title"),
        here: "/requests".to_owned(),
        section: "requests",
        notice,
        body,
    };
    page::html(status, page.render())
}

fn table(ctx: &Ctx, open: &[SubjectRequest], now: OffsetDateTime) -> String {
    let headers = [
        "console-col-request",
        "console-col-due",
        "console-col-status",
        "console-col-received",
        "console-col-channel",
        "console-col-language",
    ];
    let mut html = format!(
        "<table class=\"list\">\n<caption>{}</caption>\n<thead><tr>",
        ctx.h("console-requests-title")
    );
    for key in headers {
        let _ = write!(html, "<th scope=\"col\">{}</th>", ctx.h(key));
    }
    html.push_str("</tr></thead>\n<tbody>\n");
    for r in open {
        let cells = [
            format!(
                "<a href=\"{}\">{}</a>",
                esc(&ctx.url(&format!("/requests/{}", r.id))),
                esc(&kind_name(ctx, r.kind))
            ),
            r.due_at.map_or_else(|| "—".to_owned(), page::day),
            due_text(ctx, r.due_at, now),
            page::day(r.received_at),
            ctx.h(channel_key(r.channel)),
            esc(&ctx.language_word(&r.language)),
        ];
        html.push_str("<tr>");
        for (key, cell) in headers.iter().zip(cells) {
            let _ = write!(html, "<td data-label=\"{}\">{cell}</td>", ctx.h(key));
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</tbody>\n</table>\n");
    html
}

fn channel_key(channel: Channel) -> &'static str {
    match channel {
        Channel::Form => "console-channel-form",
        Channel::Operator => "console-channel-operator",
    }
}

/// A request received by mail or on paper, as the form posts it.
#[derive(Debug, Default, Deserialize)]
pub struct PaperForm {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub language: String,
}

fn paper_form(ctx: &Ctx, form: &PaperForm, error: Option<&str>) -> String {
    let options = |values: Vec<(String, String)>, chosen: &str| -> String {
        values
            .into_iter()
            .map(|(value, label)| {
                let selected = if value == chosen { " selected" } else { "" };
                format!(
                    "<option value=\"{}\"{selected}>{}</option>",
                    esc(&value),
                    esc(&label)
                )
            })
            .collect()
    };
    let kinds = RequestKind::ALL
        .iter()
        .map(|k| (k.as_str().to_owned(), kind_name(ctx, *k)))
        .collect();
    let languages = CONSOLE_LANGUAGES
        .iter()
        .map(|l| ((*l).to_owned(), ctx.language_word(l)))
        .collect();
    let (described, note) = match error {
        Some(text) => (
            " aria-describedby=\"paper-email-error\" aria-invalid=\"true\"",
            format!(
                "<p class=\"error\" id=\"paper-email-error\">{}</p>",
                esc(text)
            ),
        ),
        None => ("", String::new()),
    };
    format!(
        "<section aria-labelledby=\"paper\">\n<h2 id=\"paper\">{title}</h2>\n\
         <form method=\"post\" action=\"{action}\" class=\"stack\" novalidate>{csrf}\n\
         <div class=\"field\"><label for=\"paper-kind\">{kind}</label>\
         <select id=\"paper-kind\" name=\"kind\">{kinds}</select></div>\n\
         <div class=\"field\"><label for=\"paper-email\">{email}</label>\
         <input id=\"paper-email\" name=\"email\" type=\"email\" value=\"{value}\"{described}>{note}</div>\n\
         <div class=\"field\"><label for=\"paper-language\">{language}</label>\
         <select id=\"paper-language\" name=\"language\">{languages}</select></div>\n\
         <p><button type=\"submit\">{submit}</button></p>\n</form>\n</section>\n",
        title = ctx.h("console-paper-title"),
        action = esc(&ctx.url("/requests")),
        csrf = ctx.csrf_field(),
        kind = ctx.h("console-paper-kind"),
        kinds = options(kinds, &form.kind),
        email = ctx.h("console-paper-email"),
        value = esc(&form.email),
        language = ctx.h("console-paper-language"),
        languages = options(languages, &form.language),
        submit = ctx.h("console-paper-submit"),
    )
}

/// `POST /<lang>/requests`: a request received on paper, confirmed at once.
pub async fn open(
    State(console): State<Arc<Console>>,
    PageCtx(ctx): PageCtx,
    Form(form): Form<PaperForm>,
) -> Response {
    let kind = RequestKind::parse(&form.kind).unwrap_or(RequestKind::Access);
    let language = if form.language == "ru" { "ru" } else { "kk" };
    let store = console.store.as_ref();
    let (key, deadlines, actor) = (&console.key, &console.deadlines, &console.actor);
    match rights::open_request(store, key, kind, &form.email, language, deadlines, actor).await {
        Ok(request) => {
            let url = ctx.url(&format!("/requests/{}?done=opened", request.id));
            Redirect::to(&url).into_response()
        }
        Err(RightsError::InvalidEmail) => {
            let error = ctx.t("relay-field-invalid_email");
            list_page(&console, &ctx, None, &form, Some(error)).await
        }
        Err(error) => page::store_failed(&ctx, &error),
    }
}

/// `GET /<lang>/requests/<id>`.
pub async fn page(
    State(console): State<Arc<Console>>,
    PageCtx(ctx): PageCtx,
    Path((_, id)): Path<(String, String)>,
    Query(done): Query<Done>,
) -> Response {
    let request = match load(&console, &ctx, &id).await {
        Ok(request) => request,
        Err(answer) => return *answer,
    };
    let now = OffsetDateTime::now_utc();
    let mut body = summary(&ctx, &request, now);
    match request.outcome {
        Some(outcome) => {
            let outcome = ctx.t(&format!("console-outcome-{}", outcome.as_str()));
            let closed = ctx.ta("console-request-closed", &[("outcome", outcome.into())]);
            let _ = writeln!(body, "<p>{}</p>", esc(&closed));
        }
        None => {
            body.push_str(&fulfil(&ctx, &request));
            body.push_str(&close_form(&ctx, &request));
        }
    }
    let notice = (done.done.as_deref() == Some("opened")).then(|| ctx.t("console-done-opened"));
    let page = Page {
        ctx: &ctx,
        title: format!(
            "{}: {}",
            ctx.t("console-request-title"),
            kind_name(&ctx, request.kind)
        ),
        here: format!("/requests/{}", request.id),
        section: "requests",
        notice,
        body,
    };
    page::html(StatusCode::OK, page.render())
}

fn summary(ctx: &Ctx, r: &SubjectRequest, now: OffsetDateTime) -> String {
    let optional = |t: Option<OffsetDateTime>| t.map_or_else(|| "—".to_owned(), page::moment);
    let due = match r.due_at {
        Some(at) => format!("{} ({})", page::day(at), due_text(ctx, Some(at), now)),
        None => "—".to_owned(),
    };
    let email = if r.email.is_empty() {
        "—"
    } else {
        r.email.as_str()
    };
    facts(&[
        ("ID".to_owned(), format!("<code>{}</code>", r.id)),
        (ctx.t("console-col-kind"), esc(&kind_name(ctx, r.kind))),
        (ctx.t("console-col-channel"), ctx.h(channel_key(r.channel))),
        (
            ctx.t("console-request-language"),
            esc(&ctx.language_word(&r.language)),
        ),
        (
            ctx.t("console-request-received"),
            page::moment(r.received_at),
        ),
        (ctx.t("console-request-confirmed"), optional(r.confirmed_at)),
        (ctx.t("console-col-due"), due),
        (ctx.t("console-request-email"), esc(email)),
    ])
}

fn fulfil(ctx: &Ctx, request: &SubjectRequest) -> String {
    let base = format!("/requests/{}", request.id);
    let (path, class) = match request.kind {
        RequestKind::Access => ("export", ""),
        RequestKind::Rectification => ("find", ""),
        _ => ("plan", "danger"),
    };
    let label = ctx.t(&format!("console-fulfil-{}", request.kind.as_str()));
    format!(
        "<section aria-labelledby=\"fulfil\">\n<h2 id=\"fulfil\">{}</h2>\n<p>{}</p>\n</section>\n",
        ctx.h("console-fulfil-title"),
        ctx.button_form(&ctx.url(&format!("{base}/{path}")), "", &label, class)
    )
}

fn close_form(ctx: &Ctx, request: &SubjectRequest) -> String {
    let options: String = Outcome::ALL
        .iter()
        .map(|o| {
            format!(
                "<option value=\"{}\">{}</option>",
                o.as_str(),
                ctx.h(&format!("console-outcome-{}", o.as_str()))
            )
        })
        .collect();
    let fields = format!(
        "<label for=\"outcome\">{}</label> <select id=\"outcome\" name=\"outcome\">{options}</select> ",
        ctx.h("console-close-outcome")
    );
    let url = ctx.url(&format!("/requests/{}/close", request.id));
    format!(
        "<section aria-labelledby=\"close\">\n<h2 id=\"close\">{}</h2>\n<p>{}</p>\n<p>{}</p>\n</section>\n",
        ctx.h("console-close-title"),
        ctx.h("console-close-note"),
        ctx.button_form(&url, &fields, &ctx.t("console-close-submit"), "")
    )
}

#[derive(Debug, Default, Deserialize)]
pub struct CloseForm {
    #[serde(default)]
    pub outcome: String,
}

/// `POST /<lang>/requests/<id>/close`: closed with its outcome; its address is removed.
pub async fn close(
    State(console): State<Arc<Console>>,
    Extension(session): Extension<Session>,
    PageCtx(ctx): PageCtx,
    Path((lang, id)): Path<(String, String)>,
    Form(form): Form<CloseForm>,
) -> Response {
    let request = match load(&console, &ctx, &id).await {
        Ok(request) => request,
        Err(answer) => return *answer,
    };
    let Some(outcome) = Outcome::parse(&form.outcome) else {
        return console.not_found(&lang, &session);
    };
    let store = console.store.as_ref();
    match rights::close_request(store, request.id, outcome, &console.actor).await {
        Ok(_) | Err(RightsError::AlreadyClosed(_)) => {
            Redirect::to(&ctx.url("/requests?done=closed")).into_response()
        }
        Err(error) => page::store_failed(&ctx, &error),
    }
}

/// The open request named in a path, with its address's records (a look-up, audited as
/// `kind`), or the answer that says why not.
async fn records_of(
    console: &Console,
    ctx: &Ctx,
    id: &str,
    kind: AuditAction,
    detail: &str,
) -> Result<(SubjectRequest, Vec<crate::domain::record::ConsentRecord>), Box<Response>> {
    let request = load(console, ctx, id).await?;
    if request.closed_at.is_some() {
        let title = ctx.t("console-request-title");
        let gone = ctx.t("console-request-gone");
        let answer = page::message_page(ctx, StatusCode::NOT_FOUND, &title, &gone);
        return Err(Box::new(answer));
    }
    let store = console.store.as_ref();
    let found = rights::find(store, &console.key, Lookup::Email(&request.email)).await;
    let records = found.map_err(|e| Box::new(page::store_failed(ctx, &e)))?;
    let records = if kind == AuditAction::Export {
        for_the_person(records)
    } else {
        records
    };
    rights::audit_read(store, &console.actor, kind, &records, detail)
        .await
        .map_err(|e| Box::new(page::store_failed(ctx, &e)))?;
    Ok((request, records))
}

/// `POST /<lang>/requests/<id>/export`: the access report for the address, in the
/// person's language, downloaded (audited as an export, as `records export`).
pub async fn export(
    State(console): State<Arc<Console>>,
    PageCtx(ctx): PageCtx,
    Path((_, id)): Path<(String, String)>,
) -> Response {
    // The report is written in the site's words: without the manifest there is none (known
    // before the look-up is made and audited).
    let Some(manifest) = console.manifest.clone() else {
        return page::store_failed(
            &ctx,
            &"the access report needs the site's consent-manifest.json (`manifest` in the configuration)",
        );
    };
    match records_of(&console, &ctx, &id, AuditAction::Export, "html").await {
        Ok((request, records)) => {
            let site = access_report::Site {
                manifest: &manifest,
                messages: &console.messages,
            };
            let html =
                access_report::render(&records, &request.language, site, OffsetDateTime::now_utc());
            let name = format!("access-report-{}.html", request.id);
            page::download("text/html; charset=utf-8", &name, html.into_bytes())
        }
        Err(answer) => *answer,
    }
}

/// `POST /<lang>/requests/<id>/find`: the address's records, to rectify one by one
/// (audited as a look-up, as `records find`).
pub async fn find(
    State(console): State<Arc<Console>>,
    PageCtx(ctx): PageCtx,
    Path((_, id)): Path<(String, String)>,
) -> Response {
    let (request, records) =
        match records_of(&console, &ctx, &id, AuditAction::Find, "by email").await {
            Ok(found) => found,
            Err(answer) => return *answer,
        };
    let mut body = String::new();
    if records.is_empty() {
        let _ = writeln!(body, "<p>{}</p>", ctx.h("console-found-none"));
    } else {
        body.push_str(&super::inbox::table(
            &ctx,
            &records,
            OffsetDateTime::now_utc(),
        ));
    }
    let _ = writeln!(
        body,
        "<p><a class=\"button\" href=\"{}\">{}</a></p>",
        esc(&ctx.url(&format!("/requests/{}", request.id))),
        ctx.h("console-plan-continue")
    );
    let page = Page {
        ctx: &ctx,
        title: ctx.t("console-found-title"),
        here: format!("/requests/{}", request.id),
        section: "requests",
        notice: None,
        body,
    };
    page::html(StatusCode::OK, page.render())
}
