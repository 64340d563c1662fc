//! kelisim: builds an operator's bilingual privacy-policy and contact site from Markdown
//! (`content/<lang>/`), Fluent (`locales/<lang>/`) and Tera (`themes/<theme>/`).
//!
//! The build is load → model → render → emit, driven by [`build()`] (the driver, [`mod@build`], at the top);
//! each stage is a folder and imports only the stages before it:
//! * [`load`]: the sources as typed values: [`load::config`] (`site.toml`), [`load::i18n`]
//!   (Fluent), [`load::templates`] (the Tera set-up: `t()`, `url()`, `| date`),
//!   [`load::content`] (Markdown files and their [`load::front_matter`]), all read through
//!   [`load::source`];
//! * [`model`]: [`model::SiteModel`], typed [`model::page::Page`]s with [`model::markdown`]
//!   bodies, and one [`model::policy::PolicySet`] ([`model::archive`] checks the superseded
//!   versions, [`model::lock`] holds `policy.lock`);
//! * [`render`]: three consumers of the model, [`render::pages`] (HTML), [`render::seo`]
//!   (sitemap, robots) and [`render::manifest`] (the consent manifest);
//! * [`emit`]: where each file goes as soon as it is made: the output folder
//!   ([`emit::OutputDir`], with [`emit::compress`]ed copies) or memory ([`BuiltSite`]).
//!
//! Beside the build: [`commands`] (`check`, `init`, `new`, `policy new-version`, `policy
//! diff`), which call the driver, and [`serve`] (the live preview, with its fast re-render
//! of edited pages). [`error::BuildError`] gathers every stage's error. The CLI (`main.rs`)
//! only parses arguments.

pub mod build;
pub mod commands;
pub mod emit;
pub mod error;
pub mod load;
pub mod model;
pub mod render;
#[cfg(feature = "serve")]
pub mod serve;

pub use build::{BuildOptions, BuildReport, build};
pub use emit::built::BuiltSite;
pub use error::BuildError;
