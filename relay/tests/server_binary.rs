//! Black-box tests of the `kelisim-relay` binary: a real process on a free loopback port,
//! real HTTP, a real SQLite file, and the data-subject subcommands against that file.
#![cfg(feature = "server")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::smtp_sink;

use crate::relay_process::{BIN, KEY, fixture, spawn_serving};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SITE: &str = "https://woow.kz";
const EMAIL: &str = "dana.bboxtest@example.kz";
const SURNAME: &str = "Қожахметова";
const MESSAGE: &str = "Жеке хабар 777: жеткізу мерзімі";

fn manifest() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(fixture()).unwrap()).unwrap()
}

struct Server {
    child: Child,
    base: String,
    dir: tempfile::TempDir,
}

impl Server {
    fn start() -> Self {
        Self::start_with_env(&[])
    }

    fn start_with_env(vars: &[(&str, &str)]) -> Self {
        Self::start_with(vars, "")
    }

    /// With more `[server]` settings (appended to that table).
    fn start_with(vars: &[(&str, &str)], server_settings: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let site = dir.path().join("site");
        std::fs::create_dir(&site).unwrap();
        std::fs::write(site.join("index.html"), "<p>static site marker</p>").unwrap();
        std::fs::write(site.join("404.html"), "<p>root not found</p>").unwrap();
        std::fs::create_dir(site.join("ru")).unwrap();
        std::fs::write(site.join("ru/index.html"), "<p>ru home</p>").unwrap();
        std::fs::write(site.join("ru/404.html"), "<p>ru not found</p>").unwrap();
        let config = dir.path().join("relay.toml");
        std::fs::write(
            &config,
            format!(
                "storage_location = \"black-box test host\"\n[sqlite]\nbusy_timeout_ms = 300\n\
                 [server]\nheader_read_timeout_secs = 2\n{server_settings}"
            ),
        )
        .unwrap();
        let stderr = std::fs::File::create(dir.path().join("stderr.log")).unwrap();
        let (child, base) = spawn_serving(
            Command::new(BIN)
                .args(["serve", "--listen", "127.0.0.1:0", "--log-format", "json"])
                .arg("--config")
                .arg(&config)
                .arg("--manifest")
                .arg(fixture())
                .arg("--db")
                .arg(dir.path().join("relay.sqlite"))
                .arg("--static-dir")
                .arg(&site)
                .env("KELISIM_HMAC_KEY", KEY)
                .env("RUST_LOG", "trace")
                .envs(vars.iter().copied())
                .stderr(stderr),
        );
        Self { child, base, dir }
    }

    fn db(&self) -> PathBuf {
        self.dir.path().join("relay.sqlite")
    }

    fn url(&self) -> String {
        format!("{}/api/contact", self.base)
    }

    fn logs(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stderr.log")).unwrap()
    }

