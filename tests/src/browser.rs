//! A real headless Chromium, driven through Debian's chromedriver with fantoccini.
//!
//! Each [`Browser`] owns its own chromedriver child process, a fresh profile directory and a
//! download folder, so tests running in parallel never share cookies, cache, storage or
//! downloaded files, and nothing outlives the test: dropping the `Browser` kills chromedriver
//! (and with it the browser).

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::HarnessError;
use crate::paths::require;

/// Debian's chromedriver (package `chromium-driver`).
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// Debian's Chromium (package `chromium`).
/// The browser binary itself rather than Debian's `/usr/bin/chromium` wrapper script, which adds
/// desktop flags (remote extensions, crash reporting) a test browser should not have.
pub const CHROMIUM: &str = "/usr/lib/chromium/chromium";

/// How long chromedriver may take to start listening; generous because a cold 2-core CI machine
/// under a parallel cargo build is slow.
const DRIVER_START_TIMEOUT: Duration = Duration::from_secs(30);

/// The two widths every page is checked at: a common phone and a common laptop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewport {
    /// 390x844 CSS pixels (a current mid-size phone).
    Phone,
    /// 1366x900 CSS pixels (the most common laptop width).
    Desktop,
}

impl Viewport {
    /// Both viewports, phone first (the site is designed mobile-first).
    pub const ALL: [Viewport; 2] = [Viewport::Phone, Viewport::Desktop];

    /// Width and height in CSS pixels.
    pub fn size(self) -> (u32, u32) {
        match self {
            Viewport::Phone => (390, 844),
            Viewport::Desktop => (1366, 900),
        }
    }

    /// The name used in screenshot file names.
    pub fn name(self) -> &'static str {
        match self {
            Viewport::Phone => "phone",
            Viewport::Desktop => "desktop",
        }
    }
}

/// Whether the page may run JavaScript. The site must work without it (the form posts as
/// `application/x-www-form-urlencoded`), so some tests turn it off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Javascript {
    Enabled,
    /// Set through the Chrome content-settings policy, as an administrator would; the
    /// WebDriver `execute` command still works, so tests can inspect the page.
    Disabled,
}

/// A chromedriver child process listening on a free loopback port. Killed on drop.
struct Chromedriver {
    child: Child,
    port: u16,
}

