//! `kelisim-relay doctor` on real files, a real SMTP conversation and a real HTTP server:
//! a sound deployment passes, and each failure it can report is produced and named in plain
//! words (and makes the command fail).
#![cfg(feature = "server")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::smtp_sink;

use crate::relay_process::{BIN, KEY, OTHER_KEY, fixture};
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A deployment in a temp dir: a key file (0600), a manifest, a site directory publishing the
/// same manifest, a database path.
struct Deployment {
    dir: tempfile::TempDir,
}

impl Deployment {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let this = Self { dir };
        std::fs::write(this.key_file(), KEY).unwrap();
        set_mode(&this.key_file(), 0o600);
        std::fs::copy(fixture(), this.manifest()).unwrap();
        std::fs::create_dir(this.site()).unwrap();
        std::fs::copy(fixture(), this.site().join("consent-manifest.json")).unwrap();
        this
    }
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    fn key_file(&self) -> PathBuf {
        self.path("hmac.key")
    }
    fn manifest(&self) -> PathBuf {
        self.path("consent-manifest.json")
    }
    fn site(&self) -> PathBuf {
        self.path("site")
    }
    fn db(&self) -> PathBuf {
        self.path("relay.sqlite")
    }

    /// Runs `kelisim-relay <args>` with only this deployment's configuration in the
    /// environment, plus `vars`.
    fn run(&self, args: &[&str], vars: &[(&str, &str)]) -> Output {
        Command::new(BIN)
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("KELISIM_HMAC_KEY_FILE", self.key_file())
            .env("KELISIM_MANIFEST", self.manifest())
            .arg("--db")
            .arg(self.db())
            .envs(vars.iter().copied())
            .output()
            .unwrap()
    }

    fn doctor(&self, extra: &[&str], vars: &[(&str, &str)]) -> (bool, String) {
        let site = self.site();
        let mut args = vec!["doctor", "--static-dir", site.to_str().unwrap()];
        args.extend_from_slice(extra);
        let output = self.run(&args, vars);
        (
            output.status.success(),
            String::from_utf8(output.stdout).unwrap(),
        )
    }
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// The report's line for `check` with status `status`, if any.
fn line<'a>(report: &'a str, status: &str, check: &str) -> Option<&'a str> {
    report.lines().find(|l| {
        let mut words = l.split_whitespace();
        words.next() == Some(status) && words.next() == Some(check)
    })
}

fn fails(report: &str, check: &str, words: &str) {
    let found = line(report, "FAIL", check)
        .unwrap_or_else(|| panic!("no FAIL line for {check} in:\n{report}"));
    assert!(found.contains(words), "{found:?} should say {words:?}");
}

#[test]
fn a_sound_deployment_passes_every_check() {
    let deployment = Deployment::new();
    // A database the relay created and stamped with this key's check value.
    let created = deployment.run(&["inbox"], &[]);
    assert!(created.status.success(), "{created:?}");
    let (passed, report) = deployment.doctor(&[], &[]);
    assert!(passed, "{report}");
    for check in ["key", "database", "manifest", "site", "smtp", "clock"] {
        assert!(line(&report, "ok", check).is_some(), "{check}:\n{report}");
    }
    assert!(!report.contains("FAIL"), "{report}");
    assert!(report.contains("Everything checked is in order."));
}

#[test]
fn key_file_problems_are_named() {
    let deployment = Deployment::new();
    set_mode(&deployment.key_file(), 0o644);
    let (passed, report) = deployment.doctor(&[], &[]);
    assert!(!passed);
    fails(&report, "key", "can be read by other users (mode 644)");
    fails(&report, "key", "chmod 600");

    std::fs::remove_file(deployment.key_file()).unwrap();
    let (passed, report) = deployment.doctor(&[], &[]);
    assert!(!passed);
    fails(&report, "key", "cannot be read");

    std::fs::write(deployment.key_file(), "too short").unwrap();
    set_mode(&deployment.key_file(), 0o600);
    let (_, report) = deployment.doctor(&[], &[]);
    fails(&report, "key", "neither hex nor base64");

    let (passed, report) = deployment.doctor(&[], &[("KELISIM_HMAC_KEY_FILE", "")]);
    assert!(!passed);
    fails(&report, "key", "no HMAC key is configured");
}

