//! `kelisim-relay requests …`: data-subject requests and their deadlines (open, list,
//! close).

use clap::Subcommand;
use kelisim_relay::app::rights;
use kelisim_relay::domain::hmac_key::HmacKey;
use kelisim_relay::domain::request::{Outcome, RequestKind, RequestStatus};
use kelisim_relay::store::Store;
use time::OffsetDateTime;

use crate::prompt::{Confirm, email_arg};

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
