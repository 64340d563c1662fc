//! The answer to an access request (§4.1, §8.3) as a standalone HTML page in the person's
//! language: what is held, why, since when and until when, and the policy version agreed
//! to, with its link.
//!
//! It is made from that person's records only, so it names no other person. Like
//! [`crate::messages`], the words are a small table checked by the compiler (kk and ru);
//! any language other than `ru` reads Kazakh, the site's default.

use kelisim_manifest::html::escape;
use std::fmt::Write as _;

use time::OffsetDateTime;

use crate::domain::record::{ConsentRecord, RecordState};

struct Words {
    title: &'static str,
    intro: &'static str,
    none: &'static str,
    record: &'static str,
    received: &'static str,
    kept_until: &'static str,
    state: &'static str,
    active: &'static str,
    withdrawn: &'static str,
    anonymized: &'static str,
    blocked: &'static str,
    data_held: &'static str,
    surname: &'static str,
    first_name: &'static str,
    patronymic: &'static str,
    email: &'static str,
    phone: &'static str,
    message: &'static str,
    removed: &'static str,
    purposes: &'static str,
    purpose: &'static str,
    granted: &'static str,
    legal_basis: &'static str,
    until: &'static str,
    yes: &'static str,
    no: &'static str,
    withdrawn_on: &'static str,
    policy: &'static str,
    version: &'static str,
    storage: &'static str,
    corrections: &'static str,
    reply: &'static str,
    newsletter: &'static str,
}

const KK: Words = Words {
    title: "Сіз туралы сақталған деректер",
    intro: "Дербес деректер операторы сіз туралы сақтайтын деректердің толық тізімі.",
    none: "Сіз туралы ешқандай дерек сақталмаған.",
    record: "Өтініш",
    received: "Алынған күні",
    kept_until: "Сақталу мерзімі",
    state: "Күйі",
    active: "өңделуде",
    withdrawn: "келісім кері қайтарылды",
    anonymized: "иесіздендірілді",
    blocked: "өңдеу тоқтатылды (бұғатталған)",
    data_held: "Сақталған деректер",
    surname: "Тегі",
    first_name: "Аты",
    patronymic: "Әкесінің аты",
    email: "Электрондық пошта",
    phone: "Телефон",
    message: "Хабарлама",
    removed: "жойылды",
    purposes: "Мақсаттар",
    purpose: "Мақсат",
    granted: "Келісім берілді",
    legal_basis: "Құқықтық негіз",
    until: "Мерзімі",
    yes: "иә",
    no: "жоқ",
    withdrawn_on: "кері қайтарылды",
    policy: "Сіз келісім берген саясат",
    version: "нұсқа",
    storage: "Сақталатын орны",
    corrections: "Түзетулер",
    reply: "Өтінішіңізге жауап беру",
    newsletter: "Ақпараттық хаттар",
};

const RU: Words = Words {
    title: "Какие данные о вас хранятся",
    intro: "Полный перечень персональных данных о вас, которые хранит оператор.",
    none: "Никаких данных о вас не хранится.",
    record: "Обращение",
    received: "Получено",
    kept_until: "Хранится до",
    state: "Состояние",
    active: "обрабатывается",
    withdrawn: "согласие отозвано",
    anonymized: "обезличено",
    blocked: "обработка приостановлена (блокировано)",
    data_held: "Хранимые данные",
    surname: "Фамилия",
    first_name: "Имя",
    patronymic: "Отчество",
    email: "Электронная почта",
    phone: "Телефон",
    message: "Сообщение",
    removed: "удалено",
    purposes: "Цели",
    purpose: "Цель",
    granted: "Согласие дано",
    legal_basis: "Правовое основание",
    until: "Срок",
    yes: "да",
    no: "нет",
    withdrawn_on: "отозвано",
    policy: "Политика, с которой вы согласились",
    version: "версия",
    storage: "Место хранения",
    corrections: "Исправления",
    reply: "Ответ на ваше обращение",
    newsletter: "Информационные письма",
};

/// The language the report should be in: the one of the person's latest record.
pub fn language_of(records: &[ConsentRecord]) -> &str {
    records
        .iter()
        .max_by_key(|r| r.received_at)
        .map_or("kk", |r| r.consent.language.as_str())
}

/// A long date the way `lang` writes it («2024 жылғы 11 ақпан», «11 февраля 2024 г.»), in
/// UTC, from the one implementation the site's pages use too.
fn long_date(lang: &str, t: OffsetDateTime) -> String {
    kelisim_manifest::dates::format_long(t.date(), lang)
}

/// The report for one person's `records` in `lang` (`kk` or `ru`).
pub fn render(records: &[ConsentRecord], lang: &str, now: OffsetDateTime) -> String {
    let lang = if lang == "ru" { "ru" } else { "kk" };
    let w = if lang == "ru" { &RU } else { &KK };
    let date = |t: OffsetDateTime| long_date(lang, t);
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>body{{font-family:system-ui,sans-serif;max-width:48rem;\
         margin:2rem auto;padding:0 1rem;line-height:1.5}}table{{border-collapse:collapse;\
         width:100%}}th,td{{text-align:left;vertical-align:top;border-bottom:1px solid #ccc;\
         padding:.25rem .5rem}}</style>\n</head>\n<body>\n<main>\n<h1>{title}</h1>\n\
         <p>{intro} {today}.</p>\n",
        title = w.title,
        intro = w.intro,
        today = date(now),
    );
    if let Some(operator) = records.first().map(|r| &r.consent.operator) {
        let _ = writeln!(
            html,
            "<p>{} · <a href=\"mailto:{email}\">{email}</a></p>",
            escape(&operator.name),
            email = escape(&operator.email)
        );
    }
    if records.is_empty() {
        let _ = writeln!(html, "<p>{}</p>", w.none);
    }
    for (index, record) in records.iter().enumerate() {
        render_record(&mut html, w, lang, index + 1, record);
    }
    html.push_str("</main>\n</body>\n</html>\n");
    html
}

