//! Rectifying a record (§8.3): a form with the record's current values; what the operator
//! changes becomes `field=value` assignments for `domain::plan::plan_rectify`, which checks
//! each value the way the contact form does. A refused value is shown at its field in the
//! operator's language (the relay's own field messages); a valid change is shown as a plan.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use time::OffsetDateTime;

use super::page::{self, Ctx, Page, esc};
use super::{Console, PageCtx};
use crate::domain::plan::{DEFAULT_HISTORY_DAYS, PlanError, RECTIFIABLE_FIELDS, plan_rectify};
use crate::domain::record::{ConsentRecord, category};

/// The form as posted: one value per field.
#[derive(Debug, Default, Deserialize)]
pub struct RectifyForm {
    #[serde(default)]
    pub surname: Option<String>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub patronymic: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
}

impl RectifyForm {
    fn value(&self, field: &str) -> Option<&str> {
        match field {
            "surname" => self.surname.as_deref(),
            "first_name" => self.first_name.as_deref(),
            "patronymic" => self.patronymic.as_deref(),
            "email" => self.email.as_deref(),
            "phone" => self.phone.as_deref(),
            _ => self.message.as_deref(),
        }
    }
}

/// A field's value as the record holds it.
fn current(record: &ConsentRecord, field: &str) -> String {
    let s = &record.subject;
    match field {
        "surname" => s.surname.clone(),
        "first_name" => s.first_name.clone(),
        "patronymic" => s.patronymic.clone().unwrap_or_default(),
        "email" => s.email.clone(),
        "phone" => s.phone.clone(),
        _ => record.message.clone(),
    }
}

/// Whether the record still holds `field` (a dropped category cannot be corrected).
fn held(record: &ConsentRecord, field: &str) -> bool {
    let category = match field {
        "email" => category::EMAIL,
        "phone" => category::PHONE,
        "message" => category::MESSAGE,
        _ => category::NAME,
    };
    !record.has_dropped(category)
}

/// `GET /<lang>/records/<id>/rectify`.
pub async fn form(
    State(console): State<Arc<Console>>,
    PageCtx(ctx): PageCtx,
    Path((_, id)): Path<(String, String)>,
) -> Response {
    match super::lookup::record(&console, &ctx, &id).await {
        Ok(record) => render(&ctx, &record, &RectifyForm::default(), None, StatusCode::OK),
        Err(answer) => *answer,
    }
}

/// `POST /<lang>/records/<id>/rectify`: the changed fields, checked, shown as a plan.
pub async fn plan(
    State(console): State<Arc<Console>>,
    PageCtx(ctx): PageCtx,
    Path((_, id)): Path<(String, String)>,
    Form(posted): Form<RectifyForm>,
) -> Response {
    let record = match super::lookup::record(&console, &ctx, &id).await {
        Ok(record) => record,
        Err(answer) => return *answer,
    };
    let assignments: Vec<(String, String)> = RECTIFIABLE_FIELDS
        .iter()
        .filter(|field| held(&record, field))
        .filter_map(|field| {
            let value = posted.value(field)?;
            (value.trim() != current(&record, field).trim())
                .then(|| ((*field).to_owned(), value.to_owned()))
        })
        .collect();
    if assignments.is_empty() {
        let error = (String::new(), ctx.t("console-rectify-nothing"));
        return render(&ctx, &record, &posted, Some(error), StatusCode::OK);
    }
    let now = OffsetDateTime::now_utc();
    let back = format!("/records/{}", record.id);
    match plan_rectify(
        record.clone(),
        &console.key,
        &assignments,
        DEFAULT_HISTORY_DAYS,
        now,
    ) {
        Ok(plan) => super::plans::show(&console, &ctx, plan, super::plans::Ways::to(back)),
        Err(PlanError::InvalidValue { field, code }) => {
            let error = (field, ctx.t(&format!("relay-field-{code}")));
            render(
                &ctx,
                &record,
                &posted,
                Some(error),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(_) => {
            let error = (String::new(), ctx.t("console-rectify-not-held"));
            render(
                &ctx,
                &record,
                &posted,
                Some(error),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
    }
}

/// The form, with the posted values (or the record's) and an error at its field, or above
/// the form when it belongs to no field.
fn render(
    ctx: &Ctx,
    record: &ConsentRecord,
    posted: &RectifyForm,
    error: Option<(String, String)>,
    status: StatusCode,
) -> Response {
    let base = format!("/records/{}", record.id);
    let mut body = format!("<p>{}</p>\n", ctx.h("console-rectify-intro"));
    let (error_field, error_text) = error.unwrap_or_default();
    let notice = (error_field.is_empty() && !error_text.is_empty()).then(|| error_text.clone());
    let _ = writeln!(
        body,
        "<form method=\"post\" action=\"{}\" class=\"stack\" novalidate>{}",
        esc(&ctx.url(&format!("{base}/rectify"))),
        ctx.csrf_field()
    );
    for field in RECTIFIABLE_FIELDS.iter().filter(|f| held(record, f)) {
        let value = posted
            .value(field)
            .map_or_else(|| current(record, field), str::to_owned);
        let error = (error_field == *field).then_some(error_text.as_str());
        body.push_str(&input(ctx, field, &value, error));
    }
    let _ = writeln!(
        body,
        "<p><button type=\"submit\" class=\"primary\">{}</button> \
         <a class=\"button\" href=\"{}\">{}</a></p>\n</form>",
        ctx.h("console-rectify-submit"),
        esc(&ctx.url(&base)),
        ctx.h("console-plan-cancel")
    );
    let page = Page {
        ctx,
        title: ctx.t("console-rectify-title"),
        here: format!("{base}/rectify"),
        section: "inbox",
        notice,
        body,
    };
    page::html(status, page.render())
}

/// One labelled field, with its error when it has one.
fn input(ctx: &Ctx, field: &str, value: &str, error: Option<&str>) -> String {
    let id = format!("f-{field}");
    let label = ctx.h(&format!("console-field-{field}"));
    let (described, invalid, note) = match error {
        Some(text) => (
            format!(" aria-describedby=\"{id}-error\""),
            " aria-invalid=\"true\"",
            format!("<p class=\"error\" id=\"{id}-error\">{}</p>", esc(text)),
        ),
        None => (String::new(), "", String::new()),
    };
    let control = match field {
        "message" => format!(
            "<textarea id=\"{id}\" name=\"{field}\" rows=\"8\"{described}{invalid}>{}</textarea>",
            esc(value)
        ),
        _ => {
            let kind = match field {
                "email" => "email",
                "phone" => "tel",
                _ => "text",
            };
            format!(
                "<input id=\"{id}\" name=\"{field}\" type=\"{kind}\" value=\"{}\"{described}{invalid}>",
                esc(value)
            )
        }
    };
    format!("<div class=\"field\"><label for=\"{id}\">{label}</label>{control}{note}</div>\n")
}
