//! A contact-form submission: decoded from a form post or JSON into raw pairs, then parsed
//! against the consent manifest into a [`Submission`] whose every field is already valid.

use std::collections::BTreeSet;

use crate::fields::{
    self, ACCEPTED_FIELDS, Email, ErrorCode, IdempotencyKey, Message, PersonName, PhoneE164, name,
};
use crate::manifest::ConsentManifest;

/// How many unknown field names an error answer names; the rest are only counted, so a body
/// with thousands of made-up fields gets an answer (and a `Location`, and a log line) of the
/// same small size as one with a single typo.
pub const NAMED_UNKNOWN_FIELDS: usize = 3;

/// Field errors in form order, at most one code per field. They hold field names and codes
/// only, never a submitted value, so they are safe to put in a URL or a log line. Their size
/// is bounded: the accepted fields, [`NAMED_UNKNOWN_FIELDS`] unknown ones, and `form`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors {
    errors: Vec<(String, ErrorCode)>,
    /// Every unknown field seen, named or not.
    unknown_fields: usize,
}

impl FieldErrors {
    /// Errors about the body as a whole (undecodable bytes).
    pub fn whole_form(code: ErrorCode) -> Self {
        Self {
            errors: vec![(name::FORM.to_owned(), code)],
            unknown_fields: 0,
        }
    }

    /// Counts an unknown field, naming it only while fewer than [`NAMED_UNKNOWN_FIELDS`]
    /// are named; past that, `form` carries `unknown_field` for the rest.
    pub fn add_unknown(&mut self, field: &str) {
        self.unknown_fields += 1;
        let field = reportable_name(field);
        if self.get(field).is_some() {
            return;
        }
        let named = self
            .errors
            .iter()
            .filter(|(f, c)| *c == ErrorCode::UnknownField && f != name::FORM)
            .count();
        if named < NAMED_UNKNOWN_FIELDS || field == name::FORM {
            self.add(field, ErrorCode::UnknownField);
        } else {
            self.add(name::FORM, ErrorCode::UnknownField);
        }
    }

    /// How many unknown fields the body had (named or not).
    pub fn unknown_fields(&self) -> usize {
        self.unknown_fields
    }

    /// Records `code` for `field` unless that field already has an error.
    pub fn add(&mut self, field: &str, code: ErrorCode) {
        if !self.errors.iter().any(|(f, _)| f == field) {
            self.errors.push((field.to_owned(), code));
        }
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    pub fn get(&self, field: &str) -> Option<ErrorCode> {
        self.errors
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, c)| *c)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, ErrorCode)> {
        self.errors.iter().map(|(f, c)| (f.as_str(), *c))
    }

    /// `field:code,field:code` for the error page's `?errors=` (codes only, never values).
    pub fn to_query_value(&self) -> String {
        self.iter()
            .map(|(f, c)| format!("{f}:{c}"))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// The body as name/value pairs, before any checking. Repeated names are kept (the consent
/// checkboxes share one name).
#[derive(Debug, Clone, Default)]
pub struct RawSubmission {
    pairs: Vec<(String, String)>,
    /// Fields whose JSON value had the wrong type.
    malformed: Vec<String>,
    /// Names a JSON object gave more than once (a JSON parser would silently keep the last).
    duplicated: Vec<String>,
}

/// A JSON object's members in order, duplicates kept: `serde_json::Map` keeps only the last
/// value of a repeated key, which would let a body say two things and have one of them win.
struct JsonMembers(Vec<(String, serde_json::Value)>);

impl<'de> serde::Deserialize<'de> for JsonMembers {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Members;
        impl<'de> serde::de::Visitor<'de> for Members {
            type Value = JsonMembers;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<JsonMembers, A::Error> {
                let mut members = Vec::new();
                while let Some(member) = map.next_entry::<String, serde_json::Value>()? {
                    members.push(member);
                }
                Ok(JsonMembers(members))
            }
        }
        deserializer.deserialize_map(Members)
    }
}

impl RawSubmission {
    /// Decodes `application/x-www-form-urlencoded`. `serde_html_form` keeps repeated keys,
    /// which `lambda_http`'s `payload()` and `serde_urlencoded` cannot.
    pub fn from_form(body: &[u8]) -> Result<Self, FieldErrors> {
        if std::str::from_utf8(body).is_err() {
            return Err(FieldErrors::whole_form(ErrorCode::InvalidEncoding));
        }
        let pairs: Vec<(String, String)> = serde_html_form::from_bytes(body)
            .map_err(|_| FieldErrors::whole_form(ErrorCode::InvalidEncoding))?;
        Ok(Self {
            pairs,
            ..Self::default()
        })
    }

