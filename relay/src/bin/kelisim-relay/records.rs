//! `kelisim-relay inbox` and `records …`: reading, answering and listing records, and the
//! data-subject rights on one person's records (find, export, rectify, block, unblock,
//! withdraw, erase, anonymize); `records verify` is in `verify.rs`. Argument parsing and
//! printing; the work is in `kelisim_relay::app`.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use kelisim_relay::app::rights::Lookup;
use kelisim_relay::app::{inbox, rights};
use kelisim_relay::config::RelayConfig;
use kelisim_relay::domain::audit::AuditAction;
use kelisim_relay::domain::hmac_key::HmacKey;
use kelisim_relay::domain::messages::Messages;
use kelisim_relay::domain::plan::{self, for_the_person};
use kelisim_relay::domain::record::{ConsentRecord, RecordId};
use kelisim_relay::store::Store;
use kelisim_relay::views::{access_report, inbox as view};
use time::OffsetDateTime;

use crate::prompt::{Confirm, confirm_and_apply, email_arg, report};
use crate::receipts::{self, Issuer};
use crate::verify::{VerifyArgs, verify};

/// `kelisim-relay records …`.
#[derive(Debug, Subcommand)]
pub enum RecordsCommand {
    /// One record, whole: names, contacts, the message and the consent stamp.
    Show {
        id: RecordId,
        #[arg(long)]
        json: bool,
    },
    /// Mark a message answered: it leaves the inbox, and its reply purpose ends
    /// `[retention_days] reply_after_answer` days later (default 30), after which
    /// `purge-expired` removes what no other purpose needs. `--by` names who answered
    /// (default: $USER).
    Answer { id: RecordId },
    /// Everyone whose consent to a purpose is in force (confirmed, for a double opt-in
    /// purpose): the only way to get a mailing list.
    List {
        #[arg(long)]
        purpose: String,
        #[arg(long)]
        json: bool,
    },
    /// Check that consent stamps still lead to the exact texts shown (exits non-zero if not).
    ///
    /// For each record: the policy text at the stamped version and every consent label, read
    /// from the published site (its consent-manifest.json says where), hashed again and
    /// compared with the stamp. One line per record: `<id> verified <lang> <version>`, or
    /// `<id> unverifiable <lang> <version>: <reason> (<where>: <why>)`, the reasons being
    /// version unknown, policy or label text missing, policy or label hash differs, or site
    /// unreadable. A summary goes to standard error. Exits non-zero if any record is
    /// unverifiable.
    Verify(VerifyArgs),
    #[command(flatten)]
    Rights(RightsCommand),
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
        /// The report's language, `kk` or `ru` (default: the language of the person's latest
        /// record).
        #[arg(long)]
        lang: Option<String>,
        /// The site's consent-manifest.json, whose words and operator name the HTML report
        /// uses (overrides `manifest`).
        #[arg(long)]
        manifest: Option<PathBuf>,
    },
    /// Correct fields of one record (§8.3); the record keeps a history of what changed.
    Rectify {
        id: RecordId,
        /// `field=value`; fields: surname, first_name, patronymic, email, phone, message.
        #[arg(long = "set", required = true, value_name = "FIELD=VALUE")]
        set: Vec<String>,
        /// Days the old values stay in the history (to undo a mistake).
        #[arg(long, default_value_t = plan::DEFAULT_HISTORY_DAYS)]
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
pub async fn rights(
    command: RightsCommand,
    store: &dyn Store,
    key: &HmacKey,
    confirm: &Confirm,
    config: &RelayConfig,
) -> anyhow::Result<()> {
    let now = OffsetDateTime::now_utc();
    let actor = confirm.actor();
    match command {
        RightsCommand::Find(person) => find(store, key, &actor, &person, now).await?,
        RightsCommand::Export {
            email,
            format,
            lang,
            manifest,
        } => {
            let form = match format {
                ExportFormat::Json => Form::Json(receipts::issuer(config)?),
                ExportFormat::Html => Form::Html(report_setup(config, manifest, lang)?),
            };
            export(store, key, &actor, &email, form, now).await?;
        }
        RightsCommand::Rectify {
            id,
            set,
            history_days,
        } => {
            let assignments = plan::parse_assignments(&set)?;
            let record = rights::get(store, id).await?;
            let plan = plan::plan_rectify(record, key, &assignments, history_days, now)?;
            let changed = confirm_and_apply(store, &plan, confirm, false).await?;
            report(confirm, changed, "rectified");
        }
        RightsCommand::Block { id } | RightsCommand::Unblock { id } => {
            let block = matches!(command, RightsCommand::Block { .. });
            let plan = plan::plan_block(rights::get(store, id).await?, block, now);
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
            let plan = plan::plan_withdraw(records, purpose.as_deref(), now);
            let changed = confirm_and_apply(store, &plan, confirm, stdin_used).await?;
            report(confirm, changed, "updated");
        }
        RightsCommand::Erase(target) => {
            let (records, stdin_used) = targets(store, key, &target).await?;
            let plan = plan::plan_erase(records);
            let changed = confirm_and_apply(store, &plan, confirm, stdin_used).await?;
            report(confirm, changed, "erased");
        }
        RightsCommand::Anonymize(target) => {
            let (records, stdin_used) = targets(store, key, &target).await?;
            let plan = plan::plan_anonymize(records, now);
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

/// What the HTML access report is written with: the site's manifest and messages, and the
/// language asked for (`None`: the person's).
struct ReportSetup {
    manifest: kelisim_relay::manifest::ConsentManifest,
    messages: Messages,
    lang: Option<String>,
}

/// Loads what the HTML report needs before anything is read or audited, so a missing
/// manifest or an unknown language stops the command at once.
fn report_setup(
    config: &RelayConfig,
    manifest: Option<PathBuf>,
    lang: Option<String>,
) -> anyhow::Result<ReportSetup> {
    if let Some(lang) = &lang
        && !access_report::LANGUAGES.contains(&lang.as_str())
    {
        bail!(
            "--lang `{}`: the report is written in {}",
            lang.chars()
                .filter(char::is_ascii_alphanumeric)
                .take(16)
                .collect::<String>(),
            access_report::LANGUAGES.join(" or ")
        );
    }
    let path = manifest.unwrap_or_else(|| config.manifest.clone());
    let manifest =
        kelisim_relay::manifest::ConsentManifest::from_path(&path).with_context(|| {
            "the HTML report is written in the site's words and names the operator as the site \
         does, from its consent-manifest.json: give --manifest or set `manifest`"
        })?;
    let messages = Messages::from_manifest(&manifest)
        .with_context(|| format!("the relay's messages in {}", path.display()))?;
    Ok(ReportSetup {
        manifest,
        messages,
        lang,
    })
}

/// What `records export` writes.
enum Form {
    /// The records as JSON, each with its signed consent receipt when receipts are
    /// configured.
    Json(Option<Issuer>),
    /// The HTML access report.
    Html(ReportSetup),
}

/// `records export`: the person's records as JSON, or as the HTML access report in its
/// language (default: the language of the person's latest record), audited as a read.
async fn export(
    store: &dyn Store,
    key: &HmacKey,
    actor: &str,
    email: &str,
    form: Form,
    now: OffsetDateTime,
) -> anyhow::Result<()> {
    let email = email_arg(email)?;
    let records = for_the_person(rights::export(store, key, &email).await?);
    let detail = match form {
        Form::Json(_) => "json",
        Form::Html(_) => "html",
    };
    rights::audit_read(store, actor, AuditAction::Export, &records, detail).await?;
    match form {
        Form::Json(issuer) => {
            let mut out = Vec::with_capacity(records.len());
            for record in &records {
                let mut value = serde_json::to_value(record)?;
                if let Some(issuer) = &issuer {
                    value["receipt"] = issuer.receipt(record)?.into();
                }
                out.push(value);
            }
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        Form::Html(report) => {
            let lang = report
                .lang
                .unwrap_or_else(|| access_report::language_of(&records).to_owned());
            let site = access_report::Site {
                manifest: &report.manifest,
                messages: &report.messages,
            };
            print!("{}", access_report::render(&records, &lang, site, now));
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

/// `inbox`: the messages to answer (`all`: answered ones too), as text or JSON.
/// `inbox`: the messages to answer (`all`: answered ones too), as text or JSON.
pub async fn inbox(store: &dyn Store, all: bool, json: bool) -> anyhow::Result<()> {
    let rows = inbox::inbox(store, all).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else if rows.is_empty() {
        println!("The inbox is empty.");
    } else {
        print!("{}", view::inbox_text(&rows));
    }
    Ok(())
}

/// `records answer`: shows what marking the message answered does to its retention, asks,
/// applies it (audited).
async fn answer(
    store: &dyn Store,
    id: RecordId,
    confirm: &Confirm,
    config: &RelayConfig,
) -> anyhow::Result<()> {
    let by = confirm.actor();
    let days = config.retention_days.reply_after_answer;
    let now = OffsetDateTime::now_utc();
    match inbox::plan_answer(store, id, &by, days, now).await? {
        inbox::Answering::Already(who) => println!("{id} was already marked answered by {who}"),
        inbox::Answering::Plan(plan) => {
            if confirm_and_apply(store, &plan, confirm, false).await? > 0 {
                println!("{id} marked answered by {by}");
            }
        }
    }
    Ok(())
}

/// `records show|answer|list|verify`, and the rights commands under `records`.
pub async fn records(
    store: &dyn Store,
    key: &HmacKey,
    command: RecordsCommand,
    confirm: &Confirm,
    config: &RelayConfig,
) -> anyhow::Result<()> {
    match command {
        RecordsCommand::Rights(command) => rights(command, store, key, confirm, config).await?,
        RecordsCommand::Verify(args) => verify(store, config, &args).await?,
        RecordsCommand::Show { id, json } => {
            let record = rights::get(store, id).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&record)?);
            } else {
                print!("{}", view::show_text(&record));
            }
        }
        RecordsCommand::Answer { id } => answer(store, id, confirm, config).await?,
        RecordsCommand::List { purpose, json } => {
            let entries = inbox::mailing_list(store, &purpose, OffsetDateTime::now_utc()).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&entries)?);
            } else {
                print!("{}", view::list_text(&entries));
            }
        }
    }
    Ok(())
}
