//! The real `bootstrap` binary against a small emulator of the Lambda runtime API (the HTTP
//! interface a custom runtime polls for events), with the store on a DynamoDB-compatible server
//! (moto, started by `scripts/test`): it starts, takes one function-URL event, answers it, and
//! asks for the next. Also prints its init time (process start to the first `next` request)
//! and its time to the first event handled, which `docs/deploy-lambda.md` reports.
//!
//! `KELISIM_BOOTSTRAP` runs another build of `bootstrap` (for example the size-tuned one from
//! `scripts/package-lambda`, `target/lambda/bootstrap/bootstrap`) instead of this test build.
#![cfg(feature = "lambda")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const ENDPOINT_VAR: &str = "KELISIM_TEST_DYNAMODB_ENDPOINT";
const KEY: &str = "4f1c2a9e7b3d5f60812a4c6e8b0d2f4163859a7bcde0f1a2b3c4d5e6f7081920";
const REQUEST_ID: &str = "8476a536-e9f4-11e8-9739-2dfe598c3fcd";

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn bootstrap() -> PathBuf {
    std::env::var_os("KELISIM_BOOTSTRAP").map_or_else(
        || PathBuf::from(env!("CARGO_BIN_EXE_bootstrap")),
        PathBuf::from,
    )
}

/// What the emulator saw, in order, with the time since the process was started.
#[derive(Debug)]
enum Seen {
    Next(Duration),
    Response(Duration, String),
    /// A request other than `next` or a response (an error report): shown when the test fails.
    #[allow(dead_code, reason = "read through Debug in the failure message")]
    Error(String),
}

/// One HTTP/1.1 request: method, path and body.
fn read_request(reader: &mut BufReader<TcpStream>) -> Option<(String, String, Vec<u8>)> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let mut length = 0;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().ok()?;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some((method, path, body))
}

