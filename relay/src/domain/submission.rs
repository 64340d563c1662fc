//! A contact-form submission: decoded from a form post or JSON into raw pairs, then parsed
//! against the consent manifest into a [`Submission`] whose every field is already valid.

use std::collections::BTreeSet;

use crate::domain::fields::{
    self, ACCEPTED_FIELDS, Email, ErrorCode, IdempotencyKey, Message, PersonName, PhoneE164, name,
};
use time::{Duration, OffsetDateTime};

use kelisim_manifest::{ConsentManifest, LanguageConsent, PolicyVersion};

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
    /// The policy version the person was shown: the manifest's current one for `lang`, or
    /// within the grace window the previous one.
    pub policy_version: String,
    /// That version's hash, as the manifest publishes it.
    pub policy_sha256: String,
    /// That version's URL, as the manifest publishes it.
    pub policy_url: String,
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

/// The body's fields sorted by kind: single-valued ones, and the `consent` values.
#[derive(Default)]
struct Singles<'a> {
    values: Vec<(&'a str, &'a str)>,
    consents: Vec<&'a str>,
}

impl<'a> Singles<'a> {
    /// Sorts `raw`'s pairs, noting unknown, malformed and repeated fields in `errors`.
    fn sort(raw: &'a RawSubmission, errors: &mut FieldErrors) -> Self {
        for field in raw.malformed.iter().chain(&raw.duplicated) {
            if ACCEPTED_FIELDS.contains(&field.as_str()) {
                // A wrong type, or a name given twice: which value did the person mean?
                errors.add(field, ErrorCode::InvalidEncoding);
            } else {
                errors.add_unknown(field);
            }
        }
        let mut singles = Self::default();
        for (key, value) in &raw.pairs {
            let key = key.as_str();
            if !ACCEPTED_FIELDS.contains(&key) {
                errors.add_unknown(key);
            } else if key == name::CONSENT {
                singles.consents.push(value.as_str());
            } else if singles.get(key).is_some() {
                // A repeated single-valued field: which one did the person mean?
                errors.add(key, ErrorCode::InvalidEncoding);
            } else {
                singles.values.push((key, value.as_str()));
            }
        }
        singles
    }

    /// The field's value, or `""` when absent.
    fn text(&self, field: &str) -> &'a str {
        self.get(field).unwrap_or("")
    }

    fn get(&self, field: &str) -> Option<&'a str> {
        self.values
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, v)| *v)
    }
}

impl Submission {
    /// Parses `raw` against `manifest` as received at `at` (which decides whether the previous
    /// policy version is still inside its grace window), collecting every field's error at
    /// once so the visitor can fix them all in one go. It stays one flat list of about 70
    /// lines, each field parsed once by its own type and then assembled, so the form's
    /// fields are read in one place and in form order.
    pub fn parse(
        raw: &RawSubmission,
        manifest: &ConsentManifest,
        at: OffsetDateTime,
    ) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let singles = Singles::sort(raw, &mut errors);
        let text = |f: &str| singles.text(f);
        let errors = &mut errors;

        let lang = take(errors, name::LANG, parse_lang(text(name::LANG), manifest));
        let surname = take(
            errors,
            name::SURNAME,
            PersonName::parse(text(name::SURNAME)),
        );
        let first_name = take(
            errors,
            name::FIRST_NAME,
            PersonName::parse(text(name::FIRST_NAME)),
        );
        let patronymic = take(
            errors,
            name::PATRONYMIC,
            parse_optional_name(text(name::PATRONYMIC)),
        );
        let email = take(errors, name::EMAIL, Email::parse(text(name::EMAIL)));
        let phone = take(errors, name::PHONE, PhoneE164::parse(text(name::PHONE)));
        let message = take(errors, name::MESSAGE, Message::parse(text(name::MESSAGE)));
        let consents = take(
            errors,
            name::CONSENT,
            parse_consents(&singles.consents, manifest),
        );
        let language = lang.as_deref().and_then(|l| manifest.languages.get(l));
        let policy = ShownPolicy::parse(
            text(name::POLICY_VERSION),
            text(name::POLICY_HASH),
            language,
            manifest.policy_grace_hours,
            at,
            errors,
        );
        let idempotency_key = take(
            errors,
            name::IDEMPOTENCY_KEY,
            IdempotencyKey::parse(text(name::IDEMPOTENCY_KEY)),
        );

        // Every field parsed (no error recorded) means every value is there.
        let complete = || {
            let policy = policy?;
            Some(Self {
                lang: lang?,
                surname: surname?,
                first_name: first_name?,
                patronymic: patronymic?,
                email: email?,
                phone: phone?,
                message: message?,
                consents: consents?,
                policy_version: policy.version,
                policy_sha256: policy.sha256,
                policy_url: policy.url,
                idempotency_key: idempotency_key?,
            })
        };
        match complete() {
            Some(submission) if errors.is_empty() => Ok(submission),
            _ => Err(std::mem::take(errors)),
        }
    }
}

