//! The standalone `kelisim-relay` as the black-box tests run it: the binary, the test key,
//! the fixture manifest, and `serve` started on a free port with its address read back.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_kelisim-relay");
/// The tests' HMAC key (hex), the same as `common::HMAC_KEY_HEX`.
pub const KEY: &str = "6b656c6973696d2d746573742d6b65792d6f662d33322d62797465732d2d2d21";
/// Another valid key: a database written under `KEY` must refuse it.
pub const OTHER_KEY: &str = "0000000000000000000000000000000000000000000000000000000000000001";

/// The consent manifest the relay tests check submissions against.
pub fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/consent-manifest.json")
}

/// Spawns `serve` (given `--listen 127.0.0.1:0`) with its standard output piped, and returns
/// the process and the base URL from its first line, `listening on <url>`.
pub fn spawn_serving(serve: &mut Command) -> (Child, String) {
    let mut child = serve.stdout(Stdio::piped()).spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        .to_owned();
    (child, base)
}

/// A child process stopped when this goes out of scope, so a failing test leaves no server
/// behind (holding the test runner's output open).
pub struct Stopped(pub Child);

impl Drop for Stopped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