/// Serves the runtime API on `listener`: the first `next` gets `event`, later ones are held
/// open (as Lambda does while no event is waiting); responses and errors are reported.
fn emulate(listener: TcpListener, event: String, started: Instant, seen: mpsc::Sender<Seen>) {
    let mut delivered = false;
    for stream in listener.incoming() {
        let Ok(stream) = stream else { return };
        let mut writer = stream.try_clone().unwrap();
        let mut reader = BufReader::new(stream);
        while let Some((method, path, body)) = read_request(&mut reader) {
            let elapsed = started.elapsed();
            if method == "GET" && path.ends_with("/runtime/invocation/next") {
                let _ = seen.send(Seen::Next(elapsed));
                if delivered {
                    // No second event: the test ends here.
                    return;
                }
                delivered = true;
                let deadline = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_millis()
                    + 30_000;
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                     Lambda-Runtime-Aws-Request-Id: {REQUEST_ID}\r\n\
                     Lambda-Runtime-Deadline-Ms: {deadline}\r\n\
                     Lambda-Runtime-Invoked-Function-Arn: \
                     arn:aws:lambda:eu-central-1:123456789012:function:kelisim\r\n\
                     Content-Length: {}\r\n\r\n",
                    event.len()
                );
                writer.write_all(head.as_bytes()).unwrap();
                writer.write_all(event.as_bytes()).unwrap();
            } else {
                let text = String::from_utf8_lossy(&body).into_owned();
                let _ = seen.send(if path.ends_with("/response") {
                    Seen::Response(elapsed, text)
                } else {
                    Seen::Error(format!("{method} {path}: {text}"))
                });
                writer
                    .write_all(b"HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\n{}")
                    .unwrap();
            }
        }
    }
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[test]
fn bootstrap_takes_an_event_from_the_runtime_api_answers_it_and_asks_for_the_next() {
    let endpoint = match std::env::var(ENDPOINT_VAR) {
        Ok(url) if !url.trim().is_empty() => url,
        _ => panic!(
            "{ENDPOINT_VAR} is not set. This test needs a DynamoDB-compatible server: run \
             `scripts/test`, or start one with `scripts/moto-server` and export the line it prints."
        ),
    };
    let table = format!("kelisim-init-{}", uuid::Uuid::now_v7().simple());
    let env = [
        ("KELISIM_DYNAMODB_TABLE", table.as_str()),
        ("KELISIM_DYNAMODB_ENDPOINT", endpoint.as_str()),
        ("KELISIM_DYNAMODB_REGION", "eu-central-1"),
        ("KELISIM_HMAC_KEY", KEY),
        ("KELISIM_STORAGE_LOCATION", "runtime API emulator test"),
        ("AWS_ACCESS_KEY_ID", "kelisim-test"),
        ("AWS_SECRET_ACCESS_KEY", "kelisim-test"),
        ("AWS_REGION", "eu-central-1"),
    ];
    let dir = tempfile::tempdir().unwrap();
    // The zip's layout: the manifest next to the binary, found through LAMBDA_TASK_ROOT.
    std::fs::copy(
        fixture("consent-manifest.json"),
        dir.path().join("consent-manifest.json"),
    )
    .unwrap();
    let created = Command::new(bootstrap())
        .arg("create-table")
        .envs(env)
        .env("LAMBDA_TASK_ROOT", dir.path())
        .output()
        .unwrap();
    assert!(
        created.status.success(),
        "create-table: {}",
        String::from_utf8_lossy(&created.stderr)
    );

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let api = listener.local_addr().unwrap().to_string();
    let event = std::fs::read_to_string(fixture("lambda/preflight.json")).unwrap();
    let (sender, seen) = mpsc::channel();
    let started = Instant::now();
    let mut child = Command::new(bootstrap())
        .envs(env)
        .env("LAMBDA_TASK_ROOT", dir.path())
        .env("AWS_LAMBDA_RUNTIME_API", &api)
        .env("AWS_LAMBDA_FUNCTION_NAME", "kelisim")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/kelisim")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::spawn(move || emulate(listener, event, started, sender));

    let wait = Duration::from_secs(60);
    let first = seen.recv_timeout(wait);
    let answered = seen.recv_timeout(wait);
    let again = seen.recv_timeout(wait);
    let _ = child.kill();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);

    let Ok(Seen::Next(init)) = first else {
        panic!("no first `next` request ({first:?}); stderr:\n{stderr}")
    };
    let Ok(Seen::Response(handled, body)) = answered else {
        panic!("the event was not answered ({answered:?}); stderr:\n{stderr}")
    };
    let response: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        response["statusCode"], 204,
        "the preflight is allowed: {body}"
    );
    assert!(
        matches!(again, Ok(Seen::Next(_))),
        "it asks for the next event: {again:?}"
    );
    println!(
        "bootstrap ({}): init (start to first `next`) {:.1} ms, first event handled {:.1} ms",
        bootstrap().display(),
        millis(init),
        millis(handled)
    );
}

