//! Property tests of the relay's input edge: the form and JSON decoders, `Submission::parse`
//! and every field parser, on generated hostile text (controls, bidi and zero-width
//! characters, combining marks, U+FFFD, Kazakh and Russian letters, separators, long runs).
//!
//! Each property holds for any input: no panic; what a parser accepts, it accepts again
//! unchanged (the stored value is a fixed point); accepted values respect the length limits
//! and carry no control characters; error answers hold field names and codes only, never a
//! submitted value, and stay URL-safe.
#![cfg(feature = "intake")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use kelisim_relay::domain::fields::{
    ACCEPTED_FIELDS, Email, ErrorCode, IdempotencyKey, Message, PersonName, PhoneE164, limit, name,
};
use kelisim_relay::domain::submission::{FieldErrors, RawSubmission, Submission};
use kelisim_relay::manifest::ConsentManifest;
use proptest::prelude::*;
use unicode_normalization::is_nfc;

const MANIFEST: &str = include_str!("fixtures/consent-manifest.json");

fn manifest() -> ConsentManifest {
    serde_json::from_str(MANIFEST).unwrap()
}

/// Characters that have broken text handling somewhere: ASCII punctuation the decoders
/// care about, Kazakh and Russian letters, a combining mark (NFC), controls, bidi overrides
/// and isolates, zero-width characters, line and paragraph separators, U+FFFD, a BOM,
/// non-breaking and ideographic spaces, an emoji, and digits for phone-shaped text.
fn hostile_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => proptest::char::range(' ', '~'),
        2 => proptest::sample::select(vec!['ә', 'ғ', 'қ', 'ң', 'ө', 'ұ', 'ү', 'һ', 'і', 'Ә', 'Я', 'ё', 'й']),
        2 => proptest::sample::select(vec!['0', '1', '7', '8', '9', '+', '(', ')', '-', ' ', '@', '.']),
        1 => proptest::sample::select(vec![
            '\u{0306}', '\u{0301}', '\u{0000}', '\u{0007}', '\u{001B}', '\u{007F}', '\u{0085}',
            '\t', '\n', '\r', '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}',
            '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}', '\u{200B}', '\u{200C}', '\u{200D}',
            '\u{2060}', '\u{2028}', '\u{2029}', '\u{FFFD}', '\u{FEFF}', '\u{00A0}', '\u{3000}',
            '\u{1F600}', '\u{10FFFF}', '%', '&', '=', '"', '\\',
        ]),
        1 => any::<char>(),
    ]
}

fn hostile_text(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(hostile_char(), 0..max).prop_map(|chars| chars.into_iter().collect())
}

/// Text around a length limit: a run of one letter of `limit - 2 ..= limit + 2` characters,
/// with hostile text around it.
fn near_limit(limit: usize) -> impl Strategy<Value = String> {
    (
        hostile_text(4),
        proptest::sample::select(vec!['a', 'ә', '—', '№', ' ']),
        limit.saturating_sub(2)..=limit + 2,
        hostile_text(4),
    )
        .prop_map(|(head, c, n, tail)| format!("{head}{}{tail}", c.to_string().repeat(n)))
}

fn any_text(limit: usize) -> impl Strategy<Value = String> {
    prop_oneof![3 => hostile_text(40), 1 => near_limit(limit)]
}

/// The characters the issue names: bidi embeddings, overrides and isolates, zero-width
/// characters, the BOM, line and paragraph separators.
const INVISIBLE: [char; 16] = [
    '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}', '\u{2068}',
    '\u{2069}', '\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{FEFF}', '\u{2028}', '\u{2029}',
];

/// A plausible name: Kazakh, Russian and Latin letters, maybe a space or hyphen inside.
fn plain_name() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        proptest::sample::select(vec!['Ә', 'қ', 'ң', 'ө', 'а', 'Д', 'н', 'A', 'z', 'і']),
        1..30,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

