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
//! Accept-Encoding`; a content-hashed asset (`static/style.1a2b3c4d5e.css`) is `immutable` for
//! a year, everything else `no-cache` with an `ETag`.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// Where a site's files come from: a directory ([`DirFiles`]) or a build in memory.
pub trait SiteFiles: Send + Sync + 'static {
    /// The bytes of the regular file at `path`: relative, `/`-separated, already checked to
    /// have no `..` or `.` segment. `None` when there is no such file.
    fn read(&self, path: &str) -> Option<Bytes>;
}

/// A built site on disk (`public/`).
#[derive(Debug, Clone)]
pub struct DirFiles {
    root: std::path::PathBuf,
}

impl DirFiles {
    /// Serves the files under `root`.
    pub fn new(root: impl Into<std::path::PathBuf>) -> Self {
        Self { root: root.into() }
    }
}

impl SiteFiles for DirFiles {
    fn read(&self, path: &str) -> Option<Bytes> {
        let file = self.root.join(path);
        // A directory is not a file: `/kk` is answered by the redirect to `/kk/`.
        if !std::fs::metadata(&file).ok()?.is_file() {
            return None;
        }
        std::fs::read(file).ok().map(Bytes::from)
    }
}

/// How long a browser may keep what it was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caching {
    /// The preview: never keep anything, so an edit shows on the next load.
    NoStore,
    /// Production: keep, but ask again each time (`no-cache`); an unchanged file then costs a
    /// `304 Not Modified`, through its `ETag`.
    Revalidate,
}

/// Rewrites an HTML page as it is served (the preview adds its live-reload script so).
pub type PageRewrite = Arc<dyn Fn(&[u8]) -> Vec<u8> + Send + Sync>;

/// One site's files, answered by the rules in the module comment.
#[derive(Clone)]
pub struct StaticSite {
    files: Arc<dyn SiteFiles>,
    caching: Caching,
    rewrite: Option<PageRewrite>,
}

impl std::fmt::Debug for StaticSite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaticSite")
            .field("caching", &self.caching)
            .field("rewrite", &self.rewrite.is_some())
            .finish_non_exhaustive()
    }
}

/// What a request path names in the site.
#[derive(Debug, PartialEq, Eq)]
enum Resolved {
    File { path: String, bytes: Bytes },
    Redirect(String),
    NotFound(Option<Bytes>),
}

impl StaticSite {
    /// Serves `files` for production: `no-cache` with an `ETag`, pages as they are.
    pub fn new(files: impl SiteFiles) -> Self {
        Self::from_shared(Arc::new(files))
    }

    /// As [`Self::new`], for files already shared.
    pub fn from_shared(files: Arc<dyn SiteFiles>) -> Self {
        Self {
            files,
            caching: Caching::Revalidate,
            rewrite: None,
        }
    }

    /// Sets how browsers may keep the answers.
    pub fn caching(mut self, caching: Caching) -> Self {
        self.caching = caching;
        self
    }

    /// Rewrites every HTML page (found or 404) as it is served.
    pub fn rewrite_pages(mut self, rewrite: PageRewrite) -> Self {
        self.rewrite = Some(rewrite);
        self
    }

    /// The answer to `request`. File reads run on the blocking pool, so a slow disk never
    /// stalls the runtime's other connections.
    pub async fn answer(&self, request: Request) -> Response {
        let method = request.method().clone();
        if method != Method::GET && method != Method::HEAD {
            return (
                StatusCode::METHOD_NOT_ALLOWED,
                [(header::ALLOW, "GET, HEAD")],
            )
                .into_response();
        }
        let files = Arc::clone(&self.files);
        let uri = request.uri().clone();
        // A page the server rewrites (the preview's) cannot be sent precompressed.
        let accepted = match self.rewrite {
            Some(_) => Vec::new(),
            None => accepted_codings(request.headers()),
        };
        let resolved = tokio::task::spawn_blocking(move || {
            let resolved = resolve(files.as_ref(), uri.path(), uri.query());
            let encoded = match &resolved {
                Resolved::File { path, .. } => precompressed(files.as_ref(), path, &accepted),
                _ => None,
            };
            (resolved, encoded)
        })
        .await;
        let Ok((resolved, encoded)) = resolved else {
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        };
        let mut response = match resolved {
            Resolved::File { path, bytes } => match encoded {
                Some(encoded) => self.encoded(&path, encoded, request.headers()),
                None => self.file(&path, bytes, request.headers()),
            },
            Resolved::Redirect(location) => (
                StatusCode::TEMPORARY_REDIRECT,
                [(header::LOCATION, location)],
            )
                .into_response(),
            Resolved::NotFound(Some(page)) => {
                let mut response = self.file("404.html", page, &HeaderMap::new());
                *response.status_mut() = StatusCode::NOT_FOUND;
                response
            }
            Resolved::NotFound(None) => (StatusCode::NOT_FOUND, "Not found").into_response(),
        };
        if method == Method::HEAD {
            *response.body_mut() = Body::empty();
        }
        response
    }

