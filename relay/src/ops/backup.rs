//! Backups of the one-machine SQLite store: `kelisim-relay backup DEST` takes an online,
//! consistent copy while the relay serves (SQLite's backup API, one read snapshot, so writers
//! never wait), writes a `sha256sum`-style checksum beside it and keeps the newest N copies;
//! `kelisim-relay restore SRC` refuses a corrupt file (checksum, `integrity_check`) or a
//! foreign one (not a relay database, or written under another HMAC key: the key-check value)
//! before copying it back; `kelisim-relay purge-backups` deletes copies older than the erasure
//! window, so a person erased today is gone from every copy within that window.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use sha2::{Digest as _, Sha256};
use time::OffsetDateTime;
use time::macros::format_description;

use crate::domain::hmac_key::HmacKey;
use crate::domain::secret::constant_time_eq;

/// Every backup file is named `kelisim-relay-<UTC time>.sqlite`; the name sorts by time and
/// carries it, so pruning never trusts a file's modification time (copying resets it).
const PREFIX: &str = "kelisim-relay-";
const SUFFIX: &str = ".sqlite";
/// The checksum file is the backup's name plus this.
pub const CHECKSUM_SUFFIX: &str = ".sha256";

/// Why a backup, restore or prune failed. Names files and reasons, never any record content.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("SQLite refused {what} {path}: {reason}")]
    Sqlite {
        what: &'static str,
        path: PathBuf,
        reason: String,
    },
    #[error(
        "{0} has no checksum file beside it ({0}{CHECKSUM_SUFFIX}); refusing to restore an unverified copy"
    )]
    NoChecksum(PathBuf),
    #[error("{0} is corrupt: its SHA-256 differs from the one recorded when it was taken")]
    ChecksumMismatch(PathBuf),
    #[error("{path} is corrupt: SQLite's integrity check says: {report}")]
    Integrity { path: PathBuf, report: String },
    #[error("{0} is not a kelisim-relay database (no records table, or an unknown schema version)")]
    NotRelayDatabase(PathBuf),
    #[error(
        "{0} belongs to another deployment: it was written under another HMAC key (its \
         key-check value differs from this configuration's). Restore it only with the key it \
         was written with"
    )]
    ForeignKey(PathBuf),
    #[error(
        "{0} holds no key-check value, so it cannot be shown to belong to this deployment; \
         refusing to restore it"
    )]
    NoKeyCheck(PathBuf),
    #[error("{0} was taken during an unfinished rekey; restore a copy taken before or after it")]
    RekeyInProgress(PathBuf),
}

/// One backup that was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupFile {
    pub path: PathBuf,
    pub checksum_path: PathBuf,
    pub sha256: String,
    pub bytes: u64,
    /// Copies deleted afterwards because more than `keep` were there.
    pub pruned: Vec<PathBuf>,
}

/// What a verified backup holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub records: u64,
    pub schema_version: i64,
}

/// Copies the live database `db` into `dir` (created 0700 if missing) as
/// `kelisim-relay-<now>.sqlite` (0600) with its checksum, then deletes the oldest copies
/// beyond `keep`. The copy is one read snapshot: consistent, and the relay keeps writing.
pub fn backup(
    db: &Path,
    dir: &Path,
    keep: usize,
    now: OffsetDateTime,
) -> Result<BackupFile, BackupError> {
    create_private_dir(dir)?;
    let name = file_name(now);
    let path = dir.join(&name);
    let partial = dir.join(format!(".{name}.partial"));
    let _ = std::fs::remove_file(&partial);
    create_private_file(&partial)?;
    let result = copy_snapshot(db, &partial).and_then(|()| {
        sync_file(&partial)?;
        std::fs::rename(&partial, &path).map_err(io("naming the backup", &path))
    });
    if let Err(error) = result {
        let _ = std::fs::remove_file(&partial);
        return Err(error);
    }
    let sha256 = sha256_file(&path)?;
    let checksum_path = checksum_path(&path);
    let line = format!("{sha256}  {name}\n");
    write_private(&checksum_path, line.as_bytes())?;
    sync_dir(dir)?;
    let bytes = std::fs::metadata(&path)
        .map_err(io("reading the size of", &path))?
        .len();
    let pruned = prune(dir, keep, None, now)?;
    Ok(BackupFile {
        path,
        checksum_path,
        sha256,
        bytes,
        pruned,
    })
}

