//! The contact form's fields: names, kinds and length limits, one definition for the page the
//! generator renders, the manifest it publishes and the relay that parses the post.
//!
//! The theme renders its inputs from [`person_fields`] (through the manifest's `fields`), the
//! relay's parsers use [`limit`], and the relay refuses to start on a manifest whose fields
//! differ from its own, so a page can never offer a field or a `maxlength` the relay refuses.

use serde::{Deserialize, Serialize};

/// The form's field names (policy §6 lists the personal data; §5.4-5.5: nothing more).
pub mod name {
    pub const SURNAME: &str = "surname";
    pub const FIRST_NAME: &str = "first_name";
    pub const PATRONYMIC: &str = "patronymic";
    pub const EMAIL: &str = "email";
    pub const PHONE: &str = "phone";
    pub const MESSAGE: &str = "message";
    pub const LANG: &str = "lang";
    pub const CONSENT: &str = "consent";
    pub const POLICY_VERSION: &str = "policy_version";
    pub const POLICY_HASH: &str = "policy_hash";
    pub const IDEMPOTENCY_KEY: &str = "idempotency_key";
    /// The honeypot: hidden from people, filled by naive bots.
    pub const HONEYPOT: &str = "website";
    /// Not a field: where errors about the body as a whole are reported.
    pub const FORM: &str = "form";
}

/// Length limits, in Unicode scalar values after normalization. Generous for real names
/// (Kazakh and Russian compound names fit easily), tight enough to keep records small.
pub mod limit {
    pub const NAME: usize = 100;
    /// RFC 5321's practical maximum for a forward path.
    pub const EMAIL: usize = 254;
    /// Raw phone input, with spaces, brackets and dashes.
    pub const PHONE: usize = 32;
    /// The form's `maxlength`. A form post percent-encodes a character as up to 12 bytes
    /// (a four-byte one; a Cyrillic letter as 6, «№» as 9), JSON as up to 12 (`\\uXXXX` twice).
    pub const MESSAGE: usize = 4000;
    pub const IDEMPOTENCY_KEY: usize = 128;
    pub const POLICY_VERSION: usize = 64;

    /// The longest body a valid submission can need: every field at its limit, every
    /// character at 12 bytes encoded, plus 1 KiB for names, separators, the hash, the
    /// language, the consent values and the honeypot. The relay's body limit must not be
    /// below it (a test holds it so).
    pub const LONGEST_BODY: usize =
        (3 * NAME + EMAIL + PHONE + MESSAGE + IDEMPOTENCY_KEY + POLICY_VERSION) * 12 + 1024;
}

/// What kind of input a field is, which decides the HTML element and its keyboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InputKind {
    Text,
    Email,
    Tel,
    /// A multi-line text (`<textarea>`).
    Textarea,
}

/// Which group of the form a field is shown in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldGroup {
    /// The person's full name, shown together under one legend.
    Name,
    /// How to answer, and the message itself.
    Contact,
}

/// One field a person fills in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormField {
    /// The `name` the page posts it under.
    pub name: String,
    pub input: InputKind,
    pub group: FieldGroup,
    /// Whether the relay refuses a post without it.
    pub required: bool,
    /// The most characters the relay accepts (after Unicode NFC and trimming): the page's
    /// `maxlength`.
    pub max_chars: usize,
    /// The HTML `autocomplete` token, so browsers fill it in (empty for the message).
    pub autocomplete: String,
}

/// The person fields in form order: what policy §6 lists, plus the message.
pub fn person_fields() -> Vec<FormField> {
    let field = |name: &str, input, group, required, max_chars, autocomplete: &str| FormField {
        name: name.to_owned(),
        input,
        group,
        required,
        max_chars,
        autocomplete: autocomplete.to_owned(),
    };
    use FieldGroup::{Contact, Name};
    use InputKind::{Email, Tel, Text, Textarea};
    vec![
        field(name::SURNAME, Text, Name, true, limit::NAME, "family-name"),
        field(
            name::FIRST_NAME,
            Text,
            Name,
            true,
            limit::NAME,
            "given-name",
        ),
        field(
            name::PATRONYMIC,
            Text,
            Name,
            false,
            limit::NAME,
            "additional-name",
        ),
        field(name::EMAIL, Email, Contact, true, limit::EMAIL, "email"),
        field(name::PHONE, Tel, Contact, true, limit::PHONE, "tel"),
        field(name::MESSAGE, Textarea, Contact, true, limit::MESSAGE, ""),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_person_fields_are_what_the_policy_lists_and_the_message() {
        let names: Vec<String> = person_fields().into_iter().map(|f| f.name).collect();
        assert_eq!(
            names,
            [
                "surname",
                "first_name",
                "patronymic",
                "email",
                "phone",
                "message"
            ]
        );
        let optional: Vec<String> = person_fields()
            .into_iter()
            .filter(|f| !f.required)
            .map(|f| f.name)
            .collect();
        assert_eq!(optional, ["patronymic"]);
    }

    #[test]
    fn fields_serialize_with_lowercase_kinds() {
        let json = serde_json::to_value(&person_fields()[4]).unwrap_or_default();
        assert_eq!(json["input"], "tel");
        assert_eq!(json["group"], "contact");
        assert_eq!(json["max_chars"], 32);
    }
}
