//! An in-process static file server for a built site, on a free loopback port, so the browser
//! loads pages over real HTTP (same-origin rules, MIME types, `/kk/` → `kk/index.html`, each
//! language's own 404 page) through the same file service as production
//! ([`kelisim_relay::site_files`]).

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use axum::Router;
use kelisim_relay::web::site_files::{DirFiles, StaticSite};
use tokio::sync::oneshot;

use crate::HarnessError;

/// A running server for one directory. Stops when dropped.
#[derive(Debug)]
pub struct SiteServer {
    addr: SocketAddr,
    root: PathBuf,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    /// The CSP violation reports browsers posted (with [`SiteServer::serve_with_csp`]).
    csp_reports: Arc<Mutex<Vec<String>>>,
}

/// Where a server started by [`SiteServer::serve_with_csp`] receives CSP violation reports.
pub const CSP_REPORT_PATH: &str = "/__csp-report";

/// A page that violates the CSP on purpose (an inline script), so a test can show that
/// violations are reported at all before it trusts an empty report list.
pub const CSP_CONTROL_PATH: &str = "/__csp-control";

impl SiteServer {
    /// Serves `root` on `127.0.0.1:<free port>`. A missing file answers 404 with its
    /// language's 404 page (`/ru/…` → `ru/404.html`, else `/404.html`), as `kelisim-relay
    /// serve --static-dir` does.
    ///
    /// The server runs on its own thread and runtime, so it keeps answering whatever the
    /// calling test does (including blocking calls) and works from sync and async tests alike.
    pub fn serve(root: &Path) -> Result<Self, HarnessError> {
        let (listener, addr) = bind_loopback()?;

        let site = StaticSite::new(DirFiles::new(root));
        let app = Router::new().fallback(move |request| async move { site.answer(request).await });
        Self::start(listener, addr, root, app, Arc::default())
    }

    /// Like [`SiteServer::serve`], with the relay's security headers on every answer
    /// (`kelisim_relay::security_headers`, what production serves) and the CSP extended by a
    /// `report-uri`, so every violation a browser meets is posted back to this server
    /// ([`SiteServer::csp_reports`]). [`CSP_CONTROL_PATH`] serves a page that violates it.
    pub fn serve_with_csp(root: &Path) -> Result<Self, HarnessError> {
        let (listener, addr) = bind_loopback()?;
        let reports: Arc<Mutex<Vec<String>>> = Arc::default();
        let site = StaticSite::new(DirFiles::new(root));
        let received = Arc::clone(&reports);
        let app = Router::new()
            .route(
                CSP_REPORT_PATH,
                axum::routing::post(move |body: String| async move {
                    if let Ok(mut reports) = received.lock() {
                        reports.push(body);
                    }
                    axum::http::StatusCode::NO_CONTENT
                }),
            )
            .route(
                CSP_CONTROL_PATH,
                axum::routing::get(|| async {
                    axum::response::Html(
                        "<!doctype html><html lang=\"en\"><title>CSP control</title>\
                         <script>document.title = 'ran';</script></html>",
                    )
                }),
            )
            .fallback(move |request| async move { site.answer(request).await });
        let app = kelisim_relay::web::security_headers::apply(app).layer(
            axum::middleware::map_response(|mut response: axum::response::Response| async move {
                let csp = format!(
                    "{}; report-uri {CSP_REPORT_PATH}",
                    kelisim_relay::web::security_headers::CONTENT_SECURITY_POLICY
                );
                if let Ok(value) = axum::http::HeaderValue::from_str(&csp) {
                    response
                        .headers_mut()
                        .insert(axum::http::header::CONTENT_SECURITY_POLICY, value);
                }
                response
            }),
        );
        Self::start(listener, addr, root, app, reports)
    }

    /// The CSP violation reports received so far (JSON bodies as the browser sent them).
    pub fn csp_reports(&self) -> Vec<String> {
        self.csp_reports
            .lock()
            .map(|reports| reports.clone())
            .unwrap_or_default()
    }

    fn start(
        listener: std::net::TcpListener,
        addr: SocketAddr,
        root: &Path,
        app: Router,
        csp_reports: Arc<Mutex<Vec<String>>>,
    ) -> Result<Self, HarnessError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| HarnessError::io("starting the site server runtime", e))?;
        let (shutdown, stop) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(format!("site-server-{}", addr.port()))
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                        return;
                    };
                    // Not graceful on purpose: Chromium keeps idle keep-alive connections open,
                    // and a graceful shutdown would wait for them. Dropping the server future
                    // and then the runtime closes everything at once.
                    tokio::select! {
                        _ = axum::serve(listener, app) => {}
                        _ = stop => {}
                    }
                });
            })
            .map_err(|e| HarnessError::io("spawning the site server thread", e))?;

        Ok(Self {
            addr,
            root: root.to_path_buf(),
            shutdown: Some(shutdown),
            thread: Some(thread),
            csp_reports,
        })
    }

    /// `http://127.0.0.1:PORT`, with no trailing slash.
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The absolute URL of a site path such as `/kk/privacy/`.
    pub fn url(&self, path: &str) -> String {
        if path.starts_with('/') {
            format!("{}{path}", self.origin())
        } else {
            format!("{}/{path}", self.origin())
        }
    }

    /// The URL a built file is served at: `kk/index.html` → `/kk/`, `kk/404.html` → `/kk/404.html`.
    pub fn url_of_file(&self, file: &Path) -> Option<String> {
        let relative = file.strip_prefix(&self.root).ok()?;
        let mut path = String::new();
        for part in relative.components() {
            path.push('/');
            path.push_str(part.as_os_str().to_str()?);
        }
        if let Some(dir) = path.strip_suffix("/index.html") {
            path = format!("{dir}/");
        }
        Some(self.url(&path))
    }

    /// The directory being served.
    pub fn root(&self) -> &Path {
        &self.root
    }
}

impl Drop for SiteServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A non-blocking listener on `127.0.0.1:<free port>`, and its address.
fn bind_loopback() -> Result<(std::net::TcpListener, std::net::SocketAddr), HarnessError> {
    let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|e| HarnessError::io("binding the site server", e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| HarnessError::io("reading the site server's address", e))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| HarnessError::io("configuring the site server socket", e))?;
    Ok((listener, addr))
}
