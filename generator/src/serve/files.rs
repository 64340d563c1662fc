//! Answering a request for a file from the built site in memory, as a static host would:
//! `/kk/` is `kk/index.html`, `/kk` redirects to `/kk/`, a missing page gets its language's
//! own 404 page (`/ru/...` → `ru/404.html`, anything else `404.html`), and every HTML page
//! gets the live-reload script just before `</body>` as it is served.

use axum::extract::Request;
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::LIVERELOAD_PATH;
use crate::built::BuiltSite;

/// The answer to a GET or HEAD for a path of the site; `site` is the last good build, if any.
pub(super) fn answer(site: Option<&BuiltSite>, request: &Request) -> Response {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, "GET, HEAD")],
        )
            .into_response();
    }
    let Some(site) = site else {
        // No good build yet: a page that reloads itself once the build works.
        let page = "<!DOCTYPE html>\n<html lang=\"en\">\n<title>kelisim serve</title>\n<p>The site does not build yet; the error is in the terminal.</p>\n</body>\n</html>\n";
        return html(StatusCode::SERVICE_UNAVAILABLE, page.as_bytes());
    };
    let raw = request.uri().path();
    let Some(path) = percent_decode(raw) else {
        return not_found(site, "");
    };
    let rel = path.trim_start_matches('/');
    let file = if rel.is_empty() || rel.ends_with('/') {
        format!("{rel}index.html")
    } else {
        rel.to_owned()
    };
    if let Some(bytes) = site.file(&file) {
        return if file.ends_with(".html") {
            html(StatusCode::OK, bytes)
        } else {
            (
                [
                    (header::CONTENT_TYPE, content_type(&file)),
                    (header::CACHE_CONTROL, "no-store"),
                ],
                bytes.to_vec(),
            )
                .into_response()
        };
    }
    if site.file(&format!("{rel}/index.html")).is_some() {
        let location = match request.uri().query() {
            Some(query) => format!("{raw}/?{query}"),
            None => format!("{raw}/"),
        };
        return (
            StatusCode::TEMPORARY_REDIRECT,
            [(header::LOCATION, location)],
        )
            .into_response();
    }
    not_found(site, rel)
}

/// The language's own 404 page for a path under `/<lang>/`, else the root one.
fn not_found(site: &BuiltSite, rel: &str) -> Response {
    let language = rel
        .split('/')
        .next()
        .filter(|segment| !segment.is_empty() && !segment.contains('.'));
    let own = language.and_then(|l| site.file(&format!("{l}/404.html")));
    match own.or_else(|| site.file("404.html")) {
        Some(page) => html(StatusCode::NOT_FOUND, page),
        None => (StatusCode::NOT_FOUND, "Not found").into_response(),
    }
}

/// An HTML page with the live-reload script added before `</body>`.
fn html(status: StatusCode, page: &[u8]) -> Response {
    let page = String::from_utf8_lossy(page);
    let tag = format!("<script src=\"{LIVERELOAD_PATH}\" defer></script>");
    let injected = match page.rfind("</body>") {
        Some(at) => format!("{}{tag}\n{}", &page[..at], &page[at..]),
        None => format!("{page}{tag}\n"),
    };
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        injected,
    )
        .into_response()
}

/// The media type of the files a kelisim site has.
fn content_type(file: &str) -> &'static str {
    let extension = file.rsplit_once('.').map_or("", |(_, e)| e);
    match extension {
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "xml" => "application/xml",
        "txt" => "text/plain; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "pdf" => "application/pdf",
        _ => "application/octet-stream",
    }
}

/// A URL path with `%XX` escapes decoded (Cyrillic file names arrive so); `None` when the
/// escapes are broken or do not make UTF-8.
fn percent_decode(path: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(path.len());
    let mut rest = path.as_bytes();
    while let Some((&byte, tail)) = rest.split_first() {
        if byte == b'%' {
            let hex = tail.get(..2)?;
            let hex = std::str::from_utf8(hex).ok()?;
            bytes.push(u8::from_str_radix(hex, 16).ok()?);
            rest = &tail[2..];
        } else {
            bytes.push(byte);
            rest = tail;
        }
    }
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_escapes_and_refuses_broken_ones() {
        assert_eq!(
            percent_decode("/ru/%D0%BE-%D0%BD%D0%B0%D1%81/").as_deref(),
            Some("/ru/о-нас/")
        );
        assert_eq!(percent_decode("/kk/").as_deref(), Some("/kk/"));
        assert_eq!(percent_decode("/%zz"), None);
        assert_eq!(percent_decode("/%D0"), None);
        assert_eq!(percent_decode("/%4"), None);
    }

    #[test]
    fn media_types_by_extension() {
        assert_eq!(content_type("static/style.css"), "text/css; charset=utf-8");
        assert_eq!(content_type("consent-manifest.json"), "application/json");
        assert_eq!(content_type("static/blob"), "application/octet-stream");
    }
}
