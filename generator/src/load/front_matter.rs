//! A page's TOML front matter (between `+++` lines), read through serde: each known key has a
//! type that says, in an editor's words, what to write when the value has the wrong shape;
//! `toml::Spanned` keeps the lines that later checks point at; every other key lands in
//! `extra` (`#[serde(flatten)]`) for templates.

use std::path::Path;

use serde::de::{Deserialize, Deserializer, Error as _};
use time::Date;
use toml::{Spanned, Value};

use crate::load::source::{Location, line_of};

/// TOML front matter between `+++` lines.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FrontMatter {
    pub title: String,
    pub description: Option<String>,
    /// Template file name; `None` picks the default for the page kind.
    pub template: Option<String>,
    /// Line of `template = ...`, so an unknown template can be reported where it is written.
    pub template_line: usize,
    pub date: Option<Date>,
    pub updated: Option<Date>,
    /// Drafts are not published.
    pub draft: bool,
    /// Ordering among sibling pages (lower first).
    pub weight: i64,
    /// Overrides the last URL segment (defaults to the file name).
    pub slug: Option<String>,
    pub translation_key: Option<String>,
    /// Policy pages: the version string, part of the permanent URL.
    pub version: Option<String>,
    /// Line of `version = ...` (2 when absent), so archive errors point at the value.
    pub version_line: usize,
    pub effective_date: Option<Date>,
    /// Whether the template should show a table of contents.
    pub toc: bool,
    /// For a translated page: the language of the original.
    pub translation_of: Option<String>,
    /// `noindex = true`: the page is not content for search engines (a result, confirmation or
    /// error page). It gets `<meta name="robots" content="noindex">` and is left out of
    /// `sitemap.xml`; its hreflang links stay. `None` leaves it to the page kind's default.
    pub noindex: Option<bool>,
    /// `placeholder = true`: a policy page that holds a template, not the operator's text
    /// (what `kelisim init` writes). `kelisim build` refuses to publish it and never locks it;
    /// `kelisim serve` shows it with a notice.
    pub placeholder: bool,
    /// Line of `placeholder = ...` (2 when absent), for the build's refusal.
    pub placeholder_line: usize,
    /// Every other key, passed to templates as `page.extra`.
    pub extra: toml::Table,
}

/// Front matter an editor has to fix: where, and what to write instead.
#[derive(Debug, thiserror::Error)]
#[error("{location}: {message}")]
pub struct FrontMatterError {
    pub location: Location,
    pub message: String,
}

/// The front matter as written: the typed keys, in TOML's own deserializer.
#[derive(serde::Deserialize)]
struct Written {
    title: Option<Text>,
    description: Option<Text>,
    template: Option<Spanned<Text>>,
    date: Option<DateValue>,
    updated: Option<DateValue>,
    draft: Option<Flag>,
    weight: Option<Whole>,
    slug: Option<Segment>,
    translation_key: Option<Text>,
    version: Option<Spanned<Version>>,
    effective_date: Option<DateValue>,
    toc: Option<Flag>,
    translation_of: Option<Text>,
    noindex: Option<Flag>,
    placeholder: Option<Spanned<Flag>>,
    #[serde(flatten)]
    extra: toml::Table,
}

/// Every message about a value's shape starts so, and is completed with the key's name.
const SHAPE: &str = "must be ";

/// A value of the one shape `pick` accepts; any other is an error saying what `expected` is.
fn shaped<'de, D: Deserializer<'de>, T>(
    deserializer: D,
    expected: &str,
    pick: impl FnOnce(Value) -> Option<T>,
) -> Result<T, D::Error> {
    pick(Value::deserialize(deserializer)?)
        .ok_or_else(|| D::Error::custom(format!("{SHAPE}{expected}")))
}

/// Text in quotes.
struct Text(String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        shaped(d, "text in quotes, like `\"...\"`", |v| match v {
            Value::String(s) => Some(Self(s)),
            _ => None,
        })
    }
}

/// `true` or `false`.
struct Flag(bool);

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        shaped(d, "true or false (without quotes)", |v| {
            v.as_bool().map(Self)
        })
    }
}

