//! The `links`, `anchors` and `external` checks: every internal link and `#anchor` leads to
//! a page and an id the site has; the links to other sites are listed, or fetched with
//! `--external`.

use std::collections::BTreeMap;
use std::time::Duration;

use super::built_pages::{Pages, attributes, built_path, ids, internal};
use super::{Finding, Severity};
use crate::load::source::Location;

/// Internal links whose page or `#anchor` does not exist.
pub(super) fn links(pages: &Pages, base_url: &str) -> Vec<Finding> {
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

/// The external links: fetched when `fetch_them` (an error for one that does not answer),
/// otherwise listed as notes.
pub(super) fn external(pages: &Pages, base_url: &str, fetch_them: bool) -> Vec<Finding> {
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
