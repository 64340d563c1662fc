//! The access report read as its reader reads it: the text of the page in Kazakh and in
//! Russian, for records that show every part of it (both purposes, a correction, a blocked
//! record, a withdrawal with its removed data), holds no word of another language. Only the
//! person's own data and a short list of names that are not words of any language (the
//! operator's Latin name, addresses) may differ.
#![cfg(all(feature = "http", feature = "sqlite"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};

use kelisim_relay::domain::messages::Messages;
use kelisim_relay::domain::plan;
use kelisim_relay::domain::record::ConsentRecord;
use kelisim_relay::views::access_report::{self, Site};
use time::{Duration, OffsetDateTime};

use crate::common::{hmac_key, manifest};
use crate::conformance::sample_record;

/// The storage location the site's `relay.ftl` translates (`storage-location.stamped`).
const STAMPED_LOCATION: &str = "Almaty, KZ: SQLite on the operator's server";

/// Things in the page that are names, not words of a language: the operator's name as
/// registered in Latin letters, its address and the site's domain, and the relay's command.
const NOT_WORDS: [&str; 4] = [
    "Z Distribution Company",
    "info@woow.kz",
    "woow.kz",
    "kelisim-relay",
];

/// Letters Kazakh has and Russian does not.
const KAZAKH_ONLY_LETTERS: &str = "әғқңөұүһіӘҒҚҢӨҰҮҺІ";

/// Words both languages write alike: two terms of the policy and the name of the city where
/// the records are kept. The only ones the two reports may share.
const SHARED_WORDS: [&str; 3] = ["оператор", "телефон", "алматы"];

/// Two records of one person in `lang`, received a year ago: the first grants both purposes
/// (the newsletter confirmed), was corrected and is blocked; the second was withdrawn, so its
/// personal data are removed.
fn records(lang: &str, now: OffsetDateTime) -> Vec<ConsentRecord> {
    let received = now - Duration::days(365);
    let mut base = sample_record();
    base.received_at = received;
    base.consent.language = lang.to_owned();
    base.consent.storage_location = STAMPED_LOCATION.to_owned();
    base.consent.policy_url = format!("https://woow.kz/{lang}/privacy/1.0/");
    for purpose in &mut base.consent.purposes {
        purpose.granted = true;
        purpose.expires_at = Some(received + Duration::days(365 * 2));
    }
    base.consent.purposes[1].confirmed_at = Some(received + Duration::hours(1));
    base.expires_at = received + Duration::days(365 * 2);

    let assignments = plan::parse_assignments(&[
        "surname=Жаңаева".to_owned(),
        "phone=+77017654321".to_owned(),
    ])
    .unwrap();
    let corrected = plan::plan_rectify(
        base.clone(),
        &hmac_key(),
        &assignments,
        30,
        now - Duration::days(10),
    )
    .unwrap();
    let mut first = corrected.changes[0].after.clone().unwrap();
    first.blocked_at = Some(now - Duration::days(2));

    let mut second = base;
    second.id = kelisim_relay::domain::record::RecordId::new();
    let withdrawn = plan::plan_withdraw(vec![second], None, now - Duration::days(5));
    let second = withdrawn.changes[0].after.clone().unwrap();
    vec![first, second]
}

/// The report as a reader sees it: no style sheet, no markup, entities decoded.
fn visible_text(html: &str) -> String {
    let mut html = html.to_owned();
    if let (Some(start), Some(end)) = (html.find("<style>"), html.find("</style>")) {
        html.replace_range(start..end + "</style>".len(), " ");
    }
    let mut text = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => {
                in_tag = true;
                text.push(' ');
            }
            '>' if in_tag => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// `text` without what the person wrote about themselves (their names, contacts, message),
/// which is shown as they wrote it, in whatever language.
fn without_personal_data(text: &str, records: &[ConsentRecord]) -> String {
    let mut text = text.to_owned();
    for record in records {
        let subject = &record.subject;
        let values = [
            subject.surname.as_str(),
            subject.first_name.as_str(),
            subject.patronymic.as_deref().unwrap_or(""),
            subject.email.as_str(),
            subject.phone.as_str(),
        ];
        for value in values.into_iter().chain(record.message.lines()) {
            if !value.trim().is_empty() {
                text = text.replace(value.trim(), " ");
            }
        }
    }
    text
}

/// Whether `token` is an address or a key rather than a word: a URL, a UUID, a SHA-256.
fn is_address_or_key(token: &str) -> bool {
    let hex = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_hexdigit());
    token.contains("://")
        || uuid::Uuid::parse_str(token).is_ok()
        || (token.len() == 64 && hex(token))
}

