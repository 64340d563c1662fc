//! `kelisim serve`: the editor's live preview, with a form that really submits.
//!
//! It builds the site in memory (nothing is written: `public/` stays the production build),
//! serves it on 127.0.0.1 from memory (`files.rs`), watches the site's sources, rebuilds on
//! every change and tells open pages to reload over Server-Sent Events; the live-reload script
//! is added to each page as it is served. A change that breaks the build keeps the server up
//! with the last good pages; the error goes to the terminal and into every open (and newly
//! opened) page as an overlay.
//!
//! Unlike `zola serve`, which refuses POSTs, the relay's own handler is mounted at the site's
//! form endpoint with a local SQLite store (`.kelisim/records.sqlite`), so an editor can try
//! the form and read the stored, consent-stamped record. Each rebuild hands the relay the new
//! consent manifest from memory: edit the policy and the form checks against its new hash at
//! once.
//!
//! The relay signs consent receipts as the real one does, but with a throwaway key made for
//! this run ([`ReceiptSigner::preview`]): its `kid` starts with `preview-`, its receipts say
//! `"preview": true`, and its public half is published, marked as a preview key, beside the
//! site's own receipt keys at `/.well-known/kelisim-receipt-keys.json`, so a preview receipt
//! checks out against the preview and nowhere else. The operator's real key is never used.

mod files;
mod mailbox;
mod relay;
pub mod rerender;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use kelisim_manifest::ConsentManifest;
use kelisim_relay::config::RelayConfig;
use kelisim_relay::domain::receipt_key::ReceiptSigner;
use kelisim_relay::store::Store;
use kelisim_relay::store::sqlite::SqliteStore;
use notify::{EventKind, RecursiveMode, Watcher};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;

use crate::build::{BuildOptions, LoadedSite, render_site_until_with_key};
use crate::emit::built::BuiltSite;
use crate::error::BuildError;

pub use mailbox::MAIL_PATH;
use mailbox::Mailbox;
pub use relay::PREVIEW_KEY_MEMBER;
use relay::{dispatch, preview_relay_config};

/// Where the preview keeps its state, under the site root.
pub const STATE_DIR: &str = ".kelisim";
/// The script every preview page loads to reload itself and show build errors.
pub(crate) const LIVERELOAD_PATH: &str = "/__kelisim/livereload.js";
const EVENTS_PATH: &str = "/__kelisim/events";
const STATUS_PATH: &str = "/__kelisim/status";
const LIVERELOAD_JS: &str = include_str!("livereload.js");

/// The sources a rebuild depends on, relative to the site root.
const WATCHED: [&str; 6] = [
    "content",
    "locales",
    "themes",
    "templates",
    "static",
    "site.toml",
];

/// How `kelisim serve` runs.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The site root (where `site.toml` is).
    pub root: PathBuf,
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// The form's SQLite file; `<root>/.kelisim/records.sqlite` when `None`.
    pub db: Option<PathBuf>,
}

impl ServeOptions {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            port: 1111,
            db: None,
        }
    }
}

