//! The `hreflang` check: every `<link rel="alternate" hreflang>` a page names is named back
//! by the page it points at.

use std::collections::BTreeMap;

use super::built_pages::{attributes, built_path};
use super::{Finding, Severity};
use crate::load::source::{Location, line_of};

/// `<link rel="alternate" hreflang>` pairs that do not point back.
pub(super) fn hreflang(html: &BTreeMap<String, String>, base_url: &str) -> Vec<Finding> {
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

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
