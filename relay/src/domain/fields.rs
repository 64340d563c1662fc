//! The form's fields as domain types: each one is parsed once, at the edge, and is valid for
//! the rest of its life ("parse, don't validate").
//!
//! Every text goes through Unicode NFC and trimming first, so `Ә` typed as one code point or
//! as `А` + a combining mark compares, hashes and dedups as the same text.

use std::str::FromStr;

use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// The form's field names and limits: the contract with the page and its script, defined
/// once in the manifest crate (see also `relay/openapi.yaml`).
pub use kelisim_manifest::form::{limit, name};

/// Every field name the relay accepts, in form order.
pub const ACCEPTED_FIELDS: [&str; 12] = [
    name::SURNAME,
    name::FIRST_NAME,
    name::PATRONYMIC,
    name::EMAIL,
    name::PHONE,
    name::MESSAGE,
    name::LANG,
    name::CONSENT,
    name::POLICY_VERSION,
    name::POLICY_HASH,
    name::IDEMPOTENCY_KEY,
    name::HONEYPOT,
];

/// Why a field was refused. The wire names (`as_str`) are part of the public contract: the
/// error page and the page's script key their texts on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ErrorCode {
    Required,
    TooLong,
    InvalidEmail,
    InvalidPhone,
    ConsentRequired,
    UnknownField,
    PolicyMismatch,
    InvalidLang,
    InvalidEncoding,
    /// Too many submissions from this client or from everyone (the whole form, `form:`).
    RateLimited,
    /// Invisible or control characters: bidi overrides, zero-width characters, line and
    /// paragraph separators and other format characters (they can disguise a name or a text).
    InvalidCharacters,
    /// The script's idempotency key was used before for a different submission (409).
    IdempotencyConflict,
}

impl ErrorCode {
    /// Every code, for documentation checks.
    pub const ALL: [ErrorCode; 12] = [
        Self::Required,
        Self::TooLong,
        Self::InvalidEmail,
        Self::InvalidPhone,
        Self::ConsentRequired,
        Self::UnknownField,
        Self::PolicyMismatch,
        Self::InvalidLang,
        Self::InvalidEncoding,
        Self::RateLimited,
        Self::InvalidCharacters,
        Self::IdempotencyConflict,
    ];

