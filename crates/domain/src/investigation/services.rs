//! Service hypotheses: which alerting service is the root, the others its victims.
//!
//! Each alerting service (the incident's own and every service with an alert) starts from
//! its alerts: base = 1 − ½^alerts. Over the catalog graph, a service that alerting services
//! depend on gains (×(0.5 + 0.25 per victim), at most 1), and a service that itself depends
//! on an alerting service loses half per such dependency: the upstream root outranks its
//! victims. One service alerting alone stays weak (0.25 at most): that the failing service
//! is failing says nothing new. Telemetry, when given, joins by noisy-or (1 − (1 − s)(1 −
//! 0.8 t), t the telemetry confidence), and may name services no alert names.

use super::{Hypothesis, HypothesisKind, InvestigationInput, Settings, Visible};
use crate::catalog::GraphDistance;

pub(crate) fn rank(input: &InvestigationInput<'_>, seen: &Visible<'_>, settings: &Settings) -> Vec<Hypothesis> {
    let alerting = seen.alerting_services();
    let mut hypotheses: Vec<Hypothesis> =
        alerting.iter().map(|service| score(input, seen, settings, &alerting, service)).collect();
    let Some(telemetry) = input.telemetry else {
        return hypotheses;
    };
    for ranked in &telemetry.hypotheses {
        let weight = 0.8 * ranked.confidence.clamp(0.0, 1.0);
        let evidence = ranked.evidence_for.iter().take(3).map(|evidence| format!("telemetry: {}", evidence.detail));
        let position = hypotheses.iter().position(|hypothesis| hypothesis.service_id.as_deref() == Some(&ranked.service));
        let hypothesis = match position {
            Some(index) => &mut hypotheses[index],
            None => {
                hypotheses.push(service_hypothesis(&ranked.service, 0.0));
                hypotheses.last_mut().expect("just pushed")
            }
        };
        hypothesis.strength = 1.0 - (1.0 - hypothesis.strength) * (1.0 - weight);
        hypothesis.evidence_for.extend(evidence);
        hypothesis.evidence_for.push(format!("telemetry ranks it with confidence {:.2}", ranked.confidence));
        hypothesis.evidence_against.extend(ranked.evidence_against.iter().map(|against| format!("telemetry: {against}")));
    }
    hypotheses
}

fn service_hypothesis(service: &str, strength: f64) -> Hypothesis {
    Hypothesis {
        kind: HypothesisKind::Service,
        title: format!("service {service}"),
        service_id: Some(service.to_string()),
        change_id: None,
        incident_id: None,
        strength,
        confidence: 0.0,
        evidence_for: Vec::new(),
        evidence_against: Vec::new(),
        suggested_runbook: None,
    }
}

fn score(
    input: &InvestigationInput<'_>,
    seen: &Visible<'_>,
    settings: &Settings,
    alerting: &[String],
    service: &str,
) -> Hypothesis {
    let alerts = seen.alerts.iter().filter(|alert| alert.service_id == service).count().max(1);
    let base = 1.0 - 0.5f64.powi(alerts as i32);
    let mut victims = Vec::new();
    let mut upstream = Vec::new();
    for other in alerting.iter().filter(|other| other.as_str() != service) {
        if let GraphDistance::Dependency(_) = input.graph.distance(other, service, settings.max_hops) {
            victims.push(other.as_str());
        }
        if let GraphDistance::Dependency(_) = input.graph.distance(service, other, settings.max_hops) {
            upstream.push(other.as_str());
        }
    }
    let root_factor = (0.5 + 0.25 * victims.len() as f64).min(1.0);
    let strength = base * root_factor * 0.5f64.powi(upstream.len() as i32);
    let mut hypothesis = service_hypothesis(service, strength);
    hypothesis.evidence_for.push(format!("{alerts} alert{} on {service}", if alerts == 1 { "" } else { "s" }));
    if victims.is_empty() {
        hypothesis.evidence_against.push("no other alerting service depends on it".to_string());
    } else {
        hypothesis.evidence_for.push(format!("alerting services that depend on it: {}", victims.join(", ")));
    }
    if !upstream.is_empty() {
        hypothesis.evidence_against.push(format!("it depends on alerting {}, which may be the root", upstream.join(", ")));
    }
    hypothesis
}
