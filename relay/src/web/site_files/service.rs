//! The service: [`StaticSite`] answers a request for one of a site's files by the rules of
//! the module comment, with the caching and page rewrite its server asks for.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::encoding::{
    Encoded, IMMUTABLE, accepted_codings, has_precompressed_forms, is_fingerprinted, precompressed,
};
use super::paths::{Resolved, etag, media_type, resolve};
use super::source::SiteFiles;

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
            // A 404 page is a page of the site too, with its own precompressed copies.
            let encoded = match &resolved {
                Resolved::File { path, .. } | Resolved::NotFound(Some((path, _))) => {
                    precompressed(files.as_ref(), path, &accepted)
                }
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
            Resolved::Moved(location) => (
                StatusCode::MOVED_PERMANENTLY,
                [(header::LOCATION, location)],
            )
                .into_response(),
            Resolved::NotFound(Some((path, page))) => {
                // No conditional answer: a 304 would stand for the page that was not found.
                let unconditional = HeaderMap::new();
                let mut response = match encoded {
                    Some(encoded) => self.encoded(&path, encoded, &unconditional),
                    None => self.file(&path, page, &unconditional),
                };
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

#[cfg(test)]
mod tests {
    // A failed unwrap is a failed test, with the value in the message.
    #![allow(clippy::unwrap_used)]
    use std::collections::BTreeMap;

    use super::*;
    use crate::web::site_files::source::DirFiles;

    use crate::web::site_files::source::Memory;

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

    fn not_found(path: &str, bytes: &'static str) -> Resolved {
        Resolved::NotFound(Some((
            path.to_owned(),
            Bytes::from_static(bytes.as_bytes()),
        )))
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
        assert_eq!(
            resolve(&site, "/kk/nothing/", None),
            not_found("kk/404.html", "kk 404")
        );
        assert_eq!(
            resolve(&site, "/ru/nothing/", None),
            not_found("404.html", "root 404")
        );
        assert_eq!(
            resolve(&site, "/nothing.txt", None),
            not_found("404.html", "root 404")
        );
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
            ("kk/404.html", "kk 404"),
            ("kk/404.html.br", "BR kk 404"),
            ("kk/404.html.gz", "GZ kk 404"),
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

    /// The 404 page is sent precompressed like any page: a proxy compressing it again on the
    /// fly (Caddy's `encode`) would add a second `Vary: Accept-Encoding`.
    #[tokio::test]
    async fn the_404_page_is_sent_precompressed_too() {
        let site = StaticSite::new(precompressed_site());
        let br = get_encoded(&site, "/kk/gone/", "gzip, br").await;
        assert_eq!(br.status(), StatusCode::NOT_FOUND);
        assert_eq!(br.headers()[header::CONTENT_ENCODING], "br");
        assert_eq!(br.headers()[header::VARY], "Accept-Encoding");
        assert_eq!(body(br).await, b"BR kk 404");
        let gz = get_encoded(&site, "/kk/gone/", "gzip").await;
        assert_eq!(gz.headers()[header::CONTENT_ENCODING], "gzip");
        assert_eq!(body(gz).await, b"GZ kk 404");
        let plain = get_encoded(&site, "/kk/gone/", "identity").await;
        assert_eq!(plain.status(), StatusCode::NOT_FOUND);
        assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
        assert_eq!(body(plain).await, b"kk 404");
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
