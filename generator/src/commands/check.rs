//! `kelisim check`: builds the site in memory and reports what would embarrass it in
//! production, each finding with `file:line` and a plain sentence: broken internal links and
//! anchors, missing translations, policy sections that differ between languages, Fluent keys in
//! one language only or unused, non-reciprocal `hreflang`, an unlocked or drifted policy, images
//! without alt text, and the external links (fetched only with `--external`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::build::{BuildOptions, LoadedSite, load_site, render_loaded};
use crate::emit::built::BuiltSite;
use crate::load::source::{Location, line_of};
use crate::model::policy::PolicyText;

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
    /// `hreflang`, `policy-lock`, `images`, `external`, `build`).
    pub check: &'static str,
    pub file: PathBuf,
    pub line: usize,
    pub message: String,
}

impl Finding {
    fn new(
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

/// Keys the generator formats in code rather than in a template.
const KEYS_USED_IN_CODE: &[&str] = &[
    "site-name",
    "site-description",
    "policy-changes-title",
    "policy-changes-intro",
    "policy-changes-none",
    "policy-changes-added",
    "policy-changes-removed",
    "policy-changes-changed",
];

/// Runs every check on the site at `root`.
pub fn run(root: &Path, options: &CheckOptions) -> CheckReport {
    let mut findings = Vec::new();
    let build_options = BuildOptions::new(root);
    let loaded = match load_site(&build_options) {
        Ok(loaded) => loaded,
        Err(error) => return build_failed(&error.to_string()),
    };
    findings.extend(policy_lock(&loaded));
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
    findings.extend(translations(&loaded));
    let pages = Pages::new(&loaded, &site, root);
    findings.extend(links(&pages, &loaded.model.config.base_url));
    findings.extend(hreflang(&pages.html, &loaded.model.config.base_url));
    findings.extend(images(&pages));
    findings.extend(policy_structure(&loaded, root));
    findings.extend(fluent(&loaded, root));
    findings.extend(external(
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

/// `policy.lock`: a locked text or date that changed (an error), a version not locked yet
/// (a warning).
fn policy_lock(loaded: &LoadedSite) -> Vec<Finding> {
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

/// The external links: fetched when `fetch_them` (an error for one that does not answer),
/// otherwise listed as notes.
fn external(pages: &Pages, base_url: &str, fetch_them: bool) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (url, at) in external_links(pages, base_url) {
        if fetch_them {
            if let Err(reason) = fetch(&url) {
                findings.push(Finding::new(
                    Severity::Error,
                    "external",
                    at,
                    format!("the external link {url} does not answer: {reason}."),
                ));
            }
        } else {
            findings.push(Finding::new(
                Severity::Note,
                "external",
                at,
                format!("external link {url} (not fetched; `--external` fetches it)."),
            ));
        }
    }
    findings
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

/// The built HTML pages, with the content file each came from (where there is one).
struct Pages {
    /// Built path (`kk/privacy/index.html`) → HTML.
    html: BTreeMap<String, String>,
    /// Built path → (content file, its text).
    sources: BTreeMap<String, (PathBuf, String)>,
    /// Every built file's path (static files included).
    files: BTreeSet<String>,
}

impl Pages {
    fn new(loaded: &LoadedSite, site: &BuiltSite, root: &Path) -> Self {
        let mut html = BTreeMap::new();
        for path in site.paths().filter(|p| p.ends_with(".html")) {
            if let Some(bytes) = site.file(path) {
                html.insert(path.to_owned(), String::from_utf8_lossy(bytes).into_owned());
            }
        }
        let mut sources = BTreeMap::new();
        let archived = loaded.model.policies.archived().iter().map(|a| &a.page);
        for page in loaded.model.pages.iter().chain(archived) {
            let built = built_path(&page.url);
            if let Ok(text) = std::fs::read_to_string(root.join(&page.source)) {
                sources.insert(built, (page.source.clone(), text));
            }
        }
        Self {
            html,
            sources,
            files: site.paths().map(str::to_owned).collect(),
        }
    }

    /// Where an editor fixes `needle` found at `offset` of the built page `path`: the content
    /// file's line that has it, or else the built page's line (it comes from a template).
    fn locate(&self, path: &str, needle: &str, offset: usize) -> Location {
        if let Some((file, text)) = self.sources.get(path)
            && let Some(at) = text.find(needle)
        {
            return Location::new(file, line_of(text, at));
        }
        let html = self.html.get(path).map_or("", String::as_str);
        Location::new(format!("(built) {path}"), line_of(html, offset))
    }
}

/// `/kk/privacy/` → `kk/privacy/index.html`; `/404.html` → `404.html`.
fn built_path(url: &str) -> String {
    let path = url.trim_start_matches('/');
    if path.is_empty() || path.ends_with('/') {
        format!("{path}index.html")
    } else {
        path.to_owned()
    }
}

/// Every `name="value"` attribute in `html`, with the offset of the value.
fn attributes<'h>(html: &'h str, name: &str) -> Vec<(usize, &'h str)> {
    let needle = format!(" {name}=\"");
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(found) = html[from..].find(&needle) {
        let start = from + found + needle.len();
        let Some(len) = html[start..].find('"') else {
            break;
        };
        out.push((start, &html[start..start + len]));
        from = start + len;
    }
    out
}

/// The `id`s of a page.
fn ids(html: &str) -> BTreeSet<&str> {
    attributes(html, "id").into_iter().map(|(_, v)| v).collect()
}

/// The site path of a link if it points into the site: relative to the root, or absolute on
/// the site's own base URL.
fn internal<'u>(href: &'u str, base_url: &str) -> Option<&'u str> {
    if let Some(rest) = href.strip_prefix(base_url) {
        return Some(if rest.is_empty() { "/" } else { rest });
    }
    (href.starts_with('/') && !href.starts_with("//") || href.starts_with('#')).then_some(href)
}

/// Internal links whose page or `#anchor` does not exist.
fn links(pages: &Pages, base_url: &str) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (path, html) in &pages.html {
        for attr in ["href", "src"] {
            for (offset, href) in attributes(html, attr) {
                let Some(target) = internal(href, base_url) else {
                    continue;
                };
                let (target_path, anchor) = match target.split_once('#') {
                    Some((p, a)) => (p, Some(a)),
                    None => (target, None),
                };
                let target_path = target_path.split('?').next().unwrap_or_default();
                let file = if target_path.is_empty() {
                    Some(path.clone())
                } else {
                    let direct = target_path.trim_start_matches('/').to_owned();
                    let index = built_path(target_path);
                    let dir_index = format!("{direct}/index.html");
                    [index, direct, dir_index]
                        .into_iter()
                        .find(|candidate| pages.files.contains(candidate))
                };
                let Some(file) = file else {
                    findings.push(Finding::new(
                        Severity::Error,
                        "links",
                        pages.locate(path, href, offset),
                        format!("the link {href} on /{path} leads to no page of the site."),
                    ));
                    continue;
                };
                if let Some(anchor) = anchor.filter(|a| !a.is_empty())
                    && let Some(target_html) = pages.html.get(&file)
                    && !ids(target_html).contains(anchor)
                {
                    findings.push(Finding::new(
                        Severity::Error,
                        "anchors",
                        pages.locate(path, href, offset),
                        format!(
                            "the link {href} on /{path} names the anchor #{anchor}, which /{file} does not have."
                        ),
                    ));
                }
            }
        }
    }
    findings
}

/// `<link rel="alternate" hreflang>` pairs that do not point back.
pub fn hreflang(html: &BTreeMap<String, String>, base_url: &str) -> Vec<Finding> {
    let alternates = |page: &str| -> Vec<(usize, String, String)> {
        let mut out = Vec::new();
        let mut from = 0;
        while let Some(found) = page[from..].find("<link rel=\"alternate\" hreflang=\"") {
            let start = from + found;
            let end = page[start..].find('>').map_or(page.len(), |e| start + e);
            let tag = &page[start..end];
            let lang = attributes(tag, "hreflang")
                .first()
                .map(|(_, v)| v.to_string());
            let href = attributes(tag, "href").first().map(|(_, v)| v.to_string());
            if let (Some(lang), Some(href)) = (lang, href) {
                out.push((start, lang, href));
            }
            from = end;
        }
        out
    };
    let mut findings = Vec::new();
    for (path, page) in html {
        let own_url = format!("{base_url}/{}", path.trim_end_matches("index.html"));
        // A copy (the root 404.html, a current policy's permanent URL) names its original as
        // canonical and repeats the original's alternates; the pairs are the original's.
        let canonical = page
            .find("<link rel=\"canonical\"")
            .and_then(|at| attributes(&page[at..], "href").first().map(|(_, v)| *v));
        if canonical.is_some_and(|c| c != own_url) {
            continue;
        }
        for (offset, lang, href) in alternates(page) {
            if lang == "x-default" || href == own_url {
                continue;
            }
            let Some(target) = href.strip_prefix(base_url).map(built_path) else {
                continue;
            };
            let Some(other) = html.get(&target) else {
                continue; // a missing page is the links check's finding
            };
            if !alternates(other)
                .iter()
                .any(|(_, _, back)| *back == own_url)
            {
                findings.push(Finding::new(
                    Severity::Error,
                    "hreflang",
                    Location::new(format!("(built) {path}"), line_of(page, offset)),
                    format!(
                        "/{path} names {href} as its `{lang}` version, but that page does not name {own_url} back."
                    ),
                ));
            }
        }
    }
    findings
}

/// Pages that lack a version in one of the site's languages.
fn translations(loaded: &LoadedSite) -> Vec<Finding> {
    let model = &loaded.model;
    let mut findings = Vec::new();
    for page in &model.pages {
        for lang in &model.languages {
            if !page.translations.iter().any(|t| &t.lang == lang) {
                findings.push(Finding::new(
                    Severity::Warning,
                    "translations",
                    Location::new(&page.source, 1),
                    format!(
                        "{} has no `{lang}` translation: add content/{lang}/{}.md (or a page with translation_key = \"{}\").",
                        page.url, page.key, page.key
                    ),
                ));
            }
        }
    }
    findings
}

/// `<img>` without an `alt` attribute.
fn images(pages: &Pages) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (path, html) in &pages.html {
        let mut from = 0;
        while let Some(found) = html[from..].find("<img") {
            let start = from + found;
            let end = html[start..].find('>').map_or(html.len(), |e| start + e);
            let tag = &html[start..end];
            if !tag.contains(" alt=") {
                let src = attributes(tag, "src")
                    .first()
                    .map_or("", |(_, v)| *v)
                    .to_owned();
                findings.push(Finding::new(
                    Severity::Error,
                    "images",
                    pages.locate(path, &src, start),
                    format!(
                        "the image {src} on /{path} has no alt text. Describe it (`![what it shows]({src})`), or give it an empty alt if it is decoration."
                    ),
                ));
            }
            from = end;
        }
    }
    findings
}

/// Links to other sites, each once, where it first appears.
fn external_links(pages: &Pages, base_url: &str) -> Vec<(String, Location)> {
    let mut seen = BTreeMap::new();
    for (path, html) in &pages.html {
        for (offset, href) in attributes(html, "href") {
            let is_web = href.starts_with("http://") || href.starts_with("https://");
            if is_web && internal(href, base_url).is_none() && !seen.contains_key(href) {
                seen.insert(href.to_owned(), pages.locate(path, href, offset));
            }
        }
    }
    seen.into_iter().collect()
}

/// A GET that must end in a 2xx or 3xx answer within 10 seconds.
fn fetch(url: &str) -> Result<(), String> {
    let agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .new_agent();
    match agent.get(url).call() {
        Ok(_) => Ok(()),
        Err(error) => Err(error.to_string()),
    }
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
fn policy_structure(loaded: &LoadedSite, root: &Path) -> Vec<Finding> {
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

/// Fluent keys defined in one language only, and `main.ftl` keys nothing uses.
fn fluent(loaded: &LoadedSite, root: &Path) -> Vec<Finding> {
    let locales = &loaded.locales;
    let languages: Vec<&str> = loaded.model.languages.iter().map(|l| l.as_str()).collect();
    let keys: BTreeMap<&str, BTreeSet<String>> = languages
        .iter()
        .map(|l| (*l, locales.keys(l).into_iter().collect()))
        .collect();
    let all: BTreeSet<&String> = keys.values().flatten().collect();
    let mut findings = missing_translations(locales, &languages, &keys, &all);
    let used = used_keys(loaded, root);
    for key in &all {
        if used.contains(key.as_str()) {
            continue;
        }
        for lang in &languages {
            let Some(at) = locales.origin(lang, key) else {
                continue;
            };
            if at
                .file
                .file_name()
                .is_some_and(|n| n == crate::load::i18n::RELAY_FILE)
            {
                continue; // the relay's own messages
            }
            findings.push(Finding::new(
                Severity::Warning,
                "fluent",
                at.clone(),
                format!("`{key}` is not used by any template. Remove it, or use it with t(key=\"{key}\")."),
            ));
        }
    }
    findings
}

/// A finding for each Fluent key that some language defines and another lacks.
fn missing_translations(
    locales: &crate::load::i18n::Locales,
    languages: &[&str],
    keys: &BTreeMap<&str, BTreeSet<String>>,
    all: &BTreeSet<&String>,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    for key in all {
        let has: Vec<&str> = languages
            .iter()
            .copied()
            .filter(|l| keys[l].contains(*key))
            .collect();
        for lang in languages.iter().filter(|l| !has.contains(l)) {
            let Some(at) = has.first().and_then(|l| locales.origin(l, key)) else {
                continue;
            };
            findings.push(Finding::new(
                Severity::Warning,
                "fluent",
                at.clone(),
                format!(
                    "`{key}` has no `{lang}` text: add `{key} = ...` to locales/{lang}/{}.",
                    at.file
                        .file_name()
                        .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
                ),
            ));
        }
    }
    findings
}

/// Every Fluent key the site may use: those named in code, any key-shaped word in a
/// template, the form fields' labels and hints, and one consent label per purpose.
fn used_keys(loaded: &LoadedSite, root: &Path) -> BTreeSet<String> {
    let templates = crate::load::templates::load_templates(root, &loaded.model.config.theme)
        .unwrap_or_default();
    let mut used: BTreeSet<String> = KEYS_USED_IN_CODE.iter().map(|k| (*k).to_owned()).collect();
    // Any key-shaped word in a template counts as a use: `t(key="…")`, and macro arguments
    // such as `label_key="form-surname"` that reach t() later.
    for template in &templates {
        used.extend(
            template
                .text
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
                .filter(|w| !w.is_empty())
                .map(str::to_owned),
        );
    }
    // The form's labels and hints are named in code from the fields the manifest defines.
    for field in kelisim_manifest::form::person_fields() {
        let key = format!("form-{}", field.name.replace('_', "-"));
        used.insert(format!("{key}-hint"));
        used.insert(key);
    }
    // `t(key="consent-" ~ purpose.id)` names one key per purpose.
    for purpose in &loaded.model.config.purposes {
        used.insert(format!("consent-{}", purpose.id));
    }
    used
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

    #[test]
    fn hreflang_that_does_not_point_back_is_an_error_on_its_line() {
        let base = "https://example.kz";
        let mut html = BTreeMap::new();
        html.insert(
            "kk/a/index.html".to_owned(),
            "<head>\n<link rel=\"alternate\" hreflang=\"kk\" href=\"https://example.kz/kk/a/\">\n<link rel=\"alternate\" hreflang=\"ru\" href=\"https://example.kz/ru/a/\">\n".to_owned(),
        );
        html.insert(
            "ru/a/index.html".to_owned(),
            "<head>\n<link rel=\"alternate\" hreflang=\"ru\" href=\"https://example.kz/ru/a/\">\n"
                .to_owned(),
        );
        let findings = hreflang(&html, base);
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert_eq!(findings[0].file, Path::new("(built) kk/a/index.html"));
        assert_eq!(findings[0].line, 3);
        assert_eq!(
            findings[0].message,
            "/kk/a/index.html names https://example.kz/ru/a/ as its `ru` version, but that page does not name https://example.kz/kk/a/ back."
        );
        html.insert(
            "ru/a/index.html".to_owned(),
            "<link rel=\"alternate\" hreflang=\"kk\" href=\"https://example.kz/kk/a/\">\n"
                .to_owned(),
        );
        assert!(hreflang(&html, base).is_empty());
    }
}
