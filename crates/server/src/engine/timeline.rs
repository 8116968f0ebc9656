//! Timeline entries written by the engine, buffered per transaction and appended in one
//! statement before commit. Order is the order of `append` calls.
//! Flushing also schedules the investigation of incidents whose alerts or notes changed.

use super::commands::ApplyContext;
use jiff::{SignedDuration, Timestamp};
use staunch_store::{Actor, JobKind, NewJob, NewTimelineEntry, OrgId, StoreResult, StoreTx};
use std::collections::HashMap;

pub(crate) fn append(
    context: &mut ApplyContext<'_>,
    org: OrgId,
    incident_id: i64,
    actor: &Actor,
    kind: &str,
    data: serde_json::Value,
) {
    context.timeline.push(NewTimelineEntry {
        org,
        incident_id,
        at: context.now,
        actor: actor.clone(),
        kind: kind.to_string(),
        data,
    });
}

/// Writes the buffered entries; called before every commit.
pub(crate) async fn flush(tx: &mut dyn StoreTx, context: &mut ApplyContext<'_>, bursts: &mut Bursts) -> StoreResult<()> {
    if context.timeline.is_empty() {
        return Ok(());
    }
    let entries = std::mem::take(&mut context.timeline);
    schedule_investigations(tx, context, bursts, &entries).await?;
    tx.append_timeline_entries(&entries).await
}

/// Timeline entries after which an incident's investigation is (re)computed.
const INVESTIGATED_AFTER: &[&str] = &["incident.opened", "alerts.added", "incident.note"];

/// How long a refresh waits for more of the same burst: every alert or note in it replaces
/// the waiting job, so a burst is investigated once, shortly after it ends.
const INVESTIGATION_DEBOUNCE: SignedDuration = SignedDuration::from_millis(500);
/// The longest a burst postpones an incident's investigation, counted from its first change
/// since the last investigation. Not shorter, because investigations take turns (one at a time
/// per process) beside ingest: with a bound of 3 s, the 800 incidents the ingest benchmark opens
/// were all investigated while it ran, and ingest fell by a quarter (`docs/benchmarks.md`).
const INVESTIGATION_WITHIN: SignedDuration = SignedDuration::from_secs(30);
/// Bursts remembered at most; beyond this, those whose bound has passed are forgotten.
const BURSTS_REMEMBERED: usize = 10_000;

/// When each incident's pending investigation must run at the latest, so that a steady stream
/// of alerts, each postponing it by the debounce, cannot postpone it for ever.
///
/// Held by the engine in memory, not stored: after a restart, or on another replica, a burst
/// counts from the first change seen there, so the bound holds from that point. A transaction
/// that rolls back may leave a bound here that nothing committed: the investigation then comes
/// a little early, never late.
#[derive(Default)]
pub(crate) struct Bursts {
    latest: HashMap<(OrgId, i64), Timestamp>,
}

impl Bursts {
    /// When the investigation asked for at `now` runs: after the debounce, but no later than
    /// the bound set by the first change of its burst.
    fn run_at(&mut self, org: OrgId, incident_id: i64, now: Timestamp) -> Timestamp {
        if self.latest.len() >= BURSTS_REMEMBERED {
            // A bound already past is due at once and about to be claimed.
            self.latest.retain(|_, latest| *latest > now);
            if self.latest.len() >= BURSTS_REMEMBERED {
                // Still full: the bursts forgotten start their bound again at their next
                // change, so each stays bounded.
                self.latest.clear();
            }
        }
        let latest = *self.latest.entry((org, incident_id)).or_insert(now + INVESTIGATION_WITHIN);
        (now + INVESTIGATION_DEBOUNCE).min(latest).max(now)
    }

    /// The incident's investigation was claimed: its next change starts a new burst.
    pub(crate) fn claimed(&mut self, org: OrgId, incident_id: i64) {
        self.latest.remove(&(org, incident_id));
    }
}

/// Schedules one investigation job per incident that opened, gained alerts or a note, in the
/// transaction that changed it: the job is a row, so whichever replica runs due jobs next
/// computes it, and a crash loses nothing.
async fn schedule_investigations(
    tx: &mut dyn StoreTx,
    context: &mut ApplyContext<'_>,
    bursts: &mut Bursts,
    entries: &[NewTimelineEntry],
) -> StoreResult<()> {
    let mut incidents: Vec<(OrgId, i64)> = Vec::new();
    for entry in entries.iter().filter(|entry| INVESTIGATED_AFTER.contains(&entry.kind.as_str())) {
        if !incidents.contains(&(entry.org, entry.incident_id)) {
            incidents.push((entry.org, entry.incident_id));
        }
    }
    for (org, incident_id) in incidents {
        let run_at = bursts.run_at(org, incident_id, context.now);
        tx.delete_incident_jobs(org, incident_id, JobKind::Investigate).await?;
        let job =
            NewJob { org, kind: JobKind::Investigate, incident_id: Some(incident_id), run_at, payload: serde_json::Value::Null };
        tx.schedule_job(&job).await?;
        context.earliest_job = Some(context.earliest_job.map_or(run_at, |earliest| earliest.min(run_at)));
    }
    Ok(())
}
