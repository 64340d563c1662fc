//! `kelisim-relay console` as the operator runs it: a non-loopback `--listen` is refused in a
//! plain sentence before the store is touched; the printed link works once, over real HTTP;
//! the stop button ends the process, closing the store.
#![cfg(feature = "server")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::relay_process::{BIN, KEY};

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .build()
        .into()
}

#[test]
fn listening_beyond_this_computer_is_refused_before_the_store_is_opened() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("records.sqlite");
    for listen in ["0.0.0.0:8788", "192.0.2.10:8788", "[::]:8788"] {
        let output = Command::new(BIN)
            .args([
                "--db",
                db.to_str().unwrap(),
                "console",
                "--no-browser",
                "--listen",
                listen,
            ])
            .env("KELISIM_HMAC_KEY", KEY)
            .output()
            .unwrap();
        assert!(!output.status.success(), "{listen} accepted");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("the console only listens on this computer")
                && stderr.contains("ssh -L"),
            "{stderr}"
        );
        assert!(!db.exists(), "the store was not opened for {listen}");
    }
}

#[test]
fn the_printed_link_works_once_and_the_stop_button_ends_the_console() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("records.sqlite");
    let mut child = Command::new(BIN)
        .args([
            "--db",
            db.to_str().unwrap(),
            "--by",
            "operator-test",
            "console",
        ])
        .args(["--no-browser", "--listen", "127.0.0.1:0"])
        .env("KELISIM_HMAC_KEY", KEY)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|line| {
            line.trim()
                .starts_with("http://")
                .then(|| line.trim().to_owned())
        })
        .expect("the console prints its link");
    let origin = url.split("/?").next().unwrap().to_owned();
    let agent = agent();
    let first = agent.get(&url).call().unwrap();
    assert_eq!(first.status(), 303);
    let cookie = first.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let second = agent.get(&url).call().unwrap();
    assert_eq!(second.status(), 403, "a second read of the link");
    let inbox = agent
        .get(format!("{origin}/kk/inbox"))
        .header("Cookie", &cookie)
        .call()
        .unwrap();
    assert_eq!(inbox.status(), 200);
    let page = inbox.into_body().read_to_string().unwrap();
    assert!(
        page.contains("operator-test"),
        "the operator named once per session"
    );
    let csrf = page.split("name=\"csrf\" value=\"").nth(1).unwrap();
    let csrf = &csrf[..csrf.find('"').unwrap()];
    let stopped = agent
        .post(format!("{origin}/kk/stop"))
        .header("Cookie", &cookie)
        .header("Origin", &origin)
        .content_type("application/x-www-form-urlencoded")
        .send(format!("csrf={csrf}"))
        .unwrap();
    assert_eq!(stopped.status(), 200);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            break;
        }
        assert!(Instant::now() < deadline, "the console did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
}