/// A whole number.
struct Whole(i64);

impl<'de> Deserialize<'de> for Whole {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        shaped(d, "a whole number, like `10`", |v| v.as_integer().map(Self))
    }
}

/// A date, written as a TOML date (`2024-02-11`) or a string (`"2024-02-11"`).
struct DateValue(Date);

impl<'de> Deserialize<'de> for DateValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        shaped(d, "a date written YYYY-MM-DD, like `2024-02-11`", |v| {
            let text = match v {
                Value::String(s) => s,
                Value::Datetime(dt) if dt.time.is_none() => {
                    let d = dt.date?;
                    format!("{:04}-{:02}-{:02}", d.year, d.month, d.day)
                }
                _ => return None,
            };
            kelisim_manifest::dates::parse_date(&text).map(Self)
        })
    }
}

/// One URL segment (a `slug`).
struct Segment(String);

impl<'de> Deserialize<'de> for Segment {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let Text(text) = Text::deserialize(d)?;
        if is_url_segment(&text) {
            Ok(Self(text))
        } else {
            Err(D::Error::custom(format!(
                "{SHAPE}one URL segment: letters, digits and hyphens, no `/`"
            )))
        }
    }
}

/// A policy version: a number (`version = 1`) or text (`version = "2024-02"`), usable in a URL.
struct Version(String);

impl<'de> Deserialize<'de> for Version {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = shaped(d, "text like `\"2024-02-11\"`", |v| match v {
            Value::String(s) => Some(s),
            Value::Integer(i) => Some(i.to_string()),
            Value::Float(f) => Some(f.to_string()),
            _ => None,
        })?;
        if is_url_segment(&text) {
            Ok(Self(text))
        } else {
            Err(D::Error::custom(format!(
                "{SHAPE}usable in a URL: letters, digits, dots and hyphens only"
            )))
        }
    }
}

fn is_url_segment(s: &str) -> bool {
    !s.is_empty()
        && s != "."
        && s != ".."
        && s.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Parses the front matter's text. `source` is the file (for messages); line numbers count
/// the opening `+++` line, which comes just before `text`.
pub fn parse(text: &str, source: &Path) -> Result<FrontMatter, FrontMatterError> {
    let line = |offset: usize| line_of(text, offset) + 1;
    let written: Written = toml::from_str(text).map_err(|e| {
        let at = e.span().map_or(2, |s| line(s.start));
        let message = e.message().trim();
        let message = match message.strip_prefix(SHAPE) {
            Some(expected) => format!(
                "`{}` must be {expected}. Fix the value and build again.",
                key_on_line(text, at - 1)
            ),
            None => format!(
                "the front matter is not valid TOML ({}). Write settings as `key = \"value\"`, one per line.",
                message.replace('\n', "; ")
            ),
        };
        FrontMatterError {
            location: Location::new(source, at),
            message,
        }
    })?;
    let title = written.title.ok_or_else(|| FrontMatterError {
        location: Location::new(source, 1),
        message: "the page has no title. Add `title = \"...\"` to its front matter.".to_owned(),
    })?;
    let (template, template_line) = match written.template {
        Some(t) => (Some(t.get_ref().0.clone()), line(t.span().start)),
        None => (None, 2),
    };
    let (version, version_line) = match written.version {
        Some(v) => (Some(v.get_ref().0.clone()), line(v.span().start)),
        None => (None, 2),
    };
    let (placeholder, placeholder_line) = match written.placeholder {
        Some(p) => (p.get_ref().0, line(p.span().start)),
        None => (false, 2),
    };
    let text_of = |t: Option<Text>| t.map(|Text(s)| s);
    let date_of = |d: Option<DateValue>| d.map(|DateValue(d)| d);
    Ok(FrontMatter {
        title: title.0,
        description: text_of(written.description),
        template,
        template_line,
        date: date_of(written.date),
        updated: date_of(written.updated),
        draft: written.draft.is_some_and(|Flag(b)| b),
        weight: written.weight.map_or(0, |Whole(w)| w),
        slug: written.slug.map(|Segment(s)| s),
        translation_key: text_of(written.translation_key),
        version,
        version_line,
        effective_date: date_of(written.effective_date),
        toc: written.toc.is_some_and(|Flag(b)| b),
        translation_of: text_of(written.translation_of),
        noindex: written.noindex.map(|Flag(b)| b),
        placeholder,
        placeholder_line,
        extra: written.extra,
    })
}

/// The key written on the 1-based `line` of the front matter (`key = value`).
fn key_on_line(text: &str, line: usize) -> String {
    text.lines()
        .nth(line.saturating_sub(1))
        .and_then(|l| l.split_once('='))
        .map(|(key, _)| key.trim().trim_matches('"').to_owned())
        .unwrap_or_default()
}

/// A front-matter field a policy page lacks, with an example of how to write it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingPolicyField {
    /// The page's file (line 1: the field is missing, so it has no line of its own).
    pub location: Location,
    pub field: &'static str,
    pub example: &'static str,
}