/// What every accepted single-line value looks like.
fn assert_clean_line(value: &str, max: usize) {
    assert!(!value.is_empty());
    assert!(
        value.chars().count() <= max,
        "{} > {max}",
        value.chars().count()
    );
    assert!(is_nfc(value), "not NFC: {value:?}");
    assert_eq!(value.trim(), value, "not trimmed: {value:?}");
    assert!(!value.chars().any(char::is_control), "control: {value:?}");
    assert!(!value.contains('\u{FFFD}'));
    assert!(
        !value.contains(INVISIBLE),
        "invisible character kept: {value:?}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn person_names_are_fixed_points_within_limits(raw in any_text(limit::NAME)) {
        if let Ok(name) = PersonName::parse(&raw) {
            assert_clean_line(name.as_str(), limit::NAME);
            prop_assert_eq!(PersonName::parse(name.as_str()), Ok(name.clone()));
        }
    }

    #[test]
    fn emails_are_fixed_points_within_limits(
        local in hostile_text(12),
        domain in hostile_text(12),
        raw in any_text(limit::EMAIL),
    ) {
        for raw in [format!("{local}@{domain}.kz"), raw] {
            if let Ok(email) = Email::parse(&raw) {
                assert_clean_line(email.as_str(), limit::EMAIL);
                prop_assert!(!email.as_str().chars().any(char::is_whitespace));
                prop_assert_eq!(email.as_str().matches('@').count() >= 1, true);
                prop_assert_eq!(Email::parse(email.as_str()), Ok(email.clone()));
                let lookup = email.lookup_form();
                prop_assert_eq!(lookup.to_lowercase(), lookup.clone());
            }
        }
    }

    #[test]
    fn phones_are_e164_fixed_points(
        digits in proptest::collection::vec(proptest::sample::select(vec!['0', '1', '2', '7', '8', '9', ' ', '-', '(', ')', '+']), 0..20),
        raw in any_text(limit::PHONE),
    ) {
        let digits: String = digits.into_iter().collect();
        for raw in [digits, raw] {
            if let Ok(phone) = PhoneE164::parse(&raw) {
                let text = phone.as_str();
                prop_assert!(text.starts_with('+'), "{}", text);
                prop_assert!(text[1..].bytes().all(|b| b.is_ascii_digit()), "{}", text);
                // E.164: at most 15 digits.
                prop_assert!(text.len() <= 16, "{}", text);
                prop_assert_eq!(PhoneE164::parse(text), Ok(phone.clone()));
            }
        }
    }

    #[test]
    fn messages_keep_only_newlines_and_tabs_and_are_fixed_points(raw in any_text(limit::MESSAGE)) {
        if let Ok(message) = Message::parse(&raw) {
            let text = message.as_str();
            prop_assert!(!text.is_empty());
            prop_assert!(text.chars().count() <= limit::MESSAGE);
            prop_assert!(is_nfc(text));
            prop_assert!(!text.contains('\r'));
            prop_assert!(!text.contains(char::REPLACEMENT_CHARACTER));
            prop_assert!(!text.chars().any(|c| c.is_control() && c != '\n' && c != '\t'));
            prop_assert!(!text.contains(INVISIBLE), "{:?}", text);
            prop_assert_eq!(Message::parse(text), Ok(message.clone()));
        }
    }

    #[test]
    fn idempotency_keys_are_printable_ascii_fixed_points(raw in any_text(limit::IDEMPOTENCY_KEY)) {
        if let Ok(Some(key)) = IdempotencyKey::parse(&raw) {
            let text = key.as_str();
            prop_assert!(!text.is_empty() && text.len() <= limit::IDEMPOTENCY_KEY);
            prop_assert!(text.bytes().all(|b| b.is_ascii_graphic()));
            prop_assert_eq!(IdempotencyKey::parse(text), Ok(Some(key.clone())));
        }
    }

    /// One invisible character anywhere in an otherwise good name or message refuses it
    /// with `invalid_characters`, the class and not one example.
    #[test]
    fn an_invisible_character_anywhere_is_refused(
        text in plain_name(),
        at in any::<proptest::sample::Index>(),
        c in proptest::sample::select(INVISIBLE.to_vec()),
    ) {
        prop_assert!(PersonName::parse(&text).is_ok());
        let chars: Vec<char> = text.chars().collect();
        // The separators (U+2028, U+2029) are white space, which trimming takes off the ends
        // like any other: only inside the text are they a character kept, and refused.
        let at = if c.is_whitespace() {
            prop_assume!(chars.len() >= 2);
            1 + at.index(chars.len() - 1)
        } else {
            at.index(chars.len() + 1)
        };
        let hostile: String = chars[..at].iter().chain([&c]).chain(&chars[at..]).collect();
        prop_assert_eq!(PersonName::parse(&hostile), Err(ErrorCode::InvalidCharacters));
        prop_assert_eq!(Message::parse(&hostile).map(Message::into_inner), Err(ErrorCode::InvalidCharacters));
    }

    /// Arbitrary bytes: the decoders answer, and a refusal names the form, nothing else.
    #[test]
    fn decoders_never_panic_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let manifest = manifest();
        for decoded in [RawSubmission::from_form(&bytes), RawSubmission::from_json(&bytes)] {
            match decoded {
                Ok(raw) => {
                    let _ = raw.honeypot_filled();
                    let lang = raw.response_lang(&manifest);
                    prop_assert!(manifest.languages.contains_key(lang));
                    if let Err(errors) = Submission::parse(&raw, &manifest, time::OffsetDateTime::now_utc()) {
                        assert_safe_errors(&errors, &[]);
                    }
                }
                Err(errors) => assert_safe_errors(&errors, &[]),
            }
        }
    }

    /// A form post and the same fields as JSON parse to the same submission or the same
    /// errors; what is accepted parses again to itself; no error carries a submitted value.
    #[test]
    fn form_and_json_agree_and_parsing_is_idempotent(
        overrides in proptest::collection::vec(
            (proptest::sample::select(ACCEPTED_FIELDS.to_vec()), any_text(60)),
            0..4,
        ),
        unknown in proptest::option::of((
            proptest::sample::select(vec!["extra", "Surname", "x_1", "a&b=c", "имя", "email ", "website2"]),
            hostile_text(8),
        )),
    ) {
        let manifest = manifest();
        let mut pairs = valid_pairs(&manifest);
        for (field, value) in &overrides {
            if let Some(pair) = pairs.iter_mut().find(|(f, _)| f == field) {
                pair.1.clone_from(value);
            }
        }
        if let Some((field, value)) = &unknown
            && !ACCEPTED_FIELDS.contains(field)
        {
            pairs.push(((*field).to_owned(), value.clone()));
        }

        let form = serde_html_form::to_string(&pairs).unwrap();
        let from_form = Submission::parse(&RawSubmission::from_form(form.as_bytes()).unwrap(), &manifest, time::OffsetDateTime::now_utc());
        let json = serde_json::Value::Object(
            pairs.iter().map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone()))).collect(),
        )
        .to_string();
        let from_json = Submission::parse(&RawSubmission::from_json(json.as_bytes()).unwrap(), &manifest, time::OffsetDateTime::now_utc());
        prop_assert_eq!(&from_form, &from_json);

        match from_form {
            Ok(submission) => {
                let again = Submission::parse(&raw_of(&submission), &manifest, time::OffsetDateTime::now_utc()).unwrap();
                prop_assert_eq!(again, submission);
            }
            Err(errors) => {
                let values: Vec<&str> = pairs.iter().map(|(_, v)| v.as_str()).collect();
                assert_safe_errors(&errors, &values);
            }
        }
    }
}

