//! Tera's errors as an editor reads them: the template file and line, and one sentence
//! (a syntax error, a missing parent or template, a UI string that does not exist).

use std::path::PathBuf;

use super::{RenderError, Renderer, TemplateSource};
use crate::load::i18n::LocaleError;
use crate::load::source::{Location, line_of};

impl Renderer {
    /// A failed render of `template`, in the template (of its inheritance chain) where it
    /// happened; a missing or broken UI string at the line that asked for it.
    pub(super) fn render_error(&self, template: &str, error: &tera::Error) -> RenderError {
        // Tera says which template (in an inheritance chain) the error happened in.
        let messages = chain(error);
        let culprit = messages
            .iter()
            .find_map(|m| between(m, "error happened in '", "'"))
            .unwrap_or(template)
            .to_owned();
        let path = self
            .source(&culprit)
            .map(|s| s.path.clone())
            .unwrap_or_else(|| PathBuf::from(&culprit));
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
        while let Some(e) = source {
            if let Some(locale) = e.downcast_ref::<LocaleError>() {
                return self.locale_error(&culprit, locale);
            }
            source = e.source();
        }
        RenderError::Template {
            path,
            message: messages.join(": "),
        }
    }

    /// Points at the template line that asked for the string (searching the culprit first,
    /// then every template, for the quoted key).
    fn locale_error(&self, culprit: &str, error: &LocaleError) -> RenderError {
        let key = match error {
            LocaleError::Missing { key, .. } | LocaleError::Format { key, .. } => key.as_str(),
            _ => "",
        };
        let in_source = |s: &TemplateSource| {
            [format!("\"{key}\""), format!("'{key}'")]
                .iter()
                .find_map(|needle| s.text.find(needle.as_str()))
                .map(|offset| Location::new(&s.path, line_of(&s.text, offset)))
        };
        let location = self
            .source(culprit)
            .and_then(in_source)
            .or_else(|| self.sources.iter().find_map(in_source))
            .or_else(|| self.source(culprit).map(|s| Location::new(&s.path, 1)))
            .unwrap_or_else(|| Location::new(culprit, 1));
        match error {
            LocaleError::Missing { key, default } => RenderError::MissingString {
                location,
                key: key.clone(),
                default: default.clone(),
            },
            other => RenderError::String {
                location,
                message: other.to_string(),
            },
        }
    }
}

fn chain(error: &tera::Error) -> Vec<String> {
    let mut out = vec![error.to_string()];
    let mut source = std::error::Error::source(error);
    while let Some(e) = source {
        out.push(e.to_string());
        source = e.source();
    }
    out
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let len = text[from..].find(end)?;
    Some(&text[from..from + len])
}

/// Turns a Tera parse/inheritance error into `file:line: message`.
pub(super) fn template_error(sources: &[TemplateSource], error: &tera::Error) -> RenderError {
    let messages = chain(error);
    if let tera::ErrorKind::MissingParent { current, parent } = &error.kind {
        let source = sources.iter().find(|s| &s.name == current);
        let line = source
            .and_then(|s| s.text.find("extends").map(|o| line_of(&s.text, o)))
            .unwrap_or(1);
        let path = source
            .map(|s| s.path.clone())
            .unwrap_or_else(|| PathBuf::from(current));
        return RenderError::UnknownTemplate {
            location: Location::new(path, line),
            name: parent.clone(),
            available: sources
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        };
    }
    let name = messages
        .first()
        .and_then(|m| between(m, "Failed to parse '", "'"))
        .unwrap_or("");
    let source = sources.iter().find(|s| s.name == name);
    let path = source
        .map(|s| s.path.clone())
        .unwrap_or_else(|| PathBuf::from(name));
    // pest reports positions as ` --> line:column`.
    let detail = messages.get(1).cloned().unwrap_or_default();
    let line = between(&detail, "--> ", ":").and_then(|l| l.trim().parse::<usize>().ok());
    match line {
        Some(line) => RenderError::Syntax {
            location: Location::new(path, line),
            message: pest_summary(&detail),
        },
        None => RenderError::Template {
            path,
            message: messages.join(": "),
        },
    }
}

/// The useful last line of a pest error ("expected ...").
fn pest_summary(detail: &str) -> String {
    detail
        .lines()
        .rev()
        .map(|l| l.trim().trim_start_matches('=').trim())
        .find(|l| !l.is_empty())
        .unwrap_or("unexpected text")
        .to_owned()
}