/// Every run of two or more ASCII letters left once names, addresses and keys are removed.
fn english_words(text: &str) -> Vec<String> {
    let mut text = text.to_owned();
    for name in NOT_WORDS {
        text = text.replace(name, " ");
    }
    let mut words = Vec::new();
    for token in text.split_whitespace().filter(|t| !is_address_or_key(t)) {
        let mut run = String::new();
        for c in token.chars().chain([' ']) {
            if c.is_ascii_alphabetic() {
                run.push(c);
            } else {
                if run.len() >= 2 {
                    words.push(std::mem::take(&mut run));
                }
                run.clear();
            }
        }
    }
    words
}

/// The Cyrillic words of `text`, lower-cased.
fn cyrillic_words(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !c.is_alphabetic())
        .filter(|w| w.chars().any(|c| ('\u{0400}'..='\u{04FF}').contains(&c)))
        .map(str::to_lowercase)
        .collect()
}

/// The report in `lang` and its text without the person's data.
fn report(lang: &str, messages: &Messages) -> (String, String) {
    let now = time::macros::datetime!(2026-03-02 09:00 UTC);
    let records = records(lang, now);
    let manifest = manifest();
    let site = Site {
        manifest: &manifest,
        messages,
    };
    let html = access_report::render(&records, lang, site, now);
    let text = without_personal_data(&visible_text(&html), &records);
    (html, text)
}

#[test]
fn each_report_reads_in_its_own_language_only() {
    let messages = Messages::built_in();
    let (kk_html, kk) = report("kk", &messages);
    let (ru_html, ru) = report("ru", &messages);

    // The parts the check reads are there: nothing passes by being absent.
    for (html, expected) in [
        (&kk_html, "«Z Distribution Company» ЖШС"),
        (&kk_html, "ақпараттық хаттар жіберу"),
        (&kk_html, "Саясаттың 4.1-тармағы"),
        (&kk_html, "Оператордың өз серверіндегі дерекқор"),
        (&kk_html, "Түзетулер"),
        (&kk_html, "бұғаттау"),
        (&kk_html, "кері қайтарылды (2026 жылғы 25 ақпан)"),
        (&kk_html, "жойылды (2026 жылғы 25 ақпан)"),
        (&ru_html, "ТОО «Z Distribution Company»"),
        (&ru_html, "отправка информационных писем"),
        (&ru_html, "п. 4.1 Политики"),
        (&ru_html, "собственном сервере Оператора"),
        (&ru_html, "Исправления"),
        (&ru_html, "блокирование"),
        (&ru_html, "отозвано (25 февраля 2026 г.)"),
        (&ru_html, "удалено (25 февраля 2026 г.)"),
    ] {
        assert!(
            html.contains(expected),
            "`{expected}` missing from:\n{html}"
        );
    }

    for (lang, text) in [("kk", &kk), ("ru", &ru)] {
        let english = english_words(text);
        assert!(
            english.is_empty(),
            "{lang}: English words {english:?} in:\n{text}"
        );
    }
    assert!(
        !ru.contains("ЖШС"),
        "the Kazakh legal form in Russian:\n{ru}"
    );
    assert!(
        !kk.contains("ТОО"),
        "the Russian legal form in Kazakh:\n{kk}"
    );
    let kazakh_letters: Vec<char> = ru
        .chars()
        .filter(|c| KAZAKH_ONLY_LETTERS.contains(*c))
        .collect();
    assert!(
        kazakh_letters.is_empty(),
        "Kazakh letters {kazakh_letters:?} in:\n{ru}"
    );
    let shared: Vec<String> = cyrillic_words(&kk)
        .intersection(&cyrillic_words(&ru))
        .filter(|w| !SHARED_WORDS.contains(&w.as_str()))
        .cloned()
        .collect();
    assert!(
        shared.is_empty(),
        "words of the Russian report in the Kazakh one: {shared:?}"
    );
}

