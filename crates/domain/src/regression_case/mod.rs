//! Incidents as regression cases: a resolved incident written down as the signals that
//! opened it and how it was classified and mitigated, and the check that the current
//! configuration would still recognise it.
//!
//! A case is JSON with a `version`. [`from_incident`] writes it from the stored record;
//! [`check_case`] replays it: the alerts are routed from the integration's service through the
//! current routes and grouped by the current `group_by`, and the symptom is classified by a
//! [`CaseClassifier`] (the triage rules implement it; without any, the symptom is reported as
//! not checked rather than passed silently).

use crate::alert::{DedupKey, PAGE_LABEL};
use crate::directory::Directory;
use crate::incident::IncidentState;
use crate::intake::incident_group_key;
use crate::labels::Labels;
use crate::postmortem::{AlertFact, IncidentFacts, TimelineFact};
use crate::severity::Severity;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// The case format this build writes and reads.
pub const CASE_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegressionCase {
    pub version: u32,
    pub incident_id: i64,
    pub title: String,
    pub exported_at: Timestamp,
    /// The service whose integration received the alerts, before its routes sent them on.
    pub source_service: String,
    /// The integration's format (`alertmanager`, `events_v2`, ...), when the record names it.
    #[serde(default)]
    pub source_format: Option<String>,
    pub signals: Vec<CaseSignal>,
    pub expected: ExpectedClassification,
    /// The runbook that mitigated the incident, when one did.
    #[serde(default)]
    pub mitigation: Option<CaseMitigation>,
}

