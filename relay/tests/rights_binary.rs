//! Black-box tests of the data-subject commands of the `kelisim-relay` binary on a real
//! SQLite file: `records find|export|rectify|block|unblock|withdraw|erase|anonymize`,
//! `purge-expired`, `audit` and `rekey`, with their confirmation, `--dry-run` and `--email -`.
//! The records are made by the real router from real form posts.
#![cfg(feature = "server")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use common::*;
use kelisim_relay::store::sqlite::SqliteStore;

const BIN: &str = env!("CARGO_BIN_EXE_kelisim-relay");
const OTHER_KEY: &str = "0f0e0d0c0b0a09080706050403020100f0e0d0c0b0a090807060504030201000";

struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
}

/// Runs the binary on `db` with `key`, feeding `stdin`.
fn run_with(db: &Path, key: &str, args: &[&str], stdin: &str) -> Run {
    let mut child = Command::new(BIN)
        .args(args)
        .arg("--db")
        .arg(db)
        .arg("--by")
        .arg("test-operator")
        .env("KELISIM_HMAC_KEY", key)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    Run {
        ok: output.status.success(),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

fn run(db: &Path, args: &[&str]) -> Run {
    run_with(db, HMAC_KEY_HEX, args, "")
}

fn ok(db: &Path, args: &[&str]) -> String {
    let out = run(db, args);
    assert!(out.ok, "{args:?} failed: {}", out.stderr);
    out.stdout
}

fn export(db: &Path) -> serde_json::Value {
    serde_json::from_str(&ok(db, &["records", "export", "--email", EMAIL])).unwrap()
}

/// One form post in `lang` granting reply and newsletter, through the real router.
async fn post(db: &Path, lang: &str) -> String {
    let mut fields = valid_fields(lang);
    fields.push(("consent".to_owned(), "newsletter".to_owned()));
    post_fields(db, &fields).await
}

/// One form post of `fields` through the real router; returns the record id.
async fn post_fields(db: &Path, fields: &[(String, String)]) -> String {
    let store = Arc::new(SqliteStore::open(db).unwrap());
    let state = state(store);
    let answer = send(&state, json_request(json_body(fields), None)).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    answer.json()["id"].as_str().unwrap().to_owned()
}

fn db_in(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("rights.sqlite")
}

#[tokio::test]
async fn find_export_withdraw_with_confirmation_dry_run_and_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_in(&dir);
    let id = post(&db, "ru").await;

    let found = ok(&db, &["records", "find", "--email", &EMAIL.to_uppercase()]);
    assert!(found.contains(&id), "{found}");
    assert!(
        found.contains("purposes in force: reply, newsletter"),
        "{found}"
    );
    assert!(!found.contains(SURNAME), "find lists no personal data");
    let by_phone = ok(&db, &["records", "find", "--phone", PHONE_RAW]);
    assert!(by_phone.contains(&id), "{by_phone}");

    // The access answer in the person's language, the email given on stdin, in the site's
    // words (its manifest).
    let manifest = fixture_path();
    let manifest = manifest.to_str().unwrap();
    let html = run_with(
        &db,
        HMAC_KEY_HEX,
        &[
            "records",
            "export",
            "--email",
            "-",
            "--format",
            "html",
            "--manifest",
            manifest,
        ],
        &format!("{EMAIL}\n"),
    );
    assert!(html.ok, "{}", html.stderr);
    for expected in [
        "<html lang=\"ru\">",
        "Ваши персональные данные, которые хранит Оператор",
        "Оператор (ТОО «Z Distribution Company»)",
        SURNAME,
        "ответ на обращение",
        "отправка информационных писем",
        "https://woow.kz/ru/privacy/",
    ] {
        assert!(html.stdout.contains(expected), "`{expected}` missing");
    }
    assert!(
        !html.stdout.contains("ЖШС"),
        "the Kazakh legal form in Russian"
    );
    let kk = ok(
        &db,
        &[
            "records",
            "export",
            "--email",
            EMAIL,
            "--format",
            "html",
            "--lang",
            "kk",
            "--manifest",
            manifest,
        ],
    );
    assert!(kk.contains("Сіз туралы сақталатын дербес деректер"));
    assert!(kk.contains("«Z Distribution Company» ЖШС") && !kk.contains("ТОО"));
    // Without the site's manifest, or in a language it is not written in, it says why.
    let missing = dir.path().join("no-manifest.json");
    let without = run(
        &db,
        &[
            "records",
            "export",
            "--email",
            EMAIL,
            "--format",
            "html",
            "--manifest",
            missing.to_str().unwrap(),
        ],
    );
    assert!(
        !without.ok && without.stderr.contains("give --manifest"),
        "{}",
        without.stderr
    );
    let english = run(
        &db,
        &[
            "records",
            "export",
            "--email",
            EMAIL,
            "--format",
            "html",
            "--lang",
            "en",
            "--manifest",
            manifest,
        ],
    );
    assert!(
        !english.ok && english.stderr.contains("written in kk or ru"),
        "{}",
        english.stderr
    );

    let unknown = run(
        &db,
        &[
            "records",
            "withdraw",
            "--email",
            EMAIL,
            "--purpose",
            "newsleter",
            "--yes",
        ],
    );
    assert!(
        !unknown.ok
            && unknown
                .stderr
                .contains("no record of this person has the purpose")
    );

    // --dry-run shows the plan and changes nothing.
    let dry = ok(
        &db,
        &[
            "records",
            "withdraw",
            "--email",
            EMAIL,
            "--purpose",
            "reply",
            "--dry-run",
        ],
    );
    assert!(dry.contains("drops phone, message"), "{dry}");
    assert!(dry.contains("dry run"), "{dry}");
    assert_eq!(export(&db)[0]["subject"]["phone"], PHONE_E164);

    // Without --yes it asks; "n" (or nothing) refuses.
    for answer in ["n\n", ""] {
        let refused = run_with(
            &db,
            HMAC_KEY_HEX,
            &[
                "records",
                "withdraw",
                "--email",
                EMAIL,
                "--purpose",
                "reply",
            ],
            answer,
        );
        assert!(!refused.ok);
        assert!(refused.stderr.contains("Proceed?"), "{}", refused.stderr);
        assert!(
            refused.stderr.contains("not confirmed"),
            "{}",
            refused.stderr
        );
    }
    assert_eq!(export(&db)[0]["subject"]["phone"], PHONE_E164);

    let done = run_with(
        &db,
        HMAC_KEY_HEX,
        &[
            "records",
            "withdraw",
            "--email",
            EMAIL,
            "--purpose",
            "reply",
        ],
        "y\n",
    );
    assert!(done.ok, "{}", done.stderr);
    assert!(
        done.stdout.contains("1 record(s) updated"),
        "{}",
        done.stdout
    );
    let record = &export(&db)[0];
    assert_eq!(record["subject"]["phone"], "");
    assert_eq!(record["message"], "");
    assert_eq!(
        record["subject"]["surname"], SURNAME,
        "the newsletter keeps the name"
    );
    assert_eq!(record["state"], "active");
    assert_eq!(record["revision"], 1);
    let dropped: Vec<&str> = record["dropped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["category"].as_str().unwrap())
        .collect();
    assert_eq!(dropped, ["phone", "message"]);
    assert!(
        ok(&db, &["records", "find", "--phone", PHONE_RAW]).contains("no record found"),
        "the phone lookup went with the phone"
    );
}

#[tokio::test]
async fn rectify_block_anonymize_erase_and_an_audit_log_without_personal_data() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_in(&dir);
    let id = post(&db, "kk").await;
    let second = post(&db, "ru").await;

    let out = ok(
        &db,
        &[
            "records",
            "rectify",
            &id,
            "--set",
            "surname=Жаңаева",
            "--yes",
        ],
    );
    assert!(out.contains("1 record(s) rectified"), "{out}");
    let bad = run(
        &db,
        &[
            "records",
            "rectify",
            &id,
            "--set",
            "iin=900101300123",
            "--yes",
        ],
    );
    assert!(!bad.ok && !bad.stderr.contains("900101"), "{}", bad.stderr);
    let records = export(&db);
    let record = records
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id.as_str())
        .unwrap();
    assert_eq!(record["subject"]["surname"], "Жаңаева");
    assert_eq!(record["history"][0]["changes"][0]["field"], "surname");
    assert_eq!(record["history"][0]["changes"][0]["old"], SURNAME);

    // The access answer names no other person: not the staff member who answered.
    ok(&db, &["records", "answer", &id, "--yes"]);
    let exported = ok(&db, &["records", "export", "--email", EMAIL]);
    assert!(exported.contains("\"answered\""), "{exported}");
    assert!(!exported.contains("test-operator"), "{exported}");

    assert!(ok(&db, &["records", "block", &id, "--yes"]).contains("1 record(s) blocked"));
    assert!(ok(&db, &["records", "find", "--email", EMAIL]).contains("(blocked)"));
    assert!(ok(&db, &["records", "unblock", &id, "--yes"]).contains("1 record(s) unblocked"));

    assert!(
        ok(&db, &["records", "anonymize", &second, "--yes"]).contains("1 record(s) anonymized")
    );
    let remaining = export(&db);
    assert_eq!(
        remaining.as_array().unwrap().len(),
        1,
        "anonymized: no longer findable"
    );

    assert!(ok(&db, &["records", "erase", &id, "--yes"]).contains("1 record(s) erased"));
    assert_eq!(export(&db), serde_json::json!([]));
    let purge = ok(&db, &["purge-expired", "--yes"]);
    assert!(purge.contains("0 expired record(s) deleted"), "{purge}");

    let audit = ok(&db, &["audit", "--json"]);
    let actions: Vec<String> = audit
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["action"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    for action in [
        "find",
        "export",
        "answer",
        "rectify",
        "block",
        "unblock",
        "anonymize",
        "erase",
        "purge_expired",
    ] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} not audited: {actions:?}"
        );
    }
    assert!(audit.contains("test-operator"));
    assert!(audit.contains(&id), "entries name the record id");
    for secret in [
        EMAIL,
        SURNAME,
        FIRST_NAME,
        "Жаңаева",
        PHONE_E164,
        "7017654321",
        MESSAGE,
    ] {
        assert!(!audit.contains(secret), "`{secret}` in the audit log");
    }
    let table = ok(&db, &["audit", "--since", "2000-01-01"]);
    assert_eq!(table.lines().count(), audit.lines().count());
    assert!(ok(&db, &["audit", "--since", "2999-01-01"]).is_empty());
}

