//! Dates as people read them: the long form in kk ("2024 жылғы 11 ақпан") and ru
//! ("11 февраля 2024 г."), and `YYYY-MM-DD`. One implementation for the generator's pages
//! and the relay's access report, so a date reads the same on the policy and in the answer
//! to a person's request.
//!
//! Why a table and not ICU4X: CLDR's Kazakh long date is "2024 ж. 11 ақпан" (the abbreviation
//! `ж.`), while the policy and formal Kazakh documents write the full "2024 жылғы 11 ақпан",
//! as the seed text does ("2013 жылғы 21 мамыр..."). ICU4X with compiled data gives the CLDR
//! form, so it would need post-processing of its output anyway; two twelve-month tables are
//! smaller, exact and fully tested. Russian uses the genitive month inside a date.

use time::Date;

const KK_MONTHS: [&str; 12] = [
    "қаңтар",
    "ақпан",
    "наурыз",
    "сәуір",
    "мамыр",
    "маусым",
    "шілде",
    "тамыз",
    "қыркүйек",
    "қазан",
    "қараша",
    "желтоқсан",
];

const RU_MONTHS_GENITIVE: [&str; 12] = [
    "января",
    "февраля",
    "марта",
    "апреля",
    "мая",
    "июня",
    "июля",
    "августа",
    "сентября",
    "октября",
    "ноября",
    "декабря",
];

/// The long date in `lang`. Languages without a table get ISO 8601 (`2024-02-11`), which every
/// reader understands, rather than a wrong guess.
pub fn format_long(date: Date, lang: &str) -> String {
    let month = usize::from(u8::from(date.month())) - 1;
    let (year, day) = (date.year(), date.day());
    match primary(lang) {
        "kk" => format!("{year} жылғы {day} {}", KK_MONTHS[month % 12]),
        "ru" => format!("{day} {} {year} г.", RU_MONTHS_GENITIVE[month % 12]),
        _ => iso(date),
    }
}

/// Whether [`format_long`] has a real table for `lang`.
pub fn is_supported(lang: &str) -> bool {
    matches!(primary(lang), "kk" | "ru")
}

/// Parses `YYYY-MM-DD` (front matter, the templates' `date` filter, a policy's effective
/// date).
pub fn parse_date(text: &str) -> Option<Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(text.trim(), &format).ok()
}

/// `YYYY-MM-DD`, for `datetime` attributes and the sitemap.
pub fn iso(date: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

fn primary(lang: &str) -> &str {
    lang.split('-').next().unwrap_or(lang)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn kazakh_formal_long_form() {
        assert_eq!(
            format_long(date!(2024 - 02 - 11), "kk"),
            "2024 жылғы 11 ақпан"
        );
        assert_eq!(
            format_long(date!(2013 - 05 - 21), "kk"),
            "2013 жылғы 21 мамыр"
        );
        assert_eq!(
            format_long(date!(2025 - 12 - 01), "kk-Cyrl"),
            "2025 жылғы 1 желтоқсан"
        );
    }

    #[test]
    fn russian_genitive_months() {
        assert_eq!(
            format_long(date!(2024 - 02 - 11), "ru"),
            "11 февраля 2024 г."
        );
        assert_eq!(format_long(date!(2024 - 05 - 01), "ru"), "1 мая 2024 г.");
        assert_eq!(
            format_long(date!(2024 - 08 - 31), "ru"),
            "31 августа 2024 г."
        );
    }

    #[test]
    fn every_month_has_a_name() {
        for m in 1..=12u8 {
            let month = time::Month::try_from(m).expect("valid month");
            let d = Date::from_calendar_date(2024, month, 1).expect("valid date");
            assert!(!format_long(d, "kk").contains("  "));
            assert!(format_long(d, "ru").ends_with(" 2024 г."));
        }
    }

    #[test]
    fn unknown_language_gets_iso() {
        assert_eq!(format_long(date!(2024 - 02 - 11), "en"), "2024-02-11");
        assert!(!is_supported("en"));
        assert_eq!(iso(date!(2024 - 02 - 01)), "2024-02-01");
    }
}
