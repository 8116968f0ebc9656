//! A backtest: train on what was known before a split time, score every alert that opened
//! after it, and count what ticketing likely noise would have done to pages.
//!
//! The model is trained once, at the split, and not refreshed during the test period (the
//! server retrains periodically, so live figures can only be better on drifting data). Test
//! alerts are labelled with everything known at the end (`label_until`).

use jiff::Timestamp;
use std::collections::BTreeMap;

use serde::Serialize;

use super::outcome::{HistoricalAlert, Outcome, label_as_of};
use super::threshold::{NoisePolicy, NoiseState, ThresholdChoice, train};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BacktestReport {
    pub split_at: Timestamp,
    pub train_actionable: u32,
    pub train_noise: u32,
    /// `None` while the model is still learning at the split.
    pub threshold: Option<f64>,
    pub test_actionable: u32,
    pub test_noise: u32,
    /// Test alerts whose outcome was never known (still open at the end).
    pub test_unlabelled: u32,
    /// Actionable test alerts that would have been ticketed: the misses.
    pub actionable_ticketed: u32,
    pub noise_ticketed: u32,
    /// Actionable alerts that still paged, over all actionable ones.
    pub recall: f64,
    /// Ticketed alerts over all labelled test alerts (each of which would have paged).
    pub pages_avoided: f64,
    pub recall_floor: f64,
    pub recall_floor_held: bool,
    /// The actionable alerts that would have been ticketed, for a human to read.
    pub misses: Vec<Miss>,
    /// Per (service/alertname) kind: what the test period held and what was ticketed.
    pub kinds: BTreeMap<String, KindOutcome>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct KindOutcome {
    pub actionable: u32,
    pub noise: u32,
    pub actionable_ticketed: u32,
    pub noise_ticketed: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Miss {
    pub incident_id: i64,
    pub kind: String,
    pub probability: f64,
}

pub fn backtest(
    history: &[HistoricalAlert],
    split_at: Timestamp,
    label_until: Timestamp,
    choice: ThresholdChoice,
    policy: &NoisePolicy,
) -> BacktestReport {
    let triage = train(history, split_at, policy);
    let (train_actionable, train_noise) = triage.model.totals();
    let threshold = match triage.state {
        NoiseState::Ready { threshold } => Some(threshold),
        NoiseState::Learning { .. } => None,
    };
    let mut report = BacktestReport {
        split_at,
        train_actionable,
        train_noise,
        threshold: threshold.map(|learnt| if let ThresholdChoice::Fixed(fixed) = choice { fixed } else { learnt }),
        test_actionable: 0,
        test_noise: 0,
        test_unlabelled: 0,
        actionable_ticketed: 0,
        noise_ticketed: 0,
        recall: 1.0,
        pages_avoided: 0.0,
        recall_floor: policy.target_recall,
        recall_floor_held: true,
        misses: Vec::new(),
        kinds: BTreeMap::new(),
    };
    for alert in history.iter().filter(|alert| alert.opened_at >= split_at) {
        let Some(outcome) = label_as_of(alert, label_until) else {
            report.test_unlabelled += 1;
            continue;
        };
        let verdict = triage.verdict(&alert.features, choice, policy);
        let kind = report.kinds.entry(alert.features.key()).or_default();
        let ticketed = u32::from(verdict.likely_noise);
        match outcome {
            Outcome::Actionable => {
                kind.actionable += 1;
                kind.actionable_ticketed += ticketed;
                report.test_actionable += 1;
                if verdict.likely_noise {
                    report.actionable_ticketed += 1;
                    report.misses.push(Miss {
                        incident_id: alert.incident_id,
                        kind: alert.features.key(),
                        probability: verdict.probability,
                    });
                }
            }
            Outcome::Noise => {
                kind.noise += 1;
                kind.noise_ticketed += ticketed;
                report.test_noise += 1;
                report.noise_ticketed += u32::from(verdict.likely_noise);
            }
        }
    }
    if report.test_actionable > 0 {
        report.recall = f64::from(report.test_actionable - report.actionable_ticketed) / f64::from(report.test_actionable);
    }
    let labelled = report.test_actionable + report.test_noise;
    if labelled > 0 {
        report.pages_avoided = f64::from(report.actionable_ticketed + report.noise_ticketed) / f64::from(labelled);
    }
    report.recall_floor_held = report.recall >= policy.target_recall;
    report
}