    /// A found file's precompressed form, `Content-Encoding` set; the type is the file's own.
    fn encoded(&self, path: &str, encoded: Encoded, request: &HeaderMap) -> Response {
        let mut response = self.file(path, encoded.bytes, request);
        response.headers_mut().insert(
            header::CONTENT_ENCODING,
            HeaderValue::from_static(encoded.coding.token()),
        );
        response
    }

    /// A found file with its media type and caching headers.
    fn file(&self, path: &str, bytes: Bytes, request: &HeaderMap) -> Response {
        let is_html = path.ends_with(".html");
        let bytes = match (&self.rewrite, is_html) {
            (Some(rewrite), true) => Bytes::from(rewrite(&bytes)),
            _ => bytes,
        };
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(media_type(path)),
        );
        if self.rewrite.is_none() && has_precompressed_forms(path) {
            headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
        }
        match self.caching {
            Caching::NoStore => {
                headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            }
            Caching::Revalidate => {
                // A content-hashed asset never changes under its name: browsers keep it a year.
                let keep = if is_fingerprinted(path) {
                    IMMUTABLE
                } else {
                    "no-cache"
                };
                headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(keep));
                let tag = etag(&bytes);
                let unchanged = request
                    .get(header::IF_NONE_MATCH)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.split(',').any(|t| t.trim() == tag || t.trim() == "*"));
                if let Ok(value) = HeaderValue::from_str(&tag) {
                    headers.insert(header::ETAG, value);
                }
                if unchanged {
                    return (StatusCode::NOT_MODIFIED, headers).into_response();
                }
            }
        }
        (StatusCode::OK, headers, bytes).into_response()
    }
}

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
struct Encoded {
    coding: Coding,
    bytes: Bytes,
}

