//! Live investigations: the hypotheses of an incident, computed when it opens and refreshed
//! when alerts join or a note is added.
//!
//! The engine schedules an `investigate` job in the transaction that opened the incident or
//! changed its alerts or notes (`engine::timeline`), replacing any job still waiting, so a
//! burst is computed once. Jobs are rows: whichever process runs due jobs claims it,
//! replicas keep no state. Claiming replaces the job with a lease job due in
//! [`INVESTIGATION_LEASE`] and adds the incident's title and first alert texts to the search
//! of past incidents (the rest, for a flooded incident, in short transactions of their own
//! when the task starts: ingest never writes that index); after that commit, a task reads
//! the committed context through the store, ranks it (`staunch_domain::investigation`) outside any transaction — so the
//! single writer never waits for it — and in one short transaction stores the result as the
//! incident's latest investigation, puts an `investigation.updated` entry on the timeline
//! (actor `system:staunch`) when the leading hypotheses changed, and deletes the lease job. A
//! process that dies in between leaves the lease job, which runs the investigation again.
//! `GET /api/v1/incidents/{id}/investigation?as_of=…` computes one on demand, seeing only
//! what was timestamped before `as_of` (see `gather`).
//!
//! Pushed telemetry (logs, spans, metric points) around the onset, and metric series pulled
//! from Prometheus when `telemetry.prometheus` is set, add a service ranking from
//! `staunch_investigate` (`crate::signals`), read with the same `as_of` cut and with the
//! catalog's dependencies as known calls; what could not be pulled is in the result's
//! `warnings`. When `llm:` names a provider, a refresh whose leading hypotheses changed asks
//! the model to reorder the first few and to summarise them (`crate::llm`); without it, or
//! when it fails, the ranking stands as computed.

mod gather;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::locks::lock;
use jiff::Timestamp;
use staunch_domain::investigation::{Investigation, InvestigationInput, Settings, investigate};
use staunch_store::{
    Actor, Incident, JobKind, NewJob, NewTimelineEntry, OrgId, Scoped, Store, StoreError, StoreResult, StoreTx,
    StoredInvestigation,
};

/// Hypotheses the language model may reorder: the head of the list, where order matters.
const RERANKED_TOP: usize = 5;

/// Hypotheses summarised on the timeline.
const TIMELINE_TOP: usize = 3;

