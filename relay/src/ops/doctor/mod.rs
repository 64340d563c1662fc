//! `kelisim-relay doctor`: checks a deployment's configuration and says what is wrong in plain
//! words, before a visitor or a data-subject request finds out: the HMAC key file and its
//! permissions, the database path and file, the manifest and the site it must match, the SMTP
//! server, and the clock.

mod site;
mod smtp;

use std::path::Path;

use time::OffsetDateTime;

pub use site::fetch;
use site::{check_manifest, check_receipts};
use smtp::check_smtp;

use crate::config::{RelayConfig, StoreKind};
use crate::domain::hmac_key::HmacKey;
use crate::domain::key_check::KeyState;

/// The earliest time a sane clock can show: this relay did not exist before it. A clock
/// behind it stamps consent records with dates nobody can believe.
pub const EARLIEST_SANE: OffsetDateTime = time::macros::datetime!(2026-01-01 00:00 UTC);

/// How far the clock may be from a server's `Date` before it is called wrong. Consent stamps
/// and link expiries are to the second, but a few minutes do not change what they prove.
pub const MAX_SKEW_SECS: i64 = 300;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    /// Works, but something is left unchecked or is likely a mistake.
    Warn,
    /// The deployment will fail or is unsafe.
    Fail,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Warn => "warn",
            Self::Fail => "FAIL",
        }
    }
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub status: Status,
    /// Which check: `key`, `database`, `manifest`, `site`, `smtp`, `clock`.
    pub check: &'static str,
    pub message: String,
}

impl Finding {
    fn new(status: Status, check: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            check,
            message: message.into(),
        }
    }
}

/// Where the served site is, to compare its manifest with the relay's.
#[derive(Debug, Clone, Default)]
pub struct Site {
    /// The directory `serve --static-dir` serves.
    pub static_dir: Option<std::path::PathBuf>,
    /// The public URL of the site (`https://woow.kz`).
    pub url: Option<String>,
}

/// Runs every check. The report is in the order an operator fixes things.
pub async fn run(config: &RelayConfig, site: &Site, now: OffsetDateTime) -> Vec<Finding> {
    let mut findings = Vec::new();
    let key = check_key(config, &mut findings);
    check_database(config, key.as_ref(), &mut findings);
    let site_date = check_manifest(config, site, &mut findings);
    findings.push(check_receipts(config, site));
    check_smtp(config, &mut findings).await;
    findings.extend(check_clock(now, site_date));
    findings
}

/// The report as text, one finding per line.
pub fn report(findings: &[Finding]) -> String {
    findings
        .iter()
        .map(|f| format!("{:<4}  {:<8}  {}\n", f.status.label(), f.check, f.message))
        .collect()
}

/// The key: where it comes from, that it parses, that its file is the owner's alone.
fn check_key(config: &RelayConfig, findings: &mut Vec<Finding>) -> Option<HmacKey> {
    if config.hmac_key_env.is_some() {
        return match config.hmac_key() {
            Ok(key) => {
                findings.push(Finding::new(
                    Status::Ok,
                    "key",
                    "the HMAC key comes from KELISIM_HMAC_KEY and is valid",
                ));
                Some(key)
            }
            Err(error) => {
                findings.push(Finding::new(Status::Fail, "key", error.to_string()));
                None
            }
        };
    }
    let Some(path) = &config.hmac_key_file else {
        findings.push(Finding::new(
            Status::Fail,
            "key",
            "no HMAC key is configured: set `hmac_key_file` (or KELISIM_HMAC_KEY_FILE) to a \
             file holding at least 32 random bytes (`openssl rand -hex 32 > FILE; chmod 600 FILE`)",
        ));
        return None;
    };
    check_key_file(config, path, findings)
}

