//! Content codings: which precompressed copy a request accepts, and which assets are
//! content-hashed (so `immutable`).

use axum::body::Bytes;
use axum::http::{HeaderMap, header};

use super::source::SiteFiles;

/// `Cache-Control` of a content-hashed static asset.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// A content coding the build writes precompressed copies in, as `<file>.br` or `<file>.gz`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    Brotli,
    Gzip,
}

impl Coding {
    /// The `Content-Encoding` / `Accept-Encoding` token.
    pub fn token(self) -> &'static str {
        match self {
            Self::Brotli => "br",
            Self::Gzip => "gzip",
        }
    }

    /// The suffix of the precompressed copy.
    pub fn suffix(self) -> &'static str {
        match self {
            Self::Brotli => ".br",
            Self::Gzip => ".gz",
        }
    }
}

/// A precompressed copy of a file.
#[derive(Debug)]
pub(super) struct Encoded {
    pub(super) coding: Coding,
    pub(super) bytes: Bytes,
}

/// The codings a request accepts (`q=0` refuses one), Brotli first: it is the smaller.
pub(super) fn accepted_codings(headers: &HeaderMap) -> Vec<Coding> {
    let mut accepted = Vec::new();
    for value in headers.get_all(header::ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else { continue };
        for item in value.split(',') {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let refused = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            let coding = match name.as_str() {
                "br" => Coding::Brotli,
                "gzip" | "x-gzip" => Coding::Gzip,
                _ => continue,
            };
            if !refused && !accepted.contains(&coding) {
                accepted.push(coding);
            }
        }
    }
    accepted.sort_by_key(|c| *c != Coding::Brotli);
    accepted
}

/// Whether the build writes `.br` and `.gz` copies of this kind of file.
pub(super) fn has_precompressed_forms(path: &str) -> bool {
    [".html", ".css", ".js"].iter().any(|e| path.ends_with(e))
}

/// The first precompressed copy of `path` the request accepts and the site has.
pub(super) fn precompressed(
    files: &dyn SiteFiles,
    path: &str,
    accepted: &[Coding],
) -> Option<Encoded> {
    if !has_precompressed_forms(path) {
        return None;
    }
    accepted.iter().find_map(|&coding| {
        files
            .read(&format!("{path}{}", coding.suffix()))
            .map(|bytes| Encoded { coding, bytes })
    })
}

/// A static asset whose name carries its content hash (`static/style.1a2b3c4d5e.css`, as the
/// generator names them): 10 lowercase hex digits before the extension.
pub fn is_fingerprinted(path: &str) -> bool {
    let Some(file) = path.strip_prefix("static/") else {
        return false;
    };
    let name = file.rsplit('/').next().unwrap_or(file);
    let mut parts = name.rsplit('.');
    let (Some(_ext), Some(hash), Some(stem)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    !stem.is_empty()
        && hash.len() == 10
        && hash
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}