/// Deletes backups in `dir` beyond the newest `keep`, and (with `max_age`) every backup older
/// than that, the newest one included: an erased person must not outlive the window in any
/// copy. Returns the deleted files.
pub fn prune(
    dir: &Path,
    keep: usize,
    max_age: Option<time::Duration>,
    now: OffsetDateTime,
) -> Result<Vec<PathBuf>, BackupError> {
    let mut backups = list(dir)?;
    // Newest first.
    backups.sort_by_key(|b| std::cmp::Reverse(b.1));
    let mut deleted = Vec::new();
    for (index, (path, taken)) in backups.into_iter().enumerate() {
        let too_many = index >= keep;
        let too_old = max_age.is_some_and(|age| taken < now - age);
        if too_many || too_old {
            std::fs::remove_file(&path).map_err(io("deleting the old backup", &path))?;
            let _ = std::fs::remove_file(checksum_path(&path));
            deleted.push(path);
        }
    }
    Ok(deleted)
}

/// The backups in `dir` with the time each was taken (from its name).
pub fn list(dir: &Path) -> Result<Vec<(PathBuf, OffsetDateTime)>, BackupError> {
    let entries = std::fs::read_dir(dir).map_err(io("listing the backups in", dir))?;
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io("listing the backups in", dir))?;
        let name = entry.file_name();
        if let Some(taken) = name.to_str().and_then(taken_at) {
            found.push((entry.path(), taken));
        }
    }
    Ok(found)
}

/// Checks that `src` is an intact backup of this deployment: its checksum file matches, SQLite
/// finds it intact, it is a relay database, and its key-check value is `key`'s.
pub fn verify(src: &Path, key: &HmacKey) -> Result<Verified, BackupError> {
    verify_checksum(src)?;
    let conn = Connection::open_with_flags(
        src,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sqlite("opening", src))?;
    verify_integrity(&conn, src)?;
    let schema_version = verify_schema(&conn, src)?;
    verify_key(&conn, src, key)?;
    let records: i64 = conn
        .query_row("SELECT count(*) FROM records", [], |row| row.get(0))
        .map_err(sqlite("counting the records of", src))?;
    Ok(Verified {
        records: u64::try_from(records).unwrap_or(0),
        schema_version,
    })
}

/// The file's SHA-256 is the one its `.sha256` file recorded.
fn verify_checksum(src: &Path) -> Result<(), BackupError> {
    let checksum_file = checksum_path(src);
    let recorded = match std::fs::read_to_string(&checksum_file) {
        Ok(text) => text.split_whitespace().next().unwrap_or("").to_owned(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(BackupError::NoChecksum(src.to_owned()));
        }
        Err(e) => return Err(io("reading", &checksum_file)(e)),
    };
    let actual = sha256_file(src)?;
    if !constant_time_eq(recorded.to_ascii_lowercase().as_bytes(), actual.as_bytes()) {
        return Err(BackupError::ChecksumMismatch(src.to_owned()));
    }
    Ok(())
}

/// SQLite's own integrity check passes.
fn verify_integrity(conn: &Connection, src: &Path) -> Result<(), BackupError> {
    let report: String = conn
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .map_err(|e| BackupError::Integrity {
            path: src.to_owned(),
            report: sqlite_reason(&e),
        })?;
    if report != "ok" {
        return Err(BackupError::Integrity {
            path: src.to_owned(),
            report,
        });
    }
    Ok(())
}

