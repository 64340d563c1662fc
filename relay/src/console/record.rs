//! One record's page: the fields, the consent stamp with a link to the exact policy version
//! agreed to, the purposes with their state and end, the corrections, the record's audit
//! entries, and what can be done with it (mark answered, reply by mail, export, rectify,
//! block or unblock, withdraw a purpose, anonymize, erase). The changes go through a plan
//! ([`super::plans`]); marking answered and exporting are done at once (both audited).

use std::fmt::Write as _;
use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;
use time::OffsetDateTime;

use super::inbox::status_key;
use super::lookup;
use super::page::{self, Ctx, Done, Page, esc, facts};
use super::{Console, PageCtx};
use crate::app::{desk, inbox};
use crate::domain::audit::AuditEntry;
use crate::domain::inbox::Shelf;
use crate::domain::record::{ConsentRecord, RecordState, category};
use crate::views::access_report;

/// What a mailto address keeps as it is.
const MAILTO: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'@')
    .remove(b'.')
    .remove(b'-')
    .remove(b'_')
    .remove(b'+');

/// `GET /<lang>/records/<id>`.
pub async fn page(
    State(console): State<Arc<Console>>,
    PageCtx(ctx): PageCtx,
    Path((_, id)): Path<(String, String)>,
    Query(done): Query<Done>,
) -> Response {
    let record = match lookup::record(&console, &ctx, &id).await {
        Ok(record) => record,
        Err(answer) => return *answer,
    };
    let audit = match desk::record_audit(console.store.as_ref(), &record).await {
        Ok(audit) => audit,
        Err(error) => return page::store_failed(&ctx, &error),
    };
    let now = OffsetDateTime::now_utc();
    let mut body = summary(&ctx, &record);
    body.push_str(&fields(&ctx, &record));
    body.push_str(&actions(&ctx, &console, &record, now));
    body.push_str(&stamp(&ctx, &console, &record));
    body.push_str(&purposes(&ctx, &record, now));
    body.push_str(&history(&ctx, &record));
    body.push_str(&audit_table(&ctx, &audit));
    let notice = done
        .done
        .as_deref()
        .filter(|d| *d == "answered")
        .map(|_| ctx.t("console-done-answered"));
    let page = Page {
        ctx: &ctx,
        title: ctx.t("console-record-title"),
        here: format!("/records/{}", record.id),
        section: "inbox",
        notice,
        body,
    };
    page::html(StatusCode::OK, page.render())
}

fn summary(ctx: &Ctx, record: &ConsentRecord) -> String {
    let shelf = match Shelf::of(record) {
        Shelf::Answered => record.answered.as_ref().map_or_else(String::new, |a| {
            ctx.ta(
                "console-shelf-answered",
                &[
                    ("date", a.at.date().to_string().into()),
                    ("name", a.by.as_str().into()),
                ],
            )
        }),
        other => ctx.t(&format!("console-shelf-{}", other.as_str())),
    };
    facts(&[
        ("ID".to_owned(), format!("<code>{}</code>", record.id)),
        (
            ctx.t("console-record-received"),
            page::moment(record.received_at),
        ),
        (
            ctx.t("console-record-language"),
            esc(&ctx.language_word(&record.consent.language)),
        ),
        (ctx.t("console-record-shelf"), esc(&shelf)),
        (
            ctx.t("console-record-revision"),
            record.revision.to_string(),
        ),
    ])
}

fn fields(ctx: &Ctx, record: &ConsentRecord) -> String {
    let held = |category: &str, value: &str| {
        if record.has_dropped(category) {
            format!("<em>{}</em>", ctx.h("console-field-not-held"))
        } else {
            esc(value)
        }
    };
    let s = &record.subject;
    let rows = vec![
        (
            ctx.t("console-field-surname"),
            held(category::NAME, &s.surname),
        ),
        (
            ctx.t("console-field-first_name"),
            held(category::NAME, &s.first_name),
        ),
        (
            ctx.t("console-field-patronymic"),
            held(category::NAME, s.patronymic.as_deref().unwrap_or("—")),
        ),
        (
            ctx.t("console-field-email"),
            held(category::EMAIL, &s.email),
        ),
        (
            ctx.t("console-field-phone"),
            held(category::PHONE, &s.phone),
        ),
    ];
    format!(
        "<section aria-labelledby=\"fields\">\n<h2 id=\"fields\">{}</h2>\n{}\
         <h3>{}</h3>\n<div class=\"message\">{}</div>\n</section>\n",
        ctx.h("console-record-fields"),
        facts(&rows),
        ctx.h("console-field-message"),
        held(category::MESSAGE, &record.message)
    )
}

