//! `kelisim`: the command line. It only parses arguments and prints; the work is in the library.

use std::path::{Path, PathBuf};
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
    /// Build the site in memory and report broken links and anchors, missing translations,
    /// policy sections that differ between languages, Fluent keys, hreflang pairs, the policy
    /// lock, images without alt text and external links. Exit 1 on errors.
    Check {
        /// The site root, where site.toml is.
        #[arg(long, default_value = ".")]
        root: PathBuf,
        /// `text` (one line per finding) or `json` (for CI).
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Exit 1 on warnings too.
        #[arg(long)]
        deny_warnings: bool,
        /// Fetch every external link (needs a network).
        #[arg(long)]
        external: bool,
    },
    /// Create a page in every language of the site (content/<lang>/PATH), front matter
    /// filled in, so the translations are linked from the start.
    New {
        /// The page's path under content/<lang>/, for example `about.md` or `help/faq.md`.
        path: String,
        /// The title in every language (translate it afterwards); default: from the file name.
        #[arg(long)]
        title: Option<String>,
        /// The site root, where site.toml is.
        #[arg(long, default_value = ".")]
        root: PathBuf,
    },
    /// Create a new site in DIR (new or empty) from the default theme: settings, strings,
    /// every page in kk and ru, and a placeholder policy to replace with the operator's own.
    Init {
        /// The folder to create the site in.
        dir: PathBuf,
        /// The operator's name without its legal form (pages write «NAME» ЖШС, ТОО «NAME»).
        #[arg(long, default_value = "Example Company")]
        operator: String,
        /// The address for data-subject requests.
        #[arg(long, default_value = "info@example.kz")]
        email: String,
        /// Where the site will be published.
        #[arg(long, default_value = "https://example.kz")]
        base_url: String,
    },
    /// Policy versions: start a new one, or compare two.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
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

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Format {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum PolicyCommand {
    /// Archive the current policy text in every language and raise `version` (and
    /// `effective_date`) in each privacy.md; then edit the new text.
    NewVersion {
        /// The new version, for example 1.1.
        version: String,
        /// The date the new version takes effect, YYYY-MM-DD (default: today, UTC).
        #[arg(long)]
        effective: Option<String>,
        /// The site root, where site.toml is.
        #[arg(long, default_value = ".")]
        root: PathBuf,
    },
    /// Show, word by word, what changed from version A to version B.
    Diff {
        /// The older version.
        a: String,
        /// The newer version.
        b: String,
        /// The language to compare (default: the site's default language).
        #[arg(long)]
        lang: Option<String>,
        /// The site root, where site.toml is.
        #[arg(long, default_value = ".")]
        root: PathBuf,
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
        Command::Check {
            root,
            format,
            deny_warnings,
            external,
        } => check(&root, format, deny_warnings, external),
        Command::New { path, title, root } => new_page(&root, &path, title.as_deref()),
        Command::Init {
            dir,
            operator,
            email,
            base_url,
        } => init(
            &dir,
            kelisim::commands::init::InitOptions {
                operator,
                email,
                base_url,
                ..kelisim::commands::init::InitOptions::default()
            },
        ),
        Command::Policy { command } => match command {
            PolicyCommand::NewVersion {
                version,
                effective,
                root,
            } => policy_new_version(&root, &version, effective.as_deref()),
            PolicyCommand::Diff { a, b, lang, root } => policy_diff(&root, &a, &b, lang.as_deref()),
        },
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
            if report.lock_updated {
                println!(
                    "Locked the newly published policy version in policy.lock: commit it with the site."
                );
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn check(root: &Path, format: Format, deny_warnings: bool, external: bool) -> ExitCode {
    use kelisim::commands::check::Severity;
    let started = std::time::Instant::now();
    let report =
        kelisim::commands::check::run(root, &kelisim::commands::check::CheckOptions { external });
    let (errors, warnings) = (
        report.count(Severity::Error),
        report.count(Severity::Warning),
    );
    match format {
        Format::Json => match serde_json::to_string_pretty(&report) {
            Ok(json) => println!("{json}"),
            Err(error) => {
                eprintln!("error: could not write the report as JSON: {error}");
                return ExitCode::FAILURE;
            }
        },
        Format::Text => {
            for finding in &report.findings {
                println!("{finding}");
            }
            println!(
                "kelisim check: {errors} errors, {warnings} warnings, {} notes in {} ms.",
                report.count(Severity::Note),
                started.elapsed().as_millis()
            );
        }
    }
    if errors > 0 || (deny_warnings && warnings > 0) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn new_page(root: &Path, path: &str, title: Option<&str>) -> ExitCode {
    let today = kelisim::commands::new_version::today();
    match kelisim::commands::new_page::new_page(root, path, title, today) {
        Ok(created) => {
            for file in &created {
                println!("Created {}.", file.display());
            }
            println!("Translate the titles, write the texts, then `kelisim serve` to see them.");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn init(dir: &Path, options: kelisim::commands::init::InitOptions) -> ExitCode {
    match kelisim::commands::init::init(dir, &options) {
        Ok(created) => {
            println!(
                "Created a kelisim site in {} ({} files).",
                dir.display(),
                created.len()
            );
            println!(
                "Next: check site.toml, then `kelisim serve --root {}` to see the site. The policy in content/kk/privacy.md and content/ru/privacy.md is a placeholder (`placeholder = true`): write the operator's text in both, delete that line, and `kelisim build` publishes and locks it as version 1.0 (until then it refuses to).",
                dir.display()
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn policy_new_version(root: &Path, version: &str, effective: Option<&str>) -> ExitCode {
    let effective = match effective {
        None => kelisim::commands::new_version::today(),
        Some(text) => match kelisim_manifest::dates::parse_date(text) {
            Some(date) => date,
            None => {
                eprintln!("error: --effective `{text}` is not a date: write it as YYYY-MM-DD.");
                return ExitCode::FAILURE;
            }
        },
    };
    match kelisim::commands::new_version::new_version(root, version, effective) {
        Ok(raised) => {
            for r in &raised {
                println!(
                    "{}: version {} archived unchanged as {}; raised to {version}, effective {}.",
                    r.policy.display(),
                    r.old_version,
                    r.archived.display(),
                    kelisim_manifest::dates::iso(effective)
                );
            }
            println!(
                "Now edit the new text, then `kelisim build` locks version {version} in policy.lock."
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn policy_diff(root: &Path, a: &str, b: &str, lang: Option<&str>) -> ExitCode {
    match kelisim::commands::policy_diff::diff_versions(root, a, b, lang) {
        Ok(text) if text.is_empty() => {
            println!("Versions {a} and {b} have the same text.");
            ExitCode::SUCCESS
        }
        Ok(text) => {
            print!("{text}");
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
    let code = runtime.block_on(async {
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
        println!(
            "Consent receipts are preview receipts: signed with a throwaway key made for this run \
             (kid {}, published at {}/.well-known/kelisim-receipt-keys.json), they say \
             \"preview\": true and prove nothing outside this preview.",
            preview.receipt_kid(),
            preview.url()
        );
        shutdown_signal().await;
        preview.stop().await;
        ExitCode::SUCCESS
    });
    // A rebuild still loading sources runs on a blocking thread that cannot be interrupted
    // there; it notices the stop at its next page, and the process does not wait longer.
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    code
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
