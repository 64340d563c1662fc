//! `kelisim-relay backup` and `restore` as an operator runs them: backups taken while a real
//! `serve` process stores forms posted over HTTP, restored into a fresh database, and every
//! record the relay acknowledged before a backup began is in it; corrupt and foreign copies
//! are refused with a plain reason; old copies are pruned.
#![cfg(feature = "server")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::relay_process::{BIN, KEY, OTHER_KEY, fixture, spawn_serving};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start(db: &Path) -> Self {
        let (child, base) = spawn_serving(
            Command::new(BIN)
                .args(["serve", "--listen", "127.0.0.1:0"])
                .arg("--manifest")
                .arg(fixture())
                .arg("--db")
                .arg(db)
                .env("KELISIM_HMAC_KEY", KEY)
                .env("KELISIM_RATE_LIMIT_ENABLED", "false")
                .env("KELISIM_STORAGE_LOCATION", "backup test host")
                .stderr(Stdio::null()),
        );
        Self {
            child,
            url: format!("{base}/api/contact"),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn relay(args: &[&str], db: &Path, key: &str) -> Output {
    Command::new(BIN)
        .args(args)
        .arg("--db")
        .arg(db)
        .env("KELISIM_HMAC_KEY", key)
        .output()
        .unwrap()
}

fn ok(output: &Output) -> String {
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn refused(output: &Output) -> String {
    assert!(!output.status.success(), "{output:?}");
    String::from_utf8(output.stderr.clone()).unwrap()
}

/// One JSON post with a unique address and message; the record id when it was stored.
fn post(url: &str, n: usize) -> Option<String> {
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture()).unwrap()).unwrap();
    let policy = &manifest["languages"]["kk"]["policy"];
    let body = serde_json::json!({
        "surname": "Серікова",
        "first_name": "Айгүл",
        "email": format!("load{n}@example.kz"),
        "phone": "+7 701 123 4567",
        "message": format!("хабар {n}"),
        "lang": "kk",
        "consent": ["reply"],
        "policy_version": policy["version"],
        "policy_hash": policy["sha256"],
        "website": "",
    });
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let response = agent
        .post(url)
        .header("Content-Type", "application/json")
        .header("Accept", "application/json")
        .send(body.to_string())
        .ok()?;
    if response.status() != 201 {
        return None;
    }
    let reply: serde_json::Value =
        serde_json::from_str(&response.into_body().read_to_string().ok()?).ok()?;
    reply["id"].as_str().map(str::to_owned)
}

