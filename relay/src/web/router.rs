//! The whole relay as one axum `Router`: every route of [`super::routes`] with its handler,
//! the body limit and the origin-secret check. Mount it, `merge` it, or hand it to
//! `lambda_http::run`.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

use super::form::{BODY_LIMIT, method_not_allowed, submit};
use super::links::{confirm_grant, confirm_request, show_grant, show_request};
use super::origin::{preflight, require_origin_secret};
use super::request_form;
use super::routes::{CONFIRM, REQUEST, REQUEST_CONFIRM, under};
use super::state::AppState;

/// The router for `state`, serving the form at `state.endpoint_path()`.
pub fn app(state: AppState) -> Router {
    let path = state.endpoint_path().to_owned();
    Router::new()
        .route(
            &path,
            post(submit).options(preflight).fallback(method_not_allowed),
        )
        .route(&under(&path, CONFIRM), get(show_grant).post(confirm_grant))
        .route(&under(&path, REQUEST), post(request_form::submit))
        .route(
            &under(&path, REQUEST_CONFIRM),
            get(show_request).post(confirm_request),
        )
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            require_origin_secret,
        ))
        .with_state(state)
}
