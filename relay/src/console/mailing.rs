//! The mailing list: everyone whose consent to a purpose is in force (confirmed, for a double
//! opt-in purpose), as `records list`; how many on the page, the list itself only as a
//! download, CSV (RFC 4180, UTF-8 with a byte-order mark so Excel reads Cyrillic) or JSON.
//! Every download is audited with its purpose and format.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use time::OffsetDateTime;

use super::page::{self, Ctx, Page, esc};
use super::{Console, PageCtx};
use crate::app::{desk, inbox};
use crate::views::inbox::ListEntry;

/// The purpose a list is of, and the download's format.
#[derive(Debug, Default, Deserialize)]
pub struct ListForm {
    #[serde(default)]
    pub purpose: Option<String>,
    #[serde(default)]
    pub format: Option<String>,
}

/// The purposes a list can be made of: the site's (newsletter first), or the newsletter.
fn purposes(console: &Console) -> Vec<String> {
    let mut ids: Vec<String> = console
        .manifest
        .as_deref()
        .map(|m| m.purposes.iter().map(|p| p.id.clone()).collect())
        .unwrap_or_default();
    let newsletter = kelisim_manifest::PURPOSE_NEWSLETTER.to_owned();
    ids.retain(|id| *id != newsletter);
    ids.insert(0, newsletter);
    ids
}

/// The chosen purpose if it is one of the site's, else the first.
fn chosen(console: &Console, wanted: Option<&str>) -> String {
    let all = purposes(console);
    wanted
        .and_then(|w| all.iter().find(|p| *p == w).cloned())
        .unwrap_or_else(|| all[0].clone())
}

/// `GET /<lang>/mailing-list`.
pub async fn page(
    State(console): State<Arc<Console>>,
    PageCtx(ctx): PageCtx,
    Query(query): Query<ListForm>,
) -> Response {
    let purpose = chosen(&console, query.purpose.as_deref());
    let now = OffsetDateTime::now_utc();
    let count = match inbox::mailing_list(console.store.as_ref(), &purpose, now).await {
        Ok(list) => list.len(),
        Err(error) => return page::store_failed(&ctx, &error),
    };
    let body = render(&ctx, &purposes(&console), &purpose, count);
    let page = Page {
        ctx: &ctx,
        title: ctx.t("console-mailing-title"),
        here: format!("/mailing-list?purpose={purpose}"),
        section: "mailing-list",
        notice: None,
        body,
    };
    page::html(StatusCode::OK, page.render())
}

fn render(ctx: &Ctx, all: &[String], purpose: &str, count: usize) -> String {
    let mut html = format!("<p>{}</p>\n", ctx.h("console-mailing-intro"));
    let options: String = all
        .iter()
        .map(|p| {
            let selected = if p == purpose { " selected" } else { "" };
            format!(
                "<option value=\"{}\"{selected}>{}</option>",
                esc(p),
                esc(&ctx.purpose_name(p))
            )
        })
        .collect();
    let _ = writeln!(
        html,
        "<form method=\"get\" action=\"{}\" class=\"inline\"><label for=\"purpose\">{}</label> \
         <select id=\"purpose\" name=\"purpose\">{options}</select> \
         <button type=\"submit\">{}</button></form>",
        esc(&ctx.url("/mailing-list")),
        ctx.h("console-mailing-purpose"),
        ctx.h("console-audit-filter")
    );
    let count = ctx.ta("console-mailing-count", &[("count", count.into())]);
    let _ = writeln!(
        html,
        "<p class=\"count\">{}</p>\n<ul class=\"actions\">",
        esc(&count)
    );
    for (format, key) in [
        ("csv", "console-mailing-csv"),
        ("json", "console-mailing-json"),
    ] {
        let fields = format!(
            "<input type=\"hidden\" name=\"purpose\" value=\"{}\">\
             <input type=\"hidden\" name=\"format\" value=\"{format}\">",
            esc(purpose)
        );
        let form = ctx.button_form(&ctx.url("/mailing-list"), &fields, &ctx.t(key), "");
        let _ = writeln!(html, "<li>{form}</li>");
    }
    html.push_str("</ul>\n");
    html
}

/// `POST /<lang>/mailing-list`: the list downloaded, audited.
pub async fn download(
    State(console): State<Arc<Console>>,
    PageCtx(ctx): PageCtx,
    Form(form): Form<ListForm>,
) -> Response {
    let purpose = chosen(&console, form.purpose.as_deref());
    let json = form.format.as_deref() == Some("json");
    let format = if json { "json" } else { "csv" };
    let now = OffsetDateTime::now_utc();
    let store = console.store.as_ref();
    let entries = match desk::mailing_list(store, &purpose, format, &console.actor, now).await {
        Ok(entries) => entries,
        Err(error) => return page::store_failed(&ctx, &error),
    };
    let name = format!("mailing-list-{purpose}-{}.{format}", now.date());
    if json {
        let body = serde_json::to_vec_pretty(&entries).unwrap_or_default();
        page::download("application/json", &name, body)
    } else {
        page::download("text/csv; charset=utf-8", &name, csv(&entries).into_bytes())
    }
}

/// The list as CSV (RFC 4180: CRLF after every row, a field quoted when it holds a comma,
/// a quote or a line break, quotes doubled), UTF-8 with a byte-order mark. A text that a
/// spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`) gets a leading `'`.
pub fn csv(entries: &[ListEntry]) -> String {
    let mut out = String::from("\u{feff}email,name,language,since,record\r\n");
    for e in entries {
        let row = [&e.email, &e.name, &e.language, &e.since, &e.id].map(|v| field(v));
        out.push_str(&row.join(","));
        out.push_str("\r\n");
    }
    out
}

fn field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_follows_rfc_4180_with_a_bom_and_defuses_formulas() {
        let entry = |email: &str, name: &str| ListEntry {
            id: "0193".to_owned(),
            email: email.to_owned(),
            name: name.to_owned(),
            language: "kk".to_owned(),
            since: "2026-03-02 10:00".to_owned(),
        };
        let text = csv(&[
            entry("a@example.kz", "Сейітқазы Әйгерім"),
            entry("b@example.kz", "O\"Neil, Jr\nline"),
            entry("c@example.kz", "=HYPERLINK(\"x\")"),
        ]);
        assert!(text.starts_with("\u{feff}email,name,"));
        assert!(text.contains("\r\na@example.kz,Сейітқазы Әйгерім,kk,"));
        assert!(text.contains("\"O\"\"Neil, Jr\nline\""));
        assert!(text.contains("\"'=HYPERLINK(\"\"x\"\")\""));
        assert!(text.ends_with("0193\r\n"));
    }
}
