//! `kelisim`: the command line. It only parses arguments and prints; the work is in the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Builds the bilingual privacy-policy and contact site.
#[derive(Debug, Parser)]
#[command(name = "kelisim", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Build the site into the output folder (public/ by default).
    Build {
        /// The site root, where site.toml is.
        #[arg(long, default_value = ".")]
        root: PathBuf,
        /// Where to write the site (default: <root>/public).
        #[arg(long)]
        output: Option<PathBuf>,
        /// Publish under another address than site.toml's base_url (for previews).
        #[arg(long)]
        base_url: Option<String>,
        /// Do not write the .br and .gz copies of HTML, CSS and JS files.
        #[arg(long)]
        no_precompress: bool,
    },
    /// Build, serve on 127.0.0.1 with a working form (local SQLite), rebuild and live-reload
    /// on every change.
    #[cfg(feature = "serve")]
    Serve {
        /// The site root, where site.toml is.
        #[arg(long, default_value = ".")]
        root: PathBuf,
        /// Port on 127.0.0.1 (0 picks a free one).
        #[arg(long, short, default_value_t = 1111)]
        port: u16,
        /// The SQLite file the form's records go to (default: <root>/.kelisim/records.sqlite).
        #[arg(long)]
        db: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Build {
            root,
            output,
            base_url,
            no_precompress,
        } => build(kelisim::BuildOptions {
            root,
            output,
            base_url,
            precompress: !no_precompress,
        }),
        #[cfg(feature = "serve")]
        Command::Serve { root, port, db } => {
            let mut options = kelisim::serve::ServeOptions::new(root);
            options.port = port;
            options.db = db;
            serve(options)
        }
    }
}

fn build(options: kelisim::BuildOptions) -> ExitCode {
    match kelisim::build(&options) {
        Ok(report) => {
            for warning in &report.warnings {
                eprintln!("warning: {warning}");
            }
            println!(
                "Built {} pages ({} files) into {} in {} ms.",
                report.pages_written,
                report.files_written,
                report.output.display(),
                report.elapsed.as_millis()
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the preview until Ctrl-C or SIGTERM. Build errors never end it; only a failure to
/// start (a taken port, an unusable state folder) does.
#[cfg(feature = "serve")]
fn serve(options: kelisim::serve::ServeOptions) -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let preview = match kelisim::serve::start(options).await {
            Ok(preview) => preview,
            Err(error) => {
                eprintln!("error: {error}");
                return ExitCode::FAILURE;
            }
        };
        println!(
            "Serving the preview at {}/ (Ctrl-C stops it)",
            preview.url()
        );
        println!(
            "The contact form stores records in {}",
            preview.db.display()
        );
        shutdown_signal().await;
        preview.stop().await;
        ExitCode::SUCCESS
    })
}

#[cfg(feature = "serve")]
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
