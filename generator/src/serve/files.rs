//! The preview's files: the last good build in memory, answered by the relay's one static file
//! service ([`kelisim_relay::web::site_files`], the same rules as production), with the live-reload
//! script added to every HTML page and nothing cached.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use kelisim_relay::web::site_files::{Caching, PageRewrite, SiteFiles, StaticSite};

use super::LIVERELOAD_PATH;
use crate::emit::built::BuiltSite;

impl SiteFiles for BuiltSite {
    fn read(&self, path: &str) -> Option<Bytes> {
        self.file(path)
            .map(|bytes| Bytes::from_owner(Arc::clone(bytes)))
    }
}

/// The answer to a request for a path of the site; `site` is the last good build, if any.
pub(super) async fn answer(site: Option<Arc<BuiltSite>>, request: Request) -> Response {
    let Some(site) = site else {
        // No good build yet: a page that reloads itself once the build works.
        let page = "<!DOCTYPE html>\n<html lang=\"en\">\n<title>kelisim serve</title>\n<p>The site does not build yet; the error is in the terminal.</p>\n</body>\n</html>\n";
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            live_reload(page.as_bytes()),
        )
            .into_response();
    };
    let rewrite: PageRewrite = Arc::new(live_reload);
    StaticSite::from_shared(site)
        .caching(Caching::NoStore)
        .rewrite_pages(rewrite)
        .answer(request)
        .await
}

/// An HTML page with the live-reload script added before `</body>`.
fn live_reload(page: &[u8]) -> Vec<u8> {
    let page = String::from_utf8_lossy(page);
    let tag = format!("<script src=\"{LIVERELOAD_PATH}\" defer></script>");
    match page.rfind("</body>") {
        Some(at) => format!("{}{tag}\n{}", &page[..at], &page[at..]),
        None => format!("{page}{tag}\n"),
    }
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_goes_before_the_last_body_end() {
        let page = live_reload(b"<p>a</body></html>");
        assert_eq!(
            String::from_utf8_lossy(&page),
            format!("<p>a<script src=\"{LIVERELOAD_PATH}\" defer></script>\n</body></html>")
        );
        let bare = live_reload(b"<p>a");
        assert!(String::from_utf8_lossy(&bare).ends_with("defer></script>\n"));
    }
}
