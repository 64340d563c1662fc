//! Test harness for kelisim's end-to-end tests: a real headless Chromium driven over WebDriver,
//! an in-process static server for a built site, and the quality gates (axe-core, the Nu Html
//! Checker, the no-third-party check, screenshots).
//!
//! Everything here runs the real tool, never a stand-in: when a tool is missing the harness
//! fails with a message naming `scripts/install-test-deps`, so a gate can never pass by being
//! skipped.

pub mod axe;
pub mod browser;
pub mod error;
pub mod paths;
pub mod screenshots;
pub mod site;
pub mod site_server;
pub mod third_party;
pub mod vnu;

pub use axe::{AxeViolation, axe};
pub use browser::{Browser, Javascript, Viewport};
pub use error::HarnessError;
pub use screenshots::save_screenshot;
pub use site_server::SiteServer;
pub use third_party::{ForeignReference, foreign_references};
pub use vnu::{VnuMessage, vnu};
