//! Naive Bayes over an alert's tokens, with the (service, alertname) history first.
//!
//! The score starts from the noise rate of the alert's own kind: a Beta posterior of its past
//! outcomes, with a prior of two pseudo-alerts at the overall noise rate (an unseen kind scores
//! the overall rate). The other tokens then move it by the mean of their log-likelihood ratios
//! (Laplace-smoothed presence counts per outcome). Plain naive Bayes would add them up; tokens
//! of one alert are far from independent (its labels repeat its service and summary), and their
//! sum made every score 0 or 1. The mean keeps them a correction to the kind's own history.
//! The output is a probability of being noise, in [0, 1]; what it means for paging is the
//! threshold's business.

use std::collections::HashMap;

use super::features::AlertFeatures;
use super::outcome::Outcome;

/// Pseudo-alerts the kind's prior is worth.
const KIND_PRIOR_WEIGHT: f64 = 2.0;

/// Counts per outcome: `[actionable, noise]`.
type Counts = [u32; 2];

fn slot(outcome: Outcome) -> usize {
    match outcome {
        Outcome::Actionable => 0,
        Outcome::Noise => 1,
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct NoiseModel {
    kinds: HashMap<String, Counts>,
    tokens: HashMap<String, Counts>,
    totals: Counts,
}

impl NoiseModel {
    pub fn fit<'a>(examples: impl IntoIterator<Item = (&'a AlertFeatures, Outcome)>) -> NoiseModel {
        let mut model = NoiseModel::default();
        for (features, outcome) in examples {
            model.learn(features, outcome);
        }
        model
    }

    pub fn learn(&mut self, features: &AlertFeatures, outcome: Outcome) {
        let index = slot(outcome);
        self.totals[index] += 1;
        self.kinds.entry(features.key()).or_default()[index] += 1;
        let mut tokens = features.tokens();
        tokens.sort();
        tokens.dedup();
        for token in tokens {
            self.tokens.entry(token).or_default()[index] += 1;
        }
    }

    /// `(actionable, noise)` examples learnt.
    pub fn totals(&self) -> (u32, u32) {
        (self.totals[0], self.totals[1])
    }

    /// `(actionable, noise)` labelled examples of this alert's kind.
    pub fn kind_counts(&self, features: &AlertFeatures) -> (u32, u32) {
        let [actionable, noise] = self.kinds.get(&features.key()).copied().unwrap_or_default();
        (actionable, noise)
    }

    /// The probability that `features` is noise.
    pub fn probability(&self, features: &AlertFeatures) -> f64 {
        let [actionable_total, noise_total] = self.totals.map(f64::from);
        let overall_noise_rate = (noise_total + 1.0) / (actionable_total + noise_total + 2.0);
        let [kind_actionable, kind_noise] = self.kinds.get(&features.key()).copied().unwrap_or_default().map(f64::from);
        let kind_rate =
            (kind_noise + KIND_PRIOR_WEIGHT * overall_noise_rate) / (kind_actionable + kind_noise + KIND_PRIOR_WEIGHT);
        let mut log_odds = (kind_rate / (1.0 - kind_rate)).ln();

        let tokens = features.tokens();
        if !tokens.is_empty() {
            let ratio_sum: f64 = tokens
                .iter()
                .map(|token| {
                    let [actionable, noise] = self.tokens.get(token).copied().unwrap_or_default().map(f64::from);
                    let given_noise = (noise + 1.0) / (noise_total + 2.0);
                    let given_actionable = (actionable + 1.0) / (actionable_total + 2.0);
                    (given_noise / given_actionable).ln()
                })
                .sum();
            log_odds += ratio_sum / tokens.len() as f64;
        }
        let probability = 1.0 / (1.0 + (-log_odds).exp());
        if probability.is_finite() { probability.clamp(0.0, 1.0) } else { 0.0 }
    }
}
