//! Ranked root-cause hypotheses for a live incident: which recent change, which service,
//! which past incident this resembles — each with evidence for and against, a confidence, and
//! an overall "I don't know yet" when nothing is strong enough.
//!
//! Pure: the caller gathers the context (the incident, its alerts and notes, change events
//! in the lookback window, the catalog graph, similar past incidents, optional telemetry) and
//! passes `as_of`; nothing dated after `as_of` or, for changes, after the onset, is used even
//! when the caller passes it, so a replay "as of" T cannot leak what happened later.
//!
//! **Strength and confidence.** Each hypothesis gets a *strength* in [0, 1] from its signals
//! (see `changes`, `services`, `similar`); every factor is at most 1, so strength is high
//! only when every signal agrees. *Confidence* is strength times the hypothesis' share of the
//! strength of its kind (two equally strong changes cannot each be likelier than not), capped
//! at [`MAX_CONFIDENCE`]. The investigation abstains ("I don't know yet") when the best
//! confidence is below [`Settings::abstain_below`]. These are evidence scores shaped to be
//! conservative, not probabilities fitted on labelled incidents: no calibration data exists
//! yet, so the cap and the product of factors are what keep a weak case from reading 0.9.

mod changes;
mod services;
mod similar;
#[cfg(test)]
mod tests;
pub mod words;

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::catalog::DependencyGraph;