    /// Decodes the script's JSON: an object of strings, with `consent` an array of strings (a
    /// single string is taken too). `null` counts as absent.
    pub fn from_json(body: &[u8]) -> Result<Self, FieldErrors> {
        let JsonMembers(members) = serde_json::from_slice(body)
            .map_err(|_| FieldErrors::whole_form(ErrorCode::InvalidEncoding))?;
        let mut raw = Self::default();
        let mut seen = BTreeSet::new();
        for (key, value) in members {
            if !seen.insert(key.clone()) {
                raw.duplicated.push(key);
                continue;
            }
            match value {
                serde_json::Value::Null => {}
                serde_json::Value::String(text) => raw.pairs.push((key, text)),
                serde_json::Value::Array(items) => {
                    for item in items {
                        match item {
                            serde_json::Value::String(text) => raw.pairs.push((key.clone(), text)),
                            _ => raw.malformed.push(key.clone()),
                        }
                    }
                }
                _ => raw.malformed.push(key),
            }
        }
        Ok(raw)
    }

    /// Whether the honeypot field holds anything but whitespace.
    pub fn honeypot_filled(&self) -> bool {
        self.pairs
            .iter()
            .any(|(k, v)| k == name::HONEYPOT && !v.trim().is_empty())
    }

    /// The language to answer in: the submitted `lang` if the site has it, else the site's
    /// default language.
    pub fn response_lang<'m>(&self, manifest: &'m ConsentManifest) -> &'m str {
        self.pairs
            .iter()
            .find(|(k, _)| k == name::LANG)
            .and_then(|(_, v)| manifest.languages.get_key_value(v.trim()))
            .map_or(manifest.default_language.as_str(), |(k, _)| k.as_str())
    }
}

/// A submission that passed every check; building its record cannot fail on its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    /// A language the manifest has.
    pub lang: String,
    pub surname: PersonName,
    pub first_name: PersonName,
    pub patronymic: Option<PersonName>,
    pub email: Email,
    pub phone: PhoneE164,
    pub message: Message,
    /// Granted purposes: all known to the manifest, every required one included.
    pub consents: BTreeSet<String>,
    /// Equal to the manifest's policy version for `lang`.
    pub policy_version: String,
    /// Equal to the manifest's policy hash for `lang`.
    pub policy_sha256: String,
    pub idempotency_key: Option<IdempotencyKey>,
}

/// Field names echoed back in errors are limited to a safe shape; anything else is reported
/// on `form`, so a hostile field name never lands in a redirect URL.
fn reportable_name(field: &str) -> &str {
    let safe = !field.is_empty()
        && field.len() <= 32
        && field
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if safe { field } else { name::FORM }
}

/// Keeps a parsed value, or records its field's error.
fn take<T>(errors: &mut FieldErrors, field: &str, result: Result<T, ErrorCode>) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(code) => {
            errors.add(field, code);
            None
        }
    }
}

/// Single-valued fields as found in the body.
#[derive(Default)]
struct Singles<'a> {
    values: Vec<(&'a str, &'a str)>,
}

impl<'a> Singles<'a> {
    fn get(&self, field: &str) -> Option<&'a str> {
        self.values
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, v)| *v)
    }
}

impl Submission {
    /// Parses `raw` against `manifest`, collecting every field's error at once so the visitor
    /// can fix them all in one go.
    pub fn parse(raw: &RawSubmission, manifest: &ConsentManifest) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        for field in raw.malformed.iter().chain(&raw.duplicated) {
            if ACCEPTED_FIELDS.contains(&field.as_str()) {
                // A wrong type, or a name given twice: which value did the person mean?
                errors.add(field, ErrorCode::InvalidEncoding);
            } else {
                errors.add_unknown(field);
            }
        }
        let mut singles = Singles::default();
        let mut consent_values = Vec::new();
        for (key, value) in &raw.pairs {
            let key = key.as_str();
            if !ACCEPTED_FIELDS.contains(&key) {
                errors.add_unknown(key);
            } else if key == name::CONSENT {
                consent_values.push(value.as_str());
            } else if singles.get(key).is_some() {
                // A repeated single-valued field: which one did the person mean?
                errors.add(key, ErrorCode::InvalidEncoding);
            } else {
                singles.values.push((key, value.as_str()));
            }
        }