impl Submission {
    /// The submission's normalized values as the form's field pairs, in form order, each
    /// purpose granted as one `consent` pair. Posted again, they parse to this same
    /// submission: the fuzzer and the property tests hold the parser to that.
    pub fn to_pairs(&self) -> Vec<(&'static str, String)> {
        let optional = |value: Option<&str>| value.unwrap_or_default().to_owned();
        let mut pairs = vec![
            (name::LANG, self.lang.clone()),
            (name::SURNAME, self.surname.as_str().to_owned()),
            (name::FIRST_NAME, self.first_name.as_str().to_owned()),
            (
                name::PATRONYMIC,
                optional(self.patronymic.as_ref().map(PersonName::as_str)),
            ),
            (name::EMAIL, self.email.as_str().to_owned()),
            (name::PHONE, self.phone.as_str().to_owned()),
            (name::MESSAGE, self.message.as_str().to_owned()),
            (name::POLICY_VERSION, self.policy_version.clone()),
            (name::POLICY_HASH, self.policy_sha256.clone()),
            (
                name::IDEMPOTENCY_KEY,
                optional(self.idempotency_key.as_ref().map(IdempotencyKey::as_str)),
            ),
        ];
        pairs.extend(self.consents.iter().map(|c| (name::CONSENT, c.clone())));
        pairs
    }
}

/// The policy version a submission says its page showed, checked against the manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ShownPolicy {
    version: String,
    sha256: String,
    /// The version's own URL, as the manifest publishes it (empty for an unknown language,
    /// where the submission fails on `lang` anyway).
    url: String,
}

impl ShownPolicy {
    /// The version and hash must be those of one policy the relay accepts now for this
    /// language ([`accepted_policies`]); otherwise the person agreed to a text that is no
    /// longer (or never was) the policy, and the answer asks them to reload. Each field gets
    /// its own error: `required` when empty, `policy_mismatch` when no accepted version has
    /// it (the hash field, too, when both exist but belong to different versions). With an
    /// unknown `lang` there is nothing to compare with, and `lang` carries the error.
    fn parse(
        version: &str,
        sha256: &str,
        language: Option<&LanguageConsent>,
        grace_hours: u32,
        at: OffsetDateTime,
        errors: &mut FieldErrors,
    ) -> Option<Self> {
        let version = version.trim();
        let sha256 = sha256.trim().to_ascii_lowercase();
        if version.is_empty() {
            errors.add(name::POLICY_VERSION, ErrorCode::Required);
        }
        if sha256.is_empty() {
            errors.add(name::POLICY_HASH, ErrorCode::Required);
        }
        if version.is_empty() || sha256.is_empty() {
            return None;
        }
        let Some(language) = language else {
            return Some(Self {
                version: version.to_owned(),
                sha256,
                url: String::new(),
            });
        };
        let accepted: Vec<&PolicyVersion> = accepted_policies(language, grace_hours, at).collect();
        if let Some(shown) = accepted
            .iter()
            .find(|p| p.version == version && p.sha256 == sha256)
        {
            return Some(Self {
                version: shown.version.clone(),
                sha256: shown.sha256.clone(),
                url: shown.url.clone(),
            });
        }
        if !accepted.iter().any(|p| p.version == version) {
            errors.add(name::POLICY_VERSION, ErrorCode::PolicyMismatch);
        }
        errors.add(name::POLICY_HASH, ErrorCode::PolicyMismatch);
        None
    }
}

/// The policies a submission in `language` may name at `at`: the current one, and the newest
/// superseded one until [`grace_ends`] for the current one.
pub fn accepted_policies(
    language: &LanguageConsent,
    grace_hours: u32,
    at: OffsetDateTime,
) -> impl Iterator<Item = &PolicyVersion> {
    let previous = language
        .previous_policies
        .first()
        .filter(|_| grace_ends(&language.policy, grace_hours).is_some_and(|end| at < end));
    std::iter::once(&language.policy).chain(previous)
}

/// When the grace for the version before `current` ends: `grace_hours` after 00:00 UTC of
/// `current`'s effective date. `None` (no grace) when the date cannot be read.
pub fn grace_ends(current: &PolicyVersion, grace_hours: u32) -> Option<OffsetDateTime> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let day = time::Date::parse(&current.effective_date, format).ok()?;
    day.midnight()
        .assume_utc()
        .checked_add(Duration::hours(i64::from(grace_hours)))
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