/// The key file at `path`: readable, the owner's alone, and holding a valid key.
fn check_key_file(
    config: &RelayConfig,
    path: &Path,
    findings: &mut Vec<Finding>,
) -> Option<HmacKey> {
    let shown = path.display();
    let metadata = match std::fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(error) => {
            findings.push(Finding::new(
                Status::Fail,
                "key",
                format!("the HMAC key file {shown} cannot be read: {error}"),
            ));
            return None;
        }
    };
    if let Some(mode) = loose_mode(&metadata) {
        findings.push(Finding::new(
            Status::Fail,
            "key",
            format!(
                "the HMAC key file {shown} can be read by other users (mode {mode:o}); \
                 run `chmod 600 {shown}`"
            ),
        ));
    }
    match config.hmac_key() {
        Ok(key) => {
            if loose_mode(&metadata).is_none() {
                findings.push(Finding::new(
                    Status::Ok,
                    "key",
                    format!("the HMAC key file {shown} is valid and readable by its owner only"),
                ));
            }
            Some(key)
        }
        Err(error) => {
            findings.push(Finding::new(
                Status::Fail,
                "key",
                format!("the HMAC key file {shown}: {error}"),
            ));
            None
        }
    }
}

/// Group or other permission bits of a file holding secrets or personal data.
fn loose_mode(metadata: &std::fs::Metadata) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = metadata.permissions().mode() & 0o777;
        (mode & 0o077 != 0).then_some(mode)
    }
    #[cfg(not(unix))]
    {
        let _ = metadata;
        None
    }
}

/// The SQLite database: its directory writable (SQLite creates `-wal` and `-shm` beside the
/// file), the file the owner's alone, and its key-check value this key's.
fn check_database(config: &RelayConfig, key: Option<&HmacKey>, findings: &mut Vec<Finding>) {
    let finding = if config.store == StoreKind::Dynamodb {
        Finding::new(
            Status::Ok,
            "database",
            format!(
                "the store is DynamoDB table {}; check it with `kelisim-relay records find` \
                 (this host keeps no database file)",
                config.dynamodb.table.as_deref().unwrap_or("(no table set)")
            ),
        )
    } else {
        match sqlite_database(&config.sqlite.path, key) {
            Ok(message) => Finding::new(Status::Ok, "database", message),
            Err(message) => Finding::new(Status::Fail, "database", message),
        }
    };
    findings.push(finding);
    if config.store == StoreKind::Sqlite {
        findings.extend(sqlite_leftovers(&config.sqlite.path));
    }
}

/// What a running relay left for the operator in the SQLite file: a removal whose WAL
/// truncation a busy reader held off (the next write or `purge-expired` finishes it), and dead
/// letters (messages never sent).
fn sqlite_leftovers(path: &Path) -> Vec<Finding> {
    let Ok(conn) = rusqlite::Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    ) else {
        return Vec::new();
    };
    let mut findings = Vec::new();
    if crate::store::sqlite::scrub_is_pending(&conn).unwrap_or(false) {
        findings.push(Finding::new(
            Status::Warn,
            "removals",
            "a removal is committed but its bytes may still be in the -wal file: a reader (a \
             backup, an sqlite3 shell) held the WAL; close it and run `kelisim-relay \
             purge-expired --yes` (or wait for the next form post)",
        ));
    }
    let dead: i64 = conn
        .query_row(
            "SELECT count(*) FROM outbox WHERE json_extract(body, '$.dead') IS NOT NULL",
            [],
            |row| row.get(0),
        )
        .unwrap_or(0);
    if dead > 0 {
        findings.push(Finding::new(
            Status::Warn,
            "outbox",
            format!(
                "{dead} dead letter(s): messages that will not be sent (a permanent refusal, or \
                 3 days or 10 attempts used up); see `kelisim-relay deliver --status`"
            ),
        ));
    }
    findings
}