/// A valid submission's fields, in form order.
fn valid_pairs(manifest: &ConsentManifest) -> Vec<(String, String)> {
    let policy = &manifest.languages["kk"].policy;
    [
        (name::SURNAME, "Серікбаева"),
        (name::FIRST_NAME, "Әйгерім"),
        (name::PATRONYMIC, ""),
        (name::EMAIL, "aigerim@example.kz"),
        (name::PHONE, "+7 701 123 45 67"),
        (name::MESSAGE, "Сәлеметсіз бе!"),
        (name::LANG, "kk"),
        (name::CONSENT, "reply"),
        (name::POLICY_VERSION, policy.version.as_str()),
        (name::POLICY_HASH, policy.sha256.as_str()),
        (
            name::IDEMPOTENCY_KEY,
            "0193f1c2-7d4e-7a10-9b2c-3d4e5f607182",
        ),
        (name::HONEYPOT, ""),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// The submission's normalized values as a form post again.
fn raw_of(submission: &Submission) -> RawSubmission {
    let pairs = submission.to_pairs();
    let form = serde_html_form::to_string(&pairs).unwrap();
    RawSubmission::from_form(form.as_bytes()).unwrap()
}

/// Field errors go into a redirect URL and a log line: names and codes only, from a small
/// URL-safe alphabet, and none of the submitted values (those long enough to tell apart from
/// a field name or code, and not themselves made only of that alphabet).
fn assert_safe_errors(errors: &FieldErrors, values: &[&str]) {
    assert!(!errors.is_empty(), "a refusal says why");
    let query = errors.to_query_value();
    assert!(
        query
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_:,".contains(&b)),
        "{query}"
    );
    let debug = format!("{errors:?}");
    for value in values {
        let value = value.trim();
        let distinctive = value.chars().count() >= 3
            && value
                .chars()
                .any(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || "_:,".contains(c)));
        if distinctive {
            assert!(!query.contains(value), "{value:?} in {query}");
            assert!(!debug.contains(value), "{value:?} in {debug}");
        }
    }
}