        let text = |f: &str| singles.get(f).unwrap_or("");

        let lang = take(
            &mut errors,
            name::LANG,
            parse_lang(text(name::LANG), manifest),
        );
        let surname = take(
            &mut errors,
            name::SURNAME,
            PersonName::parse(text(name::SURNAME)),
        );
        let first_name = take(
            &mut errors,
            name::FIRST_NAME,
            PersonName::parse(text(name::FIRST_NAME)),
        );
        let patronymic = take(
            &mut errors,
            name::PATRONYMIC,
            parse_optional_name(text(name::PATRONYMIC)),
        );
        let email = take(&mut errors, name::EMAIL, Email::parse(text(name::EMAIL)));
        let phone = take(
            &mut errors,
            name::PHONE,
            PhoneE164::parse(text(name::PHONE)),
        );
        let message = take(
            &mut errors,
            name::MESSAGE,
            Message::parse(text(name::MESSAGE)),
        );
        let consents = take(
            &mut errors,
            name::CONSENT,
            parse_consents(&consent_values, manifest),
        );
        let policy = lang
            .as_deref()
            .and_then(|lang| manifest.languages.get(lang));
        let policy_version = take(
            &mut errors,
            name::POLICY_VERSION,
            check_policy_field(
                text(name::POLICY_VERSION),
                policy.map(|p| &p.policy.version),
            ),
        );
        let policy_sha256 = take(
            &mut errors,
            name::POLICY_HASH,
            check_policy_field(
                &text(name::POLICY_HASH).to_ascii_lowercase(),
                policy.map(|p| &p.policy.sha256),
            ),
        );
        let idempotency_key = take(
            &mut errors,
            name::IDEMPOTENCY_KEY,
            IdempotencyKey::parse(text(name::IDEMPOTENCY_KEY)),
        );

        match (
            lang,
            surname,
            first_name,
            patronymic,
            email,
            phone,
            message,
            consents,
            policy_version,
            policy_sha256,
            idempotency_key,
        ) {
            (
                Some(lang),
                Some(surname),
                Some(first_name),
                Some(patronymic),
                Some(email),
                Some(phone),
                Some(message),
                Some(consents),
                Some(policy_version),
                Some(policy_sha256),
                Some(idempotency_key),
            ) if errors.is_empty() => Ok(Self {
                lang,
                surname,
                first_name,
                patronymic,
                email,
                phone,
                message,
                consents,
                policy_version,
                policy_sha256,
                idempotency_key,
            }),
            _ => Err(errors),
        }
    }
}

fn parse_lang(raw: &str, manifest: &ConsentManifest) -> Result<String, ErrorCode> {
    let lang = raw.trim();
    if lang.is_empty() {
        Err(ErrorCode::Required)
    } else if manifest.languages.contains_key(lang) {
        Ok(lang.to_owned())
    } else {
        Err(ErrorCode::InvalidLang)
    }
}

fn parse_optional_name(raw: &str) -> Result<Option<PersonName>, ErrorCode> {
    if fields::is_blank(&fields::normalize(raw)) {
        Ok(None)
    } else {
        PersonName::parse(raw).map(Some)
    }
}

fn parse_consents(
    values: &[&str],
    manifest: &ConsentManifest,
) -> Result<BTreeSet<String>, ErrorCode> {
    let mut granted = BTreeSet::new();
    for value in values {
        let id = value.trim();
        if id.is_empty() {
            continue;
        }
        if manifest.purpose(id).is_none() {
            return Err(ErrorCode::UnknownField);
        }
        granted.insert(id.to_owned());
    }
    if manifest
        .purposes
        .iter()
        .any(|p| p.required && !granted.contains(&p.id))
    {
        return Err(ErrorCode::ConsentRequired);
    }
    Ok(granted)
}

/// The policy version or hash the page was built with must be the one published now for
/// this language; otherwise the person agreed to a text that is no longer (or never was) the
/// policy. With an unknown `lang` there is nothing to compare with, and `lang` carries the
/// error.
fn check_policy_field(raw: &str, expected: Option<&String>) -> Result<String, ErrorCode> {
    let value = raw.trim();
    if value.is_empty() {
        return Err(ErrorCode::Required);
    }
    match expected {
        Some(expected) if expected == value => Ok(value.to_owned()),
        Some(_) => Err(ErrorCode::PolicyMismatch),
        // The submission already fails on `lang`; one error there says it all.
        None => Ok(value.to_owned()),
    }
}
