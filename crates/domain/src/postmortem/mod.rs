//! Blameless postmortems drawn from an incident's record.
//!
//! The shell loads what it has (the incident, its timeline, alerts, recent changes of its
//! service, action items and, for an SLO incident, the SLO's counts) into plain facts; this
//! module condenses them into a [`Postmortem`] and renders it (`markdown`, `html`). Nothing is
//! guessed: a figure that is not known says so.

pub mod blameless;
mod build;
mod html;
mod markdown;

pub use build::{Postmortem, build};
pub use html::render_html;
pub use markdown::render_markdown;

use crate::incident::IncidentState;
use crate::labels::Labels;
use crate::severity::Severity;
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

/// The incident itself, as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IncidentFacts {
    pub id: i64,
    pub title: String,
    pub service_id: String,
    pub severity: Severity,
    pub state: IncidentState,
    pub assignee: Option<String>,
    pub created_at: Timestamp,
    pub acknowledged_at: Option<Timestamp>,
    pub mitigated_at: Option<Timestamp>,
    pub resolved_at: Option<Timestamp>,
}

/// One entry of the incident's timeline. `actor` is `kind:id` (`user:alice`, `system:staunch`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimelineFact {
    pub at: Timestamp,
    pub actor: String,
    pub kind: String,
    pub data: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertFact {
    pub dedup_key: String,
    pub summary: String,
    pub severity: Severity,
    pub labels: Labels,
    pub annotations: Labels,
    pub first_seen: Timestamp,
    pub starts_at: Option<Timestamp>,
    pub resolved_at: Option<Timestamp>,
}

impl AlertFact {
    /// The alert's name: its `alertname` label, else its summary.
    pub fn name(&self) -> &str {
        self.labels.get("alertname").map(String::as_str).unwrap_or(&self.summary)
    }
}

/// A change event of the incident's service (a deploy, a push, a PagerDuty change).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangeFact {
    pub service_id: String,
    pub at: Timestamp,
    pub received_at: Timestamp,
    pub summary: String,
    pub source: Option<String>,
    pub details: serde_json::Value,
}

/// A tracked follow-up.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionItemFact {
    pub id: i64,
    pub text: String,
    pub owner: Option<String>,
    pub due: Option<jiff::civil::Date>,
    pub status: crate::action_item::ActionItemStatus,
}

/// An SLO's counts around the incident, when it came from an SLO (alert label `slo`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BudgetFacts {
    pub slo_id: String,
    /// e.g. 99.9.
    pub objective_percent: f64,
    /// The SLO period, as configured (`30d`).
    pub period: String,
    /// Bad and total events from the incident's start to its end (or now, while open).
    pub bad_during: u64,
    pub total_during: u64,
    /// Total events over the SLO period ending at the incident's end: the budget is a share
    /// of these.
    pub total_in_period: u64,
}

/// Everything a postmortem is drawn from.
#[derive(Debug, Clone)]
pub struct PostmortemInput<'a> {
    pub incident: &'a IncidentFacts,
    pub timeline: &'a [TimelineFact],
    pub alerts: &'a [AlertFact],
    /// Changes of the service; those in `change_window` before the start are contributing
    /// factors, the others are left out.
    pub changes: &'a [ChangeFact],
    pub change_window: SignedDuration,
    pub action_items: &'a [ActionItemFact],
    pub budget: Option<&'a BudgetFacts>,
    /// People's ids and names, for the blameless check and for naming actors.
    pub people: &'a [(String, String)],
}

#[cfg(test)]
mod tests;
