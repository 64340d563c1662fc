//! kelisim: builds an operator's bilingual privacy-policy and contact site from Markdown
//! (`content/<lang>/`), Fluent (`locales/<lang>/`) and Tera (`themes/<theme>/`).
//!
//! The pipeline is a chain of small, mostly pure stages, one module each:
//! [`config`] → [`content`] → [`markdown`] → [`render`] (with [`i18n`] and [`dates`]) →
//! [`seo`] and [`manifest`], driven by [`build`]; [`archive`] keeps superseded policies
//! published. The CLI (`main.rs`) only parses arguments.

pub mod archive;
pub mod build;
pub mod config;
pub mod content;
pub mod dates;
pub mod error;
pub mod i18n;
pub mod manifest;
pub mod markdown;
mod output;
pub mod render;
pub mod seo;
#[cfg(feature = "serve")]
pub mod serve;
pub mod source;

pub use build::{BuildOptions, BuildReport, build};
pub use error::BuildError;
