//! From a request path to a file: percent-decoding, the refusal of `..` and its kind, the
//! directory's `index.html`, the language's own 404 page, and the `ETag` and media type of what
//! is found.

use axum::body::Bytes;
use sha2::{Digest, Sha256};

use super::source::SiteFiles;

/// What a request path names in the site.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Resolved {
    File { path: String, bytes: Bytes },
    Redirect(String),
    NotFound(Option<Bytes>),
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
    if let Some(bytes) = files.read(&path) {
        return Resolved::File { path, bytes };
    }
    if !rel.is_empty() && !rel.ends_with('/') && files.read(&format!("{rel}/index.html")).is_some()
    {
        return Resolved::Redirect(match query {
            Some(query) => format!("{raw}/?{query}"),
            None => format!("{raw}/"),
        });
    }
    Resolved::NotFound(not_found_page(files, &rel))
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

/// The language's own 404 page for a path under `/<lang>/`, else the root one.
pub(super) fn not_found_page(files: &dyn SiteFiles, rel: &str) -> Option<Bytes> {
    let language = rel
        .split('/')
        .next()
        .filter(|segment| !segment.is_empty() && !segment.contains('.'));
    language
        .and_then(|l| files.read(&format!("{l}/404.html")))
        .or_else(|| files.read("404.html"))
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