/// The database is the relay's (a `records` table, a known schema version, which it returns)
/// and has a `meta` table for the key-check value.
fn verify_schema(conn: &Connection, src: &Path) -> Result<i64, BackupError> {
    let schema_version: i64 = conn
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(sqlite("reading the schema version of", src))?;
    let has_table = |name: &str| -> Result<bool, BackupError> {
        conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1)",
            [name],
            |row| row.get(0),
        )
        .map_err(sqlite("reading the tables of", src))
    };
    if !has_table("records")?
        || !(1..=crate::store::sqlite::SCHEMA_VERSION).contains(&schema_version)
    {
        return Err(BackupError::NotRelayDatabase(src.to_owned()));
    }
    if !has_table("meta")? {
        return Err(BackupError::NoKeyCheck(src.to_owned()));
    }
    Ok(schema_version)
}

/// The data was written with `key`, and no re-keying was under way.
fn verify_key(conn: &Connection, src: &Path, key: &HmacKey) -> Result<(), BackupError> {
    let state = crate::store::sqlite::read_key_state(conn)
        .map_err(|_| BackupError::NotRelayDatabase(src.to_owned()))?;
    if state.rekey_to.is_some() {
        return Err(BackupError::RekeyInProgress(src.to_owned()));
    }
    match state.key_check {
        None => Err(BackupError::NoKeyCheck(src.to_owned())),
        Some(stored) if constant_time_eq(stored.as_bytes(), key.key_check().as_bytes()) => Ok(()),
        Some(_) => Err(BackupError::ForeignKey(src.to_owned())),
    }
}

/// Verifies `src` ([`verify`]) and copies it over the database `db` (created 0600 if
/// missing) with SQLite's backup API, which replaces the content in one transaction.
pub fn restore(src: &Path, db: &Path, key: &HmacKey) -> Result<Verified, BackupError> {
    let verified = verify(src, key)?;
    if !db.exists() {
        create_private_file(db)?;
    }
    let source = Connection::open_with_flags(
        src,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sqlite("opening", src))?;
    let mut target = Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sqlite("opening", db))?;
    target
        .busy_timeout(Duration::from_secs(10))
        .map_err(sqlite("opening", db))?;
    {
        let copy =
            rusqlite::backup::Backup::new(&source, &mut target).map_err(sqlite("restoring", db))?;
        copy_all(&copy).map_err(sqlite("restoring", db))?;
    }
    Ok(verified)
}

/// `kelisim-relay-<YYYYMMDDTHHMMSSZ>.sqlite`.
pub fn file_name(now: OffsetDateTime) -> String {
    let format = format_description!("[year][month][day]T[hour][minute][second]Z");
    let stamp = now
        .to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_else(|_| "unknown-time".to_owned());
    format!("{PREFIX}{stamp}{SUFFIX}")
}

/// The time in a backup's name, `None` for any other file.
fn taken_at(name: &str) -> Option<OffsetDateTime> {
    let stamp = name.strip_prefix(PREFIX)?.strip_suffix(SUFFIX)?;
    let format = format_description!("[year][month][day]T[hour][minute][second]Z");
    time::PrimitiveDateTime::parse(stamp, &format)
        .ok()
        .map(time::PrimitiveDateTime::assume_utc)
}

/// The checksum file beside a backup.
pub fn checksum_path(backup: &Path) -> PathBuf {
    let mut name = backup.as_os_str().to_owned();
    name.push(CHECKSUM_SUFFIX);
    PathBuf::from(name)
}