#[test]
fn database_problems_are_named() {
    let deployment = Deployment::new();
    assert!(deployment.run(&["inbox"], &[]).status.success());
    set_mode(&deployment.db(), 0o644);
    let (passed, report) = deployment.doctor(&[], &[]);
    assert!(!passed);
    fails(
        &report,
        "database",
        "holds personal data and can be read by other users",
    );

    set_mode(&deployment.db(), 0o600);
    let (passed, report) = deployment.doctor(&[], &[("KELISIM_HMAC_KEY", OTHER_KEY)]);
    assert!(!passed);
    fails(&report, "database", "does not match the key");

    // A database path whose directory cannot be created in (a file stands where it should be).
    let blocker = deployment.path("not-a-dir");
    std::fs::write(&blocker, "").unwrap();
    let db = blocker.join("relay.sqlite");
    let output = Command::new(BIN)
        .args(["doctor", "--db", db.to_str().unwrap()])
        .env_clear()
        .env("KELISIM_HMAC_KEY", KEY)
        .env("KELISIM_MANIFEST", deployment.manifest())
        .output()
        .unwrap();
    assert!(!output.status.success());
    fails(
        &String::from_utf8(output.stdout).unwrap(),
        "database",
        "is not writable",
    );
}

#[test]
fn manifest_and_site_problems_are_named() {
    let deployment = Deployment::new();
    let mut changed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture()).unwrap()).unwrap();
    changed["languages"]["kk"]["policy"]["version"] = "2099-01".into();
    std::fs::write(
        deployment.site().join("consent-manifest.json"),
        serde_json::to_string_pretty(&changed).unwrap(),
    )
    .unwrap();
    let (passed, report) = deployment.doctor(&[], &[]);
    assert!(!passed);
    fails(&report, "site", "differs from the relay's manifest");

    std::fs::remove_file(deployment.site().join("consent-manifest.json")).unwrap();
    let (_, report) = deployment.doctor(&[], &[]);
    fails(&report, "site", "has no readable");

    std::fs::write(deployment.manifest(), "{\"schema_version\": 1}").unwrap();
    let (_, report) = deployment.doctor(&[], &[]);
    fails(&report, "manifest", "is not a valid consent manifest");

    std::fs::remove_file(deployment.manifest()).unwrap();
    let (_, report) = deployment.doctor(&[], &[]);
    fails(&report, "manifest", "cannot be read");
}

#[tokio::test(flavor = "multi_thread")]
async fn smtp_problems_are_named_and_a_listening_server_passes() {
    let deployment = Deployment::new();
    let sink = smtp_sink::SmtpSink::start().await;
    let url = sink.url();
    // The sink answers on the runtime's worker threads while this one waits for the process.
    let (passed, report) = deployment.doctor(&[], &[("KELISIM_SMTP_URL", &url)]);
    assert!(passed, "{report}");
    assert!(line(&report, "ok", "smtp").unwrap().contains("answers"));

    // Nothing listens on a port just freed.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let (passed, report) = deployment.doctor(
        &[],
        &[("KELISIM_SMTP_URL", &format!("smtp://127.0.0.1:{port}"))],
    );
    assert!(!passed);
    fails(&report, "smtp", "cannot be reached");

    let (passed, report) = deployment.doctor(&[], &[("KELISIM_NOTIFY_TO", "info@woow.kz")]);
    assert!(!passed);
    fails(&report, "smtp", "notify_to is set but no SMTP server is");
}

/// A one-shot HTTP server answering every request with `body` and a `Date` header.
fn site_server(body: Vec<u8>, date: &'static str) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let head = format!(
                "HTTP/1.1 200 OK\r\nDate: {date}\r\nContent-Type: application/json\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
    });
    format!("http://{addr}")
}

#[test]
fn a_clock_far_from_the_sites_server_is_named() {
    let deployment = Deployment::new();
    let url = site_server(
        std::fs::read(fixture()).unwrap(),
        "Mon, 01 Jan 2001 00:00:00 GMT",
    );
    let (passed, report) = deployment.doctor(&["--site-url", &url], &[]);
    assert!(!passed);
    assert!(line(&report, "ok", "site").is_some(), "{report}");
    fails(&report, "clock", "ahead of the site's server");
}
