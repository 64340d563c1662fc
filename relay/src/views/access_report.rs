//! The answer to an access request (§4.1, §8.3) as a standalone HTML page in the person's
//! language: what is held, why, since when and until when, and the policy version agreed
//! to, with its link.
//!
//! It is made from that person's records only, so it names no other person. Every word is a
//! Fluent message of the relay's (`report-*` in `locales/<lang>/relay.ftl`, shipped in the
//! consent manifest), so the report is translated where the relay's mails are, in the terms
//! of the policy. What a record holds as the site or the operator wrote it is put in the
//! person's language by the site's own messages, and shown as the record holds it only where
//! the site gives no words, never in the other language:
//! - a purpose's name: `purpose-<id>`; else its id;
//! - its legal basis: `legal-basis-<id>`; else the `legal_basis` text stamped from the
//!   manifest;
//! - the storage location: `storage-location`, whose `.stamped` attribute names the exact
//!   `storage_location` setting it translates (see [`Messages::stamped_in_language`]). The
//!   setting is the operator's and may change between records; tying the words to the value
//!   means a record stamped elsewhere is never described as stored here. Any other value is
//!   shown as stamped;
//! - the operator: its name as the manifest gives it for the language (ТОО «…» in Russian,
//!   «…» ЖШС in Kazakh), as the relay's mails name it.
//!
//! Dates are the long dates the site's pages use ([`kelisim_manifest::dates`]).

use std::fmt::Write as _;

use fluent_bundle::FluentValue;
use kelisim_manifest::ConsentManifest;
use kelisim_manifest::html::escape;
use time::OffsetDateTime;

use crate::domain::messages::Messages;
use crate::domain::record::{ConsentRecord, ConsentStatus, RecordState};

/// The languages the report is written in: those the relay has built-in words and long dates
/// for.
pub const LANGUAGES: [&str; 2] = ["kk", "ru"];

/// The language the report should be in: the one of the person's latest record, or Kazakh,
/// the site's default, when that is not one of [`LANGUAGES`] (or there is no record).
pub fn language_of(records: &[ConsentRecord]) -> &str {
    records
        .iter()
        .max_by_key(|r| r.received_at)
        .map(|r| r.consent.language.as_str())
        .filter(|lang| LANGUAGES.contains(lang))
        .unwrap_or("kk")
}

/// The site's words and facts the report is written with: the relay's messages and the
/// manifest (the operator's name and address).
#[derive(Debug, Clone, Copy)]
pub struct Site<'a> {
    pub manifest: &'a ConsentManifest,
    pub messages: &'a Messages,
}

/// The words of one report: its language's messages, escaped for HTML.
struct Words<'a> {
    messages: &'a Messages,
    lang: &'a str,
}