fn actions(ctx: &Ctx, console: &Console, record: &ConsentRecord, now: OffsetDateTime) -> String {
    let base = format!("/records/{}", record.id);
    let plan = |action: &str, key: &str, class: &str| {
        let field = format!("<input type=\"hidden\" name=\"action\" value=\"{action}\">");
        ctx.button_form(
            &ctx.url(&format!("{base}/plan")),
            &field,
            &ctx.t(key),
            class,
        )
    };
    let mut items = Vec::new();
    if Shelf::of(record) == Shelf::Unanswered {
        let url = ctx.url(&format!("{base}/answer"));
        items.push(ctx.button_form(&url, "", &ctx.t("console-action-answer"), "primary"));
    }
    if let Some(mailto) = reply_link(ctx, console, record) {
        items.push(format!(
            "<a class=\"button\" href=\"{}\">{}</a>",
            esc(&mailto),
            ctx.h("console-action-reply")
        ));
    }
    for (format, key) in [
        ("html", "console-action-export-html"),
        ("json", "console-action-export-json"),
    ] {
        let field = format!("<input type=\"hidden\" name=\"format\" value=\"{format}\">");
        let url = ctx.url(&format!("{base}/export"));
        items.push(ctx.button_form(&url, &field, &ctx.t(key), ""));
    }
    if record.state != RecordState::Anonymized {
        items.push(format!(
            "<a class=\"button\" href=\"{}\">{}</a>",
            esc(&ctx.url(&format!("{base}/rectify"))),
            ctx.h("console-action-rectify")
        ));
    }
    items.push(if record.blocked_at.is_some() {
        plan("unblock", "console-action-unblock", "")
    } else {
        plan("block", "console-action-block", "")
    });
    if let Some(withdraw) = withdraw_form(ctx, record, now) {
        items.push(withdraw);
    }
    if record.state != RecordState::Anonymized {
        items.push(plan("anonymize", "console-action-anonymize", "danger"));
    }
    items.push(plan("erase", "console-action-erase", "danger"));
    let mut html = format!(
        "<section aria-labelledby=\"actions\">\n<h2 id=\"actions\">{}</h2>\n<p>{}</p>\n<ul class=\"actions\">\n",
        ctx.h("console-actions-title"),
        ctx.h("console-actions-note")
    );
    for item in items {
        let _ = writeln!(html, "<li>{item}</li>");
    }
    html.push_str("</ul>\n</section>\n");
    html
}

/// The withdrawal form: a choice of the purposes still in force.
fn withdraw_form(ctx: &Ctx, record: &ConsentRecord, now: OffsetDateTime) -> Option<String> {
    let options: Vec<String> = record
        .consent
        .purposes
        .iter()
        .filter(|p| p.is_in_force(now))
        .map(|p| {
            format!(
                "<option value=\"{}\">{}</option>",
                esc(&p.purpose),
                esc(&ctx.purpose_name(&p.purpose))
            )
        })
        .collect();
    if options.is_empty() {
        return None;
    }
    let fields = format!(
        "<input type=\"hidden\" name=\"action\" value=\"withdraw\">\
         <label for=\"withdraw-purpose\">{}</label> \
         <select id=\"withdraw-purpose\" name=\"purpose\">{}</select> ",
        ctx.h("console-withdraw-purpose"),
        options.concat()
    );
    let url = ctx.url(&format!("/records/{}/plan", record.id));
    Some(ctx.button_form(&url, &fields, &ctx.t("console-action-withdraw"), ""))
}

/// `mailto:` the person, the subject in their language naming the operator and the date.
fn reply_link(ctx: &Ctx, console: &Console, record: &ConsentRecord) -> Option<String> {
    if record.has_dropped(category::EMAIL) || record.subject.email.is_empty() {
        return None;
    }
    let lang = record.consent.language.as_str();
    let operator = console
        .manifest
        .as_deref()
        .map_or(record.consent.operator.name.as_str(), |m| {
            m.operator_name(lang)
        });
    let subject = ctx.messages.format(
        lang,
        "console-reply-subject",
        &[
            ("operator", operator.into()),
            (
                "date",
                kelisim_manifest::dates::format_long(record.received_at.date(), lang).into(),
            ),
        ],
    );
    Some(format!(
        "mailto:{}?subject={}",
        utf8_percent_encode(&record.subject.email, MAILTO),
        utf8_percent_encode(&subject, NON_ALPHANUMERIC)
    ))
}