/// The SQLite file at `path`, checked step by step: what is fine, or the first thing wrong.
fn sqlite_database(path: &Path, key: Option<&HmacKey>) -> Result<String, String> {
    let shown = path.display();
    directory_writable(path)?;
    let metadata = match std::fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Ok(format!(
                "{shown} does not exist yet; `serve` will create it (mode 600)"
            ));
        }
        Err(error) => return Err(format!("the database {shown} cannot be read: {error}")),
    };
    file_private_and_writable(path, &metadata)?;
    let state = rusqlite::Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .ok()
    .and_then(|conn| crate::store::sqlite::read_key_state(&conn).ok())
    .ok_or_else(|| format!("{shown} cannot be read as a kelisim-relay database"))?;
    if let Some(key) = key {
        key_matches(&state, key).map_err(|reason| format!("{shown}: {reason}"))?;
    }
    Ok(format!(
        "{shown} is writable and readable by its owner only"
    ))
}

/// The database's directory takes a new private file (SQLite creates the database and its
/// `-wal` and `-shm` files there).
fn directory_writable(path: &Path) -> Result<(), String> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => std::path::PathBuf::from("."),
    };
    let probe = dir.join(format!(".kelisim-doctor-{}", std::process::id()));
    match crate::ops::backup::create_private_file(&probe) {
        Ok(()) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(error) => Err(format!(
            "the database directory {} is not writable ({error}); SQLite must create \
             the database and its -wal and -shm files there",
            dir.display()
        )),
    }
}

/// The database is a file, readable by its owner only, and writable by this user.
fn file_private_and_writable(path: &Path, metadata: &std::fs::Metadata) -> Result<(), String> {
    let shown = path.display();
    if !metadata.is_file() {
        return Err(format!("the database path {shown} is not a file"));
    }
    if let Some(mode) = loose_mode(metadata) {
        return Err(format!(
            "the database {shown} holds personal data and can be read by other users \
             (mode {mode:o}); run `chmod 600 {shown}` (and the same for its -wal and -shm files)"
        ));
    }
    if std::fs::OpenOptions::new().write(true).open(path).is_err() {
        return Err(format!("the database {shown} is not writable by this user"));
    }
    Ok(())
}

fn key_matches(state: &KeyState, key: &HmacKey) -> Result<(), String> {
    state
        .admits(&key.key_check())
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// The clock: not before [`EARLIEST_SANE`], and within [`MAX_SKEW_SECS`] of the site's
/// `Date` when the site was fetched.
pub fn check_clock(now: OffsetDateTime, site_date: Option<OffsetDateTime>) -> Vec<Finding> {
    let shown = now
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    if now < EARLIEST_SANE {
        return vec![Finding::new(
            Status::Fail,
            "clock",
            format!(
                "the clock says {shown}, before this relay was written; consent stamps would \
                 carry that date. Set the time (timedatectl set-ntp true)"
            ),
        )];
    }
    if let Some(date) = site_date {
        let skew = (now - date).whole_seconds();
        if skew.abs() > MAX_SKEW_SECS {
            return vec![Finding::new(
                Status::Fail,
                "clock",
                format!(
                    "the clock is {} s {} the site's server; consent stamps and link expiries \
                     would be off. Turn on time synchronisation (timedatectl set-ntp true)",
                    skew.abs(),
                    if skew > 0 { "ahead of" } else { "behind" }
                ),
            )];
        }
        return vec![Finding::new(
            Status::Ok,
            "clock",
            format!("the clock ({shown}) agrees with the site's server within {MAX_SKEW_SECS} s"),
        )];
    }
    vec![Finding::new(
        Status::Ok,
        "clock",
        format!("the clock says {shown} (compare it with a server: --site-url URL)"),
    )]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clock_before_the_relay_existed_or_far_from_the_site_fails() {
        let before = time::macros::datetime!(2001-01-01 00:00 UTC);
        assert_eq!(check_clock(before, None)[0].status, Status::Fail);
        let now = time::macros::datetime!(2026-12-02 11:00 UTC);
        assert_eq!(check_clock(now, None)[0].status, Status::Ok);
        let ahead = check_clock(now, Some(now - time::Duration::minutes(10)));
        assert_eq!(ahead[0].status, Status::Fail);
        assert!(ahead[0].message.contains("600 s ahead of"), "{ahead:?}");
        let close = check_clock(now, Some(now - time::Duration::seconds(30)));
        assert_eq!(close[0].status, Status::Ok);
    }
}
