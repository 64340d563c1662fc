//! Caddy itself: the shipped `deploy/host/Caddyfile` with the few substitutions a test run
//! needs, each of which must match the shipped text exactly once, and a `caddy run` of it on a
//! free port with its own storage (certificates, its internal CA) in a temporary folder.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kelisim_tests::paths::repo_root;
use rustls::ClientConfig;

use super::https::{self, Reply};

/// The shipped site file.
pub fn shipped() -> String {
    let path = repo_root().join("deploy/host/Caddyfile");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `text` with its one `from` replaced by `to`; fails, naming both, when the shipped file no
/// longer has `from` exactly once (the test would otherwise run something else than what it
/// believes).
pub fn replace_once(text: &str, from: &str, to: &str) -> String {
    let found = text.matches(from).count();
    assert_eq!(
        found, 1,
        "deploy/host/Caddyfile has {found} copies of {from:?} (expected exactly one): the \
         Caddyfile changed, update tests/tests/caddy_front_door/caddy.rs to match"
    );
    text.replacen(from, to, 1)
}

/// The shipped Caddyfile as a test runs it, proxying to `127.0.0.1:<upstream>`.
///
/// The site address stays `{$SITE_ADDRESS}` (set in Caddy's environment, as in production).
/// The site gets `tls internal`: a certificate from Caddy's own CA, for an address no public
/// CA would certify. The global options get what a test on a shared machine needs and
/// production does not: no admin endpoint (its fixed port 2019 would collide between runs),
/// no installing the test CA into the machine's trust store (the test trusts it by itself),
/// and no HTTP-to-HTTPS redirect server (it would take port 80).
pub fn for_test(upstream: u16) -> String {
    let text = shipped();
    let text = replace_once(
        &text,
        "reverse_proxy 127.0.0.1:8787",
        &format!("reverse_proxy 127.0.0.1:{upstream}"),
    );
    let text = replace_once(
        &text,
        "{$SITE_ADDRESS} {\n",
        "{$SITE_ADDRESS} {\n\ttls internal\n",
    );
    replace_once(
        &text,
        "\temail {$ACME_EMAIL}\n",
        "\temail {$ACME_EMAIL}\n\tadmin off\n\tskip_install_trust\n\tauto_https disable_redirects\n",
    )
}

/// The `read_header` timeout the shipped Caddyfile sets. Caddy reads a request's headers
/// before the relay sees any of it, so this is the header timeout a visitor meets: the
/// relay's own (`[server] header_read_timeout_secs`).
pub fn read_header_timeout() -> Duration {
    let text = shipped();
    let value = text
        .lines()
        .find_map(|line| line.trim().strip_prefix("read_header "))
        .expect("deploy/host/Caddyfile sets no `read_header` timeout");
    let secs = value
        .trim()
        .strip_suffix('s')
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("read_header {value}: expected whole seconds, such as 10s"));
    let relay = kelisim_relay::config::ServerLimits::default().header_read_timeout_secs;
    assert_eq!(
        secs, relay,
        "read_header {value}: the relay allows {relay} s"
    );
    Duration::from_secs(secs)
}

/// Fails with the way to install Caddy when it is not there: a test that could not run must
/// not pass.
fn require_caddy() {
    let installed = Command::new("caddy")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        installed,
        "caddy is not installed, and this test runs deploy/host/Caddyfile in front of the \
         relay: run scripts/install-test-deps (Debian: apt-get install caddy)"
    );
}

/// A port nothing listens on now.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A running Caddy with the shipped site file, stopped when dropped.
pub struct Caddy {
    child: Child,
    pub addr: SocketAddr,
    /// Trusting Caddy's internal CA, once Caddy has made it.
    tls: Option<Arc<ClientConfig>>,
    dir: tempfile::TempDir,
}

impl Caddy {
    /// Starts Caddy in front of `127.0.0.1:<upstream>` and waits until it answers over TLS
    /// with a certificate of its internal CA.
    pub fn start(upstream: u16) -> Self {
        require_caddy();
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("Caddyfile");
        std::fs::write(&config, for_test(upstream)).unwrap();
        let port = free_port();
        let log = std::fs::File::create(dir.path().join("caddy.log")).unwrap();
        let child = Command::new("caddy")
            .args(["run", "--adapter", "caddyfile", "--config"])
            .arg(&config)
            .env("SITE_ADDRESS", format!("127.0.0.1:{port}"))
            .env("ACME_EMAIL", "operator@example.com")
            .env("HOME", dir.path())
            .env("XDG_DATA_HOME", dir.path().join("data"))
            .env("XDG_CONFIG_HOME", dir.path().join("config"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let mut caddy = Self {
            child,
            addr,
            tls: None,
            dir,
        };
        caddy.wait_until_serving();
        caddy
    }

    fn root_certificate(&self) -> PathBuf {
        self.dir
            .path()
            .join("data/caddy/pki/authorities/local/root.crt")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("caddy.log")).unwrap_or_default()
    }

    fn wait_until_serving(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("caddy exited ({status}):\n{}", self.log());
            }
            if let Ok(tls) = https::trusting(&self.root_certificate()) {
                self.tls = Some(tls);
                if self.try_get("/", "identity").is_ok() {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "caddy did not answer over TLS within 30 s:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn tls(&self) -> &Arc<ClientConfig> {
        self.tls.as_ref().expect("caddy is serving")
    }

    fn try_get(&self, path: &str, accept_encoding: &str) -> std::io::Result<Reply> {
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nAccept-Encoding: {accept_encoding}\r\n\
             Connection: close\r\n\r\n",
            self.addr
        );
        https::exchange(
            self.tls(),
            Ipv4Addr::LOCALHOST,
            self.addr,
            request.as_bytes(),
        )
    }

    /// `GET path` with the given `Accept-Encoding`.
    pub fn get(&self, path: &str, accept_encoding: &str) -> Reply {
        self.try_get(path, accept_encoding)
            .unwrap_or_else(|e| panic!("GET {path}: {e}\n{}", self.log()))
    }

    /// A `POST` of `body` to `path` from the client address `from`, with `headers` (each line
    /// ending in CRLF) added; `chunked` sends the body in chunked transfer coding.
    pub fn post(
        &self,
        from: Ipv4Addr,
        path: &str,
        headers: &str,
        body: &[u8],
        chunked: bool,
    ) -> Reply {
        let mut request = format!("POST {path} HTTP/1.1\r\nHost: {}\r\n{headers}", self.addr);
        let body = if chunked {
            request.push_str("Transfer-Encoding: chunked\r\n");
            https::chunked(body)
        } else {
            request.push_str(&format!("Content-Length: {}\r\n", body.len()));
            body.to_vec()
        };
        request.push_str("Connection: close\r\n\r\n");
        let mut request = request.into_bytes();
        request.extend_from_slice(&body);
        https::exchange(self.tls(), from, self.addr, &request)
            .unwrap_or_else(|e| panic!("POST {path} from {from}: {e}\n{}", self.log()))
    }
}

impl Drop for Caddy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
