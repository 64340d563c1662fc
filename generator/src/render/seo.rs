//! The search-engine consumer of the site model: hreflang alternates (every translation,
//! itself included, plus `x-default`), `sitemap.xml` with `xhtml:link` alternates, and
//! `robots.txt`. The sitemap lists exactly the pages that are content: the chooser and every
//! page without `noindex`, each once (a policy's permanent copy points its canonical at the
//! policy page instead).
//!
//! Alternates go both into each page's `<head>` and into the sitemap: Yandex no longer reads
//! them from sitemaps, Google reads either.

use serde::Serialize;

use crate::load::templates::{RenderError, Renderer, SITEMAP_TEMPLATE};
use crate::model::SiteModel;
use crate::model::page::Translation;

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
            lastmod: page.lastmod().map(kelisim_manifest::dates::iso),
            alternates: alternates(model, &translations, x_default),
        });
    }
    entries
}

/// A `<url>` in the sitemap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SitemapEntry {
    /// Absolute URL.
    pub loc: String,
    /// `YYYY-MM-DD`.
    pub lastmod: Option<String>,
    pub alternates: Vec<Alternate>,
}

/// `sitemap.xml`: one `<url>` per language version, each listing all alternates, written by
/// the `sitemap.xml` template ([`SITEMAP_TEMPLATE`]) from [`sitemap_entries`].
pub fn sitemap(model: &SiteModel, renderer: &Renderer) -> Result<String, RenderError> {
    let mut context = tera::Context::new();
    context.insert("entries", &sitemap_entries(model));
    renderer.render(model.default_lang().as_str(), SITEMAP_TEMPLATE, &context)
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
    fn robots_points_at_the_sitemap() {
        assert_eq!(
            robots("https://e.kz/"),
            "User-agent: *\nAllow: /\n\nSitemap: https://e.kz/sitemap.xml\n"
        );
    }
}
