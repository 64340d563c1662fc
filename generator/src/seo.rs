//! The search-engine consumer of the site model: hreflang alternates (every translation,
//! itself included, plus `x-default`), `sitemap.xml` with `xhtml:link` alternates, and
//! `robots.txt`. The sitemap lists exactly the pages that are content: the chooser and every
//! page without `noindex`, each once (a policy's permanent copy points its canonical at the
//! policy page instead).
//!
//! Alternates go both into each page's `<head>` and into the sitemap: Yandex no longer reads
//! them from sitemaps, Google reads either.

use serde::Serialize;

use crate::i18n::escape_html;
use crate::model::SiteModel;
use crate::page::Translation;

/// One `<link rel="alternate" hreflang=... href=...>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alternate {
    /// A language code or `x-default`.
    pub hreflang: String,
    /// Absolute URL.
    pub href: String,
}

/// The alternates of a page: one per available translation (in the site's language order,
/// the page itself included) and `x-default` (absolute). All URLs absolute.
pub fn alternates(
    model: &SiteModel,
    translations: &[Translation],
    x_default: String,
) -> Vec<Alternate> {
    let mut out: Vec<Alternate> = translations
        .iter()
        .map(|t| Alternate {
            hreflang: t.lang.to_string(),
            href: model.abs(&t.url),
        })
        .collect();
    out.push(Alternate {
        hreflang: "x-default".to_owned(),
        href: x_default,
    });
    out
}

/// The sitemap's entries: the language chooser, then every page that is content, with its
/// translations that are content too.
pub fn sitemap_entries(model: &SiteModel) -> Vec<SitemapEntry> {
    let mut entries = vec![SitemapEntry {
        loc: model.abs("/"),
        lastmod: None,
        alternates: alternates(model, &model.home_translations(), model.abs("/")),
    }];
    for page in model.pages.iter().filter(|p| !p.noindex) {
        let translations: Vec<Translation> = page
            .translations
            .iter()
            .filter(|t| !t.noindex)
            .cloned()
            .collect();
        let x_default = model.x_default(page.kind, &translations, &page.url);
        entries.push(SitemapEntry {
            loc: model.abs(&page.url),
            lastmod: page.lastmod().map(crate::dates::iso),
            alternates: alternates(model, &translations, x_default),
        });
    }
    entries
}

/// A `<url>` in the sitemap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SitemapEntry {
    /// Absolute URL.
    pub loc: String,
    /// `YYYY-MM-DD`.
    pub lastmod: Option<String>,
    pub alternates: Vec<Alternate>,
}

/// `sitemap.xml`: one `<url>` per language version, each listing all alternates.
pub fn sitemap(entries: &[SitemapEntry]) -> String {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\" xmlns:xhtml=\"http://www.w3.org/1999/xhtml\">\n",
    );
    for entry in entries {
        xml.push_str("  <url>\n    <loc>");
        xml.push_str(&escape_html(&entry.loc));
        xml.push_str("</loc>\n");
        if let Some(lastmod) = &entry.lastmod {
            xml.push_str("    <lastmod>");
            xml.push_str(&escape_html(lastmod));
            xml.push_str("</lastmod>\n");
        }
        for alt in &entry.alternates {
            xml.push_str(&format!(
                "    <xhtml:link rel=\"alternate\" hreflang=\"{}\" href=\"{}\"/>\n",
                escape_html(&alt.hreflang),
                escape_html(&alt.href)
            ));
        }
        xml.push_str("  </url>\n");
    }
    xml.push_str("</urlset>\n");
    xml
}

/// `robots.txt`: everything may be crawled; the sitemap's address.
pub fn robots(base_url: &str) -> String {
    format!(
        "User-agent: *\nAllow: /\n\nSitemap: {}/sitemap.xml\n",
        base_url.trim_end_matches('/')
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sitemap_lists_alternates_with_xhtml_namespace() {
        let xml = sitemap(&[SitemapEntry {
            loc: "https://e.kz/kk/?a&b".into(),
            lastmod: Some("2024-02-11".into()),
            alternates: vec![
                Alternate {
                    hreflang: "kk".into(),
                    href: "https://e.kz/kk/".into(),
                },
                Alternate {
                    hreflang: "x-default".into(),
                    href: "https://e.kz/".into(),
                },
            ],
        }]);
        assert!(xml.contains("xmlns:xhtml=\"http://www.w3.org/1999/xhtml\""));
        assert!(xml.contains("<loc>https://e.kz/kk/?a&amp;b</loc>"));
        assert!(xml.contains("<lastmod>2024-02-11</lastmod>"));
        assert!(xml.contains(
            "<xhtml:link rel=\"alternate\" hreflang=\"x-default\" href=\"https://e.kz/\"/>"
        ));
    }

    #[test]
    fn robots_points_at_the_sitemap() {
        assert_eq!(
            robots("https://e.kz/"),
            "User-agent: *\nAllow: /\n\nSitemap: https://e.kz/sitemap.xml\n"
        );
    }
}