/// The codings a request accepts (`q=0` refuses one), Brotli first: it is the smaller.
fn accepted_codings(headers: &HeaderMap) -> Vec<Coding> {
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
fn has_precompressed_forms(path: &str) -> bool {
    [".html", ".css", ".js"].iter().any(|e| path.ends_with(e))
}

/// The first precompressed copy of `path` the request accepts and the site has.
fn precompressed(files: &dyn SiteFiles, path: &str, accepted: &[Coding]) -> Option<Encoded> {
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

/// What `raw` (a request path, percent-encoded) names in `files`.
fn resolve(files: &dyn SiteFiles, raw: &str, query: Option<&str>) -> Resolved {
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
fn relative_path(raw: &str) -> Option<String> {
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
fn well_formed_escapes(raw: &str) -> bool {
    let bytes = raw.as_bytes();
    bytes.iter().enumerate().all(|(at, &byte)| {
        byte != b'%'
            || bytes
                .get(at + 1..at + 3)
                .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
    })
}

/// The language's own 404 page for a path under `/<lang>/`, else the root one.
fn not_found_page(files: &dyn SiteFiles, rel: &str) -> Option<Bytes> {
    let language = rel
        .split('/')
        .next()
        .filter(|segment| !segment.is_empty() && !segment.contains('.'));
    language
        .and_then(|l| files.read(&format!("{l}/404.html")))
        .or_else(|| files.read("404.html"))
}

/// A strong validator from the content, so it is the same on every host serving the build.
fn etag(bytes: &[u8]) -> String {
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
    // A failed unwrap is a failed test, with the value in the message.
    #![allow(clippy::unwrap_used)]
    use std::collections::BTreeMap;

    use super::*;

    struct Memory(BTreeMap<&'static str, &'static str>);

    impl SiteFiles for Memory {
        fn read(&self, path: &str) -> Option<Bytes> {
            self.0.get(path).map(|s| Bytes::from_static(s.as_bytes()))
        }
    }

    fn site() -> Memory {
        Memory(BTreeMap::from([
            ("index.html", "root"),
            ("404.html", "root 404"),
            ("kk/index.html", "kk home"),
            ("kk/404.html", "kk 404"),
            ("kk/privacy/index.html", "kk policy"),
            ("ru/о-нас/index.html", "ru about"),
            ("static/style.css", "css"),
        ]))
    }

    fn file(path: &str, bytes: &'static str) -> Resolved {
        Resolved::File {
            path: path.to_owned(),
            bytes: Bytes::from_static(bytes.as_bytes()),
        }
    }

    fn not_found(bytes: &'static str) -> Resolved {
        Resolved::NotFound(Some(Bytes::from_static(bytes.as_bytes())))
    }

    #[test]
    fn directories_are_their_index_and_need_their_slash() {
        let site = site();
        assert_eq!(resolve(&site, "/", None), file("index.html", "root"));
        assert_eq!(
            resolve(&site, "/kk/privacy/", None),
            file("kk/privacy/index.html", "kk policy")
        );
        assert_eq!(
            resolve(&site, "/kk/privacy", Some("a=1")),
            Resolved::Redirect("/kk/privacy/?a=1".into())
        );
        assert_eq!(
            resolve(&site, "/ru/%D0%BE-%D0%BD%D0%B0%D1%81/", None),
            file("ru/о-нас/index.html", "ru about")
        );
    }

    #[test]
    fn a_miss_gets_its_languages_404_page() {
        let site = site();
        assert_eq!(resolve(&site, "/kk/nothing/", None), not_found("kk 404"));
        assert_eq!(resolve(&site, "/ru/nothing/", None), not_found("root 404"));
        assert_eq!(resolve(&site, "/nothing.txt", None), not_found("root 404"));
    }

    #[test]
    fn paths_that_are_not_plain_are_not_found() {
        let site = site();
        for raw in [
            "/kk/../index.html",
            "/kk/%2e%2e/index.html",
            "/./index.html",
            "/kk/%5c..%5cindex.html",
            "/kk/%00",
            "/%zz",
            "/%D0",
            "/%4",
        ] {
            assert!(
                matches!(resolve(&site, raw, None), Resolved::NotFound(_)),
                "{raw} resolved"
            );
        }
    }

    #[test]
    fn media_types_by_extension() {
        assert_eq!(media_type("static/style.css"), "text/css; charset=utf-8");
        assert_eq!(media_type("consent-manifest.json"), "application/json");
        assert_eq!(media_type("static/blob"), "application/octet-stream");
    }

    async fn get(site: &StaticSite, method: Method, path: &str, tag: Option<&str>) -> Response {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(tag) = tag {
            request = request.header(header::IF_NONE_MATCH, tag);
        }
        site.answer(request.body(Body::empty()).unwrap()).await
    }

    async fn body(response: Response) -> Vec<u8> {
        axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap()
            .to_vec()
    }

    #[tokio::test]
    async fn production_answers_revalidate_with_an_etag() {
        let site = StaticSite::new(site());
        let first = get(&site, Method::GET, "/static/style.css", None).await;
        assert_eq!(first.status(), StatusCode::OK);
        assert_eq!(first.headers()[header::CACHE_CONTROL], "no-cache");
        assert_eq!(
            first.headers()[header::CONTENT_TYPE],
            "text/css; charset=utf-8"
        );
        let tag = first.headers()[header::ETAG].to_str().unwrap().to_owned();
        let again = get(&site, Method::GET, "/static/style.css", Some(&tag)).await;
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        assert!(body(again).await.is_empty());
        let other = get(&site, Method::GET, "/static/style.css", Some("\"x\"")).await;
        assert_eq!(other.status(), StatusCode::OK);
    }

    fn precompressed_site() -> Memory {
        Memory(BTreeMap::from([
            ("kk/index.html", "kk home"),
            ("kk/index.html.br", "BR kk home"),
            ("kk/index.html.gz", "GZ kk home"),
            ("static/style.0123456789.css", "css"),
            ("static/style.0123456789.css.gz", "GZ css"),
            ("static/style.css", "css"),
        ]))
    }

    async fn get_encoded(site: &StaticSite, path: &str, accept: &str) -> Response {
        let request = Request::builder()
            .uri(path)
            .header(header::ACCEPT_ENCODING, accept)
            .body(Body::empty())
            .unwrap();
        site.answer(request).await
    }

    #[tokio::test]
    async fn precompressed_copies_are_sent_by_accept_encoding() {
        let site = StaticSite::new(precompressed_site());
        let br = get_encoded(&site, "/kk/", "gzip, deflate, br").await;
        assert_eq!(br.headers()[header::CONTENT_ENCODING], "br");
        assert_eq!(br.headers()[header::VARY], "Accept-Encoding");
        assert_eq!(
            br.headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
        let br_tag = br.headers()[header::ETAG].clone();
        assert_eq!(body(br).await, b"BR kk home");
        let gz = get_encoded(&site, "/kk/", "gzip, br;q=0").await;
        assert_eq!(gz.headers()[header::CONTENT_ENCODING], "gzip");
        assert_ne!(
            gz.headers()[header::ETAG],
            br_tag,
            "each form has its own tag"
        );
        assert_eq!(body(gz).await, b"GZ kk home");
        let plain = get_encoded(&site, "/kk/", "identity").await;
        assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
        assert_eq!(plain.headers()[header::VARY], "Accept-Encoding");
        assert_eq!(body(plain).await, b"kk home");
        // Only a form the site has: this CSS has no .br, so a Brotli client gets gzip.
        let css = get_encoded(&site, "/static/style.0123456789.css", "br, gzip").await;
        assert_eq!(css.headers()[header::CONTENT_ENCODING], "gzip");
        assert_eq!(body(css).await, b"GZ css");
    }

    #[tokio::test]
    async fn content_hashed_assets_are_immutable_and_the_rest_revalidates() {
        let site = StaticSite::new(precompressed_site());
        let hashed = get(&site, Method::GET, "/static/style.0123456789.css", None).await;
        assert_eq!(hashed.headers()[header::CACHE_CONTROL], IMMUTABLE);
        let plain = get(&site, Method::GET, "/static/style.css", None).await;
        assert_eq!(plain.headers()[header::CACHE_CONTROL], "no-cache");
        let page = get(&site, Method::GET, "/kk/", None).await;
        assert_eq!(page.headers()[header::CACHE_CONTROL], "no-cache");
        assert!(is_fingerprinted("static/img/logo.abcdef0123.png"));
        assert!(!is_fingerprinted("static/style.ABCDEF0123.css"));
        assert!(!is_fingerprinted("kk/page.0123456789.html"));
        assert!(!is_fingerprinted("static/.0123456789.css"));
    }

    #[tokio::test]
    async fn the_preview_sends_nothing_precompressed() {
        let rewrite: PageRewrite = Arc::new(|page| [page, b"+reload"].concat());
        let site = StaticSite::new(precompressed_site())
            .caching(Caching::NoStore)
            .rewrite_pages(rewrite);
        let page = get_encoded(&site, "/kk/", "br, gzip").await;
        assert!(page.headers().get(header::CONTENT_ENCODING).is_none());
        assert_eq!(body(page).await, b"kk home+reload");
    }

    #[tokio::test]
    async fn the_preview_rewrites_pages_and_stores_nothing() {
        let rewrite: PageRewrite = Arc::new(|page| [page, b"+reload"].concat());
        let site = StaticSite::new(site())
            .caching(Caching::NoStore)
            .rewrite_pages(rewrite);
        let page = get(&site, Method::GET, "/kk/", None).await;
        assert_eq!(page.headers()[header::CACHE_CONTROL], "no-store");
        assert!(page.headers().get(header::ETAG).is_none());
        assert_eq!(body(page).await, b"kk home+reload");
        let missing = get(&site, Method::GET, "/kk/gone", None).await;
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        assert_eq!(body(missing).await, b"kk 404+reload");
        let css = get(&site, Method::GET, "/static/style.css", None).await;
        assert_eq!(body(css).await, b"css");
    }

    #[tokio::test]
    async fn head_has_no_body_and_other_methods_are_refused() {
        let site = StaticSite::new(site());
        let head = get(&site, Method::HEAD, "/kk/", None).await;
        assert_eq!(head.status(), StatusCode::OK);
        assert!(body(head).await.is_empty());
        let post = get(&site, Method::POST, "/kk/", None).await;
        assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(post.headers()[header::ALLOW], "GET, HEAD");
    }

    #[test]
    fn a_directory_on_disk_is_not_a_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("kk")).unwrap();
        std::fs::write(dir.path().join("kk/index.html"), "kk").unwrap();
        let files = DirFiles::new(dir.path());
        assert_eq!(files.read("kk/index.html").unwrap(), "kk");
        assert_eq!(files.read("kk"), None);
        assert_eq!(
            resolve(&files, "/kk", None),
            Resolved::Redirect("/kk/".into())
        );
    }
}
