//! The data-subject commands of `kelisim-relay` (`records find|export|rectify|block|unblock|
//! withdraw|erase|anonymize`, `requests open|list|close`, `purge-expired`, `audit`, `rekey`):
//! argument parsing, the confirmation prompt, and printing. The work itself is in `kelisim_relay::subject_requests`.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use kelisim_relay::access_report;
use kelisim_relay::audit::AuditAction;
use kelisim_relay::fingerprint::HmacKey;
use kelisim_relay::record::{ConsentRecord, RecordId};
use kelisim_relay::requests::{Outcome, RequestKind, RequestStatus};
use kelisim_relay::store::Store;
use kelisim_relay::subject_requests::{self as rights, Lookup, Plan};
use time::OffsetDateTime;

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

/// Who a command is about: an email (`-` reads it from stdin) or a phone.
#[derive(Debug, Clone, Args)]
#[group(required = true, multiple = false)]
pub struct Person {
    /// The person's email; `-` reads it from standard input (keeps it out of shell history).
    #[arg(long)]
    pub email: Option<String>,
    /// The person's phone, in any form the contact form accepts.
    #[arg(long)]
    pub phone: Option<String>,
}

/// One record by id, or every record of the person with this email.
#[derive(Debug, Clone, Args)]
#[group(required = true, multiple = false)]
pub struct Target {
    /// A record id (from `records find`).
    pub id: Option<RecordId>,
    /// The person's email; `-` reads it from standard input.
    #[arg(long)]
    pub email: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum, Default)]
pub enum ExportFormat {
    #[default]
    Json,
    Html,
}

/// `kelisim-relay records …`: one person's records.
#[derive(Debug, Subcommand)]
pub enum RightsCommand {
    /// List the person's records (id, date, state, purposes in force), found through the
    /// keyed email or phone hash.
    Find(Person),
    /// The answer to an access request (§4.1, §8.3): what is held, why, since and until when,
    /// and the policy agreed to. HTML is in the person's language.
    Export {
        /// The person's email; `-` reads it from standard input.
        #[arg(long)]
        email: String,
        #[arg(long, value_enum, default_value_t)]
        format: ExportFormat,
        /// The report's language (default: the language of the person's latest record).
        #[arg(long)]
        lang: Option<String>,
    },
    /// Correct fields of one record (§8.3); the record keeps a history of what changed.
    Rectify {
        id: RecordId,
        /// `field=value`; fields: surname, first_name, patronymic, email, phone, message.
        #[arg(long = "set", required = true, value_name = "FIELD=VALUE")]
        set: Vec<String>,
        /// Days the old values stay in the history (to undo a mistake).
        #[arg(long, default_value_t = rights::DEFAULT_HISTORY_DAYS)]
        history_days: u32,
    },
    /// Suspend processing of one record (§2.2): it leaves every list, export for processing
    /// and notification.
    Block { id: RecordId },
    /// Resume processing of a blocked record.
    Unblock { id: RecordId },
    /// Withdraw consent (§8.4, §8.9): retention is recomputed and the data no remaining
    /// purpose needs is dropped at once.
    Withdraw {
        /// The person's email; `-` reads it from standard input.
        #[arg(long)]
        email: String,
        /// One purpose (`reply`, `newsletter`); default: every purpose.
        #[arg(long)]
        purpose: Option<String>,
    },
    /// Delete records irrecoverably (§2.14).
    Erase(Target),
    /// Depersonalize records (§2.5): personal fields go, the stamp and dates stay.
    Anonymize(Target),
}

