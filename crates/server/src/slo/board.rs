//! The latest evaluation of every SLO, as the views show it. The evaluation worker publishes
//! here each tick; the API reads. Only the leader evaluates, so on another replica an SLO
//! shows as not evaluated (state `unknown`).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use staunch_config::slos::{SliSource, SloDefinition};
use staunch_config::sloth::prom_duration;
use staunch_domain::slo::{Evaluation, SloState};
use staunch_store::OrgId;

use super::alerts::level_name;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BurnRate {
    pub window: String,
    /// Error ratio over the window divided by the error budget; `None` without events.
    pub burn: Option<f64>,
}

/// One SLO as `GET /api/v1/slos` and `staunch slo status` show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SloStatus {
    pub id: String,
    pub name: String,
    pub service: String,
    pub objective: f64,
    pub window: String,
    pub source: String,
    /// `ok`, `sev1`, `sev2`, `ticket` (the most urgent level firing) or `unknown`.
    pub state: String,
    pub firing: Vec<String>,
    /// Good events over the window, in percent; `None` without events.
    pub sli_percent: Option<f64>,
    /// Share of the window's error budget left, in percent (negative once overspent).
    pub budget_remaining_percent: Option<f64>,
    pub burn_rates: Vec<BurnRate>,
    pub min_events: u64,
    /// Why the source could not be read, while it cannot.
    pub last_error: Option<String>,
    pub evaluated_at: Option<Timestamp>,
}

fn source_name(slo: &SloDefinition) -> &'static str {
    match slo.source {
        SliSource::Push => "push",
        SliSource::Prometheus { .. } => "prometheus",
    }
}

impl SloStatus {
    /// An SLO this process has not evaluated (yet, or because another replica leads).
    pub fn unevaluated(slo: &SloDefinition) -> SloStatus {
        SloStatus {
            id: slo.id.clone(),
            name: slo.name.clone(),
            service: slo.service_id.clone(),
            objective: slo.objective.percent(),
            window: prom_duration(slo.period.duration()),
            source: source_name(slo).to_string(),
            state: "unknown".to_string(),
            firing: Vec::new(),
            sli_percent: None,
            budget_remaining_percent: None,
            burn_rates: Vec::new(),
            min_events: slo.min_events,
            last_error: None,
            evaluated_at: None,
        }
    }

    pub fn from_evaluation(slo: &SloDefinition, evaluation: &Evaluation, last_error: Option<String>, at: Timestamp) -> SloStatus {
        let budget = slo.objective.error_budget_ratio();
        let state = match evaluation.state {
            SloState::Ok => "ok",
            SloState::Unknown => "unknown",
            SloState::Firing(level) => level_name(level),
        };
        SloStatus {
            state: state.to_string(),
            firing: evaluation.firing.iter().map(|level| level_name(*level).to_string()).collect(),
            // remaining = 1 - ratio / budget, so the window's error ratio is (1 - remaining) × budget.
            sli_percent: evaluation.budget_remaining.map(|remaining| 100.0 * (1.0 - (1.0 - remaining) * budget)),
            budget_remaining_percent: evaluation.budget_remaining.map(|remaining| remaining * 100.0),
            burn_rates: evaluation
                .burn_rates
                .iter()
                .map(|(window, burn)| BurnRate { window: prom_duration(*window), burn: *burn })
                .collect(),
            last_error,
            evaluated_at: Some(at),
            ..SloStatus::unevaluated(slo)
        }
    }
}

#[derive(Clone, Default)]
pub struct SloBoard(Arc<RwLock<HashMap<(OrgId, String), SloStatus>>>);

impl SloBoard {
    pub fn publish(&self, org: OrgId, status: SloStatus) {
        let mut board = self.0.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        board.insert((org, status.id.clone()), status);
    }

    /// The latest status of `slo`, or its unevaluated view.
    pub fn status(&self, org: OrgId, slo: &SloDefinition) -> SloStatus {
        let board = self.0.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        board.get(&(org, slo.id.clone())).cloned().unwrap_or_else(|| SloStatus::unevaluated(slo))
    }
}
