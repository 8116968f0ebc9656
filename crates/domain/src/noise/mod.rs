//! Alert-noise triage: which alerts, judging by history, lead to human action and which
//! resolve untouched.
//!
//! - `outcome` labels one past incident opening from the facts the store holds (a human acted
//!   on it: actionable; it resolved with nobody acting: noise; otherwise left out), as of a time.
//! - `features` turns an alert into the tokens the model counts.
//! - `model` is naive Bayes with Laplace smoothing, the (service, alertname) history first.
//! - `threshold` picks the cut that keeps recall on actionable alerts, from held-out folds in
//!   time order, and the learning state before enough history exists.
//!
//! Everything is pure: the history and the time it is judged at are parameters.

pub mod backtest;
pub mod features;
pub mod model;
pub mod outcome;
pub mod threshold;

#[cfg(test)]
mod tests;

pub use backtest::{BacktestReport, backtest};
pub use features::AlertFeatures;
pub use model::NoiseModel;
pub use outcome::{HistoricalAlert, Outcome, label_as_of};
pub use threshold::{NoisePolicy, NoiseState, NoiseTriage, NoiseVerdict, ThresholdChoice, train};
