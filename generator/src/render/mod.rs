//! The **render** stage: the three consumers of the [`SiteModel`](crate::model::SiteModel),
//! each making files from it: [`pages`] (every HTML page, with [`diff`] for the "what changed"
//! pages), [`seo`] (hreflang alternates, `sitemap.xml`, `robots.txt`) and [`manifest`]
//! (`consent-manifest.json`). It imports load and model, never emit or anything above.

pub mod diff;
pub mod manifest;
pub mod pages;
pub mod seo;
