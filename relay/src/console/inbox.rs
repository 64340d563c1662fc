//! The inbox page: a page of messages of one filter (unanswered by default, answered, all,
//! blocked), oldest first, each with its age, language and purposes, read from the store's
//! index a page at a time (`app::desk::inbox_page`).

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use time::OffsetDateTime;

use super::page::{self, Ctx, Page, esc};
use super::{Console, PageCtx};
use crate::app::desk;
use crate::domain::inbox::{InboxFilter, InboxPage, InboxQuery};
use crate::domain::record::{ConsentRecord, ConsentStatus};
use crate::views::inbox as view;

/// Messages per page.
pub const PAGE_SIZE: usize = 50;

/// The inbox's query string: the filter, where the page starts, and what was just done.
#[derive(Debug, Default, Deserialize)]
pub struct Params {
    #[serde(default)]
    pub show: Option<String>,
    #[serde(default)]
    pub after: Option<String>,
    #[serde(default)]
    pub done: Option<String>,
}

/// `GET /<lang>/inbox`.
pub async fn page(
    State(console): State<Arc<Console>>,
    PageCtx(ctx): PageCtx,
    Query(params): Query<Params>,
) -> Response {
    let filter = params
        .show
        .as_deref()
        .and_then(InboxFilter::parse)
        .unwrap_or_default();
    let query = InboxQuery {
        filter,
        after: params.after.as_deref().and_then(|a| a.parse().ok()),
        limit: PAGE_SIZE,
    };
    let inbox = match desk::inbox_page(console.store.as_ref(), &query).await {
        Ok(inbox) => inbox,
        Err(error) => return page::store_failed(&ctx, &error),
    };
    let notice = match params.done.as_deref() {
        Some("answered") => Some(ctx.t("console-done-answered")),
        _ => None,
    };
    let here = match query.after {
        Some(after) => format!("/inbox?show={}&after={after}", filter.as_str()),
        None => format!("/inbox?show={}", filter.as_str()),
    };
    let body = render(&ctx, &query, &inbox, OffsetDateTime::now_utc());
    let page = Page {
        ctx: &ctx,
        title: ctx.t("console-inbox-title"),
        here,
        section: "inbox",
        notice,
        body,
    };
    page::html(StatusCode::OK, page.render())
}

/// The filters, the table and the paging links.
pub fn render(ctx: &Ctx, query: &InboxQuery, inbox: &InboxPage, now: OffsetDateTime) -> String {
    let mut html = filters(ctx, query.filter);
    let _ = writeln!(html, "<p>{}</p>", ctx.h("console-inbox-oldest-first"));
    if inbox.records.is_empty() {
        let _ = writeln!(html, "<p>{}</p>", ctx.h("console-inbox-empty"));
    } else {
        html.push_str(&table(ctx, &inbox.records, now));
    }
    let show = query.filter.as_str();
    let mut paging = Vec::new();
    if query.after.is_some() {
        paging.push(format!(
            "<a href=\"{}\">{}</a>",
            esc(&ctx.url(&format!("/inbox?show={show}"))),
            ctx.h("console-first-page")
        ));
    }
    if let Some(next) = inbox.next {
        paging.push(format!(
            "<a href=\"{}\" rel=\"next\">{}</a>",
            esc(&ctx.url(&format!("/inbox?show={show}&after={next}"))),
            ctx.h("console-next-page")
        ));
    }
    if !paging.is_empty() {
        let _ = writeln!(html, "<p class=\"paging\">{}</p>", paging.join(" "));
    }
    html
}

fn filters(ctx: &Ctx, current: InboxFilter) -> String {
    let mut html = format!(
        "<nav class=\"filters\" aria-label=\"{}\"><ul>",
        ctx.h("console-filter-label")
    );
    for filter in InboxFilter::ALL {
        let aria = if filter == current {
            " aria-current=\"page\""
        } else {
            ""
        };
        let _ = write!(
            html,
            "<li><a href=\"{}\"{aria}>{}</a></li>",
            esc(&ctx.url(&format!("/inbox?show={}", filter.as_str()))),
            ctx.h(&format!("console-filter-{}", filter.as_str()))
        );
    }
    html.push_str("</ul></nav>\n");
    html
}

/// The messages as a table, one row each, linking to each record's page.
pub fn table(ctx: &Ctx, records: &[ConsentRecord], now: OffsetDateTime) -> String {
    let headers = [
        "console-col-message",
        "console-col-from",
        "console-col-received",
        "console-col-age",
        "console-col-language",
        "console-col-purposes",
    ];
    let mut html = format!(
        "<table class=\"list\">\n<caption>{}</caption>\n<thead><tr>",
        ctx.h("console-inbox-title")
    );
    for key in headers {
        let _ = write!(html, "<th scope=\"col\">{}</th>", ctx.h(key));
    }
    html.push_str("</tr></thead>\n<tbody>\n");
    let rows = view::inbox(records, true);
    for (record, row) in records.iter().zip(&rows) {
        let label = |key: &str| ctx.h(key);
        let mut message = if row.first_line.is_empty() {
            "—".to_owned()
        } else {
            esc(&row.first_line)
        };
        if row.answered {
            let _ = write!(
                message,
                " <span class=\"tag\">{}</span>",
                ctx.h("console-answered-tag")
            );
        }
        let _ = writeln!(
            html,
            "<tr><td data-label=\"{}\"><a href=\"{}\">{message}</a></td>\
             <td data-label=\"{}\">{}</td><td data-label=\"{}\">{}</td>\
             <td data-label=\"{}\">{}</td><td data-label=\"{}\">{}</td>\
             <td data-label=\"{}\">{}</td></tr>",
            label(headers[0]),
            esc(&ctx.url(&format!("/records/{}", record.id))),
            label(headers[1]),
            esc(&row.name),
            label(headers[2]),
            page::moment(record.received_at),
            label(headers[3]),
            esc(&page::age(ctx, record.received_at, now)),
            label(headers[4]),
            esc(&ctx.language_word(&record.consent.language)),
            label(headers[5]),
            esc(&purposes(ctx, record, now)),
        );
    }
    html.push_str("</tbody>\n</table>\n");
    html
}

/// The granted purposes in words, each with its state when it is not simply in force.
pub fn purposes(ctx: &Ctx, record: &ConsentRecord, now: OffsetDateTime) -> String {
    let granted: Vec<String> = record
        .consent
        .purposes
        .iter()
        .filter(|p| p.granted)
        .map(|p| {
            let name = ctx.purpose_name(&p.purpose);
            match p.status(now) {
                ConsentStatus::Active => name,
                status => format!("{name} ({})", ctx.t(&status_key(status))),
            }
        })
        .collect();
    if granted.is_empty() {
        ctx.t("console-no-purpose")
    } else {
        granted.join(", ")
    }
}

/// The message naming a consent status.
pub fn status_key(status: ConsentStatus) -> String {
    let name = match status {
        ConsentStatus::NotGranted => "not_granted",
        ConsentStatus::Pending => "pending",
        ConsentStatus::Active => "active",
        ConsentStatus::Lapsed => "lapsed",
        ConsentStatus::Withdrawn => "withdrawn",
        ConsentStatus::Expired => "expired",
    };
    format!("console-consent-{name}")
}
