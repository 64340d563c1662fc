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

/// The unit files of `deploy/host/`, with the install path of the binary replaced by the one
/// just built (`systemd-analyze verify` checks that `ExecStart` exists and is executable).
#[cfg(feature = "server")]
fn units_in(dir: &std::path::Path) -> Vec<PathBuf> {
    let host = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy/host");
    let mut units = Vec::new();
    for entry in std::fs::read_dir(&host).unwrap() {
        let path = entry.unwrap().path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if !(name.ends_with(".service") || name.ends_with(".timer")) {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap().replace(
            "/usr/local/bin/kelisim-relay",
            env!("CARGO_BIN_EXE_kelisim-relay"),
        );
        let copy = dir.join(name);
        std::fs::write(&copy, text).unwrap();
        units.push(copy);
    }
    units.sort();
    units
}

/// `systemd-analyze verify` exits 0 even for unknown keys or bad values; it reports them on
/// standard error, so a clean verification is an empty one.
#[cfg(feature = "server")]
fn verify(units: &[PathBuf]) -> std::process::Output {
    std::process::Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .args(units)
        .output()
        .unwrap()
}

#[cfg(feature = "server")]
#[test]
fn the_systemd_units_pass_systemd_analyze_verify() {
    let available = std::process::Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !available {
        println!("skipped: systemd-analyze is not installed on this machine");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let units = units_in(dir.path());
    let names: Vec<_> = units
        .iter()
        .map(|u| u.file_name().unwrap().to_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        names,
        [
            "kelisim-relay-backup.service",
            "kelisim-relay-backup.timer",
            "kelisim-relay-purge.service",
            "kelisim-relay-purge.timer",
            "kelisim-relay.service",
        ]
    );
    let output = verify(&units);
    assert!(
        output.status.success() && output.stderr.is_empty(),
        "systemd-analyze verify: {}",
        String::from_utf8_lossy(&output.stderr)
    );

    // The same check on a broken copy complains: the clean result above is not vacuous.
    let service = dir.path().join("kelisim-relay.service");
    let broken = std::fs::read_to_string(&service)
        .unwrap()
        .replace("MemoryMax=256M", "MemoryMax=lots");
    std::fs::write(&service, broken).unwrap();
    let output = verify(&units);
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("'lots'"),
        "{output:?}"
    );
}

/// The sandbox the issue asks for is in the relay's unit, and the backup timer keeps N copies.
#[test]
fn the_relay_unit_is_sandboxed_and_the_backup_keeps_n_copies() {
    let unit = repo_file("deploy/host/kelisim-relay.service");
    for setting in [
        "User=kelisim-relay",
        "StateDirectory=kelisim-relay",
        "ProtectSystem=strict",
        "NoNewPrivileges=true",
        "PrivateTmp=true",
        "SystemCallFilter=@system-service",
        "MemoryMax=",
        "UMask=0077",
        "--static-dir",
    ] {
        assert!(
            unit.contains(setting),
            "kelisim-relay.service lacks {setting}"
        );
    }
    let backup = repo_file("deploy/host/kelisim-relay-backup.service");
    assert!(backup.contains("kelisim-relay backup ") && backup.contains("--keep 7"));
    let timer = repo_file("deploy/host/kelisim-relay-backup.timer");
    assert!(timer.contains("OnCalendar=") && timer.contains("Persistent=true"));
}