impl Chromedriver {
    fn start() -> Result<Self, HarnessError> {
        let driver = require(
            "chromedriver (Debian package chromium-driver)",
            CHROMEDRIVER.into(),
        )?;
        require("Chromium (Debian package chromium)", CHROMIUM.into())?;
        let port = free_port()?;
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|source| HarnessError::Spawn {
                what: "chromedriver",
                source,
            })?;
        let mut driver = Self { child, port };
        driver.wait_until_listening()?;
        Ok(driver)
    }

    fn wait_until_listening(&mut self) -> Result<(), HarnessError> {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let started = Instant::now();
        while started.elapsed() < DRIVER_START_TIMEOUT {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(HarnessError::Tool {
                    what: "chromedriver",
                    detail: format!("exited at start with {status}"),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(HarnessError::DriverNotReady {
            port: self.port,
            seconds: DRIVER_START_TIMEOUT.as_secs(),
        })
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        // Chromium outlives a killed chromedriver (it is reparented, not signalled), so first
        // ask chromedriver to quit its browsers and exit (`GET /shutdown`); kill it only if it
        // has not gone within a few seconds. This runs on panics too, where `close` was skipped.
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        if let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let request = format!(
                "GET /shutdown HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
                self.port
            );
            if stream.write_all(request.as_bytes()).is_ok() {
                let _ = stream.read(&mut [0_u8; 512]);
            }
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free TCP port on 127.0.0.1, found by binding port 0 and releasing it.
pub fn free_port() -> Result<u16, HarnessError> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|e| HarnessError::io("binding a loopback port", e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| HarnessError::io("reading a bound port", e))?;
    Ok(addr.port())
}

/// One headless Chromium session with its own chromedriver, profile and download folder.
pub struct Browser {
    client: Client,
    viewport: Viewport,
    // Field order matters: the session's client goes before the driver it talks to, and the
    // profile and download directories are removed last, after Chromium has exited.
    driver: Chromedriver,
    profile: tempfile::TempDir,
    downloads: tempfile::TempDir,
}

impl std::fmt::Debug for Browser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Browser")
            .field("viewport", &self.viewport)
            .field("chromedriver_port", &self.driver.port)
            .field("profile", &self.profile.path())
            .field("downloads", &self.downloads.path())
            .finish_non_exhaustive()
    }
}

impl Browser {
    /// Starts chromedriver and opens a headless Chromium at `viewport`'s size.
    pub async fn launch(viewport: Viewport, javascript: Javascript) -> Result<Self, HarnessError> {
        let driver = Chromedriver::start()?;
        let profile = tempfile::Builder::new()
            .prefix("kelisim-chromium-")
            .tempdir()
            .map_err(|e| HarnessError::io("creating a Chromium profile directory", e))?;
        let downloads = tempfile::Builder::new()
            .prefix("kelisim-downloads-")
            .tempdir()
            .map_err(|e| HarnessError::io("creating a download directory", e))?;
        let capabilities = capabilities(
            profile.path().to_path_buf(),
            downloads.path().to_path_buf(),
            viewport,
            javascript,
        );
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&driver.url())
            .await?;
        let browser = Self {
            client,
            viewport,
            driver,
            profile,
            downloads,
        };
        browser.resize(viewport.size().1).await?;
        Ok(browser)
    }

    /// The fantoccini client, for anything the helpers here do not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Where this session's downloads land (Chromium saves without asking).
    pub fn downloads(&self) -> &Path {
        self.downloads.path()
    }

    /// Waits up to `timeout` for a finished download named `name` (`*.crdownload` is
    /// Chromium's file while it is still writing), and returns its path.
    pub async fn wait_for_download(
        &self,
        name: &str,
        timeout: Duration,
    ) -> Result<PathBuf, HarnessError> {
        let deadline = Instant::now() + timeout;
        let mut empty_polls = 0;
        loop {
            let path = self.downloads.path().join(name);
            // Chromium first reserves the final name with an empty file, writes into a
            // `.crdownload` beside it, then renames that over: done when the name is there
            // and nothing is still being written.
            let writing = std::fs::read_dir(self.downloads.path())
                .map_err(|e| HarnessError::io("listing the download directory", e))?
                .filter_map(|entry| entry.ok())
                .any(|entry| entry.file_name().to_string_lossy().ends_with(".crdownload"));
            // An empty file is taken only once it has stayed empty a while (Chromium's
            // reservation comes before its `.crdownload`).
            let size = std::fs::metadata(&path)
                .ok()
                .filter(|m| m.is_file())
                .map(|m| m.len());
            empty_polls = if size == Some(0) { empty_polls + 1 } else { 0 };
            if !writing && (size.is_some_and(|len| len > 0) || empty_polls >= 5) {
                return Ok(path);
            }
            if Instant::now() >= deadline {
                let mut found: Vec<String> = std::fs::read_dir(self.downloads.path())
                    .map_err(|e| HarnessError::io("listing the download directory", e))?
                    .filter_map(|entry| entry.ok())
                    .map(|entry| entry.file_name().to_string_lossy().into_owned())
                    .collect();
                found.sort();
                return Err(HarnessError::Tool {
                    what: "Chromium's download",
                    detail: format!(
                        "no {name} in {} within {} s (it holds {found:?})",
                        self.downloads.path().display(),
                        timeout.as_secs()
                    ),
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The viewport this browser was opened at (or switched to).
    pub fn viewport(&self) -> Viewport {
        self.viewport
    }

    /// Lays the page out at `viewport`'s size from now on (same session, same cookies).
    pub async fn switch_viewport(&mut self, viewport: Viewport) -> Result<(), HarnessError> {
        self.viewport = viewport;
        self.resize(viewport.size().1).await
    }

    /// Navigates to `url` and waits for the load event (WebDriver's default page-load strategy).
    pub async fn goto(&self, url: &str) -> Result<(), HarnessError> {
        Ok(self.client.goto(url).await?)
    }

    /// The current URL.
    pub async fn current_url(&self) -> Result<String, HarnessError> {
        Ok(self.client.current_url().await?.to_string())
    }

    /// Runs `script` (a function body; `return` gives the value) and decodes its result.
    pub async fn eval<T: DeserializeOwned>(
        &self,
        script: &str,
        args: Vec<Value>,
    ) -> Result<T, HarnessError> {
        let value = self.client.execute(script, args).await?;
        serde_json::from_value(value.clone()).map_err(|e| HarnessError::UnexpectedResult {
            what: "page script",
            detail: format!("{e}: got {value}"),
        })
    }

    /// Sets the layout viewport to the chosen width and `height` CSS pixels. Headless Chromium
    /// has no window chrome, so the window size is the viewport size; this corrects for any
    /// difference by measuring `innerWidth`/`innerHeight` once and adding it back.
    pub async fn resize(&self, height: u32) -> Result<(), HarnessError> {
        let (width, _) = self.viewport.size();
        self.client.set_window_size(width, height).await?;
        let (inner_w, inner_h): (u32, u32) = self
            .eval("return [window.innerWidth, window.innerHeight];", vec![])
            .await?;
        if inner_w != width || inner_h != height {
            let outer_w = width + width.saturating_sub(inner_w);
            let outer_h = height + height.saturating_sub(inner_h);
            self.client.set_window_size(outer_w, outer_h).await?;
        }
        Ok(())
    }

    /// Ends the session cleanly. Dropping without calling this still kills chromedriver and
    /// Chromium; closing first just lets Chromium flush and exit on its own.
    pub async fn close(self) -> Result<(), HarnessError> {
        let Browser {
            client,
            driver,
            profile,
            downloads,
            ..
        } = self;
        let closed = client.close().await;
        drop(driver);
        drop(profile);
        drop(downloads);
        Ok(closed?)
    }
}

/// The W3C capabilities for a private, headless, quiet Chromium: no network traffic of its own
/// (background updates, sync, QUIC probes), so the no-third-party test sees only the page's;
/// downloads go to `downloads` without a prompt (chromedriver passes the folder on to a
/// headless browser too).
fn capabilities(
    profile: PathBuf,
    downloads: PathBuf,
    viewport: Viewport,
    javascript: Javascript,
) -> serde_json::Map<String, Value> {
    let (width, height) = viewport.size();
    let args = vec![
        "--headless=new".to_string(),
        "--no-sandbox".to_string(),
        "--disable-gpu".to_string(),
        "--disable-dev-shm-usage".to_string(),
        "--disable-quic".to_string(),
        "--no-first-run".to_string(),
        "--no-default-browser-check".to_string(),
        "--disable-background-networking".to_string(),
        "--disable-component-update".to_string(),
        "--disable-sync".to_string(),
        "--disable-extensions".to_string(),
        "--disable-crash-reporter".to_string(),
        "--disable-breakpad".to_string(),
        "--hide-scrollbars".to_string(),
        "--force-device-scale-factor=1".to_string(),
        format!("--window-size={width},{height}"),
        format!("--user-data-dir={}", profile.display()),
    ];
    let mut prefs = serde_json::Map::new();
    prefs.insert(
        "download.default_directory".to_string(),
        json!(downloads.display().to_string()),
    );
    prefs.insert("download.prompt_for_download".to_string(), json!(false));
    if javascript == Javascript::Disabled {
        prefs.insert(
            "profile.managed_default_content_settings.javascript".to_string(),
            json!(2),
        );
    }
    let chrome_options = json!({
        "binary": CHROMIUM,
        "args": args,
        "prefs": prefs,
    });
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".to_string(), json!("chrome"));
    caps.insert("goog:chromeOptions".to_string(), chrome_options);
    caps
}
