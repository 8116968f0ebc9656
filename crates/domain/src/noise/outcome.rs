//! The label of one past alert (the alert that opened an incident), from the store's facts.
//!
//! Actionable: somebody acted on its incident — acknowledged it (any actor but Staunch
//! itself), mitigated, escalated or reassigned it by hand, wrote a note, ran a runbook, added
//! an action item or a postmortem. Noise: it resolved (its alert resolved, or the incident
//! auto-resolved) with nobody acting. Still open, or nothing known: left out of training.
//! Every fact counts only if it happened before the time the label is taken at, so a backtest
//! split at T never learns what happened at or after T.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::features::AlertFeatures;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Actionable,
    Noise,
}

/// One incident opening and what became of it, as the store remembers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoricalAlert {
    pub incident_id: i64,
    pub features: AlertFeatures,
    /// When the incident opened (the alert arrived).
    pub opened_at: Timestamp,
    /// The first human action on the incident, if any (see the module doc for what counts).
    pub first_human_action_at: Option<Timestamp>,
    /// When the incident resolved (or its alert did), if it did.
    pub resolved_at: Option<Timestamp>,
}

/// The label of `alert` as it was known just before `as_of`; `None` when it was not yet
/// known (opened at or after `as_of`, or still open then).
pub fn label_as_of(alert: &HistoricalAlert, as_of: Timestamp) -> Option<Outcome> {
    if alert.opened_at >= as_of {
        return None;
    }
    if alert.first_human_action_at.is_some_and(|at| at < as_of) {
        return Some(Outcome::Actionable);
    }
    if alert.resolved_at.is_some_and(|at| at < as_of) {
        return Some(Outcome::Noise);
    }
    None
}