/// One alert of the incident, timed relative to the incident's start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseSignal {
    pub dedup_key: String,
    pub summary: String,
    pub severity: Severity,
    pub labels: Labels,
    #[serde(default)]
    pub annotations: Labels,
    /// Seconds from the incident's start to when the alert was first seen (negative: before).
    pub offset_seconds: i64,
    /// Seconds from the incident's start to when the alert resolved, if it did.
    #[serde(default)]
    pub resolved_offset_seconds: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedClassification {
    pub service: String,
    pub severity: Severity,
    pub group_key: String,
    /// The symptom triage named (`incident.triaged`), if any.
    #[serde(default)]
    pub symptom: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseMitigation {
    pub runbook: String,
    /// The steps that succeeded, in order.
    pub steps: Vec<String>,
    /// How the run stopped (`recovered`, `finished`, ...).
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaseError {
    #[error("incident #{id} is {state}; only a resolved incident becomes a regression case")]
    NotResolved { id: i64, state: &'static str },
    #[error("incident #{id} has no alerts to replay")]
    NoSignals { id: i64 },
    #[error("incident #{id} has no incident.opened entry naming the integration that received its alerts")]
    NoSource { id: i64 },
}

/// Writes a resolved incident as a case. `group_key` is the incident's stored group key.
pub fn from_incident(
    incident: &IncidentFacts,
    group_key: &str,
    timeline: &[TimelineFact],
    alerts: &[AlertFact],
    now: Timestamp,
) -> Result<RegressionCase, CaseError> {
    if incident.state != IncidentState::Resolved {
        return Err(CaseError::NotResolved { id: incident.id, state: incident.state.as_str() });
    }
    if alerts.is_empty() {
        return Err(CaseError::NoSignals { id: incident.id });
    }
    let opened = timeline.iter().find(|entry| entry.kind == "incident.opened" && entry.actor.starts_with("integration:"));
    let Some(opened) = opened else {
        return Err(CaseError::NoSource { id: incident.id });
    };
    let integration = opened.actor.trim_start_matches("integration:");
    let (source_service, source_format) = match integration.rsplit_once('/') {
        Some((service, format)) => (service.to_string(), Some(format.to_string())),
        None => (integration.to_string(), None),
    };
    let offset = |at: Timestamp| at.duration_since(incident.created_at).as_secs();
    let mut signals: Vec<CaseSignal> = alerts
        .iter()
        .map(|alert| CaseSignal {
            dedup_key: alert.dedup_key.clone(),
            summary: alert.summary.clone(),
            severity: alert.severity,
            labels: alert.labels.clone(),
            annotations: alert.annotations.clone(),
            offset_seconds: offset(alert.first_seen),
            resolved_offset_seconds: alert.resolved_at.map(offset),
        })
        .collect();
    signals.sort_by(|left, right| left.offset_seconds.cmp(&right.offset_seconds).then(left.dedup_key.cmp(&right.dedup_key)));
    let symptom =
        timeline.iter().rev().find_map(|entry| crate::runbook::timeline::symptom(&entry.kind, &entry.data)).map(str::to_string);
    Ok(RegressionCase {
        version: CASE_VERSION,
        incident_id: incident.id,
        title: incident.title.clone(),
        exported_at: now,
        source_service,
        source_format,
        signals,
        expected: ExpectedClassification {
            service: incident.service_id.clone(),
            severity: incident.severity,
            group_key: group_key.to_string(),
            symptom,
        },
        mitigation: mitigation(timeline),
    })
}

/// The last runbook run that stopped because the service recovered (else the last that
/// finished), with the steps that succeeded in it.
fn mitigation(timeline: &[TimelineFact]) -> Option<CaseMitigation> {
    use crate::runbook::timeline as runbook_timeline;
    let stops: Vec<(usize, &TimelineFact, &str)> = timeline
        .iter()
        .enumerate()
        .filter_map(|(index, entry)| Some((index, entry, runbook_timeline::stop_reason(&entry.kind)?)))
        .collect();
    let (index, stop, reason) = stops
        .iter()
        .rev()
        .find(|(_, _, reason)| *reason == "recovered")
        .or_else(|| stops.iter().rev().find(|(_, _, reason)| *reason == "finished"))?;
    let runbook = runbook_timeline::runbook_name(&stop.data)?.to_string();
    let steps = timeline[..*index]
        .iter()
        .filter(|entry| {
            entry.kind == runbook_timeline::STEP_SUCCEEDED
                && runbook_timeline::runbook_name(&entry.data) == Some(runbook.as_str())
        })
        .filter_map(|entry| runbook_timeline::step_name(&entry.data))
        .collect();
    Some(CaseMitigation { runbook, steps, reason: reason.to_string() })
}

/// What triage makes of a case's signals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Classification {
    /// Triage named this symptom.
    Symptom(String),
    /// Triage ran and named no symptom.
    Unrecognised,
    /// There are no triage rules to ask: the symptom cannot be checked.
    NotAvailable,
}

/// Triage as a case replay needs it. The triage rules implement it; [`NoTriage`] stands in
/// where none are configured.
pub trait CaseClassifier {
    fn classify(&self, service_id: &str, signals: &[CaseSignal]) -> Classification;
    /// The runbooks triage would offer for `symptom` on `service_id`, best first; `None` when
    /// runbook selection is not available.
    fn runbooks_for(&self, _service_id: &str, _symptom: Option<&str>, _signals: &[CaseSignal]) -> Option<Vec<String>> {
        None
    }
}

/// No triage rules: symptoms and runbooks are reported as not checked.
pub struct NoTriage;

impl CaseClassifier for NoTriage {
    fn classify(&self, _service_id: &str, _signals: &[CaseSignal]) -> Classification {
        Classification::NotAvailable
    }
}

/// The verdict on one case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaseVerdict {
    pub incident_id: i64,
    pub passed: bool,
    /// Why it failed, one line per problem.
    pub failures: Vec<String>,
    /// What was checked and what could not be.
    pub notes: Vec<String>,
}

/// Replays `case` against the current `directory` (routes, grouping) and `classifier`.
pub fn check_case(case: &RegressionCase, directory: &Directory, classifier: &dyn CaseClassifier) -> CaseVerdict {
    let mut failures = Vec::new();
    let mut notes = Vec::new();
    let verdict = |failures: Vec<String>, notes: Vec<String>| CaseVerdict {
        incident_id: case.incident_id,
        passed: failures.is_empty(),
        failures,
        notes,
    };
    if case.version != CASE_VERSION {
        failures.push(format!("case version {} is not supported (this build reads version {CASE_VERSION})", case.version));
        return verdict(failures, notes);
    }
    if !directory.services.contains_key(&case.source_service) {
        failures
            .push(format!("service {:?}, whose integration received the alerts, is no longer configured", case.source_service));
        return verdict(failures, notes);
    }
    let expected = &case.expected;
    let Some(service) = directory.services.get(&expected.service) else {
        failures.push(format!("service {:?} that handled the incident is no longer configured", expected.service));
        return verdict(failures, notes);
    };
    let mut group_keys: Vec<String> = Vec::new();
    for signal in &case.signals {
        let name = signal.labels.get("alertname").unwrap_or(&signal.summary);
        let targets = directory.route(&case.source_service, &signal.labels);
        if !targets.contains(&expected.service) {
            let now = if targets.is_empty() { "no service".to_string() } else { targets.join(", ") };
            let failure =
                format!("alert {name:?} arriving at {} now routes to {now} instead of {}", case.source_service, expected.service);
            // Alerts of one name usually share their fate; one line says it.
            if !failures.contains(&failure) {
                failures.push(failure);
            }
            continue;
        }
        let Ok(dedup_key) = DedupKey::parse(signal.dedup_key.clone()) else {
            failures.push(format!("alert {name:?} has an invalid dedup key {:?}", signal.dedup_key));
            continue;
        };
        let mut key = incident_group_key(&signal.labels, &service.group_by, &dedup_key);
        if signal.labels.get(PAGE_LABEL).map(String::as_str) == Some("false") {
            key = format!("ticket:{key}");
        }
        if !group_keys.contains(&key) {
            group_keys.push(key);
        }
    }
    if failures.is_empty() {
        notes.push(format!("{} alert(s) route to {}", case.signals.len(), expected.service));
        if group_keys.len() > 1 {
            failures.push(format!(
                "the alerts would now open {} incidents instead of one (group keys {})",
                group_keys.len(),
                group_keys.join(", ")
            ));
        } else if group_keys.first() != Some(&expected.group_key) {
            failures.push(format!(
                "grouping changed: the alerts now group under {} instead of {}",
                group_keys.first().map(String::as_str).unwrap_or("nothing"),
                expected.group_key
            ));
        } else {
            notes.push(format!("grouped as {}", expected.group_key));
        }
    }
    match (&expected.symptom, classifier.classify(&expected.service, &case.signals)) {
        (_, Classification::NotAvailable) => notes.push("symptom not checked: no triage rules".to_string()),
        (Some(expected_symptom), Classification::Symptom(symptom)) if &symptom == expected_symptom => {
            notes.push(format!("classified as {symptom}"))
        }
        (Some(expected_symptom), Classification::Symptom(symptom)) => {
            failures.push(format!("symptom is now classified as {symptom} instead of {expected_symptom}"))
        }
        (Some(expected_symptom), Classification::Unrecognised) => {
            failures.push(format!("symptom {expected_symptom} is no longer recognised"))
        }
        (None, Classification::Symptom(symptom)) => notes.push(format!("now classified as {symptom} (no symptom before)")),
        (None, Classification::Unrecognised) => notes.push("no symptom, as before".to_string()),
    }
    if let Some(mitigation) = &case.mitigation {
        match classifier.runbooks_for(&expected.service, expected.symptom.as_deref(), &case.signals) {
            None => notes.push(format!("runbook {} not checked: no runbook selection", mitigation.runbook)),
            Some(runbooks) if runbooks.contains(&mitigation.runbook) => {
                notes.push(format!("runbook {} is still offered", mitigation.runbook))
            }
            Some(runbooks) => failures.push(format!(
                "runbook {} that mitigated it is no longer offered (offered: {})",
                mitigation.runbook,
                if runbooks.is_empty() { "none".to_string() } else { runbooks.join(", ") }
            )),
        }
    }
    verdict(failures, notes)
}

/// Reads a case, naming the field that is wrong.
pub fn parse_case(text: &str) -> Result<RegressionCase, String> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let case: RegressionCase = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        if path == "." { error.inner().to_string() } else { format!("{path}: {}", error.inner()) }
    })?;
    Ok(case)
}

#[cfg(test)]
mod tests;