/// Why the preview could not start. Once it runs, build errors never stop it.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(
        "cannot listen on 127.0.0.1:{port}: {source} (is another `kelisim serve` running? try --port)"
    )]
    Bind { port: u16, source: std::io::Error },
    #[error("cannot prepare {path}: {source}")]
    StateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open the preview's record store: {0}")]
    Store(#[from] kelisim_relay::store::StoreError),
    #[error("cannot watch the site's sources: {0}")]
    Watch(#[from] notify::Error),
    #[error("cannot set up the preview's relay: {0}")]
    Relay(String),
    #[error("cannot make the preview's receipt key: {0}")]
    ReceiptKey(#[from] kelisim_relay::domain::receipt_key::ReceiptKeyError),
}

/// The last build's outcome, as pages and the terminal see it.
#[derive(Debug, Clone)]
enum BuildStatus {
    Ok,
    Failed(String),
}

/// What live pages are told.
#[derive(Debug, Clone)]
enum LiveEvent {
    Reload,
    BuildError(String),
    /// The server is stopping: event streams end so graceful shutdown need not wait for them.
    Shutdown,
}

/// State shared by the HTTP handlers and the rebuild loop.
struct Preview {
    build: BuildOptions,
    relay_config: RelayConfig,
    store: Arc<dyn Store>,
    origins: Vec<String>,
    /// The last good build, served from memory.
    site: RwLock<Option<Arc<BuiltSite>>>,
    /// The relay built from the last good manifest, with the path it answers.
    relay: RwLock<Option<(String, Router)>>,
    status: RwLock<BuildStatus>,
    events: broadcast::Sender<LiveEvent>,
    /// Serializes rebuilds (a burst of saves never runs two builds at once), and keeps the
    /// last good build's loaded sources for re-rendering edited pages only.
    rebuilding: Mutex<Option<LoadedSite>>,
    /// Mail the preview's relay would have sent.
    mailbox: Arc<Mailbox>,
    /// The throwaway key this run signs consent receipts with: one per run, so every
    /// rebuild publishes the same public key and earlier receipts keep checking out.
    receipts: ReceiptSigner,
    /// Set when the preview is stopping: a rebuild under way ends at its next page.
    stopping: Arc<AtomicBool>,
}

/// A running preview server.
pub struct RunningPreview {
    /// Where it listens (127.0.0.1 and the chosen port).
    pub addr: SocketAddr,
    /// Where the form's records go.
    pub db: PathBuf,
    preview: Arc<Preview>,
    shutdown: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl RunningPreview {
    /// The preview's root URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The `kid` of this run's throwaway receipt key (it starts with `preview-`).
    pub fn receipt_kid(&self) -> &str {
        self.preview.receipts.kid()
    }

    /// The consent manifest of the last good build, the one the mounted relay checks against.
    pub fn manifest(&self) -> Option<ConsentManifest> {
        self.preview.site().map(|site| site.manifest.clone())
    }

    /// Stops the server and waits for it to finish.
    pub async fn stop(mut self) {
        self.preview.stopping.store(true, Ordering::Relaxed);
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
    }

    /// Runs until the server ends (it ends only through [`RunningPreview::stop`] or a fatal
    /// I/O error).
    pub async fn wait(mut self) {
        let _ = (&mut self.task).await;
    }
}

/// Builds, starts serving and watching. Returns once the server listens; the first build's
/// result is already on screen (a broken first build still starts the server).
pub async fn start(options: ServeOptions) -> Result<RunningPreview, ServeError> {
    let state_dir = options.root.join(STATE_DIR);
    std::fs::create_dir_all(&state_dir).map_err(|source| ServeError::StateDir {
        path: state_dir.clone(),
        source,
    })?;
    let bind = |source| ServeError::Bind {
        port: options.port,
        source,
    };
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, options.port))
        .await
        .map_err(bind)?;
    let addr = listener.local_addr().map_err(bind)?;
    let db = (options.db.clone()).unwrap_or_else(|| state_dir.join("records.sqlite"));
    let preview = Arc::new(Preview::new(&options.root, &state_dir, &db, addr)?);

    let first = Arc::clone(&preview);
    tokio::task::spawn_blocking(move || first.rebuild(&Changes::everything()))
        .await
        .map_err(|e| ServeError::Relay(format!("the first build stopped: {e}")))?;

    let (changes_tx, changes_rx) = mpsc::unbounded_channel();
    let watcher = watch(&options.root, changes_tx)?;
    let app = router(Arc::clone(&preview));
    let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
    let served = Arc::clone(&preview);
    let task = tokio::spawn(async move {
        // The watcher must live as long as the server: dropping it stops watching.
        let _watcher = watcher;
        let rebuilds = tokio::spawn(rebuild_on_change(Arc::clone(&served), changes_rx));
        let delivery = served.mailbox.spawn();
        let events = served.events.clone();
        let result = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = shutdown_rx.await;
                let _ = events.send(LiveEvent::Shutdown);
            })
            .await;
        rebuilds.abort();
        delivery.abort();
        if let Err(error) = result {
            eprintln!("error: the preview server stopped: {error}");
        }
    });
    Ok(RunningPreview {
        addr,
        db,
        preview,
        shutdown: Some(shutdown_tx),
        task,
    })
}

