//! The `consent-period` check: a consent label states how long its purpose's data are kept,
//! and says what `site.toml` sets (`retention_days`), so the words a person agrees to and what
//! the relay does cannot drift apart.
//!
//! How it is detected: the label is read as published (its plain text in the consent
//! manifest, formatted with the configured period) and every period it states is picked out:
//! a number, in digits (`365`, `1 095`) or in words (`бір`, `одного`), followed by a unit
//! (`күн`/`день`, `апта`/`неделя`, `ай`/`месяц`, `жыл`/`год`/`лет`, in any case form), or in
//! Russian a unit alone after `дольше`, `течение`, `более` or `чем` (`не дольше года`). A year
//! counts 365 days, a week 7, a month 30 or 31 (twelve months a year). A stated period other
//! than the purpose's `retention_days` is an error at the label's Fluent message; so an editor
//! who writes «1 жыл» where site.toml says 730 days is stopped, while `{ $days }` and
//! `{ $years }` always agree. A label that states no period, or states the right one as fixed
//! text (its message uses neither `$days` nor `$years`), is a warning. A year number followed
//! by a year unit (`2013 жылғы`, `2013 года`: a date, not a period) is not a period. A label
//! states its own purpose's period only: the newsletter's belongs in the newsletter's label.

use kelisim_manifest::ConsentManifest;

use super::{Finding, Severity};
use crate::build::LoadedSite;
use crate::load::source::Location;

/// One period a label states.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Period {
    /// The words as written (`1 жылдан`).
    words: String,
    amount: u32,
    unit: Unit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Day,
    Week,
    Month,
    Year,
}

impl Period {
    /// Whether the period is `days` long.
    fn is(&self, days: u32) -> bool {
        let n = self.amount;
        match self.unit {
            Unit::Day => n == days,
            Unit::Week => n.checked_mul(7) == Some(days),
            Unit::Month => {
                n.checked_mul(30) == Some(days)
                    || n.checked_mul(31) == Some(days)
                    || (n.is_multiple_of(12) && (n / 12).checked_mul(365) == Some(days))
            }
            Unit::Year => n.checked_mul(365) == Some(days),
        }
    }
}

/// Every label of every language against its purpose's `retention_days`.
pub(super) fn consent_periods(loaded: &LoadedSite, manifest: &ConsentManifest) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (lang, language) in &manifest.languages {
        for purpose in &loaded.model.config.purposes {
            let (Some(days), Some(label)) =
                (purpose.retention_days, language.labels.get(&purpose.id))
            else {
                continue;
            };
            let key = format!("consent-{}", purpose.id);
            let at = loaded
                .locales
                .origin(lang, &key)
                .cloned()
                .unwrap_or_else(|| Location::new(format!("locales/{lang}/main.ftl"), 1));
            let uses_variable = loaded
                .locales
                .source_of(lang, &key)
                .is_none_or(|source| source.contains("$days") || source.contains("$years"));
            let periods = stated_periods(&label.text);
            let wrong: Vec<&Period> = periods.iter().filter(|p| !p.is(days)).collect();
            let (severity, message) = if let Some(period) = wrong.first() {
                (
                    Severity::Error,
                    format!(
                        "the consent label `{key}` ({lang}) states «{}», but site.toml keeps the `{}` purpose's data {days} days (`retention_days`). Write the period as {{ $days }} or {{ $years }} (the build passes site.toml's value), not as fixed text.",
                        period.words, purpose.id
                    ),
                )
            } else if periods.is_empty() {
                (
                    Severity::Warning,
                    format!(
                        "the consent label `{key}` ({lang}) does not say how long the data are kept (site.toml: {days} days). State it with {{ $days }} or {{ $years }}."
                    ),
                )
            } else if !uses_variable {
                (
                    Severity::Warning,
                    format!(
                        "the consent label `{key}` ({lang}) states its period as fixed text. Write it as {{ $days }} or {{ $years }}, so it follows `retention_days` in site.toml."
                    ),
                )
            } else {
                continue;
            };
            findings.push(Finding::new(severity, "consent-period", at, message));
        }
    }
    findings
}

/// Every period `text` states (see the module documentation).
fn stated_periods(text: &str) -> Vec<Period> {
    let words = words(text);
    let mut out = Vec::new();
    for (at, (word, _)) in words.iter().enumerate() {
        let Some(unit) = unit(word) else {
            continue;
        };
        let before = at.checked_sub(1).and_then(|i| words.get(i));
        let (amount, from) = match before.and_then(|(w, start)| Some((number(w)?, *start))) {
            Some(found) => found,
            None if before.is_some_and(|(w, _)| implies_one(w)) => (1, words[at].1),
            None => continue,
        };
        // `2013 жылғы`, `21 мая 2013 года`: a date, not a period.
        if unit == Unit::Year && amount >= 1000 {
            continue;
        }
        let end = words[at].1 + word.len();
        out.push(Period {
            words: text[from..end].to_owned(),
            amount,
            unit,
        });
    }
    out
}