/// Options of `audit`.
#[derive(Debug, Clone, Args)]
pub struct AuditArgs {
    /// Only entries from this date (`YYYY-MM-DD`) or time (RFC 3339) on.
    #[arg(long)]
    pub since: Option<String>,
    /// One JSON object per line instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Options of `rekey`.
#[derive(Debug, Clone, Args)]
pub struct RekeyArgs {
    /// A file holding the new key (hex or base64, at least 32 bytes). The current key comes
    /// from the usual configuration.
    #[arg(long)]
    pub new_key_file: PathBuf,
}

/// Reads `--email -` from stdin; other values pass through.
fn email_arg(value: &str) -> anyhow::Result<String> {
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
async fn confirm_and_apply(
    store: &dyn Store,
    plan: &Plan,
    confirm: &Confirm,
    stdin_used: bool,
) -> anyhow::Result<usize> {
    let description = plan.describe();
    if confirm.dry_run {
        print!("{description}");
        println!("dry run: nothing was changed");
        return Ok(0);
    }
    if !confirm.yes && !plan.is_empty() {
        eprint!("{description}");
        if !ask("Proceed? [y/N] ", stdin_used)? {
            bail!("not confirmed: nothing was changed");
        }
    }
    let applied = rights::apply(store, plan, &confirm.actor()).await?;
    Ok(applied.changed)
}

/// Asks for a yes. The answer is read from standard input, or, when that already gave the
/// email (`--email -`), from the controlling terminal. An empty answer or end of input is no,
/// so a script that pipes nothing in never changes data by accident.
fn ask(question: &str, stdin_used: bool) -> anyhow::Result<bool> {
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

fn summary_line(record: &ConsentRecord, now: OffsetDateTime) -> String {
    let in_force: Vec<&str> = record
        .consent
        .purposes
        .iter()
        .filter(|p| p.is_in_force(now))
        .map(|p| p.purpose.as_str())
        .collect();
    format!(
        "{}  received {}  {:?}{}  lang {}  purposes in force: {}",
        record.id,
        record.received_at.date(),
        record.state,
        if record.blocked_at.is_some() {
            " (blocked)"
        } else {
            ""
        },
        record.consent.language,
        if in_force.is_empty() {
            "none".to_owned()
        } else {
            in_force.join(", ")
        },
    )
}

async fn targets(
    store: &dyn Store,
    key: &HmacKey,
    target: &Target,
) -> anyhow::Result<(Vec<ConsentRecord>, bool)> {
    match (&target.id, &target.email) {
        (Some(id), _) => Ok((vec![rights::get(store, *id).await?], false)),
        (None, Some(email)) => {
            let email = email_arg(email)?;
            Ok((
                rights::export(store, key, &email).await?,
                target.email.as_deref() == Some("-"),
            ))
        }
        (None, None) => bail!("give a record id or --email"),
    }
}

/// Runs one `records …` command: a flat dispatch, one short arm per command (the longer
/// ones are functions of their own).
pub async fn run(
    command: RightsCommand,
    store: &dyn Store,
    key: &HmacKey,
    confirm: &Confirm,
) -> anyhow::Result<()> {
    let now = OffsetDateTime::now_utc();
    let actor = confirm.actor();
    match command {
        RightsCommand::Find(person) => find(store, key, &actor, &person, now).await?,
        RightsCommand::Export {
            email,
            format,
            lang,
        } => export(store, key, &actor, &email, format, lang, now).await?,
        RightsCommand::Rectify {
            id,
            set,
            history_days,
        } => {
            let assignments = rights::parse_assignments(&set)?;
            let record = rights::get(store, id).await?;
            let plan = rights::plan_rectify(record, key, &assignments, history_days, now)?;
            let changed = confirm_and_apply(store, &plan, confirm, false).await?;
            report(confirm, changed, "rectified");
        }
        RightsCommand::Block { id } | RightsCommand::Unblock { id } => {
            let block = matches!(command, RightsCommand::Block { .. });
            let plan = rights::plan_block(rights::get(store, id).await?, block, now);
            let changed = confirm_and_apply(store, &plan, confirm, false).await?;
            report(
                confirm,
                changed,
                if block { "blocked" } else { "unblocked" },
            );
        }
        RightsCommand::Withdraw { email, purpose } => {
            let stdin_used = email == "-";
            let email = email_arg(&email)?;
            let records = rights::export(store, key, &email).await?;
            if let Some(purpose) = &purpose {
                check_purpose_held(&records, purpose)?;
            }
            let plan = rights::plan_withdraw(records, purpose.as_deref(), now);
            let changed = confirm_and_apply(store, &plan, confirm, stdin_used).await?;
            report(confirm, changed, "updated");
        }
        RightsCommand::Erase(target) => {
            let (records, stdin_used) = targets(store, key, &target).await?;
            let plan = rights::plan_erase(records);
            let changed = confirm_and_apply(store, &plan, confirm, stdin_used).await?;
            report(confirm, changed, "erased");
        }
        RightsCommand::Anonymize(target) => {
            let (records, stdin_used) = targets(store, key, &target).await?;
            let plan = rights::plan_anonymize(records, now);
            let changed = confirm_and_apply(store, &plan, confirm, stdin_used).await?;
            report(confirm, changed, "anonymized");
        }
    }
    Ok(())
}

/// `records find`: one summary line per record of the person, audited as a read.
async fn find(
    store: &dyn Store,
    key: &HmacKey,
    actor: &str,
    person: &Person,
    now: OffsetDateTime,
) -> anyhow::Result<()> {
    let (records, detail) = match (&person.email, &person.phone) {
        (Some(email), _) => {
            let email = email_arg(email)?;
            (
                rights::find(store, key, Lookup::Email(&email)).await?,
                "by email",
            )
        }
        (None, Some(phone)) => (
            rights::find(store, key, Lookup::Phone(phone)).await?,
            "by phone",
        ),
        (None, None) => bail!("give --email or --phone"),
    };
    rights::audit_read(store, actor, AuditAction::Find, &records, detail).await?;
    if records.is_empty() {
        println!("no record found");
    }
    for record in &records {
        println!("{}", summary_line(record, now));
    }
    Ok(())
}

/// `records export`: the person's records as JSON, or as the HTML access report in `lang`
/// (default: the language of the person's latest record), audited as a read.
async fn export(
    store: &dyn Store,
    key: &HmacKey,
    actor: &str,
    email: &str,
    format: ExportFormat,
    lang: Option<String>,
    now: OffsetDateTime,
) -> anyhow::Result<()> {
    let email = email_arg(email)?;
    let records = rights::for_the_person(rights::export(store, key, &email).await?);
    let detail = match format {
        ExportFormat::Json => "json",
        ExportFormat::Html => "html",
    };
    rights::audit_read(store, actor, AuditAction::Export, &records, detail).await?;
    match format {
        ExportFormat::Json => println!("{}", serde_json::to_string_pretty(&records)?),
        ExportFormat::Html => {
            let lang = lang.unwrap_or_else(|| access_report::language_of(&records).to_owned());
            print!("{}", access_report::render(&records, &lang, now));
        }
    }
    Ok(())
}

/// A withdrawal of one purpose must name a purpose the person's records have (none found
/// is not an error: the plan is then empty). The refusal shows only a safe part of the name.
fn check_purpose_held(records: &[ConsentRecord], purpose: &str) -> anyhow::Result<()> {
    if !records.is_empty()
        && !records
            .iter()
            .any(|r| r.consent.purposes.iter().any(|p| p.purpose == purpose))
    {
        bail!(
            "no record of this person has the purpose `{}`",
            purpose
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .take(32)
                .collect::<String>()
        );
    }
    Ok(())
}

fn report(confirm: &Confirm, changed: usize, verb: &str) {
    if !confirm.dry_run {
        println!("{changed} record(s) {verb}");
    }
}

/// `purge-expired`: the per-purpose retention purge.
pub async fn purge(store: &dyn Store, confirm: &Confirm) -> anyhow::Result<()> {
    let now = OffsetDateTime::now_utc();
    let plan = rights::plan_purge(store.list_records().await?, now);
    let deleted = plan.changes.iter().filter(|c| c.after.is_none()).count();
    let reduced = plan.changes.len() - deleted;
    confirm_and_apply(store, &plan, confirm, false).await?;
    if confirm.dry_run {
        return Ok(());
    }
    // Also clears dedup entries past their window, and any record that expired meanwhile.
    let late = rights::purge_expired(store, now).await?;
    println!(
        "{} expired record(s) deleted, {reduced} record(s) reduced to the purposes still in force",
        deleted as u64 + late
    );
    Ok(())
}

/// `audit`: prints the log.
pub async fn audit(store: &dyn Store, args: &AuditArgs) -> anyhow::Result<()> {
    let since = match &args.since {
        None => None,
        Some(text) => Some(parse_since(text)?),
    };
    for entry in store.audit_since(since).await? {
        if args.json {
            println!("{}", serde_json::to_string(&entry)?);
        } else {
            println!(
                "{}  {:<16} {:<14} {:<36} {:>4}  {}",
                entry
                    .at
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default(),
                entry.actor,
                entry.action.as_str(),
                entry
                    .record_id
                    .map(|id| id.to_string())
                    .unwrap_or_else(|| "-".to_owned()),
                entry.affected,
                entry.detail
            );
        }
    }
    Ok(())
}

fn parse_since(text: &str) -> anyhow::Result<OffsetDateTime> {
    use time::format_description::well_known::Rfc3339;
    if let Ok(at) = OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(at);
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(text, &format)
        .with_context(|| format!("--since `{text}`: expected YYYY-MM-DD or an RFC 3339 time"))?;
    Ok(date.midnight().assume_utc())
}

/// `rekey`: re-derives every lookup hash under the new key.
pub async fn rekey(
    store: &dyn Store,
    old: &HmacKey,
    args: &RekeyArgs,
    confirm: &Confirm,
) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.new_key_file)
        .with_context(|| format!("reading {}", args.new_key_file.display()))?;
    let new = HmacKey::parse(&text).context("the new key")?;
    if confirm.dry_run {
        let count = store.list_records().await?.len();
        println!("rekey: would re-derive the lookup hashes of {count} record(s)");
        println!("dry run: nothing was changed");
        return Ok(());
    }
    if !confirm.yes {
        eprintln!("rekey: every record's lookup hashes will be re-derived under the new key");
        if !ask("Proceed? [y/N] ", false)? {
            bail!("not confirmed: nothing was changed");
        }
    }
    let done = rights::rekey(store, old, &new, &confirm.actor()).await?;
    println!(
        "{} record(s) rekeyed, {} already done, {} without an email lookup key; use the new key from now on",
        done.rekeyed, done.already, done.unlinkable
    );
    Ok(())
}

fn parse_kind(text: &str) -> Result<RequestKind, String> {
    RequestKind::parse(text)
        .ok_or_else(|| "expected access, rectification, withdrawal, blocking or erasure".to_owned())
}

fn parse_outcome(text: &str) -> Result<Outcome, String> {
    Outcome::parse(text)
        .ok_or_else(|| "expected done, nothing_held, refused or abandoned".to_owned())
}

/// `kelisim-relay requests …`: data-subject requests and their deadlines.
#[derive(Debug, Subcommand)]
pub enum RequestsCommand {
    /// Enter a request received by mail or letter: confirmed at once, due after the kind's
    /// deadline (`[request_deadline_days]`).
    Open {
        #[arg(long, value_parser = parse_kind)]
        kind: RequestKind,
        /// The person's email; `-` reads it from standard input.
        #[arg(long)]
        email: String,
        /// The language to answer in.
        #[arg(long, default_value = "kk")]
        lang: String,
    },
    /// Open requests, oldest first, with their due dates.
    List {
        /// Only those past their due date.
        #[arg(long)]
        overdue: bool,
        /// Closed ones too.
        #[arg(long, conflicts_with = "overdue")]
        all: bool,
        #[arg(long)]
        json: bool,
    },
    /// Close a request; the address it held is removed.
    Close {
        id: uuid::Uuid,
        /// done, nothing_held, refused or abandoned.
        #[arg(long, value_parser = parse_outcome)]
        outcome: Outcome,
    },
}

/// `requests list`: open and overdue requests (`overdue`: overdue only; `all`: closed ones
/// too), one line each or as JSON.
async fn list_requests(
    store: &dyn Store,
    overdue: bool,
    all: bool,
    json: bool,
) -> anyhow::Result<()> {
    let now = OffsetDateTime::now_utc();
    let requests: Vec<_> = store
        .list_requests()
        .await?
        .into_iter()
        .filter(|r| match r.status(now) {
            RequestStatus::Overdue => true,
            RequestStatus::Closed => all,
            _ => !overdue,
        })
        .collect();
    if json {
        println!("{}", serde_json::to_string_pretty(&requests)?);
        return Ok(());
    }
    if requests.is_empty() {
        println!("no request");
    }
    for r in &requests {
        println!(
            "{}  {:<13} {:<11} received {}  due {}  {}  {}",
            r.id,
            r.kind.as_str(),
            format!("{:?}", r.status(now)).to_lowercase(),
            r.received_at.date(),
            r.due_at
                .map(|d| d.date().to_string())
                .unwrap_or_else(|| "-".to_owned()),
            r.language,
            if r.email.is_empty() { "-" } else { &r.email },
        );
    }
    Ok(())
}

/// Runs one `requests …` command.
pub async fn requests(
    command: RequestsCommand,
    store: &dyn Store,
    key: &HmacKey,
    deadlines: &std::collections::BTreeMap<String, u32>,
    confirm: &Confirm,
) -> anyhow::Result<()> {
    let actor = confirm.actor();
    match command {
        RequestsCommand::Open { kind, email, lang } => {
            let email = email_arg(&email)?;
            let request =
                rights::open_request(store, key, kind, &email, &lang, deadlines, &actor).await?;
            println!(
                "request {} ({}) opened, due {}",
                request.id,
                kind.as_str(),
                request
                    .due_at
                    .map(|d| d.date().to_string())
                    .unwrap_or_default()
            );
        }
        RequestsCommand::List { overdue, all, json } => {
            list_requests(store, overdue, all, json).await?;
        }
        RequestsCommand::Close { id, outcome } => {
            rights::close_request(store, id, outcome, &actor).await?;
            println!("request {id} closed: {}", outcome.as_str());
        }
    }
    Ok(())
}