/// The exact policy version the person agreed to: its permanent page from the manifest,
/// else the URL the stamp holds.
fn policy_link(console: &Console, record: &ConsentRecord) -> String {
    let stamp = &record.consent;
    let language = console
        .manifest
        .as_deref()
        .and_then(|m| m.languages.get(&stamp.language));
    let version = language.and_then(|l| {
        std::iter::once(&l.policy)
            .chain(&l.previous_policies)
            .find(|p| p.version == stamp.policy_version)
    });
    version
        .and_then(|v| v.permanent_url.clone())
        .unwrap_or_else(|| stamp.policy_url.clone())
}

fn stamp(ctx: &Ctx, console: &Console, record: &ConsentRecord) -> String {
    let stamp = &record.consent;
    let link_text = ctx.ta(
        "console-stamp-policy-link",
        &[
            ("version", stamp.policy_version.as_str().into()),
            ("lang", stamp.language.as_str().into()),
        ],
    );
    let method = match stamp.collection_method {
        crate::domain::record::CollectionMethod::FormPost => "console-method-form_post",
        crate::domain::record::CollectionMethod::Script => "console-method-script",
    };
    let rows = vec![
        (
            ctx.t("console-stamp-policy"),
            format!(
                "<a href=\"{}\">{}</a><br><code class=\"hash\">sha256 {}</code>",
                esc(&policy_link(console, record)),
                esc(&link_text),
                esc(&stamp.policy_sha256)
            ),
        ),
        (ctx.t("console-stamp-method"), ctx.h(method)),
        (ctx.t("console-stamp-page"), esc(&stamp.page_url)),
        (ctx.t("console-stamp-storage"), esc(&stamp.storage_location)),
        (ctx.t("console-stamp-kept"), page::day(record.expires_at)),
    ];
    format!(
        "<section aria-labelledby=\"stamp\">\n<h2 id=\"stamp\">{}</h2>\n{}</section>\n",
        ctx.h("console-stamp-title"),
        facts(&rows)
    )
}

fn purposes(ctx: &Ctx, record: &ConsentRecord, now: OffsetDateTime) -> String {
    let mut html = format!(
        "<section aria-labelledby=\"purposes\">\n<h2 id=\"purposes\">{}</h2>\n\
         <table class=\"list\">\n<thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th>\
         <th scope=\"col\">{}</th></tr></thead>\n<tbody>\n",
        ctx.h("console-purposes-title"),
        ctx.h("console-col-purpose"),
        ctx.h("console-col-state"),
        ctx.h("console-col-until"),
    );
    for p in &record.consent.purposes {
        let until = p.expires_at.map_or_else(|| "—".to_owned(), page::day);
        let _ = writeln!(
            html,
            "<tr><td data-label=\"{}\">{}</td><td data-label=\"{}\">{}</td>\
             <td data-label=\"{}\">{until}</td></tr>",
            ctx.h("console-col-purpose"),
            esc(&ctx.purpose_name(&p.purpose)),
            ctx.h("console-col-state"),
            ctx.h(&status_key(p.status(now))),
            ctx.h("console-col-until"),
        );
    }
    html.push_str("</tbody>\n</table>\n</section>\n");
    html
}

