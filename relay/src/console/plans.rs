//! Every change is shown before it is made: an action's first POST builds the same plan the
//! command's `--dry-run` prints (`domain::plan`) and shows it; the plan is kept for this
//! session under a random id; the second POST carries out exactly that plan, once, and only
//! if none of its records changed since it was shown (`app::desk::carry_out`).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::{Extension, Form};
use serde::Deserialize;
use time::OffsetDateTime;

use super::gate::{Session, random_hex};
use super::page::{self, Ctx, Page, esc};
use super::{Console, PageCtx};
use crate::app::desk::{self, DeskError};
use crate::domain::plan::{self, Plan};
use crate::domain::record::ConsentRecord;

/// How long a shown plan may wait for its confirmation.
const PLAN_LIFE: Duration = Duration::from_secs(30 * 60);

/// The most plans a session keeps waiting at once (the oldest goes first).
const MAX_WAITING: usize = 64;

/// A plan shown and waiting for its confirmation.
#[derive(Debug, Clone)]
pub struct Waiting {
    pub plan: Plan,
    /// Where to go afterwards: a console path after the `/<lang>` prefix.
    pub back: String,
    shown: Instant,
}

/// The plans shown in this console run, by id, until carried out or expired.
#[derive(Debug, Default)]
pub struct PlanBook {
    waiting: Mutex<HashMap<String, Waiting>>,
}

impl PlanBook {
    /// Keeps `plan` and returns its id (`None` without randomness).
    pub fn keep(&self, plan: Plan, back: String) -> Option<String> {
        let id = random_hex()?;
        let mut waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        waiting.retain(|_, w| w.shown.elapsed() < PLAN_LIFE);
        while waiting.len() >= MAX_WAITING {
            let oldest = waiting
                .iter()
                .min_by_key(|(_, w)| w.shown)
                .map(|(id, _)| id.clone());
            match oldest {
                Some(oldest) => waiting.remove(&oldest),
                None => break,
            };
        }
        let shown = Instant::now();
        waiting.insert(id.clone(), Waiting { plan, back, shown });
        Some(id)
    }

    /// Takes the plan `id` for carrying out: a second take (a replayed POST) finds none.
    pub fn take(&self, id: &str) -> Option<Waiting> {
        let mut waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        waiting.remove(id).filter(|w| w.shown.elapsed() < PLAN_LIFE)
    }
}

/// Where a plan's page leads: back to where it was made (`cancel`, also the page the
/// language switcher shows), and on after it is carried out (`after`). Console paths after
/// the `/<lang>` prefix.
#[derive(Debug, Clone)]
pub struct Ways {
    pub cancel: String,
    pub after: String,
}

impl Ways {
    /// Back to `path` either way.
    pub fn to(path: String) -> Self {
        Self {
            cancel: path.clone(),
            after: path,
        }
    }
}

/// The plan page: what will change, the plan as `--dry-run` prints it, and the confirmation.
pub fn show(console: &Console, ctx: &Ctx, plan: Plan, ways: Ways) -> Response {
    let count = plan.changes.len();
    let mut body = String::new();
    if plan.is_empty() {
        let _ = writeln!(body, "<p>{}</p>", ctx.h("console-plan-empty"));
    } else {
        let intro = ctx.ta("console-plan-intro", &[("count", count.into())]);
        let _ = writeln!(body, "<p>{}</p>", page::rich(&intro));
    }
    if plan.unchanged > 0 {
        let unchanged = ctx.ta(
            "console-plan-unchanged",
            &[("count", plan.unchanged.into())],
        );
        let _ = writeln!(body, "<p>{}</p>", esc(&unchanged));
    }
    let _ = writeln!(
        body,
        "<pre class=\"plan\" lang=\"en\">{}</pre>",
        esc(&plan.describe())
    );
    let cancel = format!(
        "<a class=\"button\" href=\"{}\">{}</a>",
        esc(&ctx.url(&ways.cancel)),
        ctx.h("console-plan-cancel")
    );
    if plan.is_empty() {
        let _ = writeln!(body, "<p>{cancel}</p>");
    } else {
        let Some(id) = console.plans.keep(plan, ways.after.clone()) else {
            return page::store_failed(ctx, &"no random bytes for the plan");
        };
        let confirm = ctx.button_form(
            &ctx.url(&format!("/plans/{id}")),
            "",
            &ctx.t("console-plan-confirm"),
            "danger",
        );
        let _ = writeln!(body, "<p class=\"confirm\">{confirm} {cancel}</p>");
    }
    let page = Page {
        ctx,
        title: ctx.t("console-plan-title"),
        here: ways.cancel,
        section: "",
        notice: None,
        body,
    };
    page::html(StatusCode::OK, page.render())
}

