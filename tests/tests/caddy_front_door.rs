//! The front door as deployed: Caddy, with `deploy/host/Caddyfile` as shipped, in front of
//! `kelisim-relay serve --static-dir` serving the site the generator built from this
//! repository, everything through TLS on loopback.
//!
//! Why: `relay/tests/deploy_files.rs` compares the Caddyfile with the code as text, which
//! cannot tell what Caddy does with it. Run for real, the pair showed what text could not:
//! Caddy's on-the-fly `encode` sent `Vary: Accept-Encoding` twice on every 404 page (the relay
//! sent those uncompressed) and kept the relay's ETag on its own gzip; Caddy 2.6 has no header
//! timeout of its own, so a client trickling header bytes held its connection forever (the
//! relay's timeout never sees a request Caddy has not finished reading); and one 1 MB post in
//! ten got Caddy's `502` instead of the relay's `413`, the relay closing on a body it had not
//! read. Each is fixed (no `encode`, 404 pages precompressed, `read_header` in the Caddyfile,
//! a lingering close in the relay) and checked here, with the rest of what a visitor meets:
//!
//! - every security header exactly once, with the relay's value, and no `Server` header; and,
//!   with Caddy in front of a bare upstream that sends wrong values of them, Caddy's own
//!   (so the test fails when the Caddyfile loses one, though the relay sets them too);
//! - pages, stylesheets and scripts sent as the build's precompressed `.br`/`.gz`, byte for
//!   byte, with one `Vary`; content-hashed assets `immutable`;
//! - a Russian path that does not exist gets the Russian 404 page;
//! - form posts stored, the rate limit counting the address Caddy saw (in `X-Forwarded-For`,
//!   which the relay trusts as `deploy/host/README.md` prescribes), not Caddy's, nor an
//!   address the client claims;
//! - a 1 MB body refused with the relay's 413, nothing stored;
//! - a client trickling its headers cut off by the Caddyfile's `read_header` timeout.
//!
//! What the test changes in the Caddyfile is in `caddy_front_door/caddy.rs` (`for_test`): the
//! upstream port, `tls internal`, and global options that keep a test run off fixed ports and
//! the machine's trust store. Each substitution must match the shipped text exactly once.
//! Caddy missing is a failure saying to run `scripts/install-test-deps`, never a skip.
//!
//! The relay is the workspace build's `kelisim-relay` binary; to run this test alone with a
//! fresh one, name the relay's test target too (it builds the binary, and runs nothing here):
//! `cargo test --workspace --all-features --test end_to_end --test relay -- caddy_front_door`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod caddy;
mod https;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::Ipv4Addr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use caddy::Caddy;
use https::Reply;
use kelisim_relay::web::security_headers;
use kelisim_relay::web::site_files::{IMMUTABLE, is_fingerprinted};
use kelisim_tests::paths::{relay_binary, repo_root};
use kelisim_tests::site::build_real_site;

const KEY: &str = "6b656c6973696d2d746573742d6b65792d6f662d33322d62797465732d2d2d21";
const EMAIL: &str = "caddy.front.door@example.kz";
const PHONE: &str = "+7 701 555 0199";
const MESSAGE: &str = "Сообщение через Caddy";

/// The relay's `[rate_limit]` here: one post per client, so a second one from the same
/// address is refused; `trust_forwarded_for` as the deploy README prescribes behind Caddy.
const RELAY_CONFIG: &str = "storage_location = \"caddy front door test\"\n\
    [rate_limit]\nper_client = 1\nwindow_secs = 600\nglobal_per_minute = 100\n\
    trust_forwarded_for = true\n";

