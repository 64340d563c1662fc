//! The standalone server's connection handling: what `axum::serve` leaves out and a public
//! server needs. hyper is driven directly, so that
//!
//! - a client must send its request headers within `header_read_timeout` (hyper's own timer:
//!   a client trickling a header byte every few seconds is disconnected),
//! - the body must arrive within `body_read_timeout` and the whole request be answered within
//!   `request_timeout` (408 otherwise),
//! - at most `max_connections` connections are open at once (further ones wait in the
//!   kernel's accept queue instead of exhausting memory or file descriptors),
//! - on ctrl-c or SIGTERM the server stops accepting, lets requests in flight finish (their
//!   writes are committed before they answer), and exits within `shutdown_grace` even if a
//!   client holds a connection open,
//! - a connection closed after an answer given before the whole body was read (413, 429)
//!   lingers, so a proxy still sending the body gets the answer, not a reset
//!   (`lingering_close.rs`).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tower::ServiceExt as _;

use super::lingering_close::LingeringClose;
use crate::config::ServerLimits;

/// Serves `router` on `listener` until `shutdown` resolves, then drains within the grace
/// period. Each request carries the TCP peer as `ConnectInfo`, as with axum's own server.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    limits: ServerLimits,
    shutdown: impl Future<Output = ()>,
) {
    let router = with_timeouts(router, &limits);
    let permits = Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        spawn_connection(stream, peer, router.clone(), &limits, &graceful, permit);
    }
    drop(listener);
    let grace = Duration::from_secs(limits.shutdown_grace_secs);
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            grace_secs = limits.shutdown_grace_secs,
            "connections still open after the grace period; closing them"
        );
    }
}

/// The body-read and whole-request timeouts around `router`.
fn with_timeouts(router: Router, limits: &ServerLimits) -> Router {
    router
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            Duration::from_secs(limits.body_read_timeout_secs),
        ))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(limits.request_timeout_secs),
        ))
}

/// Serves one accepted connection (HTTP/1.1, with the header-read timeout and the peer's
/// address for the rate limiter) on its own task, holding `permit` until it closes.
fn spawn_connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    router: Router,
    limits: &ServerLimits,
    graceful: &GracefulShutdown,
    permit: tokio::sync::OwnedSemaphorePermit,
) {
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request
            .extensions_mut()
            .insert(ConnectInfo::<SocketAddr>(peer));
        router.clone().oneshot(request.map(Body::new))
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(limits.header_read_timeout_secs))
        .serve_connection(TokioIo::new(LingeringClose::new(stream)), service);
    let connection = graceful.watch(connection);
    tokio::spawn(async move {
        // A client that goes away mid-request is not the server's error.
        let _ = connection.await;
        drop(permit);
    });
}
