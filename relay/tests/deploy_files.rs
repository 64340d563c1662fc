//! The deployment files under `deploy/` against the code they deploy: the security headers in
//! the Caddy site file and the CloudFront policy equal the relay's one definition
//! (`kelisim_relay::security_headers`), so neither copy can drift silently.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use kelisim_relay::security_headers;

fn repo_file(path: &str) -> String {
    let full = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("reading {}: {e}", full.display()))
}

/// The relay's headers, names in lower case.
fn relay_headers() -> BTreeMap<String, String> {
    security_headers::all()
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect()
}

/// The `Name "value"` lines of the Caddyfile's `header { … }` block (lower-cased names);
/// `defer`, comments and deletions (`-Server`) are not headers.
fn caddy_headers(text: &str) -> BTreeMap<String, String> {
    let mut lines = text.lines().map(str::trim);
    lines
        .by_ref()
        .find(|line| *line == "header {")
        .expect("the Caddyfile has a `header {` block");
    let mut headers = BTreeMap::new();
    for line in lines.take_while(|line| *line != "}") {
        if line.is_empty() || line.starts_with('#') || line.starts_with('-') || line == "defer" {
            continue;
        }
        let (name, value) = line
            .split_once(' ')
            .unwrap_or_else(|| panic!("a header line without a value: {line}"));
        let value = value
            .trim()
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or_else(|| panic!("the value of {name} is not quoted: {line}"));
        let earlier = headers.insert(name.to_ascii_lowercase(), value.to_owned());
        assert!(earlier.is_none(), "{name} is set twice in the Caddyfile");
    }
    headers
}

#[test]
fn the_caddyfile_sets_exactly_the_relays_security_headers() {
    let caddy = caddy_headers(&repo_file("deploy/host/Caddyfile"));
    assert_eq!(caddy, relay_headers());
}

#[test]
fn the_caddyfile_reader_notices_a_drifted_value() {
    let drifted = repo_file("deploy/host/Caddyfile").replace("same-origin", "unsafe-url");
    assert_ne!(caddy_headers(&drifted), relay_headers());
}
