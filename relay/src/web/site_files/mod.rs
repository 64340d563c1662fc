//! Serving a built site's files as a static host would, one way for every server that does it:
//! the preview (`kelisim serve`, from memory), the one-machine relay (`kelisim-relay serve
//! --static-dir`, from disk) and the browser tests' harness.
//!
//! The rules, the same everywhere: `/kk/` is `kk/index.html`; `/kk` redirects to `/kk/` (with
//! its query); a missing page gets its language's own 404 page (`/ru/…` → `ru/404.html`,
//! anything else `404.html`) with status 404; only GET and HEAD are answered; a path with `..`,
//! `.`, a backslash or a NUL segment is not found rather than resolved. Where the bytes come
//! from is a [`SiteFiles`]; what else a server adds (the preview's live-reload script, its
//! `no-store`) is a [`StaticSite`] setting.
//!
//! In production a file's precompressed copy (`<file>.br`, `<file>.gz`, written by `kelisim
//! build`) is sent when the request's `Accept-Encoding` allows it, with `Vary:
//! Accept-Encoding` (a 404 page's too); a content-hashed asset (`static/style.1a2b3c4d5e.css`) is `immutable` for
//! a year, everything else `no-cache` with an `ETag`.

mod encoding;
mod paths;
mod service;
mod source;

pub use encoding::{Coding, IMMUTABLE, is_fingerprinted};
pub use paths::media_type;
pub use service::{Caching, PageRewrite, StaticSite};
pub use source::{DirFiles, SiteFiles};
