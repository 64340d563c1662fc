//! The relay's routes in one place: the form endpoint (`http`), the double opt-in link
//! (`confirm`) and the data-subject request form (`request_form`). Kept apart from the
//! handlers so that they depend on the shared state, never on the router.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

use crate::http::{
    AppState, BODY_LIMIT, method_not_allowed, preflight, require_origin_secret, submit,
};

/// The whole relay as a router: mount it, `merge` it, or hand it to `lambda_http::run`.
pub fn app(state: AppState) -> Router {
    let path = state.endpoint_path().to_owned();
    let under = |suffix: &str| format!("{}{suffix}", path.trim_end_matches('/'));
    Router::new()
        .route(
            &path,
            post(submit).options(preflight).fallback(method_not_allowed),
        )
        .route(
            &under(crate::deliver::CONFIRM_SUFFIX),
            get(crate::confirm::confirm),
        )
        .route(
            &under(crate::request_form::REQUEST_SUFFIX),
            post(crate::request_form::submit),
        )
        .route(
            &under(crate::request_form::REQUEST_CONFIRM_SUFFIX),
            get(crate::request_form::confirm),
        )
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            require_origin_secret,
        ))
        .with_state(state)
}