fn history(ctx: &Ctx, record: &ConsentRecord) -> String {
    let mut html = format!(
        "<section aria-labelledby=\"history\">\n<h2 id=\"history\">{}</h2>\n",
        ctx.h("console-history-title")
    );
    if record.history.is_empty() {
        let _ = writeln!(html, "<p>{}</p>", ctx.h("console-history-empty"));
    }
    for entry in &record.history {
        let fields: Vec<String> = entry
            .changes
            .iter()
            .map(|c| ctx.t(&format!("console-field-{}", c.field)))
            .collect();
        let line = ctx.ta(
            "console-history-entry",
            &[
                ("date", entry.at.date().to_string().into()),
                ("fields", fields.join(", ").into()),
            ],
        );
        let _ = write!(html, "<p>{}</p>\n<ul>\n", esc(&line));
        for change in entry.changes.iter().filter(|c| c.old.is_some()) {
            let old = ctx.ta(
                "console-history-old",
                &[
                    ("until", entry.old_values_until.date().to_string().into()),
                    ("value", change.old.as_deref().unwrap_or("").into()),
                ],
            );
            let field = ctx.t(&format!("console-field-{}", change.field));
            let _ = writeln!(html, "<li>{}: {}</li>", esc(&field), esc(&old));
        }
        html.push_str("</ul>\n");
    }
    html.push_str("</section>\n");
    html
}

fn audit_table(ctx: &Ctx, entries: &[AuditEntry]) -> String {
    let mut html = format!(
        "<section aria-labelledby=\"record-audit\">\n<h2 id=\"record-audit\">{}</h2>\n",
        ctx.h("console-record-audit")
    );
    if entries.is_empty() {
        let _ = writeln!(html, "<p>{}</p>", ctx.h("console-audit-empty"));
    } else {
        html.push_str(&super::audit::table(ctx, entries, false));
    }
    html.push_str("</section>\n");
    html
}

/// `POST /<lang>/records/<id>/answer`: what marking it answered does (it leaves the inbox; its
/// reply purpose ends `reply_after_answer` days later) shown as a plan, carried out by the
/// plan page's button; back to the inbox, which no longer lists it. Already answered: back
/// to the inbox at once.
pub async fn answer(
    State(console): State<Arc<Console>>,
    PageCtx(ctx): PageCtx,
    Path((_, id)): Path<(String, String)>,
) -> Response {
    let record = match lookup::record(&console, &ctx, &id).await {
        Ok(record) => record,
        Err(answer) => return *answer,
    };
    let now = OffsetDateTime::now_utc();
    let days = console.reply_after_answer;
    match inbox::plan_answer(console.store.as_ref(), record.id, &console.actor, days, now).await {
        Ok(inbox::Answering::Plan(plan)) => {
            let ways = super::plans::Ways {
                cancel: format!("/records/{}", record.id),
                after: "/inbox?done=answered".to_owned(),
            };
            super::plans::show(&console, &ctx, plan, ways)
        }
        Ok(inbox::Answering::Already(_)) => {
            Redirect::to(&ctx.url("/inbox?done=answered")).into_response()
        }
        Err(error) => page::store_failed(&ctx, &error),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ExportForm {
    #[serde(default)]
    pub format: String,
}

/// `POST /<lang>/records/<id>/export`: the record as the person gets it, as the HTML report
/// in their language or as JSON, downloaded; audited as an export.
pub async fn export(
    State(console): State<Arc<Console>>,
    PageCtx(ctx): PageCtx,
    Path((_, id)): Path<(String, String)>,
    Form(form): Form<ExportForm>,
) -> Response {
    let record = match lookup::record(&console, &ctx, &id).await {
        Ok(record) => record,
        Err(answer) => return *answer,
    };
    let json = form.format == "json";
    let format = if json { "json" } else { "html" };
    // The HTML report is written in the site's words: without the manifest there is none
    // (known before anything is read or audited).
    let manifest = match (json, console.manifest.clone()) {
        (true, _) => None,
        (false, Some(manifest)) => Some(manifest),
        (false, None) => {
            return page::store_failed(
                &ctx,
                &"the HTML report needs the site's consent-manifest.json (`manifest` in the configuration)",
            );
        }
    };
    let store = console.store.as_ref();
    let record = match desk::export_record(store, record.id, &console.actor, format).await {
        Ok(record) => record,
        Err(error) => return page::store_failed(&ctx, &error),
    };
    let name = format!("record-{}.{format}", record.id);
    match manifest {
        None => {
            let body = serde_json::to_vec_pretty(&record).unwrap_or_default();
            page::download("application/json", &name, body)
        }
        Some(manifest) => {
            let lang = record.consent.language.clone();
            let site = access_report::Site {
                manifest: &manifest,
                messages: &console.messages,
            };
            let html = access_report::render(&[record], &lang, site, OffsetDateTime::now_utc());
            page::download("text/html; charset=utf-8", &name, html.into_bytes())
        }
    }
}
