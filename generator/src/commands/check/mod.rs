//! `kelisim check`: builds the site in memory and reports what would embarrass it in
//! production, each finding with `file:line` and a plain sentence. [`run`] calls one module
//! per family of checks: `links.rs` (broken internal links and anchors, the external links,
//! fetched only with `--external`), `translations.rs` (missing translations, Fluent keys in one
//! language only or unused), `policy.rs` (policy sections that differ between languages, an
//! unlocked or drifted policy or consent label, a placeholder policy), `labels.rs` (a consent
//! label whose period differs from `retention_days`), `hreflang.rs` (non-reciprocal
//! alternates) and `images.rs` (images without alt text); they read the built pages through
//! `built_pages.rs`.

mod built_pages;
mod hreflang;
mod images;
mod labels;
mod links;
mod policy;
mod translations;

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::build::{BuildOptions, load_site, render_loaded};
use crate::load::source::Location;
use built_pages::Pages;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Makes `kelisim check` exit 1.
    Error,
    /// Exits 1 only with `--deny-warnings`.
    Warning,
    /// For information (the list of external links).
    Note,
}

/// One problem found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub severity: Severity,
    /// Which check found it (`links`, `anchors`, `translations`, `policy-structure`, `fluent`,
    /// `hreflang`, `policy-lock`, `policy-placeholder`, `consent-period`, `images`, `external`,
    /// `build`).
    pub check: &'static str,
    pub file: PathBuf,
    pub line: usize,
    pub message: String,
}

impl Finding {
    pub(super) fn new(
        severity: Severity,
        check: &'static str,
        at: Location,
        message: impl Into<String>,
    ) -> Self {
        Self {
            severity,
            check,
            file: at.file,
            line: at.line,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let label = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        };
        write!(
            f,
            "{label}: {}:{}: {} [{}]",
            self.file.display(),
            self.line,
            self.message,
            self.check
        )
    }
}

/// What to check.
#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    /// Fetch every external link (needs a network).
    pub external: bool,
}

/// Every finding, errors first, then by file and line.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CheckReport {
    pub findings: Vec<Finding>,
}

impl CheckReport {
    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }
}

/// Runs every check on the site at `root`.
pub fn run(root: &Path, options: &CheckOptions) -> CheckReport {
    let mut findings = Vec::new();
    let build_options = BuildOptions::new(root);
    let loaded = match load_site(&build_options) {
        Ok(loaded) => loaded,
        Err(error) => return build_failed(&error.to_string()),
    };
    findings.extend(policy::policy_lock(&loaded));
    findings.extend(policy::placeholders(&loaded));
    let site = match render_loaded(&loaded) {
        Ok(site) => site,
        Err(error) => {
            let mut report = build_failed(&error.to_string());
            report.findings.extend(findings);
            return report;
        }
    };
    for warning in &site.warnings {
        // Build warnings start with `file:line: ` or `file: `. A missing translation is the
        // translations check's own finding below.
        if warning.contains("` translation (") {
            continue;
        }
        let (at, message) = split_location(warning);
        findings.push(Finding::new(Severity::Warning, "build", at, message));
    }
    findings.extend(policy::labels_locked(&loaded, &site.manifest));
    findings.extend(labels::consent_periods(&loaded, &site.manifest));
    findings.extend(translations::translations(&loaded));
    let pages = Pages::new(&loaded, &site, root);
    findings.extend(links::links(&pages, &loaded.model.config.base_url));
    findings.extend(hreflang::hreflang(
        &pages.html,
        &loaded.model.config.base_url,
    ));
    findings.extend(images::images(&pages));
    findings.extend(policy::policy_structure(&loaded, root));
    findings.extend(translations::fluent(&loaded, root));
    findings.extend(links::external(
        &pages,
        &loaded.model.config.base_url,
        options.external,
    ));
    findings.sort_by(|a, b| {
        (a.severity, &a.file, a.line, &a.message).cmp(&(b.severity, &b.file, b.line, &b.message))
    });
    findings.dedup();
    CheckReport { findings }
}

fn build_failed(message: &str) -> CheckReport {
    let (at, message) = split_location(message);
    CheckReport {
        findings: vec![Finding::new(Severity::Error, "build", at, message)],
    }
}

/// `content/kk/a.md:3: text` → (content/kk/a.md:3, text); `file: text` → (file:1, text).
fn split_location(text: &str) -> (Location, String) {
    let Some((head, rest)) = text.split_once(": ") else {
        return (Location::new("site.toml", 1), text.to_owned());
    };
    if head.contains(' ') {
        return (Location::new("site.toml", 1), text.to_owned());
    }
    match head.rsplit_once(':') {
        Some((file, line)) if line.parse::<usize>().is_ok() => (
            Location::new(file, line.parse().unwrap_or(1)),
            rest.to_owned(),
        ),
        _ => (Location::new(head, 1), rest.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_build_messages_into_location_and_sentence() {
        let (at, text) = split_location("content/kk/a.md:3: no title");
        assert_eq!(
            (at.to_string(), text.as_str()),
            ("content/kk/a.md:3".into(), "no title")
        );
        let (at, text) = split_location("locales/ru/: the UI string");
        assert_eq!(
            (at.to_string(), text.as_str()),
            ("locales/ru/:1".into(), "the UI string")
        );
    }
}