/// One read snapshot of `db` into the fresh file `dest`, left as a self-contained file
/// (rollback journal, no `-wal` beside it).
fn copy_snapshot(db: &Path, dest: &Path) -> Result<(), BackupError> {
    // Never create: a mistyped path must fail, not back up an empty new database.
    let source = Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sqlite("opening", db))?;
    source
        .busy_timeout(Duration::from_secs(10))
        .map_err(sqlite("opening", db))?;
    let mut target = Connection::open(dest).map_err(sqlite("creating", dest))?;
    {
        let copy =
            rusqlite::backup::Backup::new(&source, &mut target).map_err(sqlite("copying", db))?;
        copy_all(&copy).map_err(sqlite("copying", db))?;
    }
    let _mode: String = target
        .query_row("PRAGMA journal_mode = DELETE", [], |row| row.get(0))
        .map_err(sqlite("finishing", dest))?;
    target.close().map_err(|(_, e)| sqlite("closing", dest)(e))
}

/// Every page in one step (-1), so one read transaction, one snapshot, covers the copy; in
/// WAL mode it does not block the relay's writes. A step that finds the database locked is
/// retried for up to 10 s.
fn copy_all(copy: &rusqlite::backup::Backup<'_, '_>) -> Result<(), rusqlite::Error> {
    use rusqlite::backup::StepResult;
    for _ in 0..200 {
        match copy.step(-1)? {
            StepResult::Done => return Ok(()),
            StepResult::More | StepResult::Busy | StepResult::Locked => {
                std::thread::sleep(Duration::from_millis(50));
            }
            _ => std::thread::sleep(Duration::from_millis(50)),
        }
    }
    Err(rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
        Some("the database stayed locked for 10 s".to_owned()),
    ))
}

fn sha256_file(path: &Path) -> Result<String, BackupError> {
    let mut file = std::fs::File::open(path).map_err(io("reading", path))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).map_err(io("reading", path))?;
    Ok(hex::encode(hasher.finalize()))
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), BackupError> {
    let partial = path.with_extension("partial");
    let _ = std::fs::remove_file(&partial);
    create_private_file(&partial)?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&partial)
        .map_err(io("writing", &partial))?;
    file.write_all(bytes).map_err(io("writing", &partial))?;
    file.sync_all().map_err(io("writing", &partial))?;
    std::fs::rename(&partial, path).map_err(io("writing", path))
}

/// Creates an empty file only its owner can read (backups hold personal data).
pub fn create_private_file(path: &Path) -> Result<(), BackupError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map_err(io("creating", path))?;
    Ok(())
}

fn create_private_dir(dir: &Path) -> Result<(), BackupError> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .map_err(io("creating the backup directory", dir))
}

fn sync_file(path: &Path) -> Result<(), BackupError> {
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(io("syncing", path))
}

/// Makes the new names in `dir` durable (the rename of the backup into place).
fn sync_dir(dir: &Path) -> Result<(), BackupError> {
    #[cfg(unix)]
    std::fs::File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(io("syncing", dir))?;
    Ok(())
}

fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> BackupError {
    let path = path.to_owned();
    move |source| BackupError::Io { what, path, source }
}

fn sqlite(what: &'static str, path: &Path) -> impl FnOnce(rusqlite::Error) -> BackupError {
    let path = path.to_owned();
    move |error| BackupError::Sqlite {
        what,
        path,
        reason: sqlite_reason(&error),
    }
}

/// SQLite's own words for an error: its messages name files and conditions, never row data.
fn sqlite_reason(error: &rusqlite::Error) -> String {
    match error {
        rusqlite::Error::SqliteFailure(e, Some(message)) => format!("{message} ({:?})", e.code),
        rusqlite::Error::SqliteFailure(e, None) => format!("{:?}", e.code),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_the_time_and_other_files_are_not_backups() {
        let now = time::macros::datetime!(2026-12-02 10:54:07 UTC);
        let name = file_name(now);
        assert_eq!(name, "kelisim-relay-20261202T105407Z.sqlite");
        assert_eq!(taken_at(&name), Some(now));
        assert_eq!(
            taken_at("kelisim-relay-20261202T105407Z.sqlite.sha256"),
            None
        );
        assert_eq!(taken_at("notes.txt"), None);
    }
}