#[tokio::test]
async fn a_wrong_key_is_refused_in_plain_words_and_rekey_moves_every_lookup() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_in(&dir);
    let id = post(&db, "kk").await;
    assert!(ok(&db, &["records", "find", "--email", EMAIL]).contains(&id));

    let wrong = run_with(&db, OTHER_KEY, &["records", "find", "--email", EMAIL], "");
    assert!(!wrong.ok, "a wrong key must not answer `nothing held`");
    assert!(wrong.stderr.contains("does not match"), "{}", wrong.stderr);
    assert!(!wrong.stderr.contains(OTHER_KEY));
    let serve = run_with(
        &db,
        OTHER_KEY,
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--manifest",
            fixture_path().to_str().unwrap(),
        ],
        "",
    );
    assert!(
        !serve.ok && serve.stderr.contains("does not match"),
        "{}",
        serve.stderr
    );

    let key_file = dir.path().join("new.key");
    std::fs::write(&key_file, OTHER_KEY).unwrap();
    let rekey = ok(
        &db,
        &[
            "rekey",
            "--new-key-file",
            key_file.to_str().unwrap(),
            "--yes",
        ],
    );
    assert!(rekey.contains("1 record(s) rekeyed"), "{rekey}");
    let found = run_with(&db, OTHER_KEY, &["records", "find", "--email", EMAIL], "");
    assert!(found.ok && found.stdout.contains(&id), "{}", found.stderr);
    let old = run(&db, &["records", "find", "--email", EMAIL]);
    assert!(!old.ok && old.stderr.contains("does not match"));
}

