//! After a restore: the data-subject actions taken since the backup, taken again.
//!
//! A backup is older than the database it replaces. Everything the operator did in between
//! is in the replaced database's audit log and missing from the restored copy, so a person
//! erased yesterday would be back today (policy §8.8, Law 94-V Art. 18). The audit log holds
//! no personal data, but it holds enough to redo what needs no personal data: an erasure, an
//! anonymization, a withdrawal (with its purpose), a block or an unblock, an answer (with the
//! days its reply purpose was given) of a record id, at the time it was first done. A rectification's new values are not in the log, by design, and a
//! request or a re-key lives outside the records: those are listed for the operator to redo.
//! The missing entries are copied into the restored log, and the retention purge runs last.

use std::path::{Path, PathBuf};

use time::OffsetDateTime;

use crate::app::rights;
use crate::domain::audit::{AuditAction, AuditEntry};
use crate::domain::plan::{
    ALL_PURPOSES, Plan, answer_days, plan_anonymize, plan_answer, plan_block, plan_erase,
    plan_purge, plan_withdraw,
};
use crate::store::{Store, StoreError};

/// Where `restore` keeps the audit log of the database it replaces: beside the backup, as
/// `<backup>.replaced-audit.jsonl` (one entry per line; entries hold no personal data).
pub fn saved_log_path(backup: &Path) -> PathBuf {
    let mut name = backup.as_os_str().to_owned();
    name.push(".replaced-audit.jsonl");
    PathBuf::from(name)
}

/// Writes `log` to `path`, merged with what an earlier, interrupted restore saved there
/// (entries by id, oldest first), before anything is overwritten: a restore that stops
/// half-way keeps every entry it would replay, and running it again finishes the job. The
/// file is written whole under another name and renamed over, then synced. Returns the
/// merged log.
pub fn save_log(path: &Path, log: &[AuditEntry]) -> std::io::Result<Vec<AuditEntry>> {
    let mut merged: std::collections::BTreeMap<(String, uuid::Uuid), AuditEntry> =
        std::collections::BTreeMap::new();
    if let Ok(text) = std::fs::read_to_string(path) {
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let entry: AuditEntry = serde_json::from_str(line).map_err(|_| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{} holds a line that is not an audit entry", path.display()),
                )
            })?;
            merged.insert((entry.sort_key(), entry.id), entry);
        }
    }
    for entry in log {
        merged.insert((entry.sort_key(), entry.id), entry.clone());
    }
    let mut text = String::new();
    for entry in merged.values() {
        text.push_str(&serde_json::to_string(entry).map_err(std::io::Error::other)?);
        text.push('\n');
    }
    let partial = path.with_extension("jsonl.partial");
    std::fs::write(&partial, text)?;
    std::fs::File::open(&partial)?.sync_all()?;
    std::fs::rename(&partial, path)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(merged.into_values().collect())
}

/// Who the replay's own audit entries name.
pub const ACTOR: &str = "restore";

/// What [`replay`] did.
#[derive(Debug, Default)]
pub struct Replayed {
    /// Audit entries of the replaced database copied into the restored one.
    pub entries: usize,
    /// Records changed again (erased, anonymized, withdrawn, blocked or unblocked).
    pub redone: usize,
    /// Records the retention purge changed after the replay.
    pub purged: usize,
    /// Actions the log cannot carry out again; the operator redoes them.
    pub to_redo: Vec<AuditEntry>,
}

/// Takes again, on `restored`, every action of `replaced_log` (the audit log of the database
/// the restore replaced) that the restored log lacks, oldest first, then runs the retention
/// purge at `now`.
pub async fn replay(
    replaced_log: &[AuditEntry],
    restored: &dyn Store,
    now: OffsetDateTime,
) -> Result<Replayed, StoreError> {
    let known: std::collections::HashSet<uuid::Uuid> = restored
        .list_audit(None)
        .await?
        .into_iter()
        .map(|e| e.id)
        .collect();
    let mut done = Replayed::default();
    for entry in replaced_log.iter().filter(|e| !known.contains(&e.id)) {
        restored.append_audit(entry).await?;
        done.entries += 1;
        match redo(entry, restored).await? {
            Redo::Changed(n) => done.redone += n,
            Redo::Nothing => {}
            Redo::ByHand => done.to_redo.push(entry.clone()),
        }
    }
    let purge = plan_purge(restored.list_records().await?, now);
    done.purged = rights::apply(restored, &purge, ACTOR)
        .await
        .map_err(|e| StoreError::Backend(e.to_string()))?
        .changed;
    Ok(done)
}

enum Redo {
    Changed(usize),
    Nothing,
    ByHand,
}

/// One logged action, done again on its record as it was done then.
async fn redo(entry: &AuditEntry, store: &dyn Store) -> Result<Redo, StoreError> {
    use AuditAction as A;
    let at = entry.at;
    let plan = match entry.action {
        // Reading, and bookkeeping the restored copy does on its own.
        A::Find | A::Export | A::KeyCheckStored | A::PurgeExpired => return Ok(Redo::Nothing),
        A::MailingList | A::DeliveryRetry => return Ok(Redo::Nothing),
        A::Rectify | A::Rekey | A::RequestOpened | A::RequestClosed => return Ok(Redo::ByHand),
        A::Erase | A::Anonymize | A::Withdraw | A::Block | A::Unblock | A::Answer => {
            // No record id: a summary of an action that changed nothing. No record: the
            // restored copy never had it, or an earlier entry already erased it.
            let Some(id) = entry.record_id else {
                return Ok(Redo::Nothing);
            };
            let Some(record) = store.get_record(id).await? else {
                return Ok(Redo::Nothing);
            };
            match entry.action {
                A::Erase => plan_erase(vec![record]),
                A::Anonymize => plan_anonymize(vec![record], at),
                A::Withdraw => {
                    let purpose = (entry.detail != ALL_PURPOSES).then_some(entry.detail.as_str());
                    plan_withdraw(vec![record], purpose, at)
                }
                A::Answer => match answer_days(&entry.detail) {
                    Some(days) => plan_answer(record, &entry.actor, days, at),
                    None => return Ok(Redo::ByHand),
                },
                action => plan_block(record, action == A::Block, at),
            }
        }
    };
    Ok(Redo::Changed(apply_quietly(&plan, store).await?))
}

/// The plan's changes, without new audit entries: the original entry is the log's record.
async fn apply_quietly(plan: &Plan, store: &dyn Store) -> Result<usize, StoreError> {
    let mut changed = 0;
    for change in &plan.changes {
        let done = match &change.after {
            Some(record) => store.update_record(record).await?,
            None => store.delete_record(change.before.id).await?,
        };
        changed += usize::from(done);
    }
    Ok(changed)
}