fn record_ids(db: &Path) -> BTreeSet<String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut statement = conn.prepare("SELECT id FROM records").unwrap();
    statement
        .query_map([], |row| row.get::<_, String>(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn backups_in(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sqlite"))
        .collect();
    found.sort();
    found
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Backs up `db` into `dest` keeping `keep`; panics unless it worked.
fn backup(db: &Path, dest: &Path, keep: usize) -> String {
    ok(&relay(
        &[
            "backup",
            dest.to_str().unwrap(),
            "--keep",
            &keep.to_string(),
        ],
        db,
        KEY,
    ))
}

#[test]
fn backups_under_load_restore_every_record_acknowledged_before_they_began() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("relay.sqlite");
    let dest = dir.path().join("backups");
    let server = Server::start(&db);

    // One post first, so a refused form fails here instead of leaving the wait below unbounded.
    let first = post(&server.url, 0).expect("the relay stores a post");
    // Three clients post continuously; each acknowledgement is kept with its time.
    let stop = Arc::new(AtomicBool::new(false));
    let acked: Arc<Mutex<Vec<(Instant, String)>>> =
        Arc::new(Mutex::new(vec![(Instant::now(), first)]));
    let clients: Vec<_> = (0..3)
        .map(|client| {
            let (stop, acked, url) = (Arc::clone(&stop), Arc::clone(&acked), server.url.clone());
            std::thread::spawn(move || {
                let mut n = (client + 1) * 1_000_000;
                while !stop.load(Ordering::SeqCst) {
                    n += 1;
                    if let Some(id) = post(&url, n) {
                        acked.lock().unwrap().push((Instant::now(), id));
                    }
                }
            })
        })
        .collect();
    // Backups only once records are coming in, three of them, a second apart (their names
    // carry the second), while the clients keep posting.
    while acked.lock().unwrap().len() < 20 {
        std::thread::yield_now();
    }
    let mut taken = Vec::new();
    for _ in 0..3 {
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let began = Instant::now();
        let printed = backup(&db, &dest, 2);
        let path = printed
            .split(" to ")
            .nth(1)
            .and_then(|rest| rest.split(" (").next())
            .unwrap()
            .to_owned();
        taken.push((began, PathBuf::from(path)));
    }
    stop.store(true, Ordering::SeqCst);
    for client in clients {
        client.join().unwrap();
    }
    drop(server);
    let acked = acked.lock().unwrap().clone();
    let all_acked: BTreeSet<String> = acked.iter().map(|(_, id)| id.clone()).collect();

    // --keep 2: the first copy is gone, the last two remain with their checksums.
    assert_eq!(
        backups_in(&dest),
        vec![taken[1].1.clone(), taken[2].1.clone()]
    );
    #[cfg(unix)]
    {
        assert_eq!(mode(&dest), 0o700);
        for (_, path) in &taken[1..] {
            assert_eq!(mode(path), 0o600);
            assert_eq!(
                mode(&PathBuf::from(format!("{}.sha256", path.display()))),
                0o600
            );
        }
        assert_eq!(mode(&db), 0o600, "the database is created 0600");
    }

    for (began, path) in &taken[1..] {
        let restored = dir.path().join(format!(
            "restored-{}",
            path.file_name().unwrap().to_str().unwrap()
        ));
        let printed = ok(&relay(&["restore", path.to_str().unwrap()], &restored, KEY));
        assert!(printed.contains("replayed 0 audit entries"), "{printed}");
        let ids = record_ids(&restored);
        let before: BTreeSet<String> = acked
            .iter()
            .filter(|(at, _)| at < began)
            .map(|(_, id)| id.clone())
            .collect();
        assert!(!before.is_empty());
        let missing: Vec<_> = before.difference(&ids).collect();
        assert!(
            missing.is_empty(),
            "acknowledged before the backup, not restored: {missing:?}"
        );
        let unknown: Vec<_> = ids.difference(&all_acked).collect();
        assert!(
            unknown.is_empty(),
            "restored but never acknowledged: {unknown:?}"
        );
        assert!(
            printed.contains(&format!("restored {} records", ids.len())),
            "{printed}"
        );
        // The restored database is a working store: the relay's own commands read it.
        let inbox = ok(&relay(&["inbox", "--json"], &restored, KEY));
        assert_eq!(
            serde_json::from_str::<Vec<serde_json::Value>>(&inbox)
                .unwrap()
                .len(),
            ids.len()
        );
    }
}

/// A small database with one record, backed up once: (temp dir, db, backup path).
fn one_backup() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("relay.sqlite");
    let server = Server::start(&db);
    assert!(post(&server.url, 1).is_some());
    drop(server);
    let dest = dir.path().join("backups");
    backup(&db, &dest, 3);
    let path = backups_in(&dest).pop().unwrap();
    (dir, db, path)
}

#[test]
fn restore_refuses_a_corrupt_copy_and_changes_nothing() {
    let (dir, _db, path) = one_backup();
    let target = dir.path().join("target.sqlite");

    let mut bytes = std::fs::read(&path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    let flipped = dir.path().join("flipped.sqlite");
    std::fs::write(&flipped, &bytes).unwrap();
    std::fs::copy(
        format!("{}.sha256", path.display()),
        format!("{}.sha256", flipped.display()),
    )
    .unwrap();
    let error = refused(&relay(
        &["restore", flipped.to_str().unwrap()],
        &target,
        KEY,
    ));
    assert!(
        error.contains("is corrupt") && error.contains("SHA-256"),
        "{error}"
    );
    assert!(!target.exists(), "nothing was written");

    // A truncated file whose checksum was recomputed: SQLite's own check refuses it.
    let truncated = dir.path().join("truncated.sqlite");
    let whole = std::fs::read(&path).unwrap();
    std::fs::write(&truncated, &whole[..whole.len() / 2]).unwrap();
    let sum = {
        use sha2::Digest as _;
        hex::encode(sha2::Sha256::digest(&whole[..whole.len() / 2]))
    };
    std::fs::write(
        format!("{}.sha256", truncated.display()),
        format!("{sum}  truncated.sqlite\n"),
    )
    .unwrap();
    let error = refused(&relay(
        &["restore", truncated.to_str().unwrap()],
        &target,
        KEY,
    ));
    assert!(
        error.contains("is corrupt") || error.contains("SQLite refused"),
        "{error}"
    );

    // No checksum beside it.
    let bare = dir.path().join("bare.sqlite");
    std::fs::copy(&path, &bare).unwrap();
    let error = refused(&relay(&["restore", bare.to_str().unwrap()], &target, KEY));
    assert!(error.contains("no checksum file"), "{error}");
    assert!(!target.exists(), "nothing was written");
}

#[test]
fn restore_refuses_a_foreign_copy() {
    let (dir, _db, path) = one_backup();
    let target = dir.path().join("target.sqlite");

    // Written under another HMAC key: another deployment's data.
    let error = refused(&relay(
        &["restore", path.to_str().unwrap()],
        &target,
        OTHER_KEY,
    ));
    assert!(error.contains("belongs to another deployment"), "{error}");

    // A SQLite file that is not the relay's, with a valid checksum.
    let other = dir.path().join("other.sqlite");
    {
        let conn = rusqlite::Connection::open(&other).unwrap();
        conn.execute_batch("CREATE TABLE notes (body TEXT)")
            .unwrap();
    }
    let sum = {
        use sha2::Digest as _;
        hex::encode(sha2::Sha256::digest(std::fs::read(&other).unwrap()))
    };
    std::fs::write(
        format!("{}.sha256", other.display()),
        format!("{sum}  other.sqlite\n"),
    )
    .unwrap();
    let error = refused(&relay(&["restore", other.to_str().unwrap()], &target, KEY));
    assert!(error.contains("not a kelisim-relay database"), "{error}");
    assert!(!target.exists(), "nothing was written");
}

#[test]
fn purge_backups_deletes_copies_older_than_the_window_only() {
    let (dir, db, recent) = one_backup();
    let dest = recent.parent().unwrap().to_owned();
    // An old copy, as last year's nightly timer left it.
    let old = dest.join("kelisim-relay-20250101T030000Z.sqlite");
    std::fs::copy(&recent, &old).unwrap();
    std::fs::write(format!("{}.sha256", old.display()), "x").unwrap();
    let notes = dest.join("README.txt");
    std::fs::write(&notes, "operator's notes").unwrap();

    let printed = ok(&Command::new(BIN)
        .args([
            "purge-backups",
            dest.to_str().unwrap(),
            "--max-age-days",
            "30",
        ])
        .output()
        .unwrap());
    assert!(
        printed.contains("kelisim-relay-20250101T030000Z.sqlite"),
        "{printed}"
    );
    assert!(!old.exists());
    assert!(!PathBuf::from(format!("{}.sha256", old.display())).exists());
    assert!(recent.exists() && notes.exists());

    // `backup --max-age-days` prunes the same way after taking its copy.
    std::fs::copy(&recent, &old).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let printed = ok(&relay(
        &["backup", dest.to_str().unwrap(), "--max-age-days", "30"],
        &db,
        KEY,
    ));
    assert!(printed.contains("deleted the old backup"), "{printed}");
    assert!(!old.exists());
    assert_eq!(backups_in(&dest).len(), 2);
    drop(dir);
}

/// A record's stored JSON, read straight from the file.
fn record_json(db: &Path, id: &str) -> serde_json::Value {
    let conn = rusqlite::Connection::open(db).unwrap();
    let body: String = conn
        .query_row("SELECT body FROM records WHERE id = ?1", [id], |row| {
            row.get(0)
        })
        .unwrap();
    serde_json::from_str(&body).unwrap()
}

#[test]
fn a_restore_takes_again_the_erasures_and_withdrawals_made_after_the_backup() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("relay.sqlite");
    let server = Server::start(&db);
    let ids: Vec<String> = (1..=4).map(|n| post(&server.url, n).unwrap()).collect();
    drop(server);
    let dest = dir.path().join("backups");
    backup(&db, &dest, 3);
    let copy = backups_in(&dest).pop().unwrap();

    // After the backup: one person erased, one withdrawn, one blocked and answered, one
    // rectified.
    let erased = ok(&relay(&["records", "erase", &ids[0], "--yes"], &db, KEY));
    assert!(erased.contains("1 record(s) erased"), "{erased}");
    ok(&relay(
        &[
            "records",
            "withdraw",
            "--email",
            "load2@example.kz",
            "--purpose",
            "reply",
            "--yes",
        ],
        &db,
        KEY,
    ));
    ok(&relay(&["records", "block", &ids[2], "--yes"], &db, KEY));
    ok(&relay(&["records", "answer", &ids[2], "--yes"], &db, KEY));
    let answered = record_json(&db, &ids[2]);
    ok(&relay(
        &[
            "records",
            "rectify",
            &ids[3],
            "--set",
            "surname=Жаңаева",
            "--yes",
        ],
        &db,
        KEY,
    ));

    let printed = ok(&relay(&["restore", copy.to_str().unwrap()], &db, KEY));
    assert!(printed.contains("restored 4 records"), "{printed}");
    // The erased person stays erased; the others are as they were made after the backup.
    let left = record_ids(&db);
    assert!(!left.contains(&ids[0]), "an erasure undone by a restore");
    assert_eq!(left.len(), 3);
    let withdrawn = record_json(&db, &ids[1]);
    assert!(
        withdrawn["consent"]["purposes"][0]["withdrawn_at"].is_string(),
        "{withdrawn}"
    );
    let blocked = record_json(&db, &ids[2]);
    assert!(blocked["blocked_at"].is_string());
    // The answer is taken again as it was made: by whom, and when (the audit entry's time,
    // a moment after the command's), with the reply purpose's end.
    assert_eq!(blocked["answered"]["by"], answered["answered"]["by"]);
    let close = |a: &serde_json::Value, b: &serde_json::Value| {
        let at = |v: &serde_json::Value| {
            time::OffsetDateTime::parse(
                v.as_str().unwrap(),
                &time::format_description::well_known::Rfc3339,
            )
            .unwrap()
        };
        assert!(
            (at(a) - at(b)).abs() < time::Duration::seconds(2),
            "{a} / {b}"
        );
    };
    close(&blocked["answered"]["at"], &answered["answered"]["at"]);
    close(
        &blocked["consent"]["purposes"][0]["expires_at"],
        &answered["consent"]["purposes"][0]["expires_at"],
    );
    close(&blocked["expires_at"], &answered["expires_at"]);
    // A rectification's new values are not in the log: it is listed to redo by hand.
    assert_eq!(record_json(&db, &ids[3])["subject"]["surname"], "Серікова");
    assert!(printed.contains("Redo by hand"), "{printed}");
    let redo = printed
        .lines()
        .skip_while(|l| !l.starts_with("Redo by hand"))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(redo.contains("rectify") && redo.contains(&ids[3]), "{redo}");
    assert!(!redo.contains("erase"), "{redo}");
    assert!(
        !printed.contains("Жаңаева") && !printed.contains("load4@"),
        "{printed}"
    );
    // The restored log has the replaced one's entries, so a second restore replays nothing new.
    let audit = ok(&relay(&["audit"], &db, KEY));
    assert!(
        audit.contains("erase") && audit.contains(&ids[0]),
        "{audit}"
    );
}

/// A restore killed at any moment (before its audit log is saved, between the copy and the
/// replay, half-way through the replay) and run again ends with every erasure made after the
/// backup applied: the replaced database's log waits beside the backup for the second run.
#[test]
fn a_restore_killed_at_any_moment_finishes_when_run_again() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("relay.sqlite");
    let server = Server::start(&db);
    let ids: Vec<String> = (1..=6).map(|n| post(&server.url, n).unwrap()).collect();
    drop(server);
    let dest = dir.path().join("backups");
    backup(&db, &dest, 3);
    let copy = backups_in(&dest).pop().unwrap();
    for id in &ids[..4] {
        ok(&relay(&["records", "erase", id, "--yes"], &db, KEY));
    }
    // Kills after growing delays: the first lands before anything is done, later ones land
    // in the copy or the replay, the last ones after the restore finished.
    for delay_ms in [0_u64, 2, 5, 10, 20, 40, 80] {
        let mut child = Command::new(BIN)
            .args(["restore", copy.to_str().unwrap(), "--db"])
            .arg(&db)
            .env("KELISIM_HMAC_KEY", KEY)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
    }
    let printed = ok(&relay(&["restore", copy.to_str().unwrap()], &db, KEY));
    assert!(printed.contains("restored 6 records"), "{printed}");
    let left = record_ids(&db);
    for id in &ids[..4] {
        assert!(!left.contains(id), "erased {id} came back: {printed}");
    }
    assert_eq!(left.len(), 2, "{left:?}");
    let saved =
        std::fs::read_to_string(format!("{}.replaced-audit.jsonl", copy.display())).unwrap();
    for id in &ids[..4] {
        assert!(
            saved.contains(id.as_str()),
            "{id} missing from the saved log"
        );
    }
}
