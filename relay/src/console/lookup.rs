//! Reading the record a console page is about, with the page a missing or unreadable one
//! gets: shared by the record, plan and rectify pages, which import it from here rather than
//! from one another.

use axum::http::StatusCode;
use axum::response::Response;

use super::Console;
use super::page::{self, Ctx};
use crate::app::rights::{self, RightsError};
use crate::domain::record::{ConsentRecord, RecordId};

/// The record named in a path, or the page that says why there is none.
pub async fn record(
    console: &Console,
    ctx: &Ctx,
    id: &str,
) -> Result<ConsentRecord, Box<Response>> {
    let gone = || {
        Box::new(page::message_page(
            ctx,
            StatusCode::NOT_FOUND,
            &ctx.t("console-record-title"),
            &ctx.t("console-record-gone"),
        ))
    };
    let id: RecordId = id.parse().map_err(|_| gone())?;
    match rights::get(console.store.as_ref(), id).await {
        Ok(record) => Ok(record),
        Err(RightsError::NoSuchRecord(_)) => Err(gone()),
        Err(error) => Err(Box::new(page::store_failed(ctx, &error))),
    }
}
