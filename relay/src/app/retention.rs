//! Retention (§5.7, §8.8): the per-purpose purge that `purge-expired`, the daily timer and the
//! scheduled Lambda run, one implementation for all of them.

use time::OffsetDateTime;

use crate::app::rights::{RightsError, apply};
use crate::domain::plan::{Plan, plan_purge};
use crate::store::{OutboxStore, RecordStore, RightsLog};

/// What a purge did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    /// Records deleted because every purpose's retention ended.
    pub deleted: usize,
    /// Records reduced to the categories the purposes still in force need.
    pub reduced: usize,
    /// Records that expired between the plan and its application, deleted by the sweep.
    pub late: u64,
    /// Requests never confirmed before their link expired, removed with their address.
    pub unconfirmed: u64,
}

impl Purged {
    /// Every record erased or reduced.
    pub fn total(&self) -> usize {
        let count = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        self.deleted + self.reduced + count(self.late) + count(self.unconfirmed)
    }
}

/// The purge to carry out at `now`, to show before it is applied.
pub async fn plan<S: RecordStore + ?Sized>(
    records: &S,
    now: OffsetDateTime,
) -> Result<Plan, RightsError> {
    Ok(plan_purge(records.list_records().await?, now))
}

/// Applies `plan` (audited under `actor`), then sweeps what expired meanwhile, the dedup
/// entries past their window, and the requests nobody confirmed before their link expired;
/// and finishes any removal a busy reader held off.
pub async fn carry_out<S: RecordStore + RightsLog + OutboxStore + ?Sized>(
    store: &S,
    plan: &Plan,
    actor: &str,
    now: OffsetDateTime,
) -> Result<Purged, RightsError> {
    let deleted = plan.changes.iter().filter(|c| c.after.is_none()).count();
    apply(store, plan, actor).await?;
    let late = store.purge_expired(now).await?;
    let unconfirmed = store.purge_unconfirmed_requests(now).await?;
    store.finish_removals().await?;
    Ok(Purged {
        deleted,
        reduced: plan.changes.len() - deleted,
        late,
        unconfirmed,
    })
}

/// Plans and carries out the purge at `now` in one go (the scheduled runs).
pub async fn purge<S: RecordStore + RightsLog + OutboxStore + ?Sized>(
    store: &S,
    actor: &str,
    now: OffsetDateTime,
) -> Result<Purged, RightsError> {
    let plan = plan(store, now).await?;
    carry_out(store, &plan, actor, now).await
}