/// The words of `text` (letters and digits) with their byte offsets, a number written in
/// groups of three (`1 095`, with a space or a no-break space) taken as one word.
fn words(text: &str) -> Vec<(String, usize)> {
    let mut words: Vec<(String, usize)> = Vec::new();
    let mut current: Option<(String, usize)> = None;
    for (at, c) in text.char_indices() {
        if c.is_alphanumeric() {
            current.get_or_insert_with(|| (String::new(), at)).0.push(c);
        } else if let Some(word) = current.take() {
            words.push(word);
        }
    }
    words.extend(current);
    let mut merged: Vec<(String, usize)> = Vec::new();
    for (word, start) in words {
        let digits = |w: &str| !w.is_empty() && w.chars().all(|c| c.is_ascii_digit());
        if let Some((last, last_start)) = merged.last_mut()
            && digits(last)
            && digits(&word)
            && word.len() == 3
            && matches!(
                text.get(*last_start + last.len()..start),
                Some(" " | "\u{a0}" | "\u{202f}")
            )
        {
            last.push_str(&word);
            continue;
        }
        merged.push((word, start));
    }
    merged
}

/// The unit a word names, in any case form.
fn unit(word: &str) -> Option<Unit> {
    let word = word.to_lowercase();
    let starts = |stems: &[&str]| stems.iter().any(|s| word.starts_with(s));
    if starts(&["күн", "ден", "дн"]) {
        Some(Unit::Day)
    } else if starts(&["апта", "недел"]) {
        Some(Unit::Week)
    } else if starts(&["месяц"]) || word == "ай" || starts(&["айдан", "айға", "айлық", "айы"])
    {
        Some(Unit::Month)
    } else if starts(&["жыл", "год", "лет"]) {
        Some(Unit::Year)
    } else {
        None
    }
}

/// A number in digits, or one to ten in Kazakh or Russian words.
fn number(word: &str) -> Option<u32> {
    if word.chars().all(|c| c.is_ascii_digit()) {
        return word.parse().ok();
    }
    const WORDS: [(u32, &[&str]); 10] = [
        (
            1,
            &["бір", "один", "одного", "одна", "одной", "одну", "одним"],
        ),
        (2, &["екі", "два", "две", "двух"]),
        (3, &["үш", "три", "трёх", "трех"]),
        (4, &["төрт", "четыре", "четырёх", "четырех"]),
        (5, &["бес", "пять", "пяти"]),
        (6, &["алты", "шесть", "шести"]),
        (7, &["жеті", "семь", "семи"]),
        (8, &["сегіз", "восемь", "восьми"]),
        (9, &["тоғыз", "девять", "девяти"]),
        (10, &["он", "десять", "десяти"]),
    ];
    let word = word.to_lowercase();
    WORDS
        .iter()
        .find(|(_, forms)| forms.contains(&word.as_str()))
        .map(|(n, _)| *n)
}

/// A Russian word after which a bare unit means one of it (`не дольше года`).
fn implies_one(word: &str) -> bool {
    matches!(
        word.to_lowercase().as_str(),
        "дольше" | "течение" | "более" | "чем"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn days(text: &str) -> Vec<(String, bool)> {
        stated_periods(text)
            .into_iter()
            .map(|p| {
                let year = p.is(365);
                (p.words, year)
            })
            .collect()
    }

    #[test]
    fn periods_in_digits_words_and_forms() {
        assert_eq!(
            days("жіберілген күннен бастап 1 жылдан аспайтын мерзім"),
            [("1 жылдан".to_owned(), true)]
        );
        assert_eq!(days("не дольше 3 лет"), [("3 лет".to_owned(), false)]);
        assert_eq!(days("хранятся не дольше года"), [("года".to_owned(), true)]);
        assert_eq!(days("бір жыл сақталады"), [("бір жыл".to_owned(), true)]);
        assert_eq!(days("12 ай"), [("12 ай".to_owned(), true)]);
        assert_eq!(days("в течение 365 дней"), [("365 дней".to_owned(), true)]);
        let grouped = stated_periods("1\u{a0}095 күн");
        assert_eq!(grouped.len(), 1);
        assert!(grouped[0].is(1095), "{grouped:?}");
    }

    #[test]
    fn dates_and_plain_numbers_are_not_periods() {
        assert!(days("2013 жылғы 21 мамырдағы № 94-V Заңы").is_empty());
        assert!(days("от 21 мая 2013 года").is_empty());
        assert!(days("телефон нөмірі, 3 өріс").is_empty());
        assert!(days("Маған ақпараттық хаттар жіберу үшін").is_empty());
    }
}