#[test]
fn what_the_site_does_not_translate_is_shown_as_stamped_never_in_the_other_language() {
    // A Russian file that gives no legal basis for the reply purpose, and a Kazakh one that does.
    let built_in = |lang: &str| {
        let path = format!("{}/../locales/{lang}/relay.ftl", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(path).unwrap()
    };
    let ru: String = built_in("ru")
        .lines()
        .filter(|l| !l.starts_with("legal-basis-reply"))
        .map(|l| format!("{l}\n"))
        .collect();
    let sources = BTreeMap::from([("kk".to_owned(), built_in("kk")), ("ru".to_owned(), ru)]);
    let messages = Messages::from_sources(&sources, "kk").unwrap();

    let now = time::macros::datetime!(2026-03-02 09:00 UTC);
    let mut records = records("ru", now);
    records[0].consent.storage_location = "Karaganda <host 2>".to_owned();
    let manifest = manifest();
    let site = Site {
        manifest: &manifest,
        messages: &messages,
    };
    let html = access_report::render(&records, "ru", site, now);
    let stamped_basis = &records[0].consent.purposes[0].legal_basis;
    assert!(html.contains(stamped_basis.as_str()), "{html}");
    assert!(
        !html.contains("дербес деректер субъектісінің келісімі"),
        "{html}"
    );
    assert!(
        html.contains("Karaganda &lt;host 2&gt;"),
        "escaped as stamped: {html}"
    );
    assert!(
        html.contains("собственном сервере Оператора"),
        "the other record's location is translated: {html}"
    );
}

#[test]
fn no_record_still_names_the_operator_and_says_nothing_is_held() {
    let manifest = manifest();
    let messages = Messages::built_in();
    let site = Site {
        manifest: &manifest,
        messages: &messages,
    };
    let now = time::macros::datetime!(2026-03-02 09:00 UTC);
    let html = access_report::render(&[], "ru", site, now);
    assert!(html.contains("Оператор не хранит никаких ваших персональных данных."));
    assert!(html.contains("Оператор (ТОО «Z Distribution Company»)"));
    assert!(html.contains("mailto:info@woow.kz"));
    assert_eq!(access_report::language_of(&[]), "kk");
}

/// A newsletter grant waiting for its confirmation, and one that lapsed unconfirmed, are not
/// consents in force; the report says where each stands instead of "granted".
#[test]
fn a_pending_or_lapsed_grant_is_reported_as_such() {
    let manifest = manifest();
    let messages = Messages::built_in();
    let site = Site {
        manifest: &manifest,
        messages: &messages,
    };
    let received = time::macros::datetime!(2026-03-02 09:00 UTC);
    let mut record = sample_record();
    record.received_at = received;
    record.consent.language = "ru".to_owned();
    let newsletter = &mut record.consent.purposes[1];
    newsletter.granted = true;
    newsletter.confirm_by = Some(received + Duration::days(7));
    newsletter.confirmed_at = None;
    newsletter.expires_at = newsletter.confirm_by;
    let records = [record];
    let waiting = access_report::render(&records, "ru", site, received + Duration::days(1));
    assert!(waiting.contains("ещё не подтверждено"), "{waiting}");
    let site = Site {
        manifest: &manifest,
        messages: &messages,
    };
    let lapsed = access_report::render(&records, "ru", site, received + Duration::days(8));
    assert!(lapsed.contains("не вступило в силу"), "{lapsed}");
    assert!(!lapsed.contains("ещё не подтверждено"));
}