#[tokio::test]
async fn requests_are_opened_listed_with_due_dates_and_closed() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_in(&dir);
    post(&db, "kk").await;
    let opened = run_with(
        &db,
        HMAC_KEY_HEX,
        &[
            "requests", "open", "--kind", "access", "--email", "-", "--lang", "ru",
        ],
        &format!("{EMAIL}\n"),
    );
    assert!(opened.ok, "{}", opened.stderr);
    let id = opened.stdout.split_whitespace().nth(1).unwrap().to_owned();
    let listed = ok(&db, &["requests", "list"]);
    assert!(
        listed.contains(&id) && listed.contains("access"),
        "{listed}"
    );
    assert!(listed.contains(EMAIL), "the operator sees where to answer");
    assert!(ok(&db, &["requests", "list", "--overdue"]).contains("no request"));
    let json: serde_json::Value =
        serde_json::from_str(&ok(&db, &["requests", "list", "--json"])).unwrap();
    assert_eq!(json[0]["kind"], "access");
    assert!(json[0]["due_at"].is_string());

    let bad = run(&db, &["requests", "close", &id, "--outcome", "whatever"]);
    assert!(!bad.ok);
    let closed = ok(&db, &["requests", "close", &id, "--outcome", "done"]);
    assert!(closed.contains("closed: done"), "{closed}");
    assert!(ok(&db, &["requests", "list"]).contains("no request"));
    let all = ok(&db, &["requests", "list", "--all"]);
    assert!(all.contains(&id) && !all.contains(EMAIL), "{all}");
    let audit = ok(&db, &["audit"]);
    assert!(audit.contains("request_opened") && audit.contains("request_closed"));
    assert!(!audit.contains(EMAIL));
}

