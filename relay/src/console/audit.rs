//! The audit log (as `kelisim-relay audit`), newest first, filtered by action, actor and
//! dates, a hundred entries a page. Entries hold no personal data: who acted, what, which
//! record id, how many records.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::page::{self, Ctx, Page, esc};
use super::{Console, PageCtx};
use crate::app::desk::{self, AuditFilter};
use crate::domain::audit::{AuditAction, AuditEntry};

/// Entries per page.
const PER_PAGE: usize = 100;

/// The filter as the form sends it.
#[derive(Debug, Default, Deserialize)]
pub struct Params {
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub actor: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub page: Option<usize>,
}

/// A `YYYY-MM-DD` field: `Ok(None)` when empty, `Err` when it is not a date.
fn date(text: &str) -> Result<Option<time::Date>, ()> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(text, &format).map(Some).map_err(|_| ())
}

impl Params {
    /// The filter, or the name of the date field that is not a date.
    fn filter(&self) -> Result<AuditFilter, &'static str> {
        let actor = self.actor.trim();
        Ok(AuditFilter {
            action: AuditAction::parse(self.action.trim()),
            actor: (!actor.is_empty()).then(|| actor.to_owned()),
            from: date(&self.from).map_err(|()| "from")?,
            to: date(&self.to).map_err(|()| "to")?,
            record: None,
        })
    }

    /// The query string of this filter at page `page`.
    fn query(&self, page: usize) -> String {
        let pairs = [
            ("action", self.action.as_str()),
            ("actor", self.actor.as_str()),
            ("from", self.from.as_str()),
            ("to", self.to.as_str()),
        ];
        let mut query = serde_html_form::to_string(pairs).unwrap_or_default();
        let _ = write!(query, "&page={page}");
        query
    }
}

/// `GET /<lang>/audit`.
pub async fn page(
    State(console): State<Arc<Console>>,
    PageCtx(ctx): PageCtx,
    Query(params): Query<Params>,
) -> Response {
    let (filter, bad) = match params.filter() {
        Ok(filter) => (filter, None),
        Err(field) => (AuditFilter::default(), Some(field)),
    };
    let entries = match desk::audit_log(console.store.as_ref(), &filter).await {
        Ok(entries) => entries,
        Err(error) => return page::store_failed(&ctx, &error),
    };
    let number = params.page.unwrap_or(1).max(1);
    let shown: Vec<AuditEntry> = entries
        .iter()
        .skip((number - 1) * PER_PAGE)
        .take(PER_PAGE)
        .cloned()
        .collect();
    let mut body = filter_form(&ctx, &params, bad);
    if shown.is_empty() {
        let _ = writeln!(body, "<p>{}</p>", ctx.h("console-audit-empty"));
    } else {
        let count = ctx.ta("console-audit-shown", &[("count", shown.len().into())]);
        let _ = writeln!(body, "<p>{}</p>", esc(&count));
        body.push_str(&table(&ctx, &shown, true));
    }
    if entries.len() > number * PER_PAGE {
        let _ = writeln!(
            body,
            "<p class=\"paging\"><a href=\"{}\" rel=\"next\">{}</a></p>",
            esc(&ctx.url(&format!("/audit?{}", params.query(number + 1)))),
            ctx.h("console-next-page")
        );
    }
    let status = if bad.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = Page {
        ctx: &ctx,
        title: ctx.t("console-audit-title"),
        here: format!("/audit?{}", params.query(number)),
        section: "audit",
        notice: None,
        body,
    };
    page::html(status, page.render())
}

fn filter_form(ctx: &Ctx, params: &Params, bad: Option<&str>) -> String {
    let mut options = format!("<option value=\"\">{}</option>", ctx.h("console-audit-any"));
    for action in AuditAction::ALL {
        let name = action.as_str();
        let selected = if params.action == name {
            " selected"
        } else {
            ""
        };
        let _ = write!(
            options,
            "<option value=\"{name}\"{selected}>{name}</option>"
        );
    }
    let date_field = |name: &str, key: &str, value: &str| {
        let (aria, note) = if bad == Some(name) {
            (
                format!(" aria-invalid=\"true\" aria-describedby=\"audit-{name}-error\""),
                format!(
                    "<p class=\"error\" id=\"audit-{name}-error\">{}</p>",
                    ctx.h("console-bad-date")
                ),
            )
        } else {
            (String::new(), String::new())
        };
        format!(
            "<div class=\"field\"><label for=\"audit-{name}\">{}</label>\
             <input id=\"audit-{name}\" name=\"{name}\" type=\"date\" value=\"{}\"{aria}>{note}</div>",
            ctx.h(key),
            esc(value)
        )
    };
    format!(
        "<form method=\"get\" action=\"{}\" class=\"filters-form\">\n\
         <div class=\"field\"><label for=\"audit-action\">{}</label>\
         <select id=\"audit-action\" name=\"action\">{options}</select></div>\n\
         <div class=\"field\"><label for=\"audit-actor\">{}</label>\
         <input id=\"audit-actor\" name=\"actor\" type=\"text\" value=\"{}\"></div>\n{}\n{}\n\
         <p><button type=\"submit\">{}</button></p>\n</form>\n",
        esc(&ctx.url("/audit")),
        ctx.h("console-audit-action"),
        ctx.h("console-audit-actor"),
        esc(&params.actor),
        date_field("from", "console-audit-from", &params.from),
        date_field("to", "console-audit-to", &params.to),
        ctx.h("console-audit-filter"),
    )
}

/// Entries as a table (with a column for the record id when `with_record`).
pub fn table(ctx: &Ctx, entries: &[AuditEntry], with_record: bool) -> String {
    let mut headers = vec!["console-col-at", "console-col-actor", "console-col-action"];
    if with_record {
        headers.push("console-col-record");
    }
    headers.extend(["console-col-affected", "console-col-detail"]);
    let mut html = String::from("<table class=\"list\">\n<thead><tr>");
    for key in &headers {
        let _ = write!(html, "<th scope=\"col\">{}</th>", ctx.h(key));
    }
    html.push_str("</tr></thead>\n<tbody>\n");
    for entry in entries {
        let mut cells = vec![
            page::moment(entry.at),
            esc(&entry.actor),
            format!("<code>{}</code>", entry.action.as_str()),
        ];
        if with_record {
            cells.push(entry.record_id.map_or_else(
                || "—".to_owned(),
                |id| {
                    format!(
                        "<a href=\"{}\"><code>{id}</code></a>",
                        esc(&ctx.url(&format!("/records/{id}")))
                    )
                },
            ));
        }
        cells.push(entry.affected.to_string());
        cells.push(esc(&entry.detail));
        html.push_str("<tr>");
        for (key, cell) in headers.iter().zip(cells) {
            let _ = write!(html, "<td data-label=\"{}\">{cell}</td>", ctx.h(key));
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</tbody>\n</table>\n");
    html
}