    /// The code as sent in `?errors=` and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Required => "required",
            Self::TooLong => "too_long",
            Self::InvalidEmail => "invalid_email",
            Self::InvalidPhone => "invalid_phone",
            Self::ConsentRequired => "consent_required",
            Self::UnknownField => "unknown_field",
            Self::PolicyMismatch => "policy_mismatch",
            Self::InvalidLang => "invalid_lang",
            Self::InvalidEncoding => "invalid_encoding",
            Self::RateLimited => "rate_limited",
            Self::InvalidCharacters => "invalid_characters",
            Self::IdempotencyConflict => "idempotency_conflict",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// NFC, then trim. The first step of every text field.
pub fn normalize(raw: &str) -> String {
    raw.nfc().collect::<String>().trim().to_owned()
}

/// A decoder leaves U+FFFD where the input was not UTF-8; nobody types it on purpose, so its
/// presence means the bytes were mangled on the way.
fn has_bad_encoding(text: &str) -> bool {
    text.contains('\u{FFFD}')
}

/// Characters nobody types into a name and that can make a text look other than it is: control
/// characters (Cc), format characters (Cf: the bidi embeddings, overrides and isolates
/// U+202A-202E and U+2066-2069, zero-width space, joiners and marks, the BOM, soft hyphen...),
/// and the line and paragraph separators (Zl, Zp). Private-use and unassigned code points
/// are refused too: no font shows them.
fn is_invisible(c: char) -> bool {
    matches!(
        c.general_category(),
        GeneralCategory::Control
            | GeneralCategory::Format
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
            | GeneralCategory::PrivateUse
            | GeneralCategory::Surrogate
            | GeneralCategory::Unassigned
    )
}

/// Whether nothing visible is left once invisible characters and white space are set aside:
/// such a field is empty, whatever bytes it holds.
pub fn is_blank(text: &str) -> bool {
    text.chars().all(|c| c.is_whitespace() || is_invisible(c))
}

/// Normalizes a one-line field: a field with nothing visible in it is empty; invisible and
/// control characters (a name has no line breaks either) and mangled encoding are refused;
/// then the length rule.
fn single_line(raw: &str, max: usize) -> Result<String, ErrorCode> {
    let text = normalize(raw);
    if is_blank(&text) {
        return Err(ErrorCode::Required);
    }
    if has_bad_encoding(&text) {
        return Err(ErrorCode::InvalidEncoding);
    }
    if text.chars().any(is_invisible) {
        return Err(ErrorCode::InvalidCharacters);
    }
    if text.chars().count() > max {
        return Err(ErrorCode::TooLong);
    }
    Ok(text)
}

/// A surname, first name or patronymic as the person writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonName(String);

impl PersonName {
    pub fn parse(raw: &str) -> Result<Self, ErrorCode> {
        single_line(raw, limit::NAME).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A syntactically valid email address with a dotted domain (a public contact form has no
/// use for intranet addresses such as `user@localhost`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, ErrorCode> {
        let text = single_line(raw, limit::EMAIL)?;
        let options = email_address::Options::default()
            .with_required_tld()
            .without_domain_literal();
        let parsed = email_address::EmailAddress::parse_with_options(&text, options)
            .map_err(|_| ErrorCode::InvalidEmail)?;
        // `parse_with_options` also accepts `Name <a@b.c>`; only the bare address is wanted.
        if parsed.as_str() != text || text.chars().any(char::is_whitespace) {
            return Err(ErrorCode::InvalidEmail);
        }
        Ok(Self(text))
    }

    /// The address as entered (NFC, trimmed).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form used for lookups and dedup: lowercased whole. Strictly the local part is
    /// case-sensitive, but no real mailbox provider treats it so, and a data-subject request
    /// must find `Aigerim@Mail.kz` when asked for `aigerim@mail.kz`.
    pub fn lookup_form(&self) -> String {
        self.0.to_lowercase()
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A phone number in E.164 (`+77011234567`). Numbers without a country code are read as
/// Kazakh, so `8 (701) 123-45-67` works the way people in Kazakhstan write it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneE164(String);

impl PhoneE164 {
    pub fn parse(raw: &str) -> Result<Self, ErrorCode> {
        let text = single_line(raw, limit::PHONE)?;
        let number = phonenumber::parse(Some(phonenumber::country::Id::KZ), &text)
            .map_err(|_| ErrorCode::InvalidPhone)?;
        if !phonenumber::is_valid(&number) {
            return Err(ErrorCode::InvalidPhone);
        }
        Ok(Self(
            number.format().mode(phonenumber::Mode::E164).to_string(),
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// The free-text message. Line breaks are kept (normalized to `\n`); other control
/// characters are refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message(String);

impl Message {
    pub fn parse(raw: &str) -> Result<Self, ErrorCode> {
        let text = normalize(raw).replace("\r\n", "\n").replace('\r', "\n");
        if is_blank(&text) {
            return Err(ErrorCode::Required);
        }
        if has_bad_encoding(&text) {
            return Err(ErrorCode::InvalidEncoding);
        }
        // Ordinary line breaks and tabs stay; no other invisible character does.
        if text
            .chars()
            .any(|c| is_invisible(c) && c != '\n' && c != '\t')
        {
            return Err(ErrorCode::InvalidCharacters);
        }
        if text.chars().count() > limit::MESSAGE {
            return Err(ErrorCode::TooLong);
        }
        Ok(Self(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// The script's per-visit key: printable ASCII (a UUID in practice), at most 128 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// `Ok(None)` for an empty value: a page without JavaScript sends the field empty.
    pub fn parse(raw: &str) -> Result<Option<Self>, ErrorCode> {
        let text = raw.trim();
        if text.is_empty() {
            return Ok(None);
        }
        if text.len() > limit::IDEMPOTENCY_KEY {
            return Err(ErrorCode::TooLong);
        }
        if !text.chars().all(|c| c.is_ascii_graphic()) {
            return Err(ErrorCode::InvalidEncoding);
        }
        Ok(Some(Self(text.to_owned())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for ErrorCode {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|c| c.as_str() == s).ok_or(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kazakh_phone_formats_normalize_to_e164() {
        for raw in [
            "8 (701) 123-45-67",
            "+7 701 123 4567",
            "+77011234567",
            "87011234567",
        ] {
            assert_eq!(
                PhoneE164::parse(raw).map(PhoneE164::into_inner),
                Ok("+77011234567".to_owned()),
                "{raw}"
            );
        }
    }

    #[test]
    fn almaty_landline_and_russian_numbers_stay_distinct() {
        assert_eq!(
            PhoneE164::parse("+7 727 250 00 00").map(PhoneE164::into_inner),
            Ok("+77272500000".to_owned())
        );
        assert_eq!(PhoneE164::parse("12345"), Err(ErrorCode::InvalidPhone));
        assert_eq!(PhoneE164::parse("  "), Err(ErrorCode::Required));
    }

    #[test]
    fn names_are_nfc_and_trimmed() {
        // "й" typed as "и" + U+0306 (combining breve) composes to one code point.
        let name = PersonName::parse("  Сеи\u{0306}т  ").map(PersonName::into_inner);
        assert_eq!(name, Ok("Се\u{0439}т".to_owned()));
        assert_eq!(
            PersonName::parse("a\u{0007}b"),
            Err(ErrorCode::InvalidCharacters)
        );
        assert_eq!(
            PersonName::parse(&"ә".repeat(limit::NAME + 1)),
            Err(ErrorCode::TooLong)
        );
        assert!(PersonName::parse(&"ә".repeat(limit::NAME)).is_ok());
    }

    #[test]
    fn emails_need_a_dotted_domain_and_no_display_name() {
        assert!(Email::parse(" aigerim@mail.kz ").is_ok());
        assert_eq!(
            Email::parse("aigerim@localhost"),
            Err(ErrorCode::InvalidEmail)
        );
        assert_eq!(
            Email::parse("Aigerim <a@mail.kz>"),
            Err(ErrorCode::InvalidEmail)
        );
        assert_eq!(Email::parse("not-an-email"), Err(ErrorCode::InvalidEmail));
        assert_eq!(
            Email::parse("Aigerim@Mail.KZ").map(|e| e.lookup_form()),
            Ok("aigerim@mail.kz".to_owned())
        );
    }

    #[test]
    fn message_keeps_line_breaks_and_limits_length() {
        assert_eq!(
            Message::parse("Сәлем\r\nқалайсыз?").map(Message::into_inner),
            Ok("Сәлем\nқалайсыз?".to_owned())
        );
        assert_eq!(
            Message::parse(&"x".repeat(limit::MESSAGE + 1)),
            Err(ErrorCode::TooLong)
        );
        assert_eq!(
            Message::parse("bad\u{FFFD}"),
            Err(ErrorCode::InvalidEncoding)
        );
    }

    /// The class, not one example: every bidi control, zero-width and separator character,
    /// in each person field, alone and inside real text. Long because it lists the characters
    /// and the cases side by side, as a table to read.
    #[test]
    fn invisible_characters_are_refused_and_invisible_only_fields_are_empty() {
        let invisible = [
            '\u{202A}',
            '\u{202B}',
            '\u{202C}',
            '\u{202D}',
            '\u{202E}',
            '\u{2066}',
            '\u{2067}',
            '\u{2068}',
            '\u{2069}',
            '\u{200B}',
            '\u{200C}',
            '\u{200D}',
            '\u{200E}',
            '\u{200F}',
            '\u{2060}',
            '\u{FEFF}',
            '\u{00AD}',
            '\u{2028}',
            '\u{2029}',
            '\u{061C}',
            '\u{180E}',
            '\u{E000}',
            '\u{0085}',
            '\u{E0041}',
        ];
        for c in invisible {
            let inside = format!("Ай{c}гүл");
            assert_eq!(
                PersonName::parse(&inside),
                Err(ErrorCode::InvalidCharacters),
                "{c:?}"
            );
            assert_eq!(
                Email::parse(&format!("a{c}b@mail.kz")),
                Err(ErrorCode::InvalidCharacters),
                "{c:?}"
            );
            assert_eq!(
                PhoneE164::parse(&format!("+7 701{c} 123 45 67")),
                Err(ErrorCode::InvalidCharacters),
                "{c:?}"
            );
            assert_eq!(
                Message::parse(&format!("Сәлем{c}!\nРақмет")),
                Err(ErrorCode::InvalidCharacters),
                "{c:?}"
            );
            assert_eq!(
                PersonName::parse(&c.to_string()),
                Err(ErrorCode::Required),
                "{c:?}"
            );
            assert_eq!(
                Message::parse(&format!(" {c}\n{c} ")),
                Err(ErrorCode::Required),
                "{c:?}"
            );
        }
        // Letters of both alphabets, apostrophes and hyphens in names are text, not tricks.
        for name in ["Әбілқайыр-Хан", "Д'Артаньян", "Ўзбек Ғани", "Nursultan"]
        {
            assert!(PersonName::parse(name).is_ok(), "{name}");
        }
        assert!(
            Message::parse("бір\tекі\nүш").is_ok(),
            "tabs and newlines stay"
        );
    }

    #[test]
    fn error_codes_round_trip_through_their_wire_names() {
        for code in ErrorCode::ALL {
            assert_eq!(code.as_str().parse::<ErrorCode>(), Ok(code));
        }
    }
}
