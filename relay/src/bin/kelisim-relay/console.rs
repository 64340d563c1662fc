//! `kelisim-relay console`: the operator's console (`kelisim_relay::console`) on a loopback
//! address. It refuses any other address before touching the store, opens the store (checked
//! against the key, as every command does), prints a link with a one-time token and opens it
//! in a browser where there is one (through a redirect file, so the token is never in a
//! process's arguments), and serves until Ctrl-C, SIGTERM or the console's stop button; the
//! store is closed with it.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use kelisim_relay::config::RelayConfig;
use kelisim_relay::console::{self, Console, Settings, gate};
use kelisim_relay::manifest::ConsentManifest;

use crate::open::open_checked_store;
use crate::prompt::Confirm;

/// Options of `console`.
#[derive(Debug, Clone, Args)]
pub struct ConsoleArgs {
    /// A loopback address to listen on (127.0.0.1 or ::1); port 0 picks a free one.
    #[arg(long, default_value = console::DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// The generator's consent-manifest.json (overrides `manifest`): the site's names of
    /// purposes and the links to each policy version.
    #[arg(long)]
    pub manifest: Option<PathBuf>,
    /// Only print the link; do not open a browser.
    #[arg(long)]
    pub no_browser: bool,
    /// The language the console opens in: kk or ru (switchable on every page).
    #[arg(long, default_value = "kk")]
    pub lang: String,
}

/// Runs the console until it is stopped.
pub async fn console(
    config: &RelayConfig,
    args: ConsoleArgs,
    confirm: &Confirm,
) -> anyhow::Result<()> {
    console::check_listen(args.listen)?;
    let manifest = manifest(config, args.manifest.as_deref())?;
    let (store, key) = open_checked_store(config, confirm).await?;
    let shelved = store.shelve_older_records().await?;
    if shelved > 0 {
        eprintln!("{shelved} older record(s) placed in the inbox's index");
    }
    let token = gate::random_hex().context("no random bytes for the console's token")?;
    let settings = Settings {
        key,
        manifest,
        actor: confirm.actor(),
        lang: args.lang.clone(),
        deadlines: config.request_deadline_days.clone(),
        reply_after_answer: config.retention_days.reply_after_answer,
    };
    let console = Arc::new(Console::new(store, settings, token.clone())?);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let url = format!("http://{}/?token={token}", listener.local_addr()?);
    println!(
        "The operator's console is ready. Open this link once, in a browser on this computer:"
    );
    println!("    {url}");
    println!("Stop it with Ctrl-C or its Stop button; the store is closed then.");
    let _ = std::io::stdout().flush();
    let opened = if args.no_browser {
        None
    } else {
        open_browser(&url)
    };
    let router = console::router(Arc::clone(&console));
    let stop = async {
        tokio::select! {
            () = crate::serve::shutdown_signal() => {}
            () = console.stop.notified() => {}
        }
    };
    kelisim_relay::web::server::serve(listener, router, config.server, stop).await;
    if let Some(file) = opened {
        let _ = std::fs::remove_file(file);
    }
    say("The console stopped.");
    Ok(())
}

/// One line on standard output, flushed; a closed output (the terminal or the reading
/// script gone) does not stop the console.
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// The manifest named on the command line (which must load), else the configured one if it
/// is there. Without one the console still works, with the relay's built-in names.
fn manifest(config: &RelayConfig, given: Option<&Path>) -> anyhow::Result<Option<ConsentManifest>> {
    if let Some(path) = given {
        let manifest = ConsentManifest::from_path(path)
            .with_context(|| format!("reading {}", path.display()))?;
        return Ok(Some(manifest));
    }
    if !config.manifest.exists() {
        eprintln!(
            "no consent manifest at {}: purposes are named by their ids and policy links are the stamps' own",
            config.manifest.display()
        );
        return Ok(None);
    }
    Ok(Some(ConsentManifest::from_path(&config.manifest)?))
}

/// Opens `url` in the desktop's browser through a redirect page only the user can read,
/// as Jupyter does; returns the page's path to remove later. Nothing happens without a
/// desktop (a server over SSH): the printed link is the way in then.
fn open_browser(url: &str) -> Option<PathBuf> {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else if cfg!(windows) {
        "explorer"
    } else if std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some()
    {
        "xdg-open"
    } else {
        return None;
    };
    let name = format!("kelisim-console-{}.html", gate::random_hex()?.get(..16)?);
    let path = std::env::temp_dir().join(name);
    let page = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"refresh\" content=\"0;url={url}\"><title>kelisim</title></head>\
         <body><a href=\"{url}\">kelisim-relay console</a></body></html>\n"
    );
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&path).ok()?;
    file.write_all(page.as_bytes()).ok()?;
    drop(file);
    let spawned = std::process::Command::new(opener)
        .arg(&path)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    if spawned.is_err() {
        let _ = std::fs::remove_file(&path);
        return None;
    }
    Some(path)
}
