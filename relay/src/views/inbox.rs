//! The operator's view of records: the inbox of unanswered messages, one record shown whole,
//! and the mailing list of confirmed newsletter grants. Pure functions from records to text or
//! JSON, so the commands in `main.rs` only read the store and print.

use std::fmt::Write as _;

use serde::Serialize;
use time::OffsetDateTime;

use crate::domain::record::{ConsentRecord, ConsentStatus};

/// One line of the inbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InboxRow {
    pub id: String,
    pub received_at: String,
    pub language: String,
    pub name: String,
    /// The message's first line, cut to [`FIRST_LINE_CHARS`] characters.
    pub first_line: String,
    pub answered: bool,
}

/// How much of a message's first line the inbox shows.
pub const FIRST_LINE_CHARS: usize = 60;

/// The inbox: unanswered records (all with `all`), oldest first.
pub fn inbox(records: &[ConsentRecord], all: bool) -> Vec<InboxRow> {
    let mut rows: Vec<InboxRow> = records
        .iter()
        .filter(|r| all || r.answered.is_none())
        .map(|r| InboxRow {
            id: r.id.to_string(),
            received_at: minute(r.received_at),
            language: r.consent.language.clone(),
            name: full_name(r),
            first_line: first_line(&r.message),
            answered: r.answered.is_some(),
        })
        .collect();
    rows.sort_by(|a, b| a.id.cmp(&b.id));
    rows
}

/// The inbox as aligned plain text, one row per message.
pub fn inbox_text(rows: &[InboxRow]) -> String {
    let header = ["id", "received (UTC)", "lang", "name", "message"];
    let cells: Vec<[String; 5]> = rows
        .iter()
        .map(|r| {
            [
                r.id.clone(),
                r.received_at.clone(),
                r.language.clone(),
                r.name.clone(),
                if r.answered {
                    format!("[answered] {}", r.first_line)
                } else {
                    r.first_line.clone()
                },
            ]
        })
        .collect();
    table(&header, &cells)
}

/// A confirmed (or otherwise active) grant of a purpose: one row of a mailing list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListEntry {
    pub id: String,
    pub email: String,
    pub name: String,
    pub language: String,
    /// When the grant became active: its confirmation, or the submission.
    pub since: String,
}

/// Everyone whose consent to `purpose` is active at `now`, oldest first. A grant that needs
/// confirmation by email counts only once confirmed.
pub fn purpose_list(
    records: &[ConsentRecord],
    purpose: &str,
    now: OffsetDateTime,
) -> Vec<ListEntry> {
    records
        .iter()
        .filter_map(|r| {
            let consent = r.purpose(purpose)?;
            (consent.status(now) == ConsentStatus::Active).then(|| ListEntry {
                id: r.id.to_string(),
                email: r.subject.email.clone(),
                name: full_name(r),
                language: r.consent.language.clone(),
                since: minute(consent.confirmed_at.unwrap_or(r.received_at)),
            })
        })
        .collect()
}

/// A mailing list as aligned plain text.
pub fn list_text(entries: &[ListEntry]) -> String {
    let header = ["email", "name", "lang", "since (UTC)", "record"];
    let cells: Vec<[String; 5]> = entries
        .iter()
        .map(|e| {
            [
                e.email.clone(),
                e.name.clone(),
                e.language.clone(),
                e.since.clone(),
                e.id.clone(),
            ]
        })
        .collect();
    table(&header, &cells)
}

/// One record, whole, for a person to read: who, how to reach them, the message, and the
/// consent stamp with the policy version and link.
pub fn show_text(record: &ConsentRecord) -> String {
    let now = OffsetDateTime::now_utc();
    let mut out = String::new();
    let s = &record.subject;
    let mut line = |label: &str, value: &str| {
        let _ = writeln!(out, "{label:<16}{value}");
    };
    line("Record", &record.id.to_string());
    line("Received (UTC)", &minute(record.received_at));
    line("Name", &full_name(record));
    line("Email", &s.email);
    line("Phone", &s.phone);
    line("Language", &record.consent.language);
    line(
        "Answered",
        &record.answered.as_ref().map_or_else(
            || "no".to_owned(),
            |a| format!("{} by {}", minute(a.at), a.by),
        ),
    );
    line(
        "Policy",
        &format!(
            "version {} ({}) sha256 {}",
            record.consent.policy_version, record.consent.policy_url, record.consent.policy_sha256
        ),
    );
    line(
        "Collected",
        &format!("{:?}", record.consent.collection_method),
    );
    line("Stored at", &record.consent.storage_location);
    line("Kept until", &minute(record.expires_at));
    for p in &record.consent.purposes {
        let mut detail = format!("{:?}", p.status(now)).to_lowercase();
        if let Some(at) = p.confirmed_at {
            let _ = write!(detail, ", confirmed {}", minute(at));
        }
        if let Some(at) = p.withdrawn_at {
            let _ = write!(detail, ", withdrawn {}", minute(at));
        }
        if let Some(at) = p.expires_at {
            let _ = write!(detail, ", until {}", minute(at));
        }
        line(&format!("Purpose {}", p.purpose), &detail);
    }
    out.push_str("\nMessage:\n");
    for text_line in record.message.lines() {
        let _ = writeln!(out, "  {text_line}");
    }
    out
}

fn full_name(record: &ConsentRecord) -> String {
    let s = &record.subject;
    [Some(&s.surname), Some(&s.first_name), s.patronymic.as_ref()]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(" ")
}

fn first_line(message: &str) -> String {
    let line = message.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let mut cut: String = line.trim().chars().take(FIRST_LINE_CHARS).collect();
    if line.trim().chars().count() > FIRST_LINE_CHARS {
        cut.push('…');
    }
    cut
}

/// `YYYY-MM-DD HH:MM`, UTC.
fn minute(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

/// Columns padded to their widest cell (counted in characters, so Cyrillic aligns).
fn table<const N: usize>(header: &[&str; N], rows: &[[String; N]]) -> String {
    let mut widths = header.map(|h| h.chars().count());
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut push_row = |cells: Vec<&str>| {
        let mut line = String::new();
        for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == N {
                line.push_str(cell);
            } else {
                let pad = width.saturating_sub(cell.chars().count()) + 2;
                line.push_str(cell);
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    };
    push_row(header.to_vec());
    for row in rows {
        push_row(row.iter().map(String::as_str).collect());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_lines_are_cut_by_characters() {
        assert_eq!(first_line("\n  Сәлем!\nекінші"), "Сәлем!");
        let long = "ә".repeat(100);
        let cut = first_line(&long);
        assert_eq!(cut.chars().count(), FIRST_LINE_CHARS + 1);
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn tables_align_cyrillic_by_characters() {
        let text = table(
            &["a", "b"],
            &[
                ["Әйгерім".to_owned(), "x".to_owned()],
                ["Al".to_owned(), "y".to_owned()],
            ],
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[1].chars().position(|c| c == 'x'), Some(9));
        assert_eq!(lines[2].chars().position(|c| c == 'y'), Some(9));
    }
}