impl Words<'_> {
    fn text(&self, key: &str) -> String {
        self.with(key, &[])
    }

    fn with(&self, key: &str, args: &[(&str, FluentValue<'_>)]) -> String {
        escape(&self.messages.format(self.lang, key, args))
    }

    /// `key` with the one argument `date`, a long date.
    fn dated(&self, key: &str, t: OffsetDateTime) -> String {
        self.with(key, &[("date", FluentValue::from(self.date(t)))])
    }

    fn date(&self, t: OffsetDateTime) -> String {
        long_date(self.lang, t)
    }

    /// The site's words for `key` in this language, else `stamped` as the record holds it.
    fn given_or(&self, key: &str, stamped: &str) -> String {
        escape(
            &self
                .messages
                .in_language(self.lang, key)
                .unwrap_or_else(|| stamped.to_owned()),
        )
    }

    /// The storage location in words, when the site translates this very stamp.
    fn storage(&self, stamped: &str) -> String {
        escape(
            &self
                .messages
                .stamped_in_language(self.lang, "storage-location", stamped)
                .unwrap_or_else(|| stamped.to_owned()),
        )
    }
}

/// A long date the way `lang` writes it («2024 жылғы 11 ақпан», «11 февраля 2024 г.»), in
/// UTC, from the one implementation the site's pages use too.
fn long_date(lang: &str, t: OffsetDateTime) -> String {
    kelisim_manifest::dates::format_long(t.date(), lang)
}

/// The report for one person's `records` in `lang` (`kk` or `ru`; any other reads Kazakh).
pub fn render(
    records: &[ConsentRecord],
    lang: &str,
    site: Site<'_>,
    now: OffsetDateTime,
) -> String {
    let lang = if lang == "ru" { "ru" } else { "kk" };
    let w = Words {
        messages: site.messages,
        lang,
    };
    let operator = site.manifest.operator_name(lang);
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>body{{font-family:system-ui,sans-serif;max-width:48rem;\
         margin:2rem auto;padding:0 1rem;line-height:1.5}}table{{border-collapse:collapse;\
         width:100%}}th,td{{text-align:left;vertical-align:top;border-bottom:1px solid #ccc;\
         padding:.25rem .5rem}}</style>\n</head>\n<body>\n<main>\n<h1>{title}</h1>\n\
         <p>{intro}</p>\n<p>{contact} <a href=\"mailto:{email}\">{email}</a></p>\n\
         <p>{today}</p>\n",
        title = w.text("report-title"),
        intro = w.with("report-intro", &[("operator", FluentValue::from(operator))]),
        contact = w.text("report-contact"),
        email = escape(&site.manifest.operator.email),
        today = w.dated("report-date", now),
    );
    if records.is_empty() {
        let _ = writeln!(html, "<p>{}</p>", w.text("report-none"));
    }
    for (index, record) in records.iter().enumerate() {
        render_record(&mut html, &w, index + 1, record, now);
    }
    html.push_str("</main>\n</body>\n</html>\n");
    html
}

/// One record's section: its dates and state, the data held, the purposes, the policy agreed
/// to and the corrections made.
fn render_record(
    html: &mut String,
    w: &Words<'_>,
    number: usize,
    record: &ConsentRecord,
    now: OffsetDateTime,
) {
    let state = w.text(match record.state {
        RecordState::Active => "report-state-active",
        RecordState::Withdrawn => "report-state-withdrawn",
        RecordState::Anonymized => "report-state-anonymized",
    });
    let blocked = if record.blocked_at.is_some() {
        format!("; {}", w.text("report-blocked"))
    } else {
        String::new()
    };
    let number = u64::try_from(number).unwrap_or(u64::MAX);
    let _ = write!(
        html,
        "<section>\n<h2>{}</h2>\n<dl>\n<dt>{}</dt><dd>{}</dd>\n<dt>{}</dt><dd>{}</dd>\n\
         <dt>{}</dt><dd>{state}{blocked}</dd>\n<dt>{}</dt><dd>{}</dd>\n</dl>\n",
        w.with("report-record", &[("number", FluentValue::from(number))]),
        w.text("report-received"),
        w.date(record.received_at),
        w.text("report-kept-until"),
        w.date(record.expires_at),
        w.text("report-state"),
        w.text("report-storage"),
        w.storage(&record.consent.storage_location),
    );
    render_data_held(html, w, record);
    render_purposes(html, w, record, now);
    let _ = writeln!(
        html,
        "<p>{}: <a href=\"{url}\">{version}</a></p>",
        w.text("report-policy"),
        url = escape(&record.consent.policy_url),
        version = w.with(
            "report-policy-version",
            &[(
                "version",
                FluentValue::from(record.consent.policy_version.as_str())
            )]
        ),
    );
    render_corrections(html, w, record);
    html.push_str("</section>\n");
}

/// The name of a record field (`surname`, `first_name`, …) in words; a field this version
/// does not know is shown as named.
fn field_name(w: &Words<'_>, field: &str) -> String {
    w.given_or(&format!("report-field-{field}"), field)
}