/// `kelisim-relay serve` on a free loopback port, stopped when dropped.
struct Relay {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Relay {
    fn start(site: &Path) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("relay.toml");
        std::fs::write(&config, RELAY_CONFIG).unwrap();
        let stderr = std::fs::File::create(dir.path().join("relay.log")).unwrap();
        let mut child = Command::new(relay_binary().unwrap())
            .args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(&config)
            .arg("--manifest")
            .arg(site.join("consent-manifest.json"))
            .arg("--db")
            .arg(dir.path().join("relay.sqlite"))
            .arg("--static-dir")
            .arg(site)
            .env("KELISIM_HMAC_KEY", KEY)
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line of serve: {line:?}"));
        Self { child, port, dir }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("relay.log")).unwrap()
    }

    /// How many records the relay stored for [`EMAIL`].
    fn stored(&self) -> usize {
        let output = Command::new(relay_binary().unwrap())
            .args(["export", "--email", EMAIL, "--db"])
            .arg(self.dir.path().join("relay.sqlite"))
            .env("KELISIM_HMAC_KEY", KEY)
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        let records: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        records.as_array().unwrap().len()
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Each of the relay's security headers exactly once with its value, and no `Server`
/// (the Caddyfile deletes Caddy's).
fn assert_security_headers(reply: &Reply, what: &str) {
    for (name, value) in security_headers::all() {
        assert_eq!(reply.once(name), value, "{name} of {what}\n{reply}");
    }
    assert_eq!(reply.all("server"), Vec::<&str>::new(), "{what}\n{reply}");
}

/// `/ru/нет-такой-страницы/`, percent-encoded as a browser sends it.
fn missing_russian_path() -> String {
    let mut path = String::new();
    for byte in "/ru/нет-такой-страницы/".bytes() {
        if byte.is_ascii_alphanumeric() || b"/-".contains(&byte) {
            path.push(char::from(byte));
        } else {
            path.push_str(&format!("%{byte:02X}"));
        }
    }
    path
}

/// The content-hashed stylesheet and script the build published, as site paths.
fn hashed_assets(site: &Path) -> Vec<String> {
    let mut found: Vec<String> = std::fs::read_dir(site.join("static"))
        .unwrap()
        .map(|entry| format!("static/{}", entry.unwrap().file_name().to_str().unwrap()))
        .filter(|path| is_fingerprinted(path))
        .filter(|path| path.ends_with(".css") || path.ends_with(".js"))
        .collect();
    found.sort();
    let mut kinds: Vec<_> = found
        .iter()
        .map(|p| p.rsplit('.').next().unwrap())
        .collect();
    kinds.sort_unstable();
    assert_eq!(kinds, ["css", "js"], "the hashed assets: {found:?}");
    found
}

/// A page (or asset) through Caddy as the build's precompressed copy in `coding`, and as it
/// is to a client taking neither of them; one `Vary` each time.
fn check_precompressed(caddy: &Caddy, site: &Path, file: &str, url: &str) -> Vec<Reply> {
    let plain = std::fs::read(site.join(file)).unwrap();
    let mut replies = Vec::new();
    for (accept, coding) in [
        ("br", Some("br")),
        ("gzip", Some("gzip")),
        ("gzip, deflate, br, zstd", Some("br")),
        // Neither copy: sent as it is, not compressed again on the way.
        ("zstd", None),
    ] {
        let reply = caddy.get(url, accept);
        assert_eq!(reply.status, 200, "{url} ({accept})\n{reply}");
        assert_eq!(reply.once("vary"), "Accept-Encoding", "{url} ({accept})");
        let expected = match coding {
            Some(coding) => {
                assert_eq!(reply.once("content-encoding"), coding, "{url} ({accept})");
                let suffix = if coding == "br" { "br" } else { "gz" };
                std::fs::read(site.join(format!("{file}.{suffix}"))).unwrap()
            }
            None => {
                assert!(reply.all("content-encoding").is_empty(), "{url}\n{reply}");
                plain.clone()
            }
        };
        assert!(
            reply.body == expected,
            "{url} ({accept}): not the build's copy"
        );
        replies.push(reply);
    }
    replies
}

/// The contact form's JSON post in Russian, as the site's script sends it.
fn contact_form(manifest: &serde_json::Value, message: &str) -> Vec<u8> {
    let policy = &manifest["languages"]["ru"]["policy"];
    serde_json::json!({
        "surname": "Проверкина",
        "first_name": "Анна",
        "email": EMAIL,
        "phone": PHONE,
        "message": message,
        "lang": "ru",
        "consent": ["reply"],
        "policy_version": policy["version"],
        "policy_hash": policy["sha256"],
        "idempotency_key": "",
        "website": "",
    })
    .to_string()
    .into_bytes()
}

/// Answers collected for the security-header check, each with what was asked.
type Replies = Vec<(String, Reply)>;

/// Pages, stylesheet and script: the build's own compressed copies; hashed assets kept.
fn pages_and_assets(caddy: &Caddy, site: &Path) -> Replies {
    let mut replies = Replies::new();
    for reply in check_precompressed(caddy, site, "ru/index.html", "/ru/") {
        assert_eq!(reply.once("cache-control"), "no-cache");
        replies.push(("/ru/".to_owned(), reply));
    }
    let contact = std::fs::read_to_string(site.join("ru/contact/index.html")).unwrap();
    assert!(IMMUTABLE.contains("immutable"), "{IMMUTABLE}");
    for asset in hashed_assets(site) {
        let loaded = contact.contains(&format!("\"/{asset}\""));
        assert!(loaded, "/ru/contact/ does not load {asset}");
        for reply in check_precompressed(caddy, site, &asset, &format!("/{asset}")) {
            assert_eq!(reply.once("cache-control"), IMMUTABLE, "{asset}");
            replies.push((asset.clone(), reply));
        }
    }
    let unhashed = caddy.get("/static/style.css", "br");
    assert_eq!(unhashed.once("cache-control"), "no-cache", "{unhashed}");
    replies.push(("/static/style.css".to_owned(), unhashed));
    let redirect = caddy.get("/ru", "br");
    assert_eq!((redirect.status, redirect.once("location")), (307, "/ru/"));
    replies.push(("/ru".to_owned(), redirect));
    replies
}

/// A Russian path that does not exist: the Russian 404 page, precompressed too.
fn russian_not_found(caddy: &Caddy, site: &Path) -> Replies {
    let russian_404 = std::fs::read(site.join("ru/404.html")).unwrap();
    assert_ne!(russian_404, std::fs::read(site.join("404.html")).unwrap());
    let missing = missing_russian_path();
    let plain = caddy.get(&missing, "identity");
    assert_eq!(plain.status, 404, "{plain}");
    assert!(
        plain.body == russian_404,
        "not ru/404.html: {}",
        plain.text()
    );
    assert!(plain.text().contains("<html lang=\"ru\""));
    assert!(
        plain.text().contains("Страница не найдена"),
        "{}",
        plain.text()
    );
    let compressed = caddy.get(&missing, "gzip, deflate, br, zstd");
    assert_eq!(compressed.status, 404);
    assert_eq!(compressed.once("content-encoding"), "br");
    assert_eq!(compressed.once("vary"), "Accept-Encoding");
    assert!(compressed.body == std::fs::read(site.join("ru/404.html.br")).unwrap());
    vec![(missing.clone(), plain), (missing, compressed)]
}

/// The headers of a JSON post from the site's own pages.
fn json_post_headers(manifest: &serde_json::Value) -> String {
    format!(
        "Origin: {}\r\nContent-Type: application/json\r\nAccept: application/json\r\n",
        manifest["base_url"].as_str().unwrap()
    )
}

/// Form posts. The relay allows one per client, and Caddy names the client: each loopback
/// address is another client to Caddy, and so to the relay, configured as the deploy README
/// says to behind Caddy.
fn form_posts(caddy: &Caddy, relay: &Relay, manifest: &serde_json::Value) -> Replies {
    let readme = std::fs::read_to_string(repo_root().join("deploy/host/README.md")).unwrap();
    let prescribed = "[rate_limit] trust_forwarded_for = true";
    assert!(
        readme.contains(prescribed),
        "deploy/host/README.md: {prescribed}?"
    );
    assert!(RELAY_CONFIG.contains("[rate_limit]\n"));
    assert!(RELAY_CONFIG.contains("trust_forwarded_for = true\n"));
    let endpoint = manifest["form_endpoint"].as_str().unwrap();
    let json = json_post_headers(manifest);
    let first_client = Ipv4Addr::new(127, 0, 0, 2);
    let form = contact_form(manifest, MESSAGE);
    let first = caddy.post(first_client, endpoint, &json, &form, false);
    assert_eq!(first.status, 201, "{first}\n{}", first.text());
    assert!(first.json()["id"].is_string());
    // The same client again, claiming another address: Caddy replaces the claim with the
    // address it saw, so the relay counts the first client's second post.
    let spoofed = format!("{json}X-Forwarded-For: 203.0.113.9\r\n");
    let again = contact_form(manifest, &format!("{MESSAGE} 2"));
    let refused = caddy.post(first_client, endpoint, &spoofed, &again, false);
    assert_eq!(
        refused.status,
        429,
        "a second post from the same client was not counted against it: the relay does not \
         see Caddy's X-Forwarded-For (trust_forwarded_for), or believed the client's claim\n{}",
        refused.text()
    );
    assert_eq!(refused.json()["error"], "rate_limited");
    // Another client has its own allowance: the relay is not counting Caddy's address.
    let second_client = Ipv4Addr::new(127, 0, 0, 3);
    let third = contact_form(manifest, &format!("{MESSAGE} 3"));
    let other = caddy.post(second_client, endpoint, &json, &third, false);
    assert_eq!(other.status, 201, "{other}\n{}", other.text());
    assert_eq!(relay.stored(), 2);
    [first, refused, other]
        .map(|r| (endpoint.to_owned(), r))
        .into()
}

/// A 1 MB body, with a length and chunked, each from a client with its allowance left: the
/// relay's 413 every time, nothing stored. Sixteen times: before the relay lingered on
/// closing, about one in ten was Caddy's 502.
fn oversized_posts(caddy: &Caddy, relay: &Relay, manifest: &serde_json::Value) -> Replies {
    let endpoint = manifest["form_endpoint"].as_str().unwrap();
    let json = json_post_headers(manifest);
    let before = relay.stored();
    let mut big = br#"{"message":""#.to_vec();
    big.resize(1 << 20, b'a');
    let mut replies = Replies::new();
    for n in 0..16_u8 {
        let chunked = n % 2 == 1;
        let from = Ipv4Addr::new(127, 0, 0, 10 + n);
        let reply = caddy.post(from, endpoint, &json, &big, chunked);
        let context = format!("chunked: {chunked}\n{reply}\n{}", reply.text());
        assert_eq!(reply.status, 413, "{context}");
        assert_eq!(reply.json()["error"], "payload_too_large");
        replies.push((format!("1 MB post {n}"), reply));
    }
    assert_eq!(relay.stored(), before, "a refused post was stored");
    replies
}

#[test]
fn caddy_as_shipped_in_front_of_the_relay() {
    let build = tempfile::tempdir().unwrap();
    let site = build.path().join("public");
    build_real_site(&site).unwrap();
    let manifest = std::fs::read(site.join("consent-manifest.json")).unwrap();
    let manifest: serde_json::Value = serde_json::from_slice(&manifest).unwrap();
    let relay = Relay::start(&site);
    let caddy = Caddy::start(relay.port);

    // Started first, as it waits out the Caddyfile's `read_header` timeout.
    let read_header = caddy::read_header_timeout();
    let (tls, addr) = (caddy.tls().clone(), caddy.addr);
    let give_up = read_header + Duration::from_secs(10);
    let trickler = std::thread::spawn(move || https::trickle_headers(&tls, addr, give_up));

    let mut replies = pages_and_assets(&caddy, &site);
    replies.extend(russian_not_found(&caddy, &site));
    replies.extend(form_posts(&caddy, &relay, &manifest));
    replies.extend(oversized_posts(&caddy, &relay, &manifest));
    for (what, reply) in &replies {
        assert_security_headers(reply, what);
    }

    let cut_after = trickler.join().unwrap().unwrap().unwrap_or_else(|| {
        panic!("a client trickling its headers was still connected after {give_up:?}")
    });
    assert!(
        cut_after >= read_header.saturating_sub(Duration::from_secs(1))
            && cut_after <= read_header + Duration::from_secs(5),
        "the trickling client was cut off after {cut_after:?}, not at the Caddyfile's \
         read_header {read_header:?}"
    );

    for log in [relay.log(), caddy.log()] {
        for personal in [EMAIL, PHONE, MESSAGE, "Проверкина"] {
            assert!(!log.contains(personal), "{personal} in a log:\n{log}");
        }
    }
}

/// An upstream that answers everything with wrong values of every security header and a
/// `Server` header of its own. Stops accepting when dropped.
struct BareUpstream {
    port: u16,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

const WRONG_HEADERS: &str = "Server: bare-upstream\r\n\
    Content-Security-Policy: default-src *\r\n\
    Strict-Transport-Security: max-age=0\r\n\
    Referrer-Policy: unsafe-url\r\n\
    X-Content-Type-Options: none\r\n\
    Permissions-Policy: camera=*\r\n";

impl BareUpstream {
    fn start() -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = std::sync::Arc::clone(&stop);
        std::thread::spawn(move || {
            while !stopped.load(std::sync::atomic::Ordering::Relaxed) {
                let Ok((mut stream, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                };
                stream.set_nonblocking(false).unwrap();
                stream
                    .set_read_timeout(Some(Duration::from_secs(5)))
                    .unwrap();
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let body = "<p>bare upstream</p>";
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\
                     {WRONG_HEADERS}Connection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Self { port, stop }
    }
}

impl Drop for BareUpstream {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// The relay sets the same headers, so through the pair above a header the Caddyfile lost
/// would not show. In front of an upstream that gets them all wrong, each must come out
/// once, with the relay's value: the Caddyfile sets every one, and replaces (`defer`) rather
/// than adds to what the upstream sent.
#[test]
fn the_caddyfile_itself_sets_every_security_header() {
    let upstream = BareUpstream::start();
    let caddy = Caddy::start(upstream.port);
    let reply = caddy.get("/", "identity");
    assert_eq!(reply.status, 200, "{reply}");
    assert_eq!(reply.text(), "<p>bare upstream</p>");
    assert_security_headers(&reply, "a bare upstream's page");
}
