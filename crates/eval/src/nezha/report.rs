//! Scoring a run: where the injected service landed in each ranking, and AS@k per system
//! (the share of cases whose injected service is among the first k), with how often the
//! engine abstained, how well its confidence was calibrated (Brier score of the first
//! hypothesis) and how long each investigation took. AS@k is the AC@k at service level;
//! Avg@5 is the mean of AS@1 to AS@5.

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
    /// How long `investigate` took for this case, in milliseconds (reading the files excluded).
    pub latency_ms: f64,
}

impl CaseResult {
    pub fn new(case: &Case, investigation: &Investigation, latency_ms: f64) -> Self {
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
            latency_ms,
        }
    }

    fn within(&self, k: usize) -> bool {
        self.rank.is_some_and(|rank| rank <= k)
    }
}

/// The figures `--json` prints per system. `cases`, `as1`, `as3` and `as5` are the keys the
/// issue fixes; the others were added after and only ever get added to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SystemReport {
    pub cases: usize,
    pub as1: f64,
    pub as3: f64,
    pub as5: f64,
    /// The mean of AS@1 to AS@5.
    pub avg5: f64,
    /// Mean squared gap between the first hypothesis's confidence and whether it was right.
    pub brier: f64,
    /// Cases where the first hypothesis was below the confidence threshold.
    pub abstained: usize,
    pub latency_ms_p50: f64,
    pub latency_ms_p99: f64,
    pub latency_ms_max: f64,
}

impl SystemReport {
    fn of(cases: &[&CaseResult]) -> SystemReport {
        let share = |k: usize| cases.iter().filter(|case| case.within(k)).count() as f64 / cases.len().max(1) as f64;
        let brier: f64 = cases.iter().map(|case| (case.confidence - if case.rank == Some(1) { 1.0 } else { 0.0 }).powi(2)).sum();
        let mut latencies: Vec<f64> = cases.iter().map(|case| case.latency_ms).collect();
        latencies.sort_by(f64::total_cmp);
        SystemReport {
            cases: cases.len(),
            as1: share(1),
            as3: share(3),
            as5: share(5),
            avg5: (1..=5).map(share).sum::<f64>() / 5.0,
            brier: brier / cases.len().max(1) as f64,
            abstained: cases.iter().filter(|case| case.abstained).count(),
            latency_ms_p50: nearest_rank(&latencies, 0.50),
            latency_ms_p99: nearest_rank(&latencies, 0.99),
            latency_ms_max: latencies.last().copied().unwrap_or(0.0),
        }
    }
}

/// The nearest-rank percentile of sorted values (0 for none): with few cases, p99 is the
/// largest but one only from a hundred cases on.
fn nearest_rank(sorted: &[f64], quantile: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (quantile * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
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
            systems.insert(system.name(), SystemReport::of(&of_system));
        }
        Report { systems, cases }
    }

    /// `{"systems": {"online-boutique": {"cases": N, "as1": x, "as3": x, "as5": x, "avg5": x, …}, …}}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({ "systems": self.systems })
    }

    /// The figures per system, then one line per case: what `staunch eval rca nezha` prints.
    pub fn render(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:<16} {:>5} {:>7} {:>7} {:>7} {:>7} {:>9} {:>6} {:>22}",
            "SYSTEM", "CASES", "AS@1", "AS@3", "AS@5", "AVG@5", "ABSTAINED", "BRIER", "LATENCY p50/p99/max"
        );
        for (system, figures) in &self.systems {
            let latency = format!("{:.1}/{:.1}/{:.1} ms", figures.latency_ms_p50, figures.latency_ms_p99, figures.latency_ms_max);
            let _ = writeln!(
                out,
                "{:<16} {:>5} {:>6.2}% {:>6.2}% {:>6.2}% {:>6.2}% {:>9} {:>6.3} {:>22}",
                system,
                figures.cases,
                figures.as1 * 100.0,
                figures.as3 * 100.0,
                figures.as5 * 100.0,
                figures.avg5 * 100.0,
                figures.abstained,
                figures.brier,
                latency
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(rank: Option<usize>, confidence: f64, latency_ms: f64) -> CaseResult {
        CaseResult {
            system: System::TrainTicket.name(),
            inject_time: "2023-01-29 08:43:04".into(),
            fault_type: "return".into(),
            root_service: "ts-contacts-service".into(),
            rank,
            first: Some("ts-order-service".into()),
            candidates: 30,
            confidence,
            abstained: confidence < 0.3,
            latency_ms,
        }
    }

    #[test]
    fn figures_per_system_from_the_ranks_confidences_and_latencies() {
        let cases = vec![result(Some(1), 0.9, 4.0), result(Some(2), 0.5, 1.0), result(Some(4), 0.2, 3.0), result(None, 0.6, 2.0)];
        let report = Report::from_results(cases);
        let figures = &report.systems["train-ticket"];
        assert_eq!(figures.cases, 4);
        assert_eq!((figures.as1, figures.as3, figures.as5), (0.25, 0.5, 0.75));
        // AS@1..AS@5: 1/4, 2/4, 2/4, 3/4, 3/4.
        assert!((figures.avg5 - 0.55).abs() < 1e-12, "{figures:?}");
        assert!((figures.brier - (0.01 + 0.25 + 0.04 + 0.36) / 4.0).abs() < 1e-12, "{figures:?}");
        assert_eq!(figures.abstained, 1);
        assert_eq!((figures.latency_ms_p50, figures.latency_ms_p99, figures.latency_ms_max), (2.0, 4.0, 4.0));
        let json = report.to_json();
        assert_eq!(json["systems"]["train-ticket"]["as1"], 0.25);
        assert!(!report.systems.contains_key("online-boutique"));
    }

    #[test]
    fn nearest_rank_percentiles() {
        let values: Vec<f64> = (1..=200).map(f64::from).collect();
        assert_eq!(nearest_rank(&values, 0.5), 100.0);
        assert_eq!(nearest_rank(&values, 0.99), 198.0);
        assert_eq!(nearest_rank(&[], 0.99), 0.0);
        assert_eq!(nearest_rank(&[7.0], 0.01), 7.0);
    }
}