#[derive(Debug, Default, Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub purpose: String,
}

/// The plan of `action` on one record at `now`, and where its page leads.
fn record_action(
    record: ConsentRecord,
    action: &str,
    purpose: &str,
    now: OffsetDateTime,
) -> Option<(Plan, Ways)> {
    let mut ways = Ways::to(format!("/records/{}", record.id));
    let plan = match action {
        "block" | "unblock" => plan::plan_block(record, action == "block", now),
        "withdraw" if record.purpose(purpose).is_some() => {
            plan::plan_withdraw(vec![record], Some(purpose), now)
        }
        "anonymize" => plan::plan_anonymize(vec![record], now),
        "erase" => {
            // After the erasure there is no record page to go back to.
            ways.after = "/inbox".to_owned();
            plan::plan_erase(vec![record])
        }
        _ => return None,
    };
    Some((plan, ways))
}

/// `POST /<lang>/records/<id>/plan`: block, unblock, withdraw, anonymize or erase, shown.
pub async fn record_plan(
    State(console): State<Arc<Console>>,
    Extension(session): Extension<Session>,
    PageCtx(ctx): PageCtx,
    Path((lang, id)): Path<(String, String)>,
    Form(form): Form<ActionForm>,
) -> Response {
    let record = match super::lookup::record(&console, &ctx, &id).await {
        Ok(record) => record,
        Err(answer) => return *answer,
    };
    let now = OffsetDateTime::now_utc();
    match record_action(record, &form.action, &form.purpose, now) {
        Some((plan, ways)) => show(&console, &ctx, plan, ways),
        None => console.not_found(&lang, &session),
    }
}

/// `POST /<lang>/requests/<id>/plan`: the plan that fulfils the request, shown.
pub async fn request_plan(
    State(console): State<Arc<Console>>,
    Extension(session): Extension<Session>,
    PageCtx(ctx): PageCtx,
    Path((lang, id)): Path<(String, String)>,
) -> Response {
    let request = match super::requests::load(&console, &ctx, &id).await {
        Ok(request) if request.closed_at.is_none() => request,
        Ok(_) => return console.not_found(&lang, &session),
        Err(answer) => return *answer,
    };
    let now = OffsetDateTime::now_utc();
    let store = console.store.as_ref();
    match desk::request_plan(store, &console.key, &request, now).await {
        Ok(Some(plan)) => {
            let ways = Ways::to(format!("/requests/{}", request.id));
            show(&console, &ctx, plan, ways)
        }
        Ok(None) => console.not_found(&lang, &session),
        Err(error) => page::store_failed(&ctx, &error),
    }
}

/// `POST /<lang>/plans/<id>`: carries out the plan shown, once, unless a record of it
/// changed since (409) or it was carried out or expired already (410).
pub async fn carry_out(
    State(console): State<Arc<Console>>,
    PageCtx(ctx): PageCtx,
    Path((_, id)): Path<(String, String)>,
) -> Response {
    let title = ctx.t("console-plan-title");
    let Some(waiting) = console.plans.take(&id) else {
        let message = ctx.t("console-plan-unknown");
        return page::message_page(&ctx, StatusCode::GONE, &title, &message);
    };
    let store = console.store.as_ref();
    let (status, message) = match desk::carry_out(store, &waiting.plan, &console.actor).await {
        Ok(applied) => (
            StatusCode::OK,
            ctx.ta("console-plan-done", &[("count", applied.changed.into())]),
        ),
        Err(DeskError::Moved(_)) => (StatusCode::CONFLICT, ctx.t("console-plan-moved")),
        Err(DeskError::Rights(error)) => return page::store_failed(&ctx, &error),
    };
    let body = format!(
        "<p>{}</p>\n<p><a class=\"button\" href=\"{}\">{}</a></p>",
        esc(&message),
        esc(&ctx.url(&waiting.back)),
        ctx.h("console-plan-continue")
    );
    let page = Page {
        ctx: &ctx,
        title,
        here: waiting.back.clone(),
        section: "",
        notice: None,
        body,
    };
    page::html(status, page.render())
}
