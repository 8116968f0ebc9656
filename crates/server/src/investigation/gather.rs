//! Reads what an investigation may see "as of" a time, from one organisation's store, and
//! turns it into the domain's inputs.
//!
//! Every read is cut at `as_of`: alerts by when Staunch first saw them, notes by when they
//! were written, changes by their `at` (and never after the onset), past incidents by their
//! opening (the store's search also drops their text written after `as_of`), and what a past
//! incident's runbooks achieved by when they finished. Reads are bounded: changes come from
//! the `(org, at)` index within the lookback window, past incidents from the full-text
//! index with a LIMIT.

use jiff::{SignedDuration, Timestamp};
use staunch_domain::catalog::DependencyGraph;
use staunch_domain::investigation::{
    AlertContext, ChangeCandidate, IncidentContext, NoteContext, PastChange, PastIncident, Settings,
};
use staunch_domain::runbook::RunState;
use staunch_store::{
    AlertFilter, Incident, SEARCHED_ALERTS_PER_INCIDENT, Scoped, SimilarIncidentQuery, StoreResult, search_words,
};

/// At most this many change events are candidates (newest first within the window).
const MAX_CHANGES: u32 = 500;
/// Past incidents asked of the full-text index.
pub const SIMILAR_INCIDENTS: u32 = 5;
/// Words sent to the full-text index.
const SEARCH_WORDS: usize = 24;
/// An alert's claimed start earlier than this before the incident opened is not believed
/// for the onset (senders sometimes send the rule's creation time).
const MAX_ONSET_LEAD: SignedDuration = SignedDuration::from_hours(1);

pub(crate) struct Gathered {
    pub incident: IncidentContext,
    pub alerts: Vec<AlertContext>,
    pub notes: Vec<NoteContext>,
    pub changes: Vec<ChangeCandidate>,
    pub graph: DependencyGraph,
    pub similar: Vec<PastIncident>,
}

pub(crate) async fn gather(store: &Scoped, incident: &Incident, as_of: Timestamp, settings: &Settings) -> StoreResult<Gathered> {
    let filter = AlertFilter { incident_id: Some(incident.id), limit: SEARCHED_ALERTS_PER_INCIDENT, ..Default::default() };
    let stored_alerts: Vec<_> = store.alerts(&filter).await?.into_iter().filter(|alert| alert.first_seen < as_of).collect();
    let onset = stored_alerts
        .iter()
        .filter_map(|alert| alert.starts_at)
        .filter(|start| *start >= incident.created_at - MAX_ONSET_LEAD)
        .min()
        .map_or(incident.created_at, |start| start.min(incident.created_at))
        .min(as_of);
    let alerts: Vec<AlertContext> = stored_alerts
        .iter()
        .map(|alert| AlertContext {
            service_id: alert.service_id.clone(),
            summary: alert.summary.clone(),
            labels: alert.labels.clone(),
            at: alert.first_seen,
        })
        .collect();
    let notes = notes_before(store, incident.id, as_of).await?;

    // Both ends inclusive; a change exactly at as_of is not yet known, so stop just before.
    let until = onset.min(as_of - SignedDuration::from_micros(1));
    let changes = store
        .change_events_between(onset - settings.lookback, until, MAX_CHANGES)
        .await?
        .into_iter()
        .map(|change| ChangeCandidate {
            id: change.id,
            service_id: change.service_id,
            at: change.at,
            summary: change.summary,
            source: change.source,
            details: change.details,
        })
        .collect();
    let graph = DependencyGraph::from_entities(&store.catalog().await?);

    let text = staunch_domain::investigation::incident_text(&incident.title, &alerts, &notes);
    let query = SimilarIncidentQuery {
        words: search_words(&text, SEARCH_WORDS),
        before: as_of,
        exclude_incident: Some(incident.id),
        limit: SIMILAR_INCIDENTS,
    };
    let mut similar = Vec::new();
    for hit in store.similar_incidents(&query).await? {
        if let Some(past) = past_incident(store, hit.incident_id, as_of).await? {
            similar.push(past);
        }
    }
    let incident =
        IncidentContext { id: incident.id, title: incident.title.clone(), service_id: incident.service_id.clone(), onset };
    Ok(Gathered { incident, alerts, notes, changes, graph, similar })
}

async fn notes_before(store: &Scoped, incident_id: i64, as_of: Timestamp) -> StoreResult<Vec<NoteContext>> {
    let timeline = store.timeline(incident_id).await?;
    Ok(timeline
        .into_iter()
        .filter(|entry| entry.kind == "incident.note" && entry.at < as_of)
        .filter_map(|entry| Some(NoteContext { at: entry.at, text: entry.data["text"].as_str()?.to_string() }))
        .collect())
}

/// A past incident as it stood at `as_of`: its words, whether it was resolved, the deploy it
/// was linked to, and the runbook that worked (recovered the SLI, or finished with the
/// incident mitigated or resolved) before `as_of`.
async fn past_incident(store: &Scoped, incident_id: i64, as_of: Timestamp) -> StoreResult<Option<PastIncident>> {
    let Some(incident) = store.incident(incident_id).await? else {
        return Ok(None);
    };
    if incident.created_at >= as_of {
        return Ok(None);
    }
    let filter = AlertFilter { incident_id: Some(incident.id), limit: 50, ..Default::default() };
    let mut text = String::new();
    for alert in store.alerts(&filter).await?.iter().filter(|alert| alert.first_seen < as_of) {
        text.push_str(&alert.summary);
        text.push(' ');
    }
    for note in notes_before(store, incident.id, as_of).await? {
        text.push_str(&note.text);
        text.push(' ');
    }
    let before = |at: Option<Timestamp>| at.is_some_and(|at| at < as_of);
    let settled = before(incident.mitigated_at) || before(incident.resolved_at);
    let resolved = before(incident.resolved_at);
    let caused_by = store.deploy_link(incident.id).await?.filter(|link| link.linked_at < as_of).map(|link| PastChange {
        service_id: link.service_id.clone(),
        summary: link.deploy["summary"].as_str().unwrap_or_default().to_string(),
    });
    let mitigation_runbook = store
        .runbook_runs(incident.id)
        .await?
        .into_iter()
        .filter(|run| !run.dry_run && before(run.finished_at))
        .filter(|run| run.state() == RunState::Recovered || (run.state() == RunState::Finished && settled))
        .map(|run| run.runbook)
        .next_back();
    Ok(Some(PastIncident {
        id: incident.id,
        title: incident.title,
        service_id: incident.service_id,
        opened_at: incident.created_at,
        text,
        resolved,
        caused_by,
        mitigation_runbook,
    }))
}