/// A record as stored, by id (`records show --json`), or `None` once it is gone.
fn stored(db: &Path, id: &str) -> Option<serde_json::Value> {
    let out = run(db, &["records", "show", id, "--json"]);
    out.ok.then(|| serde_json::from_str(&out.stdout).unwrap())
}

fn rfc3339(value: &serde_json::Value) -> time::OffsetDateTime {
    time::OffsetDateTime::parse(
        value.as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap()
}

/// `purge-expired --yes` as at `days` after `at`.
fn purge_at(db: &Path, at: time::OffsetDateTime, days: i64) -> String {
    let now = (at + time::Duration::days(days))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    ok(db, &["purge-expired", "--yes", "--now", &now])
}

#[tokio::test]
async fn an_answered_message_is_kept_reply_after_answer_days_then_only_what_other_purposes_need() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_in(&dir);
    // One message whose sender also subscribed (the fixture site asks no confirmation, so
    // the grant is in force), one with the reply purpose only, and one more answered under a
    // configuration that keeps answered messages 60 days.
    let subscribed = post(&db, "kk").await;
    let reply_only = post_fields(&db, &valid_fields("ru")).await;
    let longer = post_fields(
        &db,
        &with(valid_fields("kk"), "message", Some("Тағы бір сұрақ")),
    )
    .await;

    // --dry-run shows the new end and changes nothing; without --yes it asks.
    let dry = ok(&db, &["records", "answer", &subscribed, "--dry-run"]);
    assert!(dry.contains("reply purpose until"), "{dry}");
    assert!(stored(&db, &subscribed).unwrap()["answered"].is_null());
    let refused = run(&db, &["records", "answer", &subscribed]);
    assert!(
        !refused.ok && refused.stderr.contains("Proceed?"),
        "{}",
        refused.stderr
    );

    for id in [&subscribed, &reply_only] {
        let out = ok(&db, &["records", "answer", id, "--yes"]);
        assert!(out.contains("marked answered by test-operator"), "{out}");
    }
    let again = ok(&db, &["records", "answer", &subscribed, "--yes"]);
    assert!(again.contains("already marked answered"), "{again}");
    let config = dir.path().join("relay.toml");
    std::fs::write(&config, "[retention_days]\nreply_after_answer = 60\n").unwrap();
    ok(
        &db,
        &[
            "records",
            "answer",
            &longer,
            "--yes",
            "--config",
            config.to_str().unwrap(),
        ],
    );

    let record = stored(&db, &subscribed).unwrap();
    let answered_at = rfc3339(&record["answered"]["at"]);
    let reply = &record["consent"]["purposes"][0];
    assert_eq!(reply["purpose"], "reply");
    assert_eq!(
        rfc3339(&reply["expires_at"]),
        answered_at + time::Duration::days(30)
    );
    let newsletter_end = rfc3339(&record["consent"]["purposes"][1]["expires_at"]);
    assert_eq!(rfc3339(&record["expires_at"]), newsletter_end);
    let reply_only_record = stored(&db, &reply_only).unwrap();
    assert_eq!(
        rfc3339(&reply_only_record["expires_at"]),
        rfc3339(&reply_only_record["answered"]["at"]) + time::Duration::days(30),
        "with no other purpose the record ends with the reply"
    );
    let longer_record = stored(&db, &longer).unwrap();
    assert_eq!(
        rfc3339(&longer_record["expires_at"]),
        rfc3339(&longer_record["answered"]["at"]) + time::Duration::days(60)
    );

    // 29 days after the answer nothing is removed.
    let early = purge_at(&db, answered_at, 29);
    assert!(
        early.contains("0 expired record(s) deleted, 0 record(s) reduced"),
        "{early}"
    );
    for id in [&subscribed, &reply_only, &longer] {
        let record = stored(&db, id).unwrap();
        assert_eq!(record["subject"]["phone"], PHONE_E164, "{id}");
        assert!(!record["message"].as_str().unwrap().is_empty(), "{id}");
    }

    // 31 days after: the message and phone go; the newsletter keeps name and email; the
    // reply-only record is gone; the one kept 60 days is untouched.
    let late = purge_at(&db, answered_at, 31);
    assert!(
        late.contains("1 expired record(s) deleted, 1 record(s) reduced"),
        "{late}"
    );
    let kept = stored(&db, &subscribed).unwrap();
    assert_eq!(kept["subject"]["phone"], "");
    assert_eq!(kept["message"], "");
    assert_eq!(kept["subject"]["surname"], SURNAME);
    assert_eq!(kept["subject"]["email"], EMAIL);
    let dropped: Vec<(&str, &str)> = kept["dropped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["category"].as_str().unwrap(),
                d["reason"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(dropped, [("phone", "expired"), ("message", "expired")]);
    assert!(
        stored(&db, &reply_only).is_none(),
        "the reply-only record is gone"
    );
    assert_eq!(stored(&db, &longer).unwrap()["message"], "Тағы бір сұрақ");
    let list = ok(&db, &["records", "list", "--purpose", "newsletter"]);
    assert!(list.contains(EMAIL), "still on the mailing list: {list}");

    // Each answer is audited with its record and the days given, nothing personal.
    let audit = ok(&db, &["audit", "--json"]);
    let answers: Vec<serde_json::Value> = audit
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["action"] == "answer")
        .collect();
    assert_eq!(answers.len(), 3, "{audit}");
    assert_eq!(answers[0]["record_id"], subscribed.as_str());
    assert_eq!(answers[0]["detail"], "reply_after_answer=30");
    assert_eq!(answers[2]["detail"], "reply_after_answer=60");
    for secret in [EMAIL, SURNAME, PHONE_E164, MESSAGE] {
        assert!(!audit.contains(secret), "`{secret}` in the audit log");
    }
}
