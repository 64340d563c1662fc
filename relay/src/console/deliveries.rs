//! Deliveries: what the outbox holds (as `deliver --status`), in four groups: queued,
//! retrying with the last attempt's reason, held back while their record is blocked, and
//! dead letters; a retrying item or a dead letter can be retried now (`deliver --retry`).
//! Items hold ids and kinds only, so this page shows no personal data.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use time::OffsetDateTime;

use super::gate::Session;
use super::page::Done;
use super::page::{self, Ctx, Page, esc};
use super::{Console, PageCtx};
use crate::app::desk;
use crate::domain::outbox::{OutboxItem, OutboxKind};

/// The item's kind in words.
fn kind_key(kind: &OutboxKind) -> &'static str {
    match kind {
        OutboxKind::NotifyOperator { .. } => "console-item-notify-operator",
        OutboxKind::ConfirmPurpose { .. } => "console-item-confirm-purpose",
        OutboxKind::ConfirmRequest { .. } => "console-item-confirm-request",
        OutboxKind::NotifyRequest { .. } => "console-item-notify-request",
    }
}

/// The group an item is in, as its heading's message.
fn group_of(item: &OutboxItem) -> &'static str {
    if item.dead.is_some() {
        "console-deliveries-dead"
    } else if item.withheld {
        "console-deliveries-withheld"
    } else if item.last_error.is_some() {
        "console-deliveries-retrying"
    } else {
        "console-deliveries-queued"
    }
}

/// `GET /<lang>/deliveries`.
pub async fn page(
    State(console): State<Arc<Console>>,
    PageCtx(ctx): PageCtx,
    Query(done): Query<Done>,
) -> Response {
    let items = match console.store.list_items().await {
        Ok(items) => items,
        Err(error) => return page::store_failed(&ctx, &error),
    };
    let mut body = String::new();
    if items.is_empty() {
        let _ = writeln!(body, "<p>{}</p>", ctx.h("console-deliveries-empty"));
    }
    for group in [
        "console-deliveries-dead",
        "console-deliveries-retrying",
        "console-deliveries-withheld",
        "console-deliveries-queued",
    ] {
        let members: Vec<&OutboxItem> = items.iter().filter(|i| group_of(i) == group).collect();
        if !members.is_empty() {
            body.push_str(&section(&ctx, group, &members));
        }
    }
    let notice = (done.done.as_deref() == Some("retried")).then(|| ctx.t("console-done-retried"));
    let page = Page {
        ctx: &ctx,
        title: ctx.t("console-deliveries-title"),
        here: "/deliveries".to_owned(),
        section: "deliveries",
        notice,
        body,
    };
    page::html(StatusCode::OK, page.render())
}

fn section(ctx: &Ctx, group: &str, items: &[&OutboxItem]) -> String {
    let id = group.trim_start_matches("console-deliveries-");
    let mut html = format!(
        "<section aria-labelledby=\"{id}\">\n<h2 id=\"{id}\">{}</h2>\n",
        ctx.h(group)
    );
    if group == "console-deliveries-dead" {
        let _ = writeln!(html, "<p>{}</p>", ctx.h("console-deliveries-dead-note"));
    }
    let headers = [
        "console-col-item",
        "console-col-about",
        "console-col-attempts",
        "console-col-when",
        "console-col-reason",
    ];
    html.push_str("<table class=\"list\">\n<thead><tr>");
    for key in headers {
        let _ = write!(html, "<th scope=\"col\">{}</th>", ctx.h(key));
    }
    let retry_column = matches!(id, "dead" | "retrying");
    if retry_column {
        let _ = write!(
            html,
            "<th scope=\"col\">{}</th>",
            ctx.h("console-actions-title")
        );
    }
    html.push_str("</tr></thead>\n<tbody>\n");
    for item in items {
        html.push_str(&row(ctx, item, &headers, retry_column));
    }
    html.push_str("</tbody>\n</table>\n</section>\n");
    html
}

fn row(ctx: &Ctx, item: &OutboxItem, headers: &[&str], retry: bool) -> String {
    let subject = item.kind.subject();
    let about = match item.kind.record_id() {
        Some(id) => format!("/records/{id}"),
        None => format!("/requests/{subject}"),
    };
    let (when, reason) = match &item.dead {
        Some(dead) => (dead.at, dead.reason.clone()),
        None => (item.due_at, item.last_error.clone().unwrap_or_default()),
    };
    let cells = [
        ctx.h(kind_key(&item.kind)),
        format!(
            "<a href=\"{}\"><code>{subject}</code></a>",
            esc(&ctx.url(&about))
        ),
        item.attempts.to_string(),
        page::moment(when),
        if reason.is_empty() {
            "—".to_owned()
        } else {
            format!("<code>{}</code>", esc(&reason))
        },
    ];
    let mut html = String::from("<tr>");
    for (key, cell) in headers.iter().zip(cells) {
        let _ = write!(html, "<td data-label=\"{}\">{cell}</td>", ctx.h(key));
    }
    if retry {
        let url = ctx.url(&format!("/deliveries/{}/retry", item.id));
        let _ = write!(
            html,
            "<td data-label=\"{}\">{}</td>",
            ctx.h("console-actions-title"),
            ctx.button_form(&url, "", &ctx.t("console-retry"), "")
        );
    }
    html.push_str("</tr>\n");
    html
}

/// `POST /<lang>/deliveries/<id>/retry`: due again now, audited.
pub async fn retry(
    State(console): State<Arc<Console>>,
    Extension(session): Extension<Session>,
    PageCtx(ctx): PageCtx,
    Path((lang, id)): Path<(String, String)>,
) -> Response {
    let Ok(id) = id.parse::<uuid::Uuid>() else {
        return console.not_found(&lang, &session);
    };
    let now = OffsetDateTime::now_utc();
    match desk::retry_delivery(console.store.as_ref(), id, &console.actor, now).await {
        Ok(true) => Redirect::to(&ctx.url("/deliveries?done=retried")).into_response(),
        Ok(false) => console.not_found(&lang, &session),
        Err(error) => page::store_failed(&ctx, &error),
    }
}
