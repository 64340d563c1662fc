//! `kelisim-relay serve`: the form (and, with `--static-dir`, the built site) over HTTP, with
//! delivery running beside it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use kelisim_relay::config::RelayConfig;
use kelisim_relay::delivery;
use kelisim_relay::web::site_files::{DirFiles, StaticSite};
use kelisim_relay::web::{AppState, app};

use crate::open::{deliverer, load_manifest, open_writer_store};
use crate::prompt::Confirm;

/// Serves until ctrl-c or SIGTERM.
pub async fn serve(
    config: &RelayConfig,
    listen: SocketAddr,
    static_dir: Option<PathBuf>,
    confirm: &Confirm,
) -> anyhow::Result<()> {
    let manifest = load_manifest(config)?;
    let store = open_writer_store(config, confirm).await?;
    let kick = Arc::new(tokio::sync::Notify::new());
    let state = AppState::from_config(Arc::clone(&store), manifest, config)
        .context("configuring the relay")?
        .with_delivery_kick(Arc::clone(&kick));
    // Delivery runs beside the server: right after each record is committed, and every
    // `deliver_interval_secs` for retries. The visitor's answer never waits for it.
    let background = delivery::spawn_background(
        deliverer(config, store)?,
        kick,
        std::time::Duration::from_secs(config.notify.deliver_interval_secs.max(1)),
    );
    let endpoint = state.endpoint_path().to_owned();
    let origins = state.allowed_origins().join(", ");
    let mut router = app(state);
    if let Some(dir) = static_dir {
        // The same file service as the preview's: the language's own 404 page, `/kk` → `/kk/`,
        // and `no-cache` with an ETag, so a new build shows at once and an old one costs a 304.
        let site = StaticSite::new(DirFiles::new(dir));
        router = router.fallback(move |request| async move { site.answer(request).await });
    }
    // The same headers as the CloudFront policy and the Caddy file, on pages and form answers
    // alike, so a host without a proxy is as protected as one behind it.
    let router = kelisim_relay::web::security_headers::apply(router);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    let local = listener.local_addr()?;
    // Black-box tests and scripts read this line to learn the port.
    println!("listening on http://{local}");
    tracing::info!(%local, %endpoint, %origins, "relay listening");
    // Timeouts, a connection cap and a bounded graceful shutdown (see `server`); each request
    // carries the TCP peer address, which the rate limiter hashes.
    kelisim_relay::web::server::serve(listener, router, config.server, shutdown_signal()).await;
    background.abort();
    tracing::info!("relay stopped");
    Ok(())
}

/// Resolves on ctrl-c or SIGTERM, so in-flight requests finish (their writes are committed
/// before they answer) and the database is closed cleanly.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