/// Ranks the hypotheses of `incident` from what the store held before `as_of` (and what
/// `prometheus` answers about the window before it).
pub async fn compute(
    store: &Scoped,
    incident: &Incident,
    as_of: Timestamp,
    prometheus: Option<&crate::signals::PrometheusSignals>,
) -> StoreResult<Investigation> {
    let settings = Settings::default();
    let gathered = gather::gather(store, incident, as_of, &settings).await?;
    let mut known_calls = staunch_investigate::CallGraph::new();
    for (dependent, dependency) in gathered.graph.edges() {
        known_calls.add(dependent, dependency);
    }
    let window = crate::signals::investigate_window(store, gathered.incident.onset, as_of, Some(known_calls), prometheus).await?;
    let input = InvestigationInput {
        incident: &gathered.incident,
        alerts: &gathered.alerts,
        notes: &gathered.notes,
        changes: &gathered.changes,
        graph: &gathered.graph,
        similar: &gathered.similar,
        telemetry: window.investigation.as_ref(),
        as_of,
    };
    let mut investigation = investigate(&input, &settings);
    investigation.warnings = window.warnings;
    Ok(investigation)
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

/// Texts of an incident added to the search of past incidents by the claim, in the engine's
/// job transaction: its title and first alerts, so an incident that opened just before
/// another is found by it, without a flooded incident's hundreds of texts holding the writer.
const TEXTS_AT_CLAIM: u32 = 16;

/// Texts added per transaction after the claim, so other writers get the writer in between.
const TEXTS_PER_TRANSACTION: usize = 32;

/// Claimed investigations waiting for their refresh, computed one at a time in the order
/// they were claimed. A claim whose incident was claimed again while it waited is skipped:
/// the later claim, further back in the queue, sees everything the earlier one would have and
/// more. An incident that gains alerts every second or so is claimed as often; computing every
/// claim had queued ten refreshes per incident of the listing benchmark's load, 70 s of CPU
/// still going when its queries began.
///
/// Refreshes read a lot and rank on the CPU; one at a time leaves the other core and the
/// other reading connections to the API and the pages, and a burst of incidents (a flood
/// opens hundreds) is worked through in order instead of all at once. A waiting claim is a
/// few words in a queue, not a task holding a refresh's whole state: with 1,000 incidents
/// waiting, tasks had held 2.4 MiB (`docs/benchmarks.md`, "Memory, step by step").
#[derive(Clone)]
pub(crate) struct RefreshQueue {
    sender: tokio::sync::mpsc::UnboundedSender<Claim>,
    /// The lease of each queued incident's latest claim. Every change to it is one insert or
    /// remove, so it stays whole if a holder panicked (see `crate::locks::lock`).
    latest: Arc<Mutex<HashMap<(OrgId, i64), i64>>>,
}

impl RefreshQueue {
    /// Starts the task that refreshes queued claims on `runtime`. It stops once the queue is
    /// dropped; claims still queued then are run again when their lease jobs come due.
    pub(crate) fn start(
        runtime: &tokio::runtime::Handle,
        engine: crate::engine::WeakEngineHandle,
        store: Arc<dyn Store>,
        clock: Arc<dyn crate::clock::Clock>,
        language_model: Option<crate::llm::LanguageModel>,
        prometheus: Option<crate::signals::PrometheusSignals>,
    ) -> RefreshQueue {
        let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel::<Claim>();
        let latest: Arc<Mutex<HashMap<(OrgId, i64), i64>>> = Arc::default();
        let queued = latest.clone();
        runtime.spawn(async move {
            while let Some(claim) = receiver.recv().await {
                if receiver.is_closed() {
                    break;
                }
                if !take_if_latest(&queued, &claim) {
                    metrics::counter!("staunch_investigation_claims_total", "outcome" => "superseded").increment(1);
                    continue;
                }
                metrics::counter!("staunch_investigation_claims_total", "outcome" => "refreshed").increment(1);
                let incident_id = claim.incident_id;
                // A task of its own, so a refresh that panics ends only itself, not the queue.
                let refreshed = tokio::spawn(refresh(
                    engine.clone(),
                    store.clone(),
                    clock.clone(),
                    language_model.clone(),
                    prometheus.clone(),
                    claim,
                ));
                match refreshed.await {
                    Ok(Ok(())) => {}
                    Ok(Err(error)) => {
                        tracing::warn!(%error, incident_id, "investigation not stored; it runs again when its lease ends")
                    }
                    Err(error) => {
                        tracing::error!(%error, incident_id, "investigation refresh failed; it runs again when its lease ends")
                    }
                }
            }
        });
        RefreshQueue { sender, latest }
    }

    pub(crate) fn push(&self, claim: Claim) {
        lock(&self.latest).insert((claim.org, claim.incident_id), claim.lease_id);
        // The task ends only when this queue is dropped or the runtime stops; either way the
        // lease job runs the investigation again.
        if let Err(error) = self.sender.send(claim) {
            tracing::warn!(incident_id = error.0.incident_id, "investigation queue stopped; it runs again when its lease ends");
        }
    }
}

/// Whether `claim` is its incident's latest queued claim, forgetting it if so.
fn take_if_latest(latest: &Mutex<HashMap<(OrgId, i64), i64>>, claim: &Claim) -> bool {
    let mut latest = lock(latest);
    let key = (claim.org, claim.incident_id);
    if latest.get(&key) != Some(&claim.lease_id) {
        return false;
    }
    latest.remove(&key);
    true
}

/// What the engine's claim of an `investigate` job hands to [`refresh`].
pub(crate) struct Claim {
    pub org: OrgId,
    pub incident_id: i64,
    /// The job that stands for the investigation while it is computed.
    pub lease_id: i64,
    /// When the lease job comes due and the investigation is claimed again.
    pub lease_ends: Timestamp,
    /// The claim added all the texts it could: more may wait to be indexed.
    pub texts_left: bool,
}

/// Claims an `investigate` job inside the engine's job transaction: adds the first of the
/// incident's words to the search of past incidents and puts a lease job, due when the lease
/// ends, in the job's place.
pub(crate) async fn claim(tx: &mut dyn StoreTx, org: OrgId, incident_id: i64, now: Timestamp) -> StoreResult<Claim> {
    let indexed = tx.index_incident_texts(org, incident_id, TEXTS_AT_CLAIM).await?;
    let lease = NewJob {
        org,
        kind: JobKind::Investigate,
        incident_id: Some(incident_id),
        run_at: now + INVESTIGATION_LEASE,
        payload: serde_json::json!({ "lease": true }),
    };
    let lease_id = tx.schedule_job(&lease).await?;
    let texts_left = indexed == u64::from(TEXTS_AT_CLAIM);
    Ok(Claim { org, incident_id, lease_id, lease_ends: lease.run_at, texts_left })
}

/// Adds the rest of an incident's texts, a few per transaction. They are worked out once,
/// on a reading connection: working them out in each transaction took a flooded incident's
/// 500 alert texts apart 16 times on the writer. A text that arrives after the read came with
/// an alert, and `alerts.added` claims the incident again, which indexes it.
async fn index_remaining_texts(store: &dyn Store, org: OrgId, incident_id: i64) -> StoreResult<()> {
    let texts = store.incident_texts_to_index(org, incident_id).await?;
    for chunk in texts.chunks(TEXTS_PER_TRANSACTION) {
        let mut tx = store.begin().await?;
        tx.add_incident_texts(org, incident_id, chunk).await?;
        tx.commit().await?;
    }
    Ok(())
}

/// Runs a claimed `investigate` job: reads the committed context and ranks it outside any
/// transaction, then has the engine store the result, the timeline entry (when the leading
/// hypotheses changed) and the end of the lease in one of its transactions. A newer alert or
/// note has already replaced the lease job by then, so deleting it is a no-op and the newer
/// one runs.
///
/// Through the engine, not a transaction of its own: on SQLite that held the one writer on a
/// runtime worker shared with HTTP, and under a flood it held it for up to 8 ms (the same
/// commit took 1.3 ms at p90 on the engine's thread). A quiet organisation's alert then
/// waited for the writer (`docs/benchmarks.md`, "investigations stored by the engine").
pub(crate) async fn refresh(
    engine: crate::engine::WeakEngineHandle,
    store: Arc<dyn Store>,
    clock: Arc<dyn crate::clock::Clock>,
    language_model: Option<crate::llm::LanguageModel>,
    prometheus: Option<crate::signals::PrometheusSignals>,
    claim: Claim,
) -> StoreResult<()> {
    let Claim { org, incident_id, lease_id, lease_ends, texts_left } = claim;
    if clock.now() >= lease_ends {
        // Waited for its turn past the lease: the engine has claimed the incident again and
        // that claim's refresh does the work.
        return Ok(());
    }
    let scoped = Scoped::new(store.clone(), org);
    let Some(incident) = scoped.incident(incident_id).await? else {
        let mut tx = store.begin().await?;
        tx.delete_job(lease_id).await?;
        return tx.commit().await;
    };
    if texts_left {
        index_remaining_texts(store.as_ref(), org, incident_id).await?;
    }
    let now = clock.now();
    let mut investigation = compute(&scoped, &incident, now, prometheus.as_ref()).await?;
    let summary = timeline_summary(&investigation);
    let previous = scoped.investigation(incident_id).await?;
    let unchanged = previous.as_ref().is_some_and(|previous| {
        let stored: Option<Investigation> = serde_json::from_value(previous.result.clone()).ok();
        stored.is_some_and(|stored| timeline_summary(&stored) == summary)
    });
    // The model is asked only when the leads changed: a refresh per note must not mean a
    // paid request per note. Its answer is kept with the ranking, not on the timeline.
    if let Some(language_model) = language_model.as_ref().filter(|_| !unchanged) {
        consult_language_model(language_model, org, &incident, &mut investigation).await;
    }
    let result = serde_json::to_value(&investigation).unwrap_or(serde_json::Value::Null);
    let entry = (!unchanged).then(|| NewTimelineEntry {
        org,
        incident_id,
        at: now,
        actor: Actor::system(),
        kind: "investigation.updated".to_string(),
        data: summary,
    });
    let save = crate::engine::Command::SaveInvestigation {
        org,
        investigation: StoredInvestigation { incident_id, computed_at: now, result },
        entry,
        lease_id,
    };
    match engine.submit(save).await {
        Ok(_) => Ok(()),
        Err(crate::engine::EngineError::Store(error)) => Err(error),
        Err(error) => Err(StoreError::Backend(error.to_string())),
    }
}

/// The facts the language model sees about one hypothesis.
fn hypothesis_facts(hypothesis: &staunch_domain::investigation::Hypothesis) -> crate::llm::HypothesisFacts {
    crate::llm::HypothesisFacts {
        kind: serde_json::to_value(hypothesis.kind).ok().and_then(|kind| kind.as_str().map(str::to_string)).unwrap_or_default(),
        subject: hypothesis.title.clone(),
        confidence: hypothesis.confidence,
        evidence_for: hypothesis.evidence_for.clone(),
        evidence_against: hypothesis.evidence_against.clone(),
    }
}

/// Lets the model reorder the leading hypotheses (only a permutation of them is accepted) and
/// summarise the result. Nothing is asked when Staunch abstains: a fluent paragraph about weak
/// evidence would read as more certain than the ranking is.
pub async fn consult_language_model(
    language_model: &crate::llm::LanguageModel,
    org: OrgId,
    incident: &Incident,
    investigation: &mut Investigation,
) {
    if investigation.abstained || investigation.hypotheses.is_empty() {
        return;
    }
    let head = investigation.hypotheses.len().min(RERANKED_TOP);
    if head > 1 {
        let candidates: Vec<crate::llm::RerankCandidate> = investigation.hypotheses[..head]
            .iter()
            .enumerate()
            .map(|(index, hypothesis)| crate::llm::RerankCandidate {
                id: format!("h{index}"),
                facts: hypothesis_facts(hypothesis),
            })
            .collect();
        if let Some(order) = language_model.rerank(org, Some(incident.id), &candidates).await {
            let positions: Vec<usize> = order.iter().filter_map(|id| id.strip_prefix('h')?.parse().ok()).collect();
            debug_assert_eq!(positions.len(), head, "rerank answers a permutation of the candidates");
            if positions.len() == head {
                let reordered: Vec<_> = positions.iter().map(|&position| investigation.hypotheses[position].clone()).collect();
                investigation.model_reranked = positions.iter().enumerate().any(|(index, &position)| index != position);
                investigation.hypotheses.splice(..head, reordered);
            }
        }
    }
    let facts = crate::llm::InvestigationFacts {
        title: incident.title.clone(),
        service: incident.service_id.clone(),
        hypotheses: investigation.hypotheses.iter().take(RERANKED_TOP).map(hypothesis_facts).collect(),
    };
    investigation.model_summary = language_model.summarise(org, Some(incident.id), &facts).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(org: OrgId, incident_id: i64, lease_id: i64) -> Claim {
        Claim { org, incident_id, lease_id, lease_ends: Timestamp::UNIX_EPOCH, texts_left: false }
    }

    #[test]
    fn only_an_incidents_latest_queued_claim_is_refreshed() {
        let latest = Mutex::new(HashMap::new());
        let other_org = OrgId(2);
        let queue = [claim(OrgId::DEFAULT, 7, 10), claim(other_org, 7, 11), claim(OrgId::DEFAULT, 7, 12)];
        for queued in &queue {
            lock(&latest).insert((queued.org, queued.incident_id), queued.lease_id);
        }
        let refreshed: Vec<i64> =
            queue.iter().filter(|queued| take_if_latest(&latest, queued)).map(|queued| queued.lease_id).collect();
        assert_eq!(refreshed, [11, 12], "the first claim of incident 7 was superseded; another organisation's 7 is its own");
        assert!(lock(&latest).is_empty(), "nothing left once the queue is worked through");
        assert!(!take_if_latest(&latest, &queue[2]), "a claim is refreshed once");
    }
}
