//! The **render** stage: the three consumers of the [`SiteModel`](crate::model::SiteModel),
//! each making files from it: [`pages`] (every HTML page, with [`diff`] for the "what changed"
//! pages), [`seo`] (hreflang alternates, `sitemap.xml`, `robots.txt`) and [`manifest`]
//! (`consent-manifest.json`), and [`page_text`], the published texts read back from the HTML.
//! It imports load and model, never emit or anything above.

pub mod diff;
pub mod manifest;
pub mod page_text;
pub mod pages;
pub mod seo;
