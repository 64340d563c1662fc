//! The **load** stage: reads the site's sources into typed values, and imports no later
//! stage. `site.toml` ([`config`], its languages as [`lang::Lang`]s), the UI strings
//! ([`i18n`]), the templates ([`templates`]), the content files ([`content`], with their
//! [`front_matter`], whose dates `kelisim_manifest::dates` reads) and the receipt keys the
//! site publishes ([`receipt_keys`]), each read through [`source`], which also says where a
//! problem is (`file:line`) for every later stage.

pub mod config;
pub mod content;
pub mod front_matter;
pub mod i18n;
pub mod lang;
pub mod receipt_keys;
pub mod source;
pub mod templates;
