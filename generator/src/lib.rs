//! kelisim: builds an operator's bilingual privacy-policy and contact site from Markdown
//! (`content/<lang>/`), Fluent (`locales/<lang>/`) and Tera (`themes/<theme>/`).
//!
//! The build is load → model → render → emit, driven by [`build`]:
//! * **load**: [`config`] (`site.toml`), [`i18n`] (Fluent), [`render`] (Tera templates),
//!   [`content`] (Markdown files and their front matter), all through [`source`];
//! * **model**: [`model::SiteModel`], typed [`page::Page`]s ([`page::PageKind`], [`lang::Lang`])
//!   with [`markdown`] bodies, and one [`policy::PolicySet`] ([`archive`] checks the
//!   superseded versions);
//! * **render**: three consumers of the model, [`pages`] (HTML), [`seo`] (sitemap, robots)
//!   and [`manifest`] (the consent manifest);
//! * **emit**: a built site in memory that `build` writes to disk and [`serve`] serves.
//!
//! The CLI (`main.rs`) only parses arguments.

pub mod archive;
pub mod build;
pub mod built;
pub mod check;
pub mod compress;
pub mod config;
pub mod content;
pub mod dates;
pub mod diff;
pub mod emit;
pub mod error;
pub mod front_matter;
pub mod i18n;
pub mod init;
pub mod lang;
pub mod lock;
pub mod manifest;
pub mod markdown;
pub mod model;
pub mod new_page;
pub mod new_version;
pub mod page;
pub mod pages;
pub mod policy;
pub mod policy_diff;
pub mod render;
pub mod rerender;
pub mod seo;
#[cfg(feature = "serve")]
pub mod serve;
pub mod source;

pub use build::{BuildOptions, BuildReport, build};
pub use built::BuiltSite;
pub use error::BuildError;
