//! Timeline entries written by the engine, buffered per transaction and appended in one
//! statement before commit. Order is the order of `append` calls.
//! Flushing also schedules the investigation of incidents whose alerts or notes changed.

use super::commands::ApplyContext;
use staunch_store::{Actor, JobKind, NewJob, NewTimelineEntry, OrgId, StoreResult, StoreTx};

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
pub(crate) async fn flush(tx: &mut dyn StoreTx, context: &mut ApplyContext<'_>) -> StoreResult<()> {
    if context.timeline.is_empty() {
        return Ok(());
    }
    let entries = std::mem::take(&mut context.timeline);
    schedule_investigations(tx, context, &entries).await?;
    tx.append_timeline_entries(&entries).await
}

/// Timeline entries after which an incident's investigation is (re)computed.
const INVESTIGATED_AFTER: &[&str] = &["incident.opened", "alerts.added", "incident.note"];

/// How long a refresh waits for more of the same burst: every alert or note in it replaces
/// the waiting job, so a burst is investigated once, shortly after it ends.
const INVESTIGATION_DEBOUNCE: jiff::SignedDuration = jiff::SignedDuration::from_millis(500);

/// Schedules one investigation job per incident that opened, gained alerts or a note, in the
/// transaction that changed it: the job is a row, so whichever replica runs due jobs next
/// computes it, and a crash loses nothing.
async fn schedule_investigations(
    tx: &mut dyn StoreTx,
    context: &mut ApplyContext<'_>,
    entries: &[NewTimelineEntry],
) -> StoreResult<()> {
    let mut incidents: Vec<(OrgId, i64)> = Vec::new();
    for entry in entries.iter().filter(|entry| INVESTIGATED_AFTER.contains(&entry.kind.as_str())) {
        if !incidents.contains(&(entry.org, entry.incident_id)) {
            incidents.push((entry.org, entry.incident_id));
        }
    }
    let run_at = context.now + INVESTIGATION_DEBOUNCE;
    for (org, incident_id) in incidents {
        tx.delete_incident_jobs(org, incident_id, JobKind::Investigate).await?;
        let job =
            NewJob { org, kind: JobKind::Investigate, incident_id: Some(incident_id), run_at, payload: serde_json::Value::Null };
        tx.schedule_job(&job).await?;
        context.earliest_job = Some(context.earliest_job.map_or(run_at, |earliest| earliest.min(run_at)));
    }
    Ok(())
}