/// The scheduled purge function (`KELISIM_LAMBDA_TASK=purge-expired`) checks every consent
/// stamp after the purge, against the site at the bundled manifest's `base_url` (here the
/// site served by `kelisim-relay serve --static-dir` on loopback): a record whose version's
/// labels were never published fails the invocation (what the purge function's Errors alarm
/// watches) and is logged as an error with its id and the count in `unverifiable`; once it
/// is gone, the invocation succeeds and reports how many were verified.
#[cfg(feature = "server")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_purge_task_fails_its_invocation_when_a_consent_stamp_is_unverifiable() {
    use std::sync::Arc;

    use kelisim_relay::store::Store;

    use crate::common::{EMAIL, HMAC_KEY_HEX, SURNAME};
    use crate::published_site::{Edition, manifest_at, post, write_site};
    use crate::relay_process::{BIN, Stopped, spawn_serving};

    const BEFORE_LABELS: Edition = Edition {
        version: "1",
        text: 1,
        labels: 1,
        labels_locked: false,
    };
    const LOCKED: Edition = Edition {
        version: "2",
        text: 2,
        labels: 2,
        labels_locked: true,
    };
    let endpoint = crate::dynamodb_store::endpoint();
    let store = crate::dynamodb_store::fresh_store().await;
    let table = store.table().to_owned();
    let store: Arc<dyn Store> = Arc::new(store);
    let site_url = "https://woow.kz";
    let old = post(
        Arc::clone(&store),
        &manifest_at(site_url, &BEFORE_LABELS, &[]),
        "kk",
    )
    .await;
    post(
        Arc::clone(&store),
        &manifest_at(site_url, &LOCKED, &[]),
        "ru",
    )
    .await;

    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("public");
    std::fs::create_dir(&site).unwrap();
    write_site(&site, site_url, &LOCKED, &[BEFORE_LABELS]);
    let (server, base) = spawn_serving(
        Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--manifest"])
            .arg(fixture("consent-manifest.json"))
            .arg("--db")
            .arg(dir.path().join("served.sqlite"))
            .arg("--static-dir")
            .arg(&site)
            .env("KELISIM_HMAC_KEY", HMAC_KEY_HEX),
    );
    let _server = Stopped(server);
    // The zip's manifest names the site where it is served.
    let task_root = dir.path().join("task");
    std::fs::create_dir(&task_root).unwrap();
    let bundled = manifest_at(&base, &LOCKED, &[BEFORE_LABELS]);
    std::fs::write(
        task_root.join("consent-manifest.json"),
        serde_json::to_string(&bundled).unwrap(),
    )
    .unwrap();
    let invoke = || {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let api = listener.local_addr().unwrap().to_string();
        let (sender, seen) = mpsc::channel();
        let mut child = Command::new(bootstrap())
            .env("KELISIM_LAMBDA_TASK", "purge-expired")
            .env("KELISIM_DYNAMODB_TABLE", &table)
            .env("KELISIM_DYNAMODB_ENDPOINT", &endpoint)
            .env("KELISIM_DYNAMODB_REGION", "us-east-1")
            .env("KELISIM_HMAC_KEY", HMAC_KEY_HEX)
            .env("KELISIM_STORAGE_LOCATION", "purge task test")
            .env("AWS_ACCESS_KEY_ID", "kelisim-test")
            .env("AWS_SECRET_ACCESS_KEY", "kelisim-test")
            .env("AWS_REGION", "us-east-1")
            .env("LAMBDA_TASK_ROOT", &task_root)
            .env("AWS_LAMBDA_RUNTIME_API", &api)
            .env("AWS_LAMBDA_FUNCTION_NAME", "kelisim-purge")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/kelisim-purge")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let started = Instant::now();
        std::thread::spawn(move || emulate(listener, "{}".to_owned(), started, sender));
        let wait = Duration::from_secs(60);
        let outcome = (seen.recv_timeout(wait), seen.recv_timeout(wait));
        let _ = child.kill();
        let output = child.wait_with_output().unwrap();
        let log = String::from_utf8_lossy(&output.stderr).into_owned();
        let Ok(Seen::Next(_)) = outcome.0 else {
            panic!("no `next` request ({outcome:?}); log:\n{log}")
        };
        (outcome.1, log)
    };

    let (answer, log) = invoke();
    let Ok(Seen::Error(report)) = &answer else {
        panic!("the invocation did not fail ({answer:?}); log:\n{log}")
    };
    assert!(report.contains("1 of 2 record(s) unverifiable"), "{report}");
    let events: Vec<serde_json::Value> = log
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect();
    let event = |message: &str| {
        events
            .iter()
            .find(|e| e["fields"]["message"] == message)
            .unwrap_or_else(|| panic!("no {message:?} in the log:\n{log}"))
    };
    assert_eq!(event("retention purge done")["fields"]["purged"], 0);
    let summary = event("consent stamps unverifiable");
    assert_eq!(summary["level"], "ERROR");
    assert_eq!(summary["fields"]["unverifiable"], 1, "{summary}");
    assert_eq!(summary["fields"]["checked"], 2, "{summary}");
    let record = event("unverifiable record");
    assert_eq!(record["fields"]["record_id"], old.to_string());
    assert!(
        record["fields"]["reasons"]
            .as_str()
            .unwrap()
            .contains("label text missing"),
        "{record}"
    );
    for secret in [SURNAME, EMAIL] {
        assert!(!log.contains(secret), "{secret} in the log");
    }

    // Without that record, every stamp verifies and the invocation succeeds.
    assert!(store.delete_record(old).await.unwrap());
    let (answer, log) = invoke();
    let Ok(Seen::Response(_, body)) = &answer else {
        panic!("the invocation failed ({answer:?}); log:\n{log}")
    };
    let body: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(body, serde_json::json!({ "purged": 0, "verified": 1 }));
}
