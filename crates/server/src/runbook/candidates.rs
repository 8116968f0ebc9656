//! Triage of one incident: its symptom, and the organisation's runbooks that apply to it,
//! ranked by how often each resolved that symptom before (see `staunch_domain::triage`).

use std::collections::BTreeMap;

use serde::Serialize;
use staunch_config::Config;
use staunch_domain::triage::{self, Record};
use staunch_store::{Store, StoreResult};

use super::context::IncidentView;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CandidateView {
    pub runbook: String,
    pub description: String,
    pub approval_required: bool,
    pub steps: usize,
    /// Past runs against this symptom (runs that stopped, dry runs excluded).
    pub attempts: u64,
    pub successes: u64,
    /// `(successes + 1) / (attempts + 2)`.
    pub score: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidates {
    pub symptom: Option<String>,
    /// Best first.
    pub runbooks: Vec<CandidateView>,
}

pub async fn for_incident(store: &dyn Store, config: &Config, view: &IncidentView) -> StoreResult<Candidates> {
    let org = view.incident.org;
    let symptom = view.symptom(config);
    let Some(organisation) = config.organisation_by_id(org) else {
        return Ok(Candidates { symptom, runbooks: Vec::new() });
    };
    let facts = view.facts(symptom.clone());
    let applicable: Vec<&staunch_domain::runbook::Runbook> =
        organisation.runbooks.iter().filter(|runbook| runbook.applies_to.matches(&facts)).collect();
    let records: BTreeMap<(String, String), Record> = store
        .runbook_outcomes(org)
        .await?
        .into_iter()
        .map(|outcome| ((outcome.symptom, outcome.runbook), Record { attempts: outcome.attempts, successes: outcome.successes }))
        .collect();
    let names: Vec<String> = applicable.iter().map(|runbook| runbook.name.clone()).collect();
    let ranked = triage::rank(&names, symptom.as_deref(), &records);
    let runbooks = ranked
        .into_iter()
        .filter_map(|candidate| {
            let runbook = applicable.iter().find(|runbook| runbook.name == candidate.runbook)?;
            Some(CandidateView {
                runbook: candidate.runbook,
                description: runbook.description.clone(),
                approval_required: runbook.approval_required,
                steps: runbook.steps.len(),
                attempts: candidate.record.attempts,
                successes: candidate.record.successes,
                score: candidate.score,
            })
        })
        .collect();
    Ok(Candidates { symptom, runbooks })
}
