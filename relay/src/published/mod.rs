//! The published site, read back: where `records verify` finds the texts a consent stamp
//! names. Either a built site directory ([`SiteDir`], what `kelisim build` wrote and the host
//! serves) or the site over HTTP(S) ([`HttpSite`]), behind one trait, so the use case
//! (`app::verify`) neither knows nor cares which.
//!
//! Every URL the consent manifest gives is read through its path under the manifest's
//! `base_url` ([`SitePath::under`]); a URL elsewhere, or a path that would leave the site
//! (`..`, a symlink out of the directory), is refused rather than followed. Errors name the
//! URL or path and the kind of failure only: the site holds no personal data, and neither
//! does anything said here.

mod dir;
mod http;

use async_trait::async_trait;

pub use dir::SiteDir;
pub use http::{FETCH_TIMEOUT, HttpSite};

/// A path of the site, as in a URL (`/kk/privacy/1.0/`, percent-encoded as the URL has it):
/// always absolute, no query or fragment, no empty, `.` or `..` segment, no backslash or NUL
/// once decoded. Only [`SitePath::under`] and [`SitePath::root_file`] make one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SitePath(String);

impl SitePath {
    /// The path of `url` under `base_url` (the manifest's, without a trailing slash):
    /// `https://woow.kz/kk/privacy/1.0/` under `https://woow.kz` is `/kk/privacy/1.0/`.
    pub fn under(base_url: &str, url: &str) -> Result<Self, SiteError> {
        let base = base_url.trim_end_matches('/');
        let not_under = || SiteError::NotUnder {
            url: url.to_owned(),
            base: base.to_owned(),
        };
        let rest = url.strip_prefix(base).ok_or_else(not_under)?;
        let rest = rest.split(['?', '#']).next().unwrap_or_default();
        if rest.is_empty() {
            return Ok(Self("/".to_owned()));
        }
        if !rest.starts_with('/') {
            // `https://woow.kz.example/` is not under `https://woow.kz`.
            return Err(not_under());
        }
        Self::checked(rest).ok_or_else(|| SiteError::Escapes(url.to_owned()))
    }

    /// A file at the site's root, such as [`kelisim_manifest::MANIFEST_FILE`].
    pub fn root_file(name: &str) -> Result<Self, SiteError> {
        Self::checked(&format!("/{name}")).ok_or_else(|| SiteError::Escapes(name.to_owned()))
    }

    fn checked(path: &str) -> Option<Self> {
        let segments = decoded_segments(path)?;
        let (last, inner) = segments.split_last()?;
        let plain = |s: &String| s != "." && s != ".." && !s.contains(['/', '\\', '\0']);
        let ok =
            inner.iter().all(|s| !s.is_empty() && plain(s)) && (last.is_empty() || plain(last));
        ok.then(|| Self(path.to_owned()))
    }

    /// The path as the URL has it, starting with `/`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The decoded segments after the leading `/` (the last one empty for a folder's path).
    fn segments(&self) -> Vec<String> {
        decoded_segments(&self.0).unwrap_or_default()
    }

    /// Whether it names a folder (ends with `/`), whose page is its `index.html`.
    fn is_folder(&self) -> bool {
        self.0.ends_with('/')
    }
}

/// Each segment after the leading `/`, percent-decoded; `None` when not absolute, or a `%`
/// does not start two hex digits, or a segment is not UTF-8 once decoded.
fn decoded_segments(path: &str) -> Option<Vec<String>> {
    let rest = path.strip_prefix('/')?;
    rest.split('/')
        .map(|segment| {
            let bytes = segment.as_bytes();
            let escapes_ok = bytes.iter().enumerate().all(|(at, &b)| {
                b != b'%'
                    || bytes
                        .get(at + 1..at + 3)
                        .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
            });
            let decoded = percent_encoding::percent_decode_str(segment)
                .decode_utf8()
                .ok()?;
            escapes_ok.then(|| decoded.into_owned())
        })
        .collect()
}

/// Why the site could not be read at a path. Holds URLs, paths and kinds, nothing else.
#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    #[error("{url} is not under the site's base URL {base}")]
    NotUnder { url: String, base: String },
    #[error("{0} leaves the site (a `..`, `.`, empty or unreadable segment, or a link out)")]
    Escapes(String),
    #[error("{0} is not a site directory")]
    NotADirectory(String),
    #[error("{0} is not an http:// or https:// URL")]
    NotHttp(String),
    #[error("HTTP {0}")]
    Status(u16),
    #[error("{0}")]
    Transport(&'static str),
    #[error("reading the file: {0}")]
    Io(std::io::ErrorKind),
}

/// A published site to read texts from.
#[async_trait]
pub trait PublishedSite: Send + Sync {
    /// The bytes the site publishes at `path`; `None` when it has nothing there (a missing
    /// file, HTTP 404 or 410).
    async fn fetch(&self, path: &SitePath) -> Result<Option<Vec<u8>>, SiteError>;

    /// Where it is read from (the directory, the base URL), for messages.
    fn describe(&self) -> String;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_url_under_the_base_gives_its_path() {
        let base = "https://woow.kz";
        let path = |url: &str| SitePath::under(base, url).map(|p| p.as_str().to_owned());
        assert_eq!(
            path("https://woow.kz/kk/privacy/1.0/").unwrap(),
            "/kk/privacy/1.0/"
        );
        assert_eq!(
            SitePath::under(
                "https://woow.kz/",
                "https://woow.kz/kk/privacy/1.0/consent-labels.json?x#y"
            )
            .unwrap()
            .as_str(),
            "/kk/privacy/1.0/consent-labels.json"
        );
        assert_eq!(path("https://woow.kz").unwrap(), "/");
        assert_eq!(
            path("https://woow.kz/ru/%D0%BE/").unwrap(),
            "/ru/%D0%BE/",
            "kept encoded, as the URL has it"
        );
    }

    #[test]
    fn a_url_elsewhere_or_leaving_the_site_is_refused() {
        let base = "https://woow.kz";
        for url in [
            "https://woow.kz.example/kk/privacy/",
            "https://evil.example/kk/privacy/",
            "http://woow.kz/kk/privacy/",
        ] {
            assert!(
                matches!(SitePath::under(base, url), Err(SiteError::NotUnder { .. })),
                "{url}"
            );
        }
        for url in [
            "https://woow.kz/../etc/passwd",
            "https://woow.kz/kk/%2e%2e/%2e%2e/etc/passwd",
            "https://woow.kz/kk/..%2F..%2Fetc",
            "https://woow.kz/kk//privacy/",
            "https://woow.kz/kk/./privacy/",
            "https://woow.kz/kk/%00/",
            "https://woow.kz/kk/a%5Cb/",
            "https://woow.kz/kk/%zz/",
            "https://woow.kz/kk/%FF/",
        ] {
            assert!(
                matches!(SitePath::under(base, url), Err(SiteError::Escapes(_))),
                "{url}"
            );
        }
        assert!(SitePath::root_file("../x").is_err());
        assert_eq!(
            SitePath::root_file(kelisim_manifest::MANIFEST_FILE)
                .unwrap()
                .segments(),
            ["consent-manifest.json"]
        );
    }
}
