//! Training and the paging decision: the threshold that protects recall on actionable
//! alerts, and the learning state before enough history exists.
//!
//! The automatic threshold is chosen on held-out folds in time order: the labelled history,
//! oldest first, is cut into `folds` parts; each part from the second on is scored by a model
//! trained only on the parts before it, as new alerts would have been. The threshold is the
//! lowest score such that at most `1 - target_recall` of those held-out actionable alerts
//! score above it, with a margin for chance (see `recall_threshold`), and never below
//! `minimum_threshold`: an alert more likely actionable than not always pages. An alert is ticketed only when its score is above the threshold, the
//! model has seen `min_actionable` and `min_noise` alerts, and its own kind at least
//! `min_kind_history` times with at most `max_kind_actionable_rate` of them acted on; the
//! held-out scoring applies the same rule. The kind rule is there because alerts of one kind
//! score almost alike: a kind that matters one time in eight sits in a tight band of scores,
//! and a threshold learnt at the edge of that band lets the next model, trained on a little
//! more data, push the whole kind over it.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::features::AlertFeatures;
use super::model::NoiseModel;
use super::outcome::{HistoricalAlert, Outcome, label_as_of};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoisePolicy {
    pub min_actionable: u32,
    pub min_noise: u32,
    /// Share of actionable alerts that must still page, e.g. 0.99.
    pub target_recall: f64,
    pub folds: usize,
    pub min_kind_history: u32,
    /// A kind acted on more often than this (Laplace estimate of its history) always pages.
    pub max_kind_actionable_rate: f64,
    pub minimum_threshold: f64,
}

impl Default for NoisePolicy {
    /// 50 alerts of each outcome, 99% recall, five folds, three alerts of the kind of which
    /// at most 5% acted on, 0.5.
    fn default() -> NoisePolicy {
        NoisePolicy {
            min_actionable: 50,
            min_noise: 50,
            target_recall: 0.99,
            folds: 5,
            min_kind_history: 3,
            max_kind_actionable_rate: 0.05,
            minimum_threshold: 0.5,
        }
    }
}

/// The threshold a service asked for: chosen from history, or fixed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum ThresholdChoice {
    Auto,
    Fixed(f64),
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum NoiseState {
    /// Not enough history: scores are recorded, nothing is ever ticketed.
    Learning {
        actionable: u32,
        noise: u32,
    },
    Ready {
        threshold: f64,
    },
}

/// A trained model and its state, as of the time it was trained at.
#[derive(Debug, Clone, PartialEq)]
pub struct NoiseTriage {
    pub model: NoiseModel,
    pub state: NoiseState,
    pub trained_as_of: Timestamp,
}

/// What the triage says of one new alert.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct NoiseVerdict {
    pub probability: f64,
    /// The threshold applied, when the model is ready.
    pub threshold: Option<f64>,
    /// Whether this alert should open a ticket instead of paging, if its service asks.
    pub likely_noise: bool,
}

/// Trains on every alert of `history` whose outcome was known before `as_of`; nothing at or
/// after `as_of` is read.
pub fn train(history: &[HistoricalAlert], as_of: Timestamp, policy: &NoisePolicy) -> NoiseTriage {
    let mut labelled: Vec<(&HistoricalAlert, Outcome)> =
        history.iter().filter_map(|alert| label_as_of(alert, as_of).map(|outcome| (alert, outcome))).collect();
    labelled.sort_by_key(|(alert, _)| (alert.opened_at, alert.incident_id));
    let model = NoiseModel::fit(labelled.iter().map(|(alert, outcome)| (&alert.features, *outcome)));
    let (actionable, noise) = model.totals();
    let state = if actionable < policy.min_actionable || noise < policy.min_noise {
        NoiseState::Learning { actionable, noise }
    } else {
        NoiseState::Ready { threshold: held_out_threshold(&labelled, policy) }
    };
    NoiseTriage { model, state, trained_as_of: as_of }
}

/// The score a held-out or new alert is ticketed on: its probability, or 0 when its kind has
/// too little history, or was acted on too often, to be ticketed at all.
fn ticketable_score(model: &NoiseModel, features: &AlertFeatures, policy: &NoisePolicy) -> f64 {
    let (actionable, noise) = model.kind_counts(features);
    if actionable + noise < policy.min_kind_history {
        return 0.0;
    }
    let actionable_rate = (f64::from(actionable) + 1.0) / (f64::from(actionable + noise) + 2.0);
    if actionable_rate > policy.max_kind_actionable_rate {
        return 0.0;
    }
    model.probability(features)
}

fn held_out_threshold(labelled: &[(&HistoricalAlert, Outcome)], policy: &NoisePolicy) -> f64 {
    let folds = policy.folds.max(2);
    let mut actionable_scores = Vec::new();
    for fold in 1..folds {
        let start = labelled.len() * fold / folds;
        let end = labelled.len() * (fold + 1) / folds;
        let model = NoiseModel::fit(labelled[..start].iter().map(|(alert, outcome)| (&alert.features, *outcome)));
        for (alert, outcome) in &labelled[start..end] {
            if *outcome == Outcome::Actionable {
                actionable_scores.push(ticketable_score(&model, &alert.features, policy));
            }
        }
    }
    recall_threshold(&mut actionable_scores, policy.target_recall).max(policy.minimum_threshold)
}

/// The lowest threshold such that the share of `actionable_scores` above it (strictly) stays
/// within `1 - target_recall` with margin: k scores may be above it only while
/// (k + 3·√(k+1)) / n ≤ 1 − target, a rough 95% upper bound on the miss rate k/n (3/n for
/// k = 0, the rule of three). Without the margin a threshold learnt at exactly 1% of held-out
/// misses lands on either side of 99% recall on the next alerts by chance alone. 1.0 (ticket
/// nothing) with no scores.
pub fn recall_threshold(actionable_scores: &mut [f64], target_recall: f64) -> f64 {
    if actionable_scores.is_empty() {
        return 1.0;
    }
    actionable_scores.sort_by(|left, right| right.total_cmp(left));
    let count = actionable_scores.len() as f64;
    let allowed_share = 1.0 - target_recall;
    let mut allowed_above = 0;
    while allowed_above + 1 < actionable_scores.len() {
        let misses = (allowed_above + 1) as f64;
        if (misses + 3.0 * (misses + 1.0).sqrt()) / count > allowed_share + 1e-12 {
            break;
        }
        allowed_above += 1;
    }
    actionable_scores[allowed_above]
}

impl NoiseTriage {
    pub fn verdict(&self, features: &AlertFeatures, choice: ThresholdChoice, policy: &NoisePolicy) -> NoiseVerdict {
        let probability = self.model.probability(features);
        let NoiseState::Ready { threshold: learnt } = self.state else {
            return NoiseVerdict { probability, threshold: None, likely_noise: false };
        };
        let threshold = match choice {
            ThresholdChoice::Auto => learnt,
            ThresholdChoice::Fixed(fixed) => fixed,
        };
        let likely_noise = ticketable_score(&self.model, features, policy) > threshold;
        NoiseVerdict { probability, threshold: Some(threshold), likely_noise }
    }
}