/// One record's section: its dates and state, the data held, the purposes, the policy agreed
/// to and the corrections made.
fn render_record(html: &mut String, w: &Words, lang: &str, number: usize, record: &ConsentRecord) {
    let date = |t: OffsetDateTime| long_date(lang, t);
    let state = match record.state {
        RecordState::Active => w.active,
        RecordState::Withdrawn => w.withdrawn,
        RecordState::Anonymized => w.anonymized,
    };
    let _ = write!(
        html,
        "<section>\n<h2>{} {number}</h2>\n<dl>\n<dt>{}</dt><dd>{}</dd>\n<dt>{}</dt><dd>{}</dd>\n\
         <dt>{}</dt><dd>{state}{}</dd>\n<dt>{}</dt><dd>{}</dd>\n</dl>\n",
        w.record,
        w.received,
        date(record.received_at),
        w.kept_until,
        date(record.expires_at),
        w.state,
        if record.blocked_at.is_some() {
            format!("; {}", w.blocked)
        } else {
            String::new()
        },
        w.storage,
        escape(&record.consent.storage_location),
    );
    render_data_held(html, w, lang, record);
    render_purposes(html, w, lang, record);
    let _ = writeln!(
        html,
        "<p>{}: <a href=\"{url}\">{version_word} {version}</a></p>",
        w.policy,
        url = escape(&record.consent.policy_url),
        version_word = w.version,
        version = escape(&record.consent.policy_version),
    );
    render_corrections(html, w, lang, record);
    html.push_str("</section>\n");
}

/// The personal data held, one row a field; a removed category says when it was removed, an
/// empty field has no row.
fn render_data_held(html: &mut String, w: &Words, lang: &str, record: &ConsentRecord) {
    let _ = writeln!(html, "<h3>{}</h3>\n<table>", w.data_held);
    let removed = |category: &str| -> Option<String> {
        record
            .dropped
            .iter()
            .find(|d| d.category == category)
            .map(|d| format!("<em>{} {}</em>", w.removed, long_date(lang, d.at)))
    };
    let subject = &record.subject;
    let rows = [
        (w.surname, "name", subject.surname.as_str()),
        (w.first_name, "name", subject.first_name.as_str()),
        (
            w.patronymic,
            "name",
            subject.patronymic.as_deref().unwrap_or(""),
        ),
        (w.email, "email", subject.email.as_str()),
        (w.phone, "phone", subject.phone.as_str()),
        (w.message, "message", record.message.as_str()),
    ];
    for (label, category, value) in rows {
        let shown = removed(category).unwrap_or_else(|| escape(value).replace('\n', "<br>"));
        if shown.is_empty() {
            continue;
        }
        let _ = writeln!(
            html,
            "<tr><th scope=\"row\">{label}</th><td>{shown}</td></tr>"
        );
    }
    html.push_str("</table>\n");
}

/// The purposes table: each purpose, whether granted, its legal basis, and until when.
fn render_purposes(html: &mut String, w: &Words, lang: &str, record: &ConsentRecord) {
    let date = |t: OffsetDateTime| long_date(lang, t);
    let _ = writeln!(
        html,
        "<h3>{}</h3>\n<table>\n<tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th>\
         <th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr>",
        w.purposes, w.purpose, w.granted, w.legal_basis, w.until
    );
    for purpose in &record.consent.purposes {
        let name = match purpose.purpose.as_str() {
            kelisim_manifest::PURPOSE_REPLY => w.reply.to_owned(),
            kelisim_manifest::PURPOSE_NEWSLETTER => w.newsletter.to_owned(),
            other => escape(other),
        };
        let until = match (purpose.withdrawn_at, purpose.expires_at) {
            (Some(at), _) => format!("{} {}", w.withdrawn_on, date(at)),
            (None, Some(at)) => date(at),
            (None, None) => "—".to_owned(),
        };
        let _ = writeln!(
            html,
            "<tr><td>{name}</td><td>{}</td><td>{}</td><td>{until}</td></tr>",
            if purpose.granted { w.yes } else { w.no },
            escape(&purpose.legal_basis),
        );
    }
    html.push_str("</table>\n");
}

/// The corrections made to the record (dates and field names only), if any.
fn render_corrections(html: &mut String, w: &Words, lang: &str, record: &ConsentRecord) {
    if record.history.is_empty() {
        return;
    }
    let _ = writeln!(html, "<h3>{}</h3>\n<ul>", w.corrections);
    for entry in &record.history {
        let fields: Vec<&str> = entry.changes.iter().map(|c| c.field.as_str()).collect();
        let _ = writeln!(
            html,
            "<li>{}: {}</li>",
            long_date(lang, entry.at),
            escape(&fields.join(", "))
        );
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
