//! The policy checks: `policy-lock` (a locked text, date or consent label that changed, a
//! version not locked yet), `policy-placeholder` (a policy that is still `kelisim init`'s
//! placeholder, which a build refuses) and `policy-structure` (the same version has the same
//! sections, anchors and clause numbers in every language).

use std::path::Path;

use kelisim_manifest::ConsentManifest;

use super::{Finding, Severity};
use crate::build::{LoadedSite, label_problems};
use crate::load::source::{Location, line_of};
use crate::model::policy::PolicyText;

/// `policy.lock`: a locked text or date that changed (an error), a version not locked yet
/// (a warning).
pub(super) fn policy_lock(loaded: &LoadedSite) -> Vec<Finding> {
    let mut findings = Vec::new();
    for problem in loaded.lock.problems(&loaded.model.policies) {
        findings.push(Finding::new(
            Severity::Error,
            "policy-lock",
            problem.location(),
            problem.to_string(),
        ));
    }
    for text in loaded.lock.unlocked(&loaded.model.policies) {
        findings.push(Finding::new(
            Severity::Warning,
            "policy-lock",
            text.source.clone(),
            format!(
                "policy version {} ({}) is not in policy.lock yet. Run `kelisim build` and commit policy.lock.",
                text.version, text.lang
            ),
        ));
    }
    findings
}

/// A consent label that changed under a locked policy version (an error, as in a build).
pub(super) fn labels_locked(loaded: &LoadedSite, manifest: &ConsentManifest) -> Vec<Finding> {
    label_problems(loaded, manifest)
        .into_iter()
        .map(|problem| {
            let at = problem.location();
            let message = without_location(&at, &problem.to_string());
            Finding::new(Severity::Error, "policy-lock", at, message)
        })
        .collect()
}

/// An error's sentence without the `file:line: ` it starts with (the finding names the place).
fn without_location(at: &Location, text: &str) -> String {
    text.strip_prefix(&format!("{at}: "))
        .unwrap_or(text)
        .to_owned()
}

/// A policy that is still a placeholder: `kelisim build` refuses to publish it.
pub(super) fn placeholders(loaded: &LoadedSite) -> Vec<Finding> {
    loaded
        .model
        .policies
        .placeholders()
        .map(|placeholder| {
            let at = placeholder.location.clone();
            let message = without_location(&at, &placeholder.to_string());
            Finding::new(Severity::Error, "policy-placeholder", at, message)
        })
        .collect()
}

/// The clause numbers (`4.1.`) and heading anchors of a policy text, with the line of each
/// in its Markdown source.
fn structure(markdown: &str) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let mut offset = 0;
    for line in markdown.split_inclusive('\n') {
        let text = line.trim();
        if text.starts_with('#') {
            if let Some(start) = text.find("{#") {
                let id = text[start + 2..].trim_end_matches('}').trim();
                out.push((format!("#{id}"), line_of(markdown, offset)));
            }
        } else if let Some(number) = clause_number(text) {
            out.push((number.to_owned(), line_of(markdown, offset)));
        }
        offset += line.len();
    }
    out
}

/// `4.1.` at the start of a paragraph.
fn clause_number(text: &str) -> Option<&str> {
    let end = text.find(' ')?;
    let head = &text[..end];
    let valid = head.ends_with('.')
        && head.contains(|c: char| c.is_ascii_digit())
        && head.chars().all(|c| c.is_ascii_digit() || c == '.')
        && head.matches('.').count() >= 2;
    valid.then_some(head)
}

/// The same policy version in each language has the same sections, anchors and clauses.
pub(super) fn policy_structure(loaded: &LoadedSite, root: &Path) -> Vec<Finding> {
    let mut findings = Vec::new();
    let model = &loaded.model;
    let reference = model.default_lang().as_str();
    for original in model.policies.history(reference) {
        let Ok(original_text) = std::fs::read_to_string(root.join(&original.source.file)) else {
            continue;
        };
        let expected = structure(&original_text);
        for lang in model.languages.iter().filter(|l| l.as_str() != reference) {
            let Some(translation) = model.policies.version(lang.as_str(), &original.version) else {
                continue;
            };
            let file = &translation.source.file;
            let Ok(text) = std::fs::read_to_string(root.join(file)) else {
                continue;
            };
            let found = structure(&text);
            let message = structure_mismatch(&expected, &found, original, reference);
            if let Some((line, message)) = message {
                findings.push(Finding::new(
                    Severity::Error,
                    "policy-structure",
                    Location::new(file, line),
                    message,
                ));
            }
        }
    }
    findings
}

/// Where a translation's structure (`found`) first departs from the reference language's
/// (`expected`, from `original`): a different entry, or one extra or missing at the end. The
/// line in the translation and the sentence to show.
fn structure_mismatch(
    expected: &[(String, usize)],
    found: &[(String, usize)],
    original: &PolicyText,
    reference: &str,
) -> Option<(usize, String)> {
    let mismatch = expected
        .iter()
        .zip(found)
        .find(|(want, got)| want.0 != got.0);
    match mismatch {
        Some((want, got)) => Some((
            got.1,
            format!(
                "policy version {} has `{}` here where the {reference} text ({}:{}) has `{}`. Keep the same sections, anchors and clause numbers in every language.",
                original.version,
                got.0,
                original.source.file.display(),
                want.1,
                want.0
            ),
        )),
        None if expected.len() != found.len() => {
            let (line, what) = if found.len() > expected.len() {
                (
                    found[expected.len()].1,
                    format!("has an extra `{}`", found[expected.len()].0),
                )
            } else {
                (
                    found.last().map_or(1, |f| f.1),
                    format!("lacks `{}`", expected[found.len()].0),
                )
            };
            Some((
                line,
                format!(
                    "policy version {} {what} compared with the {reference} text ({}). Keep the same sections, anchors and clause numbers in every language.",
                    original.version,
                    original.source.file.display()
                ),
            ))
        }
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clause_numbers_and_anchors() {
        let md = "## 1. A {#section-1}\n\n1.1. Text.\n\n1. list item\n\n12.3. More\n";
        let found: Vec<(String, usize)> = structure(md);
        assert_eq!(
            found,
            [
                ("#section-1".into(), 1),
                ("1.1.".into(), 3),
                ("12.3.".into(), 7)
            ]
        );
    }
}
