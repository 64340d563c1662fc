//! The security headers of every page and form answer, defined once: `kelisim-relay serve`
//! sets them itself (a host without a proxy), and the CloudFront response-headers policy in
//! `deploy/aws/template.yaml` and the Caddy site file in `deploy/host/Caddyfile` carry the
//! same values, which `relay/tests/deploy_files.rs` compares against this module.
//!
//! The Content-Security-Policy is what the built pages really satisfy: everything from the
//! site's own origin, no inline script or style, no plugins, no framing (the browser test
//! `tests/tests/site_quality.rs` loads every page under it and fails on a violation).

/// `Content-Security-Policy`. `default-src 'self'` covers scripts, styles, images, fonts and
/// the form script's `fetch` (the form endpoint is on the same origin); `form-action`,
/// `base-uri` and `frame-ancestors` do not fall back to `default-src`, so they are set apart.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'; object-src 'none'";

/// `Strict-Transport-Security` max-age: two years, the value hstspreload.org asks for.
pub const HSTS_MAX_AGE_SECS: u32 = 63_072_000;

/// Whether HSTS covers subdomains. Preload is left to the operator: it is hard to undo.
pub const HSTS_INCLUDE_SUBDOMAINS: bool = true;

/// `Referrer-Policy`: no referrer leaves the site, the page's own requests keep theirs. Not
/// `no-referrer`, which makes browsers send `Origin: null` on the site's own form posts.
pub const REFERRER_POLICY: &str = "same-origin";

/// `Permissions-Policy`: the site uses none of these powerful features, so no page (nor
/// anything injected into one) may ask the visitor for them.
pub const PERMISSIONS_POLICY: &str =
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), browsing-topics=()";

/// `X-Content-Type-Options`.
pub const CONTENT_TYPE_OPTIONS: &str = "nosniff";

/// The `Strict-Transport-Security` value built from the two settings above.
pub fn strict_transport_security() -> String {
    if HSTS_INCLUDE_SUBDOMAINS {
        format!("max-age={HSTS_MAX_AGE_SECS}; includeSubDomains")
    } else {
        format!("max-age={HSTS_MAX_AGE_SECS}")
    }
}

/// Every header and its value, names in lower case.
pub fn all() -> [(&'static str, String); 5] {
    [
        (
            "content-security-policy",
            CONTENT_SECURITY_POLICY.to_owned(),
        ),
        ("strict-transport-security", strict_transport_security()),
        ("referrer-policy", REFERRER_POLICY.to_owned()),
        ("x-content-type-options", CONTENT_TYPE_OPTIONS.to_owned()),
        ("permissions-policy", PERMISSIONS_POLICY.to_owned()),
    ]
}

/// Wraps `router` so every response it gives (pages, static files, form answers, errors)
/// carries the headers, replacing any value a handler set.
#[cfg(feature = "http")]
pub fn apply(router: axum::Router) -> axum::Router {
    use axum::http::{HeaderName, HeaderValue};

    let headers: std::sync::Arc<[(HeaderName, HeaderValue)]> = all()
        .into_iter()
        .filter_map(|(name, value)| {
            Some((
                HeaderName::from_static(name),
                HeaderValue::from_str(&value).ok()?,
            ))
        })
        .collect();
    router.layer(axum::middleware::map_response(
        move |mut response: axum::response::Response| {
            let headers = std::sync::Arc::clone(&headers);
            async move {
                for (name, value) in headers.iter() {
                    response.headers_mut().insert(name.clone(), value.clone());
                }
                response
            }
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_is_a_valid_header_value_and_the_csp_forbids_framing_and_inline_code() {
        for (name, value) in all() {
            assert!(
                value.bytes().all(|b| (0x20..0x7f).contains(&b)),
                "{name}: {value}"
            );
            assert_eq!(name, name.to_ascii_lowercase());
        }
        assert!(CONTENT_SECURITY_POLICY.contains("frame-ancestors 'none'"));
        assert!(CONTENT_SECURITY_POLICY.starts_with("default-src 'self'"));
        assert!(!CONTENT_SECURITY_POLICY.contains("unsafe-inline"));
        assert_eq!(
            strict_transport_security(),
            "max-age=63072000; includeSubDomains"
        );
    }
}
