//! Change hypotheses: a recent change is suspect when it landed shortly before the onset, on
//! the incident's service or one it depends on, says something the alerts and notes say, and
//! resembles what caused similar incidents before.
//!
//! strength = time × graph × (0.7 + 0.2 × words + 0.1 × past), where
//! - time = ½^(gap / half-life) for a change `gap` before the onset (0 after the onset or
//!   `as_of`, and outside the lookback);
//! - graph = 1 same service, 0.7 / 0.4 / 0.2 for a dependency 1 / 2 / 3 hops down, 0.25 / 0.1
//!   for a service that depends on the alerting one, 0.05 unrelated — the best over the
//!   incident's service and every alerting service;
//! - words = shared words (change title, files, labels vs. alert text and notes), 3 or more
//!   counting fully;
//! - past = 1 when a similar past incident was linked to a change of the same service or with
//!   two words in common with this one.
//!
//! Time and graph multiply because neither alone makes a suspect: a deploy a minute before
//! on an unrelated service, or a change to the failing service a day ago, stays weak.

use super::words::{self, shared};
use super::{ChangeCandidate, Hypothesis, HypothesisKind, InvestigationInput, Settings, Visible, human_gap};
use crate::catalog::GraphDistance;

pub(crate) fn rank(input: &InvestigationInput<'_>, seen: &Visible<'_>, settings: &Settings) -> Vec<Hypothesis> {
    let alerting = seen.alerting_services();
    input
        .changes
        .iter()
        .filter(|change| {
            change.at <= seen.onset && change.at < input.as_of && seen.onset.duration_since(change.at) <= settings.lookback
        })
        .map(|change| score(input, seen, settings, &alerting, change))
        .collect()
}

fn change_text(change: &ChangeCandidate) -> String {
    let mut text = change.summary.clone();
    for field in ["title", "body", "files", "labels", "commits"] {
        collect_strings(&change.details[field], &mut text);
    }
    text
}

fn collect_strings(value: &serde_json::Value, into: &mut String) {
    match value {
        serde_json::Value::String(text) => {
            into.push(' ');
            into.push_str(text);
        }
        serde_json::Value::Array(items) => items.iter().for_each(|item| collect_strings(item, into)),
        serde_json::Value::Object(fields) => fields.values().for_each(|item| collect_strings(item, into)),
        _ => {}
    }
}

fn graph_factor(distance: GraphDistance) -> f64 {
    match distance {
        GraphDistance::SameService => 1.0,
        GraphDistance::Dependency(1) => 0.7,
        GraphDistance::Dependency(2) => 0.4,
        GraphDistance::Dependency(_) => 0.2,
        GraphDistance::Dependent(1) => 0.25,
        GraphDistance::Dependent(_) => 0.1,
        GraphDistance::Unrelated => 0.05,
    }
}

fn score(
    input: &InvestigationInput<'_>,
    seen: &Visible<'_>,
    settings: &Settings,
    alerting: &[String],
    change: &ChangeCandidate,
) -> Hypothesis {
    let mut evidence_for = Vec::new();
    let mut evidence_against = Vec::new();

    let gap = seen.onset.duration_since(change.at);
    let half_lives = gap.as_secs_f64() / settings.change_half_life.as_secs_f64().max(1.0);
    let time = 0.5f64.powf(half_lives);
    let gap_text = format!("landed {} before the onset", human_gap(gap));
    if gap <= settings.change_half_life {
        evidence_for.push(gap_text);
    } else if gap <= settings.change_half_life * 4 {
        evidence_for.push(format!("{gap_text} (time weight {time:.2})"));
    } else {
        evidence_against.push(format!("{gap_text}: long before the trouble started"));
    }

    let (distance, alerting_service) = alerting
        .iter()
        .map(|service| (input.graph.distance(service, &change.service_id, settings.max_hops), service))
        .max_by(|left, right| graph_factor(left.0).total_cmp(&graph_factor(right.0)))
        .unwrap_or((GraphDistance::Unrelated, &seen.incident_service));
    let graph = graph_factor(distance);
    let changed = &change.service_id;
    match distance {
        GraphDistance::SameService => evidence_for.push(format!("changed {changed}, the alerting service itself")),
        GraphDistance::Dependency(1) => {
            evidence_for.push(format!("{alerting_service} depends on {changed} directly (1 hop in the catalog)"))
        }
        GraphDistance::Dependency(hops) => {
            evidence_for.push(format!("{alerting_service} depends on {changed} through {hops} hops in the catalog"))
        }
        GraphDistance::Dependent(hops) => evidence_against.push(format!(
            "{changed} depends on {alerting_service} ({hops} hop{}), not the other way round",
            if hops == 1 { "" } else { "s" }
        )),
        GraphDistance::Unrelated => {
            evidence_against.push(format!("{changed} is not connected to {} in the catalog", alerting.join(", ")))
        }
    }

    let change_words = words::words(&change_text(change));
    let common = shared(&change_words, &seen.incident_words);
    let text = (common.len() as f64 / 3.0).min(1.0);
    if common.is_empty() {
        evidence_against.push("shares no words with the alerts or notes".to_string());
    } else {
        evidence_for.push(format!("shares words with the alerts and notes: {}", common.join(", ")));
    }

    let past_match = input.similar.iter().filter(|past| past.opened_at < input.as_of).find_map(|past| {
        let cause = past.caused_by.as_ref()?;
        let same_service = cause.service_id == change.service_id;
        let close_text = shared(&words::words(&cause.summary), &change_words).len() >= 2;
        (same_service || close_text).then_some((past, cause))
    });
    let past = if let Some((past, cause)) = past_match {
        evidence_for.push(format!("similar incident #{} followed a change of {}: {}", past.id, cause.service_id, cause.summary));
        1.0
    } else {
        0.0
    };

    let strength = time * graph * (0.7 + 0.2 * text + 0.1 * past);
    let source = change.source.as_deref().map(|source| format!(" ({source})")).unwrap_or_default();
    Hypothesis {
        kind: HypothesisKind::Change,
        title: format!("change #{} to {}: {}{source}", change.id, change.service_id, change.summary),
        service_id: Some(change.service_id.clone()),
        change_id: Some(change.id),
        incident_id: None,
        strength,
        confidence: 0.0,
        evidence_for,
        evidence_against,
        suggested_runbook: None,
    }
}
