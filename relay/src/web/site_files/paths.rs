//! From a request path to a file: percent-decoding, the refusal of `..` and its kind, the
//! directory's `index.html`, the language's own 404 page, the `ETag` and media type of what
//! is found, and the site's redirect pages (a folder whose `index.html` only sends the browser
//! on, such as `/privacy/` to `/kk/privacy/`) answered as the permanent redirects they stand
//! for.

use axum::body::Bytes;
use sha2::{Digest, Sha256};

use super::source::SiteFiles;

/// What a request path names in the site.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Resolved {
    File {
        path: String,
        bytes: Bytes,
    },
    Redirect(String),
    /// A redirect page of the site: a `301` to where it leads.
    Moved(String),
    /// Nothing there: the 404 page to send (its path and bytes), if the site has one.
    NotFound(Option<(String, Bytes)>),
}

/// What `raw` (a request path, percent-encoded) names in `files`.
pub(super) fn resolve(files: &dyn SiteFiles, raw: &str, query: Option<&str>) -> Resolved {
    let Some(rel) = relative_path(raw) else {
        return Resolved::NotFound(not_found_page(files, ""));
    };
    let path = if rel.is_empty() || rel.ends_with('/') {
        format!("{rel}index.html")
    } else {
        rel.clone()
    };
    let with_query = |to: &str| match query {
        Some(query) => format!("{to}?{query}"),
        None => to.to_owned(),
    };
    if let Some(bytes) = files.read(&path) {
        if let Some(to) = path
            .ends_with("index.html")
            .then(|| moved_to(&bytes))
            .flatten()
        {
            return Resolved::Moved(with_query(&to));
        }
        return Resolved::File { path, bytes };
    }
    if !rel.is_empty()
        && !rel.ends_with('/')
        && let Some(index) = files.read(&format!("{rel}/index.html"))
    {
        return match moved_to(&index) {
            Some(to) => Resolved::Moved(with_query(&to)),
            None => Resolved::Redirect(with_query(&format!("{raw}/"))),
        };
    }
    Resolved::NotFound(not_found_page(files, &rel))
}

/// Where a redirect page leads: the site path of its zero-delay
/// `<meta http-equiv="refresh" content="0; url=/...">` in the first 2 KiB (its `<head>`), if
/// it is a plain path on this site.
fn moved_to(page: &[u8]) -> Option<String> {
    const REFRESH: &[u8] = b"<meta http-equiv=\"refresh\" content=\"0; url=";
    let head = &page[..page.len().min(2048)];
    let start = head.windows(REFRESH.len()).position(|w| w == REFRESH)? + REFRESH.len();
    let len = head[start..].iter().position(|&b| b == b'"')?;
    let target = std::str::from_utf8(&head[start..start + len]).ok()?;
    let plain = target.starts_with('/')
        && !target.starts_with("//")
        && target
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"&<>\\".contains(&b));
    plain.then(|| target.to_owned())
}

/// The path relative to the site root, decoded; `None` for a path that is not plain: broken
/// `%` escapes, not UTF-8, or a `..`, `.`, backslash or NUL anywhere in it.
pub(super) fn relative_path(raw: &str) -> Option<String> {
    let decoded = percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .ok()?;
    if raw.contains('%') && !well_formed_escapes(raw) {
        return None;
    }
    let rel = decoded.trim_start_matches('/');
    let plain = rel
        .split('/')
        .all(|segment| segment != ".." && segment != "." && !segment.contains(['\\', '\0']));
    plain.then(|| rel.to_owned())
}

/// Every `%` starts two hex digits (`percent_decode` passes broken ones through as text).
pub(super) fn well_formed_escapes(raw: &str) -> bool {
    let bytes = raw.as_bytes();
    bytes.iter().enumerate().all(|(at, &byte)| {
        byte != b'%'
            || bytes
                .get(at + 1..at + 3)
                .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
    })
}

/// The language's own 404 page for a path under `/<lang>/`, else the root one: its path in
/// the site (for its precompressed copies) and its bytes.
pub(super) fn not_found_page(files: &dyn SiteFiles, rel: &str) -> Option<(String, Bytes)> {
    let language = rel
        .split('/')
        .next()
        .filter(|segment| !segment.is_empty() && !segment.contains('.'));
    let read = |path: String| files.read(&path).map(|bytes| (path, bytes));
    language
        .and_then(|l| read(format!("{l}/404.html")))
        .or_else(|| read("404.html".to_owned()))
}

/// A strong validator from the content, so it is the same on every host serving the build.
pub(super) fn etag(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    format!("\"{}\"", hex::encode(&digest[..12]))
}

/// The media type of the files a kelisim site has.
pub fn media_type(file: &str) -> &'static str {
    let extension = file.rsplit_once('.').map_or("", |(_, e)| e);
    match extension {
        "html" => "text/html; charset=utf-8",
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::collections::BTreeMap;

    use super::*;

    use crate::web::site_files::source::Memory;

    const REDIRECT: &str = "<!DOCTYPE html>\n<html lang=\"kk\">\n<head>\n<meta charset=\"utf-8\">\n<meta http-equiv=\"refresh\" content=\"0; url=/kk/privacy/\">\n</head>\n<body><a href=\"/kk/privacy/\">…</a></body>\n</html>\n";

    #[test]
    fn a_redirect_page_is_a_permanent_redirect_with_or_without_its_slash() {
        let site = Memory(BTreeMap::from([
            ("privacy/index.html", REDIRECT),
            ("kk/privacy/index.html", "kk policy"),
        ]));
        for raw in ["/privacy", "/privacy/"] {
            assert_eq!(
                resolve(&site, raw, None),
                Resolved::Moved("/kk/privacy/".into()),
                "{raw}"
            );
        }
        assert_eq!(
            resolve(&site, "/privacy/", Some("a=1")),
            Resolved::Moved("/kk/privacy/?a=1".into())
        );
        // An ordinary page is served as it is.
        assert!(matches!(
            resolve(&site, "/kk/privacy/", None),
            Resolved::File { .. }
        ));
    }

    #[test]
    fn only_a_plain_path_on_the_site_is_followed() {
        for target in [
            "https://elsewhere.example/",
            "//elsewhere.example/",
            "/a b/",
            "/a&b/",
        ] {
            let page =
                REDIRECT.replace("/kk/privacy/\">\n</head>", &format!("{target}\">\n</head>"));
            assert_eq!(moved_to(page.as_bytes()), None, "{target}");
        }
        // A delayed refresh is not a redirect page.
        let later = REDIRECT.replace("content=\"0; url=", "content=\"5; url=");
        assert_eq!(moved_to(later.as_bytes()), None);
    }
}