/// No hypothesis is ever reported as more certain than this.
pub const MAX_CONFIDENCE: f64 = 0.9;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// Changes older than this before the onset are not candidates.
    pub lookback: SignedDuration,
    /// A change this long before the onset counts half as much as one at the onset.
    pub change_half_life: SignedDuration,
    /// Dependency hops searched in the catalog.
    pub max_hops: u32,
    /// Below this best confidence the investigation says "I don't know yet".
    pub abstain_below: f64,
    /// Hypotheses kept per kind.
    pub per_kind: usize,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            lookback: SignedDuration::from_hours(24),
            change_half_life: SignedDuration::from_mins(30),
            max_hops: 3,
            abstain_below: 0.3,
            per_kind: 5,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentContext {
    pub id: i64,
    pub title: String,
    pub service_id: String,
    /// When the trouble started: the earliest alert start, else the incident's opening.
    pub onset: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertContext {
    pub service_id: String,
    pub summary: String,
    pub labels: BTreeMap<String, String>,
    /// When Staunch first saw it.
    pub at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoteContext {
    pub at: Timestamp,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeCandidate {
    pub id: i64,
    pub service_id: String,
    pub at: Timestamp,
    pub summary: String,
    pub source: Option<String>,
    /// PR title, changed files, labels, author where the source gave them.
    pub details: serde_json::Value,
}

/// A change a past incident was linked to (its deploy link).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PastChange {
    pub service_id: String,
    pub summary: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PastIncident {
    pub id: i64,
    pub title: String,
    pub service_id: String,
    pub opened_at: Timestamp,
    /// Its alert summaries and label values, and its notes, as known before `as_of`.
    pub text: String,
    pub resolved: bool,
    pub caused_by: Option<PastChange>,
    /// The runbook that worked there (a run that succeeded), if any.
    pub mitigation_runbook: Option<String>,
}

pub struct InvestigationInput<'a> {
    pub incident: &'a IncidentContext,
    pub alerts: &'a [AlertContext],
    pub notes: &'a [NoteContext],
    pub changes: &'a [ChangeCandidate],
    pub graph: &'a DependencyGraph,
    pub similar: &'a [PastIncident],
    /// Service ranking from pushed telemetry (logs, spans, metrics) for the incident's
    /// window, when the caller has one.
    pub telemetry: Option<&'a staunch_investigate::Investigation>,
    /// What the investigation may see: nothing dated at or after it.
    pub as_of: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HypothesisKind {
    Change,
    Service,
    SimilarIncident,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hypothesis {
    pub kind: HypothesisKind,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident_id: Option<i64>,
    pub strength: f64,
    pub confidence: f64,
    pub evidence_for: Vec<String>,
    pub evidence_against: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suggested_runbook: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Considered {
    pub changes: usize,
    pub alerting_services: usize,
    pub similar_incidents: usize,
    pub telemetry: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Investigation {
    pub incident_id: i64,
    pub as_of: Timestamp,
    pub onset: Timestamp,
    /// Best first, all kinds together.
    pub hypotheses: Vec<Hypothesis>,
    pub abstained: bool,
    /// One sentence: the leading hypothesis, or why Staunch does not know yet.
    pub summary: String,
    pub considered: Considered,
    /// What the optional language model said of the investigation, for humans; set by the
    /// shell after ranking, never read by the ranking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_summary: Option<String>,
    /// Whether the language model reordered the leading hypotheses (their confidences stay
    /// the ranking's own).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub model_reranked: bool,
    /// Sources the shell could not read, or read only in part (a Prometheus server that was
    /// down), so a reader knows what the ranking went without; set by the shell, never read
    /// by the ranking.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// Ranks the hypotheses for one incident.
pub fn investigate(input: &InvestigationInput<'_>, settings: &Settings) -> Investigation {
    let seen = Visible::new(input);
    let mut hypotheses = Vec::new();
    let mut changes = changes::rank(input, &seen, settings);
    let mut services = services::rank(input, &seen, settings);
    let mut similar = similar::rank(input, &seen);
    let considered = Considered {
        changes: changes.len(),
        alerting_services: seen.alerting_services().len(),
        similar_incidents: similar.len(),
        telemetry: input.telemetry.is_some(),
    };
    for group in [&mut changes, &mut services, &mut similar] {
        assign_confidence(group);
        group.truncate(settings.per_kind);
        hypotheses.append(group);
    }
    hypotheses.sort_by(|left, right| {
        right.confidence.total_cmp(&left.confidence).then(left.kind.cmp(&right.kind)).then(left.title.cmp(&right.title))
    });
    let best = hypotheses.first().map(|hypothesis| hypothesis.confidence).unwrap_or(0.0);
    let abstained = best < settings.abstain_below;
    let summary = match hypotheses.first() {
        None => "I don't know yet: no recent change, alerting service or similar past incident to go on".to_string(),
        Some(top) if abstained => format!(
            "I don't know yet: the strongest lead ({}) has confidence {:.2}, below {:.2}",
            top.title, top.confidence, settings.abstain_below
        ),
        Some(top) => format!("Most likely: {} (confidence {:.2})", top.title, top.confidence),
    };
    Investigation {
        incident_id: input.incident.id,
        as_of: input.as_of,
        onset: seen.onset,
        hypotheses,
        abstained,
        summary,
        considered,
        model_summary: None,
        model_reranked: false,
        warnings: Vec::new(),
    }
}

/// Confidence = strength × share of the kind's total strength, capped (see the module doc).
fn assign_confidence(group: &mut [Hypothesis]) {
    group.sort_by(|left, right| right.strength.total_cmp(&left.strength).then(left.title.cmp(&right.title)));
    let total: f64 = group.iter().map(|hypothesis| hypothesis.strength).sum();
    for hypothesis in group.iter_mut() {
        let share = if total > 0.0 { hypothesis.strength / total } else { 0.0 };
        hypothesis.confidence = round3((hypothesis.strength * share).min(MAX_CONFIDENCE));
        hypothesis.strength = round3(hypothesis.strength);
    }
}

fn round3(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

/// What the investigation may look at: the input cut at `as_of` (and changes at the onset).
pub(crate) struct Visible<'a> {
    pub alerts: Vec<&'a AlertContext>,
    pub onset: Timestamp,
    pub incident_service: String,
    pub incident_words: std::collections::BTreeSet<String>,
}

impl<'a> Visible<'a> {
    fn new(input: &InvestigationInput<'a>) -> Visible<'a> {
        let alerts: Vec<&AlertContext> = input.alerts.iter().filter(|alert| alert.at < input.as_of).collect();
        let notes: Vec<&NoteContext> = input.notes.iter().filter(|note| note.at < input.as_of).collect();
        // An onset after `as_of` would let changes after `as_of` count.
        let onset = input.incident.onset.min(input.as_of);
        let text = incident_text(&input.incident.title, alerts.iter().copied(), notes.iter().copied());
        Visible { alerts, onset, incident_service: input.incident.service_id.clone(), incident_words: words::words(&text) }
    }

    /// The incident's service first, then every other service with a visible alert.
    pub fn alerting_services(&self) -> Vec<String> {
        let mut services: Vec<String> = vec![self.incident_service.clone()];
        for alert in &self.alerts {
            if !services.contains(&alert.service_id) {
                services.push(alert.service_id.clone());
            }
        }
        services
    }
}

/// `12m`, `2h 5m`, `40s`: how long before the onset, for evidence sentences.
pub(crate) fn human_gap(gap: SignedDuration) -> String {
    let seconds = gap.as_secs().max(0);
    if seconds < 60 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 60 {
        return format!("{minutes}m");
    }
    let (hours, minutes) = (minutes / 60, minutes % 60);
    if minutes == 0 { format!("{hours}h") } else { format!("{hours}h {minutes}m") }
}

/// The words an incident is known by: its title, its alerts' summaries and label values, and
/// its notes. Ranking matches changes against it; the store's search looks for past incidents
/// with it.
pub fn incident_text<'a>(
    title: &str,
    alerts: impl IntoIterator<Item = &'a AlertContext>,
    notes: impl IntoIterator<Item = &'a NoteContext>,
) -> String {
    let mut text = title.to_string();
    for alert in alerts {
        text.push(' ');
        text.push_str(&alert.summary);
        for value in alert.labels.values() {
            text.push(' ');
            text.push_str(value);
        }
    }
    for note in notes {
        text.push(' ');
        text.push_str(&note.text);
    }
    text
}
