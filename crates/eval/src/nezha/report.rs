//! Scoring a run: where the injected service landed in each ranking, and AS@k per system
//! (the share of cases whose injected service is among the first k), with how often the
//! engine abstained and how well its confidence was calibrated (Brier score of the first
//! hypothesis).

use super::day::{Case, System};
use serde::Serialize;
use staunch_investigate::Investigation;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseResult {
    pub system: &'static str,
    pub inject_time: String,
    pub fault_type: String,
    pub root_service: String,
    /// 1-based position of the injected service, `None` when it was not ranked at all.
    pub rank: Option<usize>,
    pub first: Option<String>,
    /// How many services were ranked: picking one at random is right 1/candidates of the time.
    pub candidates: usize,
    pub confidence: f64,
    pub abstained: bool,
}

impl CaseResult {
    pub fn new(case: &Case, investigation: &Investigation) -> Self {
        let rank = investigation.ranking().position(|service| service == case.root_service).map(|index| index + 1);
        let first = investigation.hypotheses.first();
        CaseResult {
            system: case.system.name(),
            inject_time: case.inject_time.clone(),
            fault_type: case.fault_type.clone(),
            root_service: case.root_service.clone(),
            rank,
            first: first.map(|hypothesis| hypothesis.service.clone()),
            candidates: investigation.hypotheses.len(),
            confidence: first.map_or(0.0, |hypothesis| hypothesis.confidence),
            abstained: investigation.abstained,
        }
    }

    fn within(&self, k: usize) -> bool {
        self.rank.is_some_and(|rank| rank <= k)
    }
}

/// The figures `--json` prints, exactly.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SystemReport {
    pub cases: usize,
    pub as1: f64,
    pub as3: f64,
    pub as5: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub systems: BTreeMap<&'static str, SystemReport>,
    pub cases: Vec<CaseResult>,
}

impl Report {
    pub fn from_results(cases: Vec<CaseResult>) -> Report {
        let mut systems = BTreeMap::new();
        for system in [System::OnlineBoutique, System::TrainTicket] {
            let of_system: Vec<&CaseResult> = cases.iter().filter(|case| case.system == system.name()).collect();
            if of_system.is_empty() {
                continue;
            }
            let share = |k: usize| of_system.iter().filter(|case| case.within(k)).count() as f64 / of_system.len() as f64;
            systems.insert(system.name(), SystemReport { cases: of_system.len(), as1: share(1), as3: share(3), as5: share(5) });
        }
        Report { systems, cases }
    }

    /// `{"systems": {"online-boutique": {"cases": N, "as1": x, "as3": x, "as5": x}, …}}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({ "systems": self.systems })
    }

    pub fn abstentions(&self, system: &str) -> usize {
        self.cases.iter().filter(|case| case.system == system && case.abstained).count()
    }

    /// The figures per system, then one line per case: what `staunch eval rca nezha` prints.
    pub fn render(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:<16} {:>5} {:>7} {:>7} {:>7} {:>9} {:>6}",
            "SYSTEM", "CASES", "AS@1", "AS@3", "AS@5", "ABSTAINED", "BRIER"
        );
        for (system, figures) in &self.systems {
            let _ = writeln!(
                out,
                "{:<16} {:>5} {:>6.2}% {:>6.2}% {:>6.2}% {:>9} {:>6.3}",
                system,
                figures.cases,
                figures.as1 * 100.0,
                figures.as3 * 100.0,
                figures.as5 * 100.0,
                self.abstentions(system),
                self.brier(system)
            );
        }
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{:<16} {:<20} {:<15} {:<30} {:>4}  {:<30} {:>5}",
            "SYSTEM", "INJECTED AT", "FAULT", "INJECTED SERVICE", "RANK", "FIRST HYPOTHESIS", "CONF"
        );
        for case in &self.cases {
            let rank = case.rank.map_or("-".to_string(), |rank| rank.to_string());
            let first = format!("{}{}", case.first.as_deref().unwrap_or("-"), if case.abstained { " (abstained)" } else { "" });
            let _ = writeln!(
                out,
                "{:<16} {:<20} {:<15} {:<30} {:>4}  {:<30} {:>5.2}",
                case.system, case.inject_time, case.fault_type, case.root_service, rank, first, case.confidence
            );
        }
        out
    }

    /// Mean squared gap between the first hypothesis's confidence and whether it was right:
    /// 0 is perfect, 0.25 is what always answering 50% earns.
    pub fn brier(&self, system: &str) -> f64 {
        let of_system: Vec<&CaseResult> = self.cases.iter().filter(|case| case.system == system).collect();
        let total: f64 =
            of_system.iter().map(|case| (case.confidence - if case.rank == Some(1) { 1.0 } else { 0.0 }).powi(2)).sum();
        total / of_system.len().max(1) as f64
    }
}
