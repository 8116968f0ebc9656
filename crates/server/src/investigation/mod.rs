//! Live investigations: the hypotheses of an incident, computed when it opens and refreshed
//! when alerts join or a note is added.
//!
//! The engine schedules an `investigate` job in the transaction that opened the incident or
//! changed its alerts or notes (`engine::timeline`), replacing any job still waiting, so a
//! burst is computed once. Jobs are rows: whichever process runs due jobs claims it,
//! replicas keep no state. Claiming replaces the job with a lease job due in
//! [`INVESTIGATION_LEASE`]; after that commit, a task reads the committed context through
//! the store, ranks it (`staunch_domain::investigation`) outside any transaction — so the
//! single writer never waits for it — and in one short transaction stores the result as the
//! incident's latest investigation, puts an `investigation.updated` entry on the timeline
//! (actor `system:staunch`) when the leading hypotheses changed, and deletes the lease job. A
//! process that dies in between leaves the lease job, which runs the investigation again.
//! `GET /api/v1/incidents/{id}/investigation?as_of=…` computes one on demand, seeing only
//! what was timestamped before `as_of` (see `gather`).
//!
//! Telemetry (pushed logs, spans, metrics) is not read here yet: [`TELEMETRY`] is the slot
//! where a service ranking for the incident's window goes when the store holds one.

mod gather;

use std::sync::Arc;

use jiff::Timestamp;
use staunch_domain::investigation::{Investigation, InvestigationInput, Settings, investigate};
use staunch_store::{Actor, Incident, JobKind, NewJob, NewTimelineEntry, OrgId, Scoped, Store, StoreResult, StoredInvestigation};

/// No telemetry ranking is available to live investigations yet.
pub const TELEMETRY: Option<&staunch_investigate::Investigation> = None;

/// Hypotheses summarised on the timeline.
const TIMELINE_TOP: usize = 3;

/// Ranks the hypotheses of `incident` from what the store held before `as_of`.
pub async fn compute(store: &Scoped, incident: &Incident, as_of: Timestamp) -> StoreResult<Investigation> {
    let settings = Settings::default();
    let gathered = gather::gather(store, incident, as_of, &settings).await?;
    let input = InvestigationInput {
        incident: &gathered.incident,
        alerts: &gathered.alerts,
        notes: &gathered.notes,
        changes: &gathered.changes,
        graph: &gathered.graph,
        similar: &gathered.similar,
        telemetry: TELEMETRY,
        as_of,
    };
    Ok(investigate(&input, &settings))
}

/// What the timeline says of an investigation: the verdict and the leading hypotheses.
pub fn timeline_summary(investigation: &Investigation) -> serde_json::Value {
    let top: Vec<serde_json::Value> = investigation
        .hypotheses
        .iter()
        .take(TIMELINE_TOP)
        .map(|hypothesis| {
            serde_json::json!({
                "kind": hypothesis.kind, "title": hypothesis.title, "confidence": hypothesis.confidence,
                "suggested_runbook": hypothesis.suggested_runbook,
            })
        })
        .collect();
    serde_json::json!({ "abstained": investigation.abstained, "summary": investigation.summary, "top": top })
}

/// How long a claimed investigation may take before another run of it starts (a process
/// that died mid-way leaves its lease job behind).
pub const INVESTIGATION_LEASE: jiff::SignedDuration = jiff::SignedDuration::from_secs(60);

/// The job that stands for an investigation while it is computed: due when the lease ends.
pub(crate) fn lease_job(org: OrgId, incident_id: i64, now: Timestamp) -> NewJob {
    NewJob {
        org,
        kind: JobKind::Investigate,
        incident_id: Some(incident_id),
        run_at: now + INVESTIGATION_LEASE,
        payload: serde_json::json!({ "lease": true }),
    }
}

/// Runs a claimed `investigate` job: reads the committed context and ranks it outside any
/// transaction, then stores the result, the timeline entry (when the leading hypotheses
/// changed) and the end of the lease in one short transaction. A newer alert or note has
/// already replaced the lease job by then, so deleting it is a no-op and the newer one runs.
pub(crate) async fn refresh(
    store: Arc<dyn Store>,
    clock: Arc<dyn crate::clock::Clock>,
    org: OrgId,
    incident_id: i64,
    lease_id: i64,
) -> StoreResult<()> {
    let scoped = Scoped::new(store.clone(), org);
    let Some(incident) = scoped.incident(incident_id).await? else {
        let mut tx = store.begin().await?;
        tx.delete_job(lease_id).await?;
        return tx.commit().await;
    };
    let now = clock.now();
    let investigation = compute(&scoped, &incident, now).await?;
    let summary = timeline_summary(&investigation);
    let previous = scoped.investigation(incident_id).await?;
    let unchanged = previous.as_ref().is_some_and(|previous| {
        let stored: Option<Investigation> = serde_json::from_value(previous.result.clone()).ok();
        stored.is_some_and(|stored| timeline_summary(&stored) == summary)
    });
    let result = serde_json::to_value(&investigation).unwrap_or(serde_json::Value::Null);
    let mut tx = store.begin().await?;
    tx.save_investigation(org, &StoredInvestigation { incident_id, computed_at: now, result }).await?;
    if !unchanged {
        let entry = NewTimelineEntry {
            org,
            incident_id,
            at: now,
            actor: Actor::system(),
            kind: "investigation.updated".to_string(),
            data: summary,
        };
        tx.append_timeline(&entry).await?;
    }
    tx.delete_job(lease_id).await?;
    tx.commit().await
}
