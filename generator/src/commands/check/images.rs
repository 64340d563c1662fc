//! The `images` check: every `<img>` of the built pages has an `alt` attribute.

use super::built_pages::{Pages, attributes};
use super::{Finding, Severity};

/// `<img>` without an `alt` attribute.
pub(super) fn images(pages: &Pages) -> Vec<Finding> {
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