/// The personal data held, one row a field; a removed category says when it was removed, an
/// empty field has no row.
fn render_data_held(html: &mut String, w: &Words<'_>, record: &ConsentRecord) {
    let _ = writeln!(html, "<h3>{}</h3>\n<table>", w.text("report-data-held"));
    let removed = |category: &str| -> Option<String> {
        record
            .dropped
            .iter()
            .find(|d| d.category == category)
            .map(|d| format!("<em>{}</em>", w.dated("report-removed", d.at)))
    };
    let subject = &record.subject;
    let rows = [
        ("surname", "name", subject.surname.as_str()),
        ("first_name", "name", subject.first_name.as_str()),
        (
            "patronymic",
            "name",
            subject.patronymic.as_deref().unwrap_or(""),
        ),
        ("email", "email", subject.email.as_str()),
        ("phone", "phone", subject.phone.as_str()),
        ("message", "message", record.message.as_str()),
    ];
    for (field, category, value) in rows {
        let shown = removed(category).unwrap_or_else(|| escape(value).replace('\n', "<br>"));
        if shown.is_empty() {
            continue;
        }
        let _ = writeln!(
            html,
            "<tr><th scope=\"row\">{}</th><td>{shown}</td></tr>",
            field_name(w, field)
        );
    }
    html.push_str("</table>\n");
}

/// The purposes table: each purpose, where its consent stands (a grant still waiting for its
/// confirmation, or one that lapsed unconfirmed, is not a consent in force and says so), its
/// legal basis, and until when.
fn render_purposes(html: &mut String, w: &Words<'_>, record: &ConsentRecord, now: OffsetDateTime) {
    let _ = writeln!(
        html,
        "<h3>{}</h3>\n<table>\n<tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th>\
         <th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr>",
        w.text("report-purposes"),
        w.text("report-purpose"),
        w.text("report-granted"),
        w.text("report-legal-basis"),
        w.text("report-until"),
    );
    for purpose in &record.consent.purposes {
        let id = purpose.purpose.as_str();
        let until = match (purpose.withdrawn_at, purpose.expires_at) {
            (Some(at), _) => w.dated("report-withdrawn-on", at),
            (None, Some(at)) => w.date(at),
            (None, None) => "—".to_owned(),
        };
        let _ = writeln!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{until}</td></tr>",
            w.given_or(&format!("purpose-{id}"), id),
            w.text(match purpose.status(now) {
                ConsentStatus::NotGranted => "report-no",
                ConsentStatus::Pending => "report-pending",
                ConsentStatus::Lapsed => "report-lapsed",
                ConsentStatus::Active | ConsentStatus::Withdrawn | ConsentStatus::Expired => {
                    "report-yes"
                }
            }),
            w.given_or(&format!("legal-basis-{id}"), &purpose.legal_basis),
        );
    }
    html.push_str("</table>\n");
}

/// The corrections made to the record (dates and field names only), if any.
fn render_corrections(html: &mut String, w: &Words<'_>, record: &ConsentRecord) {
    if record.history.is_empty() {
        return;
    }
    let _ = writeln!(html, "<h3>{}</h3>\n<ul>", w.text("report-corrections"));
    for entry in &record.history {
        let fields: Vec<String> = entry
            .changes
            .iter()
            .map(|c| field_name(w, &c.field))
            .collect();
        let _ = writeln!(html, "<li>{}: {}</li>", w.date(entry.at), fields.join(", "));
    }
    html.push_str("</ul>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_as_each_language_writes_them() {
        let t = time::macros::datetime!(2024-02-11 10:00 UTC);
        assert_eq!(long_date("kk", t), "2024 жылғы 11 ақпан");
        assert_eq!(long_date("ru", t), "11 февраля 2024 г.");
    }

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            escape("<a href=\"x\">'&"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;"
        );
    }
}