/// What changed in the sources during one burst of file events.
#[derive(Debug, Default)]
struct Changes {
    /// Every file an event named.
    paths: Vec<PathBuf>,
    /// An event named no file: only a full build is right.
    structural: bool,
}

impl Changes {
    /// A change that asks for a full build (the first one).
    fn everything() -> Self {
        Self {
            paths: Vec::new(),
            structural: true,
        }
    }

    /// Notes an event's files. Creations, removals and renames are not structural by
    /// themselves: an editor that saves by writing a temporary file and renaming it over the
    /// original makes all three; [`rerender::edits`] decides from the files as they
    /// are now (a source that is gone, or a new one, takes the full build).
    fn add(&mut self, event: &notify::Event) {
        self.structural |= event.paths.is_empty();
        for path in &event.paths {
            if !self.paths.contains(path) {
                self.paths.push(path.clone());
            }
        }
    }
}

/// Watches the site's sources; every write, creation or removal sends its event.
fn watch(
    root: &Path,
    changes: mpsc::UnboundedSender<(Instant, notify::Event)>,
) -> Result<notify::RecommendedWatcher, ServeError> {
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        // Only writes count: the build itself reads every source, and on Linux reads show up
        // as access events, which would otherwise rebuild forever.
        if let Ok(event) = event
            && matches!(
                event.kind,
                EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_)
            )
        {
            let _ = changes.send((Instant::now(), event));
        }
    })?;
    for name in WATCHED {
        let path = root.join(name);
        if path.exists() {
            watcher.watch(&path, RecursiveMode::Recursive)?;
        }
    }
    Ok(watcher)
}

impl Preview {
    /// The preview of the site at `root`, served at `addr`, its records in `db`.
    fn new(root: &Path, state_dir: &Path, db: &Path, addr: SocketAddr) -> Result<Self, ServeError> {
        let base_url = format!("http://{addr}");
        Ok(Self {
            build: BuildOptions {
                root: root.to_path_buf(),
                output: None,
                base_url: Some(base_url.clone()),
                precompress: false,
            },
            relay_config: preview_relay_config(state_dir, db)?,
            store: Arc::new(SqliteStore::open(db)?),
            origins: vec![base_url, format!("http://localhost:{}", addr.port())],
            site: RwLock::new(None),
            relay: RwLock::new(None),
            status: RwLock::new(BuildStatus::Ok),
            events: broadcast::channel(16).0,
            rebuilding: Mutex::new(None),
            mailbox: Arc::new(Mailbox::new()),
            stopping: Arc::new(AtomicBool::new(false)),
            receipts: ReceiptSigner::preview()?,
        })
    }

    /// The last good build.
    fn site(&self) -> Option<Arc<BuiltSite>> {
        self.site
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Shows the sources' latest state: edited page bodies alone are re-rendered
    /// ([`rerender`]); anything else, or a first build, is one full build in memory,
    /// then the relay gets the new manifest. Either way the served site is swapped and open
    /// pages reload. On failure the last good pages and relay stay in place.
    fn rebuild(&self, changes: &Changes) {
        let mut loaded = self
            .rebuilding
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let started = std::time::Instant::now();
        if let Some(fast) = self.rerender(&mut loaded, changes) {
            for warning in &fast.warnings {
                eprintln!("warning: {warning}");
            }
            eprintln!(
                "Re-rendered {} page(s) in {} ms.",
                fast.pages,
                started.elapsed().as_millis()
            );
            *self.site.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(fast.site));
            let _ = self.events.send(LiveEvent::Reload);
            return;
        }
        let outcome = match render_site_until_with_key(
            &self.build,
            &self.stopping,
            Some(self.published_receipt_key()),
        ) {
            Err(BuildError::Stopped) => return,
            built => built,
        };
        let outcome = outcome
            .map_err(|e| e.to_string())
            .and_then(|(sources, site)| {
                Ok((self.relay_for(site.manifest.clone())?, sources, site))
            });
        match outcome {
            Ok((relay, sources, site)) => {
                for warning in &site.warnings {
                    eprintln!("warning: {warning}");
                }
                eprintln!(
                    "Built {} pages in {} ms.",
                    site.page_count(),
                    started.elapsed().as_millis()
                );
                *loaded = Some(sources);
                *self.relay.write().unwrap_or_else(PoisonError::into_inner) = Some(relay);
                *self.site.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(site));
                *self.status.write().unwrap_or_else(PoisonError::into_inner) = BuildStatus::Ok;
                let _ = self.events.send(LiveEvent::Reload);
            }
            Err(message) => {
                eprintln!("error: {message}");
                eprintln!("The preview keeps serving the last good build; fix the error and save.");
                *self.status.write().unwrap_or_else(PoisonError::into_inner) =
                    BuildStatus::Failed(message.clone());
                let _ = self.events.send(LiveEvent::BuildError(message));
            }
        }
    }

    /// The fast path, when the last build is good and only files changed in place.
    fn rerender(
        &self,
        loaded: &mut Option<LoadedSite>,
        changes: &Changes,
    ) -> Option<rerender::Rerendered> {
        if changes.structural || changes.paths.is_empty() {
            return None;
        }
        if !matches!(
            *self.status.read().unwrap_or_else(PoisonError::into_inner),
            BuildStatus::Ok
        ) {
            return None;
        }
        let site = self.site()?;
        rerender::edits(loaded.as_mut()?, &site, &self.build.root, &changes.paths)
    }
}

