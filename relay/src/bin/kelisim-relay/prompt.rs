//! Asking before changing data: the flags every changing command shares (`--yes`,
//! `--dry-run`, `--by`), reading an address from standard input, and showing a plan before
//! applying it.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{Context, bail};
use clap::Args;
use kelisim_relay::app::rights;
use kelisim_relay::domain::plan::Plan;
use kelisim_relay::store::Store;

/// Flags shared by every command that changes data.
#[derive(Debug, Clone, Args)]
pub struct Confirm {
    /// Do it without asking.
    #[arg(long, global = true)]
    pub yes: bool,
    /// Show what would be done, change nothing.
    #[arg(long, global = true, conflicts_with = "yes")]
    pub dry_run: bool,
    /// Who is acting, for the audit log (default: $USER).
    #[arg(long, global = true)]
    pub by: Option<String>,
}

impl Confirm {
    pub fn actor(&self) -> String {
        self.by
            .clone()
            .or_else(|| std::env::var("USER").ok())
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| "unknown".to_owned())
    }
}

/// Reads `--email -` from stdin; other values pass through.
pub fn email_arg(value: &str) -> anyhow::Result<String> {
    if value != "-" {
        return Ok(value.to_owned());
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the email from standard input")?;
    let email = line.trim().to_owned();
    if email.is_empty() {
        bail!("--email -: standard input held no email address");
    }
    Ok(email)
}

/// Shows `plan`, then asks (unless `--yes`), then applies it. `--dry-run` stops after
/// showing. Returns how many records changed.
pub async fn confirm_and_apply(
    store: &dyn Store,
    plan: &Plan,
    confirm: &Confirm,
    stdin_used: bool,
) -> anyhow::Result<usize> {
    if !approve(plan, confirm, stdin_used)? {
        return Ok(0);
    }
    let applied = rights::apply(store, plan, &confirm.actor()).await?;
    Ok(applied.changed)
}

/// Shows `plan` and asks (unless `--yes`). False on `--dry-run`: shown, not to be applied.
pub fn approve(plan: &Plan, confirm: &Confirm, stdin_used: bool) -> anyhow::Result<bool> {
    let description = plan.describe();
    if confirm.dry_run {
        print!("{description}");
        println!("dry run: nothing was changed");
        return Ok(false);
    }
    if !confirm.yes && !plan.is_empty() {
        eprint!("{description}");
        if !ask("Proceed? [y/N] ", stdin_used)? {
            bail!("not confirmed: nothing was changed");
        }
    }
    Ok(true)
}

/// Asks for a yes. The answer is read from standard input, or, when that already gave the
/// email (`--email -`), from the controlling terminal. An empty answer or end of input is no,
/// so a script that pipes nothing in never changes data by accident.
pub fn ask(question: &str, stdin_used: bool) -> anyhow::Result<bool> {
    eprint!("{question}");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    if !stdin_used {
        std::io::stdin().lock().read_line(&mut answer)?;
        if !std::io::stdin().is_terminal() {
            eprintln!();
        }
    } else if let Ok(tty) = std::fs::File::open("/dev/tty") {
        std::io::BufReader::new(tty).read_line(&mut answer)?;
    } else {
        eprintln!();
        bail!(
            "not confirmed: there is no terminal to ask on; pass --yes to proceed, or --dry-run to preview"
        );
    }
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
}

pub fn report(confirm: &Confirm, changed: usize, verb: &str) {
    if !confirm.dry_run {
        println!("{changed} record(s) {verb}");
    }
}