    /// Runs a data-subject subcommand against this server's database.
    fn command(&self, args: &[&str]) -> String {
        let output = Command::new(BIN)
            .args(args)
            .arg("--db")
            .arg(self.db())
            .env("KELISIM_HMAC_KEY", KEY)
            .output()
            .unwrap();
        assert!(output.status.success(), "{args:?}: {output:?}");
        String::from_utf8(output.stdout).unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .build()
        .into()
}

struct Reply {
    status: u16,
    location: Option<String>,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

fn reply(response: ureq::http::Response<ureq::Body>) -> Reply {
    let status = response.status().as_u16();
    let headers: Vec<(String, String)> = response
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let location = response
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = response.into_body().read_to_string().unwrap_or_default();
    Reply {
        status,
        location,
        headers,
        body,
    }
}

fn fields(lang: &str) -> Vec<(String, String)> {
    let manifest = manifest();
    let policy = &manifest["languages"][lang]["policy"];
    [
        ("surname", SURNAME),
        ("first_name", "Дана"),
        ("email", EMAIL),
        ("phone", "+7 701 123 4567"),
        ("message", MESSAGE),
        ("lang", lang),
        ("consent", "reply"),
        ("consent", "newsletter"),
        ("policy_version", policy["version"].as_str().unwrap()),
        ("policy_hash", policy["sha256"].as_str().unwrap()),
        ("idempotency_key", ""),
        ("website", ""),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

fn set(mut fields: Vec<(String, String)>, name: &str, value: &str) -> Vec<(String, String)> {
    fields.retain(|(k, _)| k != name);
    fields.push((name.to_owned(), value.to_owned()));
    fields
}

fn form(server: &Server, fields: &[(String, String)], origin: Option<&str>) -> Reply {
    let body = serde_html_form::to_string(fields).unwrap();
    let mut request = agent()
        .post(server.url())
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("Accept", "text/html");
    if let Some(origin) = origin {
        request = request.header("Origin", origin);
    }
    reply(request.send(body).unwrap())
}

fn json(server: &Server, fields: &[(String, String)], origin: Option<&str>) -> Reply {
    let mut object = serde_json::Map::new();
    let mut consents = Vec::new();
    for (k, v) in fields {
        if k == "consent" {
            consents.push(serde_json::Value::String(v.clone()));
        } else {
            object.insert(k.clone(), serde_json::Value::String(v.clone()));
        }
    }
    object.insert("consent".to_owned(), serde_json::Value::Array(consents));
    let mut request = agent()
        .post(server.url())
        .header("Content-Type", "application/json")
        .header("Accept", "application/json");
    if let Some(origin) = origin {
        request = request.header("Origin", origin);
    }
    reply(
        request
            .send(serde_json::Value::Object(object).to_string())
            .unwrap(),
    )
}

fn preflight(server: &Server, origin: &str) -> Reply {
    reply(
        agent()
            .options(server.url())
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .call()
            .unwrap(),
    )
}

#[test]
fn form_and_json_posts_are_stored_and_answered() {
    let server = Server::start();
    let answer = form(&server, &fields("kk"), Some(SITE));
    assert_eq!(answer.status, 303);
    assert_eq!(
        answer.location.as_deref(),
        Some("https://woow.kz/kk/thanks/")
    );

    let keyed = set(fields("ru"), "message", "Второе обращение");
    let keyed = set(
        keyed,
        "idempotency_key",
        "9a1b2c3d-0000-4000-8000-000000000001",
    );
    let first = json(&server, &keyed, Some(SITE));
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(first.header("access-control-allow-origin"), Some(SITE));
    let again = json(&server, &keyed, Some(SITE));
    assert_eq!(again.json()["id"], first.json()["id"], "idempotency key");

    let bad = set(fields("ru"), "phone", "123");
    let refused = json(&server, &bad, None);
    assert_eq!(refused.status, 422);
    assert_eq!(refused.json()["fields"]["phone"]["code"], "invalid_phone");
    assert!(
        refused.json()["fields"]["phone"]["message"]
            .as_str()
            .unwrap()
            .contains("Проверьте номер телефона")
    );
    let bad_kk = set(fields("kk"), "phone", "123");
    let refused = json(&server, &bad_kk, None);
    assert!(
        refused.json()["fields"]["phone"]["message"]
            .as_str()
            .unwrap()
            .contains("Телефон нөмірін тексеріңіз")
    );
    let redirected = form(&server, &bad, None);
    assert_eq!(
        redirected.location.as_deref(),
        Some("https://woow.kz/ru/error/?errors=phone:invalid_phone")
    );

    // The double click without JS: the same form again stores nothing new.
    assert_eq!(form(&server, &fields("kk"), Some(SITE)).status, 303);

    let exported: serde_json::Value =
        serde_json::from_str(&server.command(&["export", "--email", "DANA.bboxtest@example.kz"]))
            .unwrap();
    let records = exported.as_array().unwrap();
    assert_eq!(
        records.len(),
        2,
        "one form post (double-clicked) and one keyed JSON post"
    );
    assert_eq!(records[0]["subject"]["phone"], "+77011234567");
    assert_eq!(records[0]["consent"]["collection_method"], "form_post");
    assert_eq!(
        records[0]["consent"]["storage_location"],
        "black-box test host"
    );
    assert_eq!(records[1]["consent"]["collection_method"], "script");
}

#[test]
fn refusals_size_method_origin_honeypot_unknown_field_policy() {
    let server = Server::start();
    let big = set(fields("kk"), "message", &"x".repeat(65 * 1024));
    assert_eq!(json(&server, &big, None).status, 413);
    assert_eq!(reply(agent().get(server.url()).call().unwrap()).status, 405);
    assert_eq!(
        reply(agent().put(server.url()).send("").unwrap()).status,
        405
    );

    let allowed = preflight(&server, SITE);
    assert_eq!(allowed.status, 204);
    assert_eq!(allowed.header("access-control-allow-origin"), Some(SITE));
    let refused = preflight(&server, "https://evil.example");
    assert_eq!(refused.status, 403);
    assert_eq!(refused.header("access-control-allow-origin"), None);
    assert_eq!(
        json(&server, &fields("kk"), Some("https://evil.example")).status,
        403
    );

    let honeypot = set(fields("kk"), "website", "https://spam.example");
    assert_eq!(json(&server, &honeypot, None).status, 201);
    assert_eq!(form(&server, &honeypot, None).status, 303);

    let mut unknown = fields("kk");
    unknown.push(("iin".to_owned(), "900101300123".to_owned()));
    let answer = json(&server, &unknown, None);
    assert_eq!(answer.status, 422);
    assert_eq!(answer.json()["fields"]["iin"]["code"], "unknown_field");

    let stale = set(fields("kk"), "policy_hash", &"0".repeat(64));
    let answer = form(&server, &stale, None);
    assert_eq!(
        answer.location.as_deref(),
        Some("https://woow.kz/kk/error/?errors=policy_hash:policy_mismatch")
    );

    // None of those stored anything.
    assert_eq!(server.command(&["export", "--email", EMAIL]).trim(), "[]");
}

#[test]
fn a_locked_database_gets_503_with_retry_after_then_recovers() {
    let server = Server::start();
    let mut conn = rusqlite::Connection::open(server.db()).unwrap();
    let lock = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Exclusive)
        .unwrap();
    let answer = json(&server, &fields("ru"), None);
    assert_eq!(answer.status, 503);
    assert_eq!(answer.header("retry-after"), Some("30"));
    assert_eq!(answer.json()["error"], "unavailable");
    assert!(
        answer.json()["message"]
            .as_str()
            .unwrap()
            .contains("Сервис временно недоступен")
    );
    let page = form(&server, &fields("kk"), None);
    assert_eq!(page.status, 503);
    assert_eq!(page.location, None);
    assert!(page.body.contains("Қызмет уақытша қолжетімсіз"));
    lock.rollback().unwrap();

    assert_eq!(json(&server, &fields("ru"), None).status, 201);
}

#[test]
fn serves_the_static_site_from_the_same_origin() {
    let server = Server::start();
    let page = reply(agent().get(format!("{}/", server.base)).call().unwrap());
    assert_eq!(page.status, 200);
    assert!(page.body.contains("static site marker"));
    assert_eq!(page.header("cache-control"), Some("no-cache"));

    // A miss under /ru/ gets the Russian 404 page, anything else the root one.
    let missing = reply(
        agent()
            .get(format!("{}/ru/nothing/", server.base))
            .call()
            .unwrap(),
    );
    assert_eq!(missing.status, 404);
    assert!(missing.body.contains("ru not found"), "{}", missing.body);
    let missing = reply(
        agent()
            .get(format!("{}/nothing", server.base))
            .call()
            .unwrap(),
    );
    assert_eq!(missing.status, 404);
    assert!(missing.body.contains("root not found"), "{}", missing.body);

    // `/ru` is the directory: redirected to `/ru/`, its query kept.
    let bare = reply(
        agent()
            .get(format!("{}/ru?x=1", server.base))
            .call()
            .unwrap(),
    );
    assert_eq!(bare.status, 307);
    assert_eq!(bare.location.as_deref(), Some("/ru/?x=1"));

    // An unchanged page revalidates to a 304 through its ETag.
    let home = reply(agent().get(format!("{}/ru/", server.base)).call().unwrap());
    let tag = home.header("etag").unwrap().to_owned();
    let again = reply(
        agent()
            .get(format!("{}/ru/", server.base))
            .header("if-none-match", &tag)
            .call()
            .unwrap(),
    );
    assert_eq!(again.status, 304);

    // Nothing outside the site's directory is reachable (the config file is beside it).
    let outside = reply(
        agent()
            .get(format!("{}/%2e%2e/relay.toml", server.base))
            .call()
            .unwrap(),
    );
    assert_eq!(outside.status, 404);
    assert!(!outside.body.contains("storage_location"));
}

/// Issue #11: the security headers on every response of `serve`: a page, a missing page, a
/// stored form, a refused form and a wrong method, with exactly the relay's one definition.
#[test]
fn every_response_carries_the_security_headers() {
    let server = Server::start();
    let page = reply(agent().get(format!("{}/", server.base)).call().unwrap());
    let missing = reply(
        agent()
            .get(format!("{}/no-such-page", server.base))
            .call()
            .unwrap(),
    );
    let stored = form(&server, &fields("kk"), None);
    let refused = json(&server, &set(fields("ru"), "email", "not-an-address"), None);
    let wrong_method = reply(agent().get(server.url()).call().unwrap());
    assert_eq!(
        [
            page.status,
            missing.status,
            stored.status,
            refused.status,
            wrong_method.status
        ],
        [200, 404, 303, 422, 405]
    );
    for (what, answer) in [
        ("page", &page),
        ("missing page", &missing),
        ("stored form", &stored),
        ("refused form", &refused),
        ("wrong method", &wrong_method),
    ] {
        for (name, value) in kelisim_relay::web::security_headers::all() {
            assert_eq!(answer.header(name), Some(value.as_str()), "{what}: {name}");
        }
    }
}

#[test]
fn subject_requests_withdraw_and_erase() {
    let server = Server::start();
    assert_eq!(form(&server, &fields("kk"), None).status, 303);
    let out = server.command(&[
        "withdraw",
        "--yes",
        "--email",
        EMAIL,
        "--purpose",
        "newsletter",
    ]);
    assert!(out.contains("1 record(s) updated"), "{out}");
    let exported: serde_json::Value =
        serde_json::from_str(&server.command(&["export", "--email", EMAIL])).unwrap();
    let record = &exported[0];
    assert_eq!(record["state"], "active", "reply is still granted");
    assert!(record["consent"]["purposes"][1]["withdrawn_at"].is_string());
    assert!(record["consent"]["purposes"][0]["withdrawn_at"].is_null());

    let out = server.command(&["withdraw", "--yes", "--email", EMAIL]);
    assert!(out.contains("1 record(s) updated"), "{out}");
    let exported: serde_json::Value =
        serde_json::from_str(&server.command(&["export", "--email", EMAIL])).unwrap();
    assert_eq!(exported[0]["state"], "withdrawn");

    let out = server.command(&["purge-expired", "--yes"]);
    assert!(out.contains("0 expired"), "{out}");
    let out = server.command(&["erase", "--yes", "--email", EMAIL]);
    assert!(out.contains("1 record(s) erased"), "{out}");
    assert_eq!(server.command(&["export", "--email", EMAIL]).trim(), "[]");
    // The same message again is a new record, not a "duplicate" of the erased one.
    assert_eq!(form(&server, &fields("kk"), None).status, 303);
    let exported: serde_json::Value =
        serde_json::from_str(&server.command(&["export", "--email", EMAIL])).unwrap();
    assert_eq!(exported.as_array().unwrap().len(), 1);
}

#[test]
fn sigterm_shuts_down_cleanly_and_logs_hold_no_personal_data() {
    let mut server = Server::start();
    assert_eq!(form(&server, &fields("kk"), Some(SITE)).status, 303);
    assert_eq!(
        json(&server, &set(fields("ru"), "email", "bad"), None).status,
        422
    );
    let status = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(exit) = server.child.try_wait().unwrap() {
            break exit;
        }
        assert!(Instant::now() < deadline, "no exit after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "{exit:?}");
    let logs = server.logs();
    assert!(logs.contains("relay stopped"), "{logs}");
    assert!(logs.contains("\"level\":\"INFO\""), "JSON logs: {logs}");
    for secret in [
        EMAIL,
        SURNAME,
        "Дана",
        "7011234567",
        MESSAGE,
        "Жеке хабар",
        KEY,
    ] {
        assert!(!logs.contains(secret), "`{secret}` in logs");
    }
    assert!(Path::new(&server.db()).exists());
}

#[test]
fn posts_over_the_rate_limit_get_429_with_retry_after() {
    let server = Server::start_with_env(&[
        ("KELISIM_RATE_LIMIT_PER_CLIENT", "2"),
        ("KELISIM_RATE_LIMIT_GLOBAL_PER_MINUTE", "4"),
        ("KELISIM_RATE_LIMIT_TRUST_FORWARDED_FOR", "true"),
    ]);
    // Behind a proxy: the proxy (here the test, from loopback) names the client.
    let post = |client: &str, lang: &str, n: usize| {
        let fields = set(fields(lang), "message", &format!("rate limit test {n}"));
        let body = serde_html_form::to_string(&fields).unwrap();
        reply(
            agent()
                .post(server.url())
                .header("Content-Type", "application/x-www-form-urlencoded")
                .header("Accept", "application/json")
                .header("X-Forwarded-For", client)
                .send(body)
                .unwrap(),
        )
    };
    assert_eq!(post("203.0.113.7", "kk", 1).status, 201);
    assert_eq!(post("203.0.113.7", "kk", 2).status, 201);
    let refused = post("203.0.113.7", "ru", 3);
    assert_eq!(refused.status, 429);
    let retry: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=600).contains(&retry), "{retry}");
    assert_eq!(refused.json()["error"], "rate_limited");
    assert!(
        refused.json()["message"]
            .as_str()
            .unwrap()
            .starts_with("Слишком много")
    );
    // Another client has its own allowance, until the global ceiling (4 a minute) is reached.
    assert_eq!(post("198.51.100.2", "kk", 4).status, 201);
    assert_eq!(post("198.51.100.2", "kk", 5).status, 201);
    assert_eq!(post("192.0.2.9", "kk", 6).status, 429);

    let exported = server.command(&["export", "--email", EMAIL]);
    let records: serde_json::Value = serde_json::from_str(&exported).unwrap();
    assert_eq!(
        records.as_array().unwrap().len(),
        4,
        "refused posts stored nothing"
    );
    let logs = server.logs();
    assert!(logs.contains("rate_limited"), "{logs}");
    for address in ["203.0.113.7", "198.51.100.2", "192.0.2.9"] {
        assert!(!logs.contains(address), "an address leaked into the logs");
    }
}

#[test]
fn the_operator_reads_the_inbox_shows_a_record_and_answers_it() {
    let server = Server::start();
    assert_eq!(form(&server, &fields("ru"), None).status, 303);
    let rows: serde_json::Value =
        serde_json::from_str(&server.command(&["inbox", "--json"])).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    let id = rows[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(rows[0]["language"], "ru");
    let table = server.command(&["inbox"]);
    assert!(table.lines().next().unwrap().starts_with("id"), "{table}");
    assert!(table.contains(&id), "{table}");

    let shown = server.command(&["records", "show", &id]);
    assert!(shown.contains(EMAIL), "{shown}");
    assert!(shown.contains("Policy"), "{shown}");
    let out = server.command(&["records", "answer", &id, "--by", "aigerim", "--yes"]);
    assert!(out.contains("marked answered by aigerim"), "{out}");
    assert!(server.command(&["inbox"]).contains("The inbox is empty."));
    let all: serde_json::Value =
        serde_json::from_str(&server.command(&["inbox", "--all", "--json"])).unwrap();
    assert_eq!(all[0]["answered"], true);
    // The answer is marked, and the reply purpose now ends 30 days after it (the default);
    // nothing is removed yet.
    let record: serde_json::Value =
        serde_json::from_str(&server.command(&["records", "show", &id, "--json"])).unwrap();
    assert_eq!(record["answered"]["by"], "aigerim");
    assert_eq!(record["state"], "active");
    let rfc3339 = |v: &serde_json::Value| {
        time::OffsetDateTime::parse(
            v.as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap()
    };
    let answered_at = rfc3339(&record["answered"]["at"]);
    assert_eq!(record["consent"]["purposes"][0]["purpose"], "reply");
    assert_eq!(
        rfc3339(&record["consent"]["purposes"][0]["expires_at"]),
        answered_at + time::Duration::days(30)
    );
    assert_eq!(record["subject"]["email"], EMAIL);
    assert!(record["dropped"].is_null(), "{record}");
    // The fixture site asks no confirmation for its newsletter, so the grant is in force and
    // the person is on the list (the double opt-in case is in tests/delivery.rs).
    let list: serde_json::Value = serde_json::from_str(&server.command(&[
        "records",
        "list",
        "--purpose",
        "newsletter",
        "--json",
    ]))
    .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list[0]["email"], EMAIL);
    assert_eq!(list[0]["id"], id.as_str());
}

#[test]
fn serve_mails_the_operator_in_the_background_without_personal_data() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sink = runtime.block_on(smtp_sink::SmtpSink::start());
    let url = sink.url();
    let server = Server::start_with_env(&[
        ("KELISIM_SMTP_URL", url.as_str()),
        ("KELISIM_MAIL_FROM", "relay@woow.kz"),
        ("KELISIM_NOTIFY_TO", "info@woow.kz"),
    ]);
    let answer = json(&server, &fields("kk"), Some(SITE));
    assert_eq!(answer.status, 201);
    let id = answer.json()["id"].as_str().unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(15);
    while sink.received().is_empty() {
        assert!(Instant::now() < deadline, "no notification within 15 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    let mails = sink.received();
    assert_eq!(
        mails.len(),
        1,
        "one notification, no confirmation (no double opt-in here)"
    );
    let body = mails[0].body();
    assert!(body.contains(&id), "{body}");
    for value in [SURNAME, EMAIL, MESSAGE] {
        assert!(
            !mails[0].raw.contains(value) && !body.contains(value),
            "{value} leaked"
        );
    }
    // The item is removed right after the server accepted the mail.
    let mut status = server.command(&["deliver", "--status"]);
    while !status.contains("The outbox is empty.") {
        assert!(Instant::now() < deadline, "still queued: {status}");
        std::thread::sleep(Duration::from_millis(50));
        status = server.command(&["deliver", "--status"]);
    }
    assert_eq!(sink.received().len(), 1, "and it was sent once");
}

#[test]
fn serve_refuses_to_start_with_plain_smtp_to_a_remote_host() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .arg("--manifest")
        .arg(fixture())
        .arg("--db")
        .arg(dir.path().join("relay.sqlite"))
        .env("KELISIM_HMAC_KEY", KEY)
        .env("KELISIM_SMTP_URL", "smtp://mail.example.kz:25")
        .env("KELISIM_SMTP_PASSWORD", "hunter2-do-not-print")
        .env("KELISIM_MAIL_FROM", "relay@woow.kz")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("unencrypted"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
}

#[test]
fn a_persons_email_can_come_from_standard_input() {
    let server = Server::start();
    assert_eq!(form(&server, &fields("kk"), None).status, 303);
    let mut child = Command::new(BIN)
        .args(["export", "--email", "-", "--db"])
        .arg(server.db())
        .env("KELISIM_HMAC_KEY", KEY)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{EMAIL}").unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{output:?}");
    let exported: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(exported.as_array().unwrap().len(), 1);
    assert_eq!(exported[0]["subject"]["email"], EMAIL);
}

#[test]
fn a_client_trickling_header_bytes_is_disconnected() {
    use std::io::Read as _;
    let server = Server::start();
    let addr = server.url().trim_start_matches("http://").to_owned();
    let addr = addr.split('/').next().unwrap().to_owned();
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    stream
        .write_all(b"POST /api/contact HTTP/1.1\r\nHost: relay\r\nX-Slow: ")
        .unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let started = Instant::now();
    // One byte a second, never finishing the headers; the server allows 2 s for them.
    let mut closed = false;
    while !closed && started.elapsed() < Duration::from_secs(15) {
        std::thread::sleep(Duration::from_secs(1));
        let mut buf = [0u8; 256];
        closed = match stream.write_all(b"a").and_then(|()| stream.read(&mut buf)) {
            // EOF, or the server's 408 before it closes.
            Ok(_) => true,
            Err(e) => !matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
        };
    }
    assert!(
        closed,
        "the trickling client was still connected after 15 s"
    );
    assert!(started.elapsed() < Duration::from_secs(15));
    // The server still serves everyone else.
    assert_eq!(form(&server, &fields("kk"), None).status, 303);
}

/// The `host:port` the server listens on.
fn addr_of(server: &Server) -> String {
    let addr = server.url().trim_start_matches("http://").to_owned();
    addr.split('/').next().unwrap().to_owned()
}

#[test]
fn connections_over_the_cap_wait_for_a_free_one() {
    let server = Server::start_with(&[], "max_connections = 2\n");
    let addr = addr_of(&server);
    // Two connections that send nothing hold both places until the 2 s header timeout.
    let idle: Vec<_> = (0..2)
        .map(|_| std::net::TcpStream::connect(&addr).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    assert_eq!(form(&server, &fields("kk"), None).status, 303);
    let waited = started.elapsed();
    // Without a cap the post is answered at once; with it, only once an idle one is dropped.
    assert!(
        waited >= Duration::from_millis(1200),
        "the third connection was served after {waited:?}"
    );
    drop(idle);
}

#[test]
fn sigterm_exits_within_the_grace_even_with_a_request_stuck_mid_body() {
    use std::io::Read as _;
    let mut server = Server::start_with(&[], "shutdown_grace_secs = 1\n");
    let addr = addr_of(&server);
    let mut stuck = std::net::TcpStream::connect(&addr).unwrap();
    // Headers complete, body promised and never sent: the body timeout (20 s) would hold the
    // drain that long; the grace period (1 s) must not.
    stuck
        .write_all(
            b"POST /api/contact HTTP/1.1\r\nHost: relay\r\nContent-Type: application/json\r\n\
              Content-Length: 500\r\n\r\n{\"surname\"",
        )
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let status = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let started = Instant::now();
    let deadline = started + Duration::from_secs(8);
    let exited = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exited.is_some(), "still running 8 s after SIGTERM");
    let mut rest = Vec::new();
    let _ = stuck.read_to_end(&mut rest);
}