impl FrontMatter {
    /// `version` and `effective_date`: every policy page, current or archived, needs both,
    /// because the consent manifest names them. `source` is the page's file, for the message.
    pub fn policy_version(&self, source: &Path) -> Result<(String, Date), MissingPolicyField> {
        let missing = |field, example| MissingPolicyField {
            location: Location::new(source, 1),
            field,
            example,
        };
        let version = (self.version.clone()).ok_or_else(|| missing("version", "\"1.0\""))?;
        let effective_date =
            (self.effective_date).ok_or_else(|| missing("effective_date", "2024-02-11"))?;
        Ok((version, effective_date))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<FrontMatter, String> {
        parse(text, Path::new("content/kk/x.md")).map_err(|e| e.to_string())
    }

    #[test]
    fn spans_give_the_lines_of_template_and_version() {
        let front = read("title = \"T\"\n\ntemplate = \"page.html\"\nversion = 1.5\n").expect("ok");
        // Line 1 of the file is the opening `+++`.
        assert_eq!(front.template_line, 4);
        assert_eq!(front.version_line, 5);
        assert_eq!(front.version.as_deref(), Some("1.5"));
        let front = read("title = \"T\"\n").expect("ok");
        assert_eq!((front.template_line, front.version_line), (2, 2));
        assert!(!front.placeholder);
        let front = read("title = \"T\"\nplaceholder = true\n").expect("ok");
        assert_eq!((front.placeholder, front.placeholder_line), (true, 3));
    }

    #[test]
    fn other_keys_reach_extra_with_their_types() {
        let front =
            read("title = \"T\"\nform = true\nsince = 2024-02-11\nnote = \"n\"\n").expect("ok");
        assert_eq!(front.extra.get("form"), Some(&Value::Boolean(true)));
        assert!(matches!(front.extra.get("since"), Some(Value::Datetime(_))));
        assert_eq!(front.extra.len(), 3);
        assert!(!front.extra.contains_key("title"));
    }

    #[test]
    fn a_wrong_shape_names_the_key_line_and_what_to_write() {
        for (text, want) in [
            (
                "title = \"T\"\nweight = \"1\"\n",
                "content/kk/x.md:3: `weight` must be a whole number",
            ),
            (
                "title = 1\n",
                "content/kk/x.md:2: `title` must be text in quotes",
            ),
            (
                "title = \"T\"\ndate = \"2024-02-30\"\n",
                "content/kk/x.md:3: `date` must be a date written YYYY-MM-DD",
            ),
            (
                "title = \"T\"\neffective_date = \"11.02.2024\"\n",
                "content/kk/x.md:3: `effective_date` must be a date",
            ),
            (
                "title = \"T\"\n\n\nversion = \"1/2\"\n",
                "content/kk/x.md:5: `version` must be usable in a URL",
            ),
            (
                "title = \"T\"\nnoindex = \"yes\"\n",
                "content/kk/x.md:3: `noindex` must be true or false",
            ),
        ] {
            let err = read(text).expect_err(text);
            assert!(err.starts_with(want), "{text:?}: {err}");
        }
    }
}