/// How long a burst of file events (an editor's save is often several) settles before a rebuild.
const SETTLE: Duration = Duration::from_millis(40);

/// Rebuilds once per burst of changes; changes that arrive during a build cause one more.
async fn rebuild_on_change(
    preview: Arc<Preview>,
    mut events: mpsc::UnboundedReceiver<(Instant, notify::Event)>,
) {
    while let Some((mut last, first)) = events.recv().await {
        let mut changes = Changes::default();
        changes.add(&first);
        // The burst ends once no event came for SETTLE since the latest one (events that
        // arrived together with the first do not restart the wait).
        loop {
            while let Ok((at, event)) = events.try_recv() {
                changes.add(&event);
                last = last.max(at);
            }
            let quiet_at = last + SETTLE;
            let now = Instant::now();
            if now >= quiet_at {
                break;
            }
            tokio::time::sleep(quiet_at - now).await;
        }
        let preview = Arc::clone(&preview);
        if tokio::task::spawn_blocking(move || preview.rebuild(&changes))
            .await
            .is_err()
        {
            eprintln!(
                "error: a rebuild stopped unexpectedly; the preview keeps the last good build"
            );
        }
    }
}

fn router(preview: Arc<Preview>) -> Router {
    Router::new()
        .route(LIVERELOAD_PATH, get(livereload_js))
        .route(EVENTS_PATH, get(events))
        .route(STATUS_PATH, get(status))
        .route(
            MAIL_PATH,
            get(mailbox::page).with_state(Arc::clone(&preview.mailbox)),
        )
        .fallback(dispatch)
        .with_state(preview)
}

async fn livereload_js() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        LIVERELOAD_JS,
    )
}

/// `{"ok": true}` or `{"ok": false, "error": "..."}`: a page opened while the build is broken
/// asks this and shows the error.
async fn status(State(preview): State<Arc<Preview>>) -> Response {
    let status = preview
        .status
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let body = match status {
        BuildStatus::Ok => serde_json::json!({ "ok": true }),
        BuildStatus::Failed(error) => serde_json::json!({ "ok": false, "error": error }),
    };
    ([(header::CACHE_CONTROL, "no-store")], axum::Json(body)).into_response()
}

async fn events(
    State(preview): State<Arc<Preview>>,
) -> Sse<impl tokio_stream::Stream<Item = Result<Event, std::convert::Infallible>>> {
    let stream = BroadcastStream::new(preview.events.subscribe())
        .take_while(|event| !matches!(event, Ok(LiveEvent::Shutdown)))
        .filter_map(|event| {
            let event = match event.ok()? {
                LiveEvent::Reload => Event::default().event("reload").data("reload"),
                LiveEvent::BuildError(message) => {
                    Event::default().event("build-error").data(message)
                }
                LiveEvent::Shutdown => return None,
            };
            Some(Ok(event))
        });
    Sse::new(stream).keep_alive(KeepAlive::default())
}
