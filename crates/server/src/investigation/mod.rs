//! Live investigations: the hypotheses of an incident, computed when it opens and refreshed
//! when alerts join or a note is added.
//!
//! The engine schedules an `investigate` job in the transaction that opened the incident or
//! changed its alerts or notes (`engine::timeline`), replacing any job still waiting, so a
//! burst is computed once. Jobs are rows: whichever process runs due jobs computes it,
//! replicas keep no state. The engine reads the committed context through the store, ranks
//! it (`staunch_domain::investigation`), stores the result as the incident's latest
//! investigation and, when the leading hypotheses changed, puts an `investigation.updated`
//! entry on the timeline (actor `system:staunch`), all in the job's transaction.
//! `GET /api/v1/incidents/{id}/investigation?as_of=…` computes one on demand, seeing only
//! what was timestamped before `as_of` (see `gather`).
//!
//! Telemetry (pushed logs, spans, metrics) is not read here yet: [`TELEMETRY`] is the slot
//! where a service ranking for the incident's window goes when the store holds one.

mod gather;

use std::sync::Arc;

use jiff::Timestamp;
use staunch_domain::investigation::{Investigation, InvestigationInput, Settings, investigate};
use staunch_store::{Actor, Incident, NewTimelineEntry, OrgId, Scoped, Store, StoreResult, StoreTx, StoredInvestigation};

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

/// Runs one `investigate` job inside the engine's job transaction. The context is read
/// through `store` (committed rows: the job was scheduled by a committed transaction).
pub(crate) async fn refresh(
    store: &Arc<dyn Store>,
    tx: &mut dyn StoreTx,
    timeline: &mut Vec<NewTimelineEntry>,
    org: OrgId,
    incident_id: i64,
    now: Timestamp,
) -> StoreResult<()> {
    let scoped = Scoped::new(store.clone(), org);
    let Some(incident) = scoped.incident(incident_id).await? else {
        return Ok(());
    };
    // A failed read must not hold up the escalation jobs of the same batch: the job is done,
    // the next alert or note schedules another.
    let investigation = match compute(&scoped, &incident, now).await {
        Ok(investigation) => investigation,
        Err(error) => {
            tracing::warn!(%error, incident_id, "investigation not computed");
            return Ok(());
        }
    };
    let summary = timeline_summary(&investigation);
    let previous = scoped.investigation(incident_id).await.ok().flatten();
    let unchanged = previous.as_ref().is_some_and(|previous| {
        let stored: Option<Investigation> = serde_json::from_value(previous.result.clone()).ok();
        stored.is_some_and(|stored| timeline_summary(&stored) == summary)
    });
    let result = serde_json::to_value(&investigation).unwrap_or(serde_json::Value::Null);
    tx.save_investigation(org, &StoredInvestigation { incident_id, computed_at: now, result }).await?;
    if !unchanged {
        timeline.push(NewTimelineEntry {
            org,
            incident_id,
            at: now,
            actor: Actor::system(),
            kind: "investigation.updated".to_string(),
            data: summary,
        });
    }
    Ok(())
}
