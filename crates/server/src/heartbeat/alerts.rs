//! The alert a drop raises: one per monitor, dedup key `heartbeat:{id}`, at the monitor's
//! severity, on its service, so it pages that service's escalation policy; recovery resolves it.

use staunch_config::heartbeats::HeartbeatDefinition;
use staunch_domain::alert::{AlertAction, AlertEvent, DedupKey, SourceFormat};
use staunch_domain::heartbeat::HeartbeatEvaluation;
use staunch_domain::labels::Labels;

pub fn dedup_key(heartbeat: &HeartbeatDefinition) -> String {
    format!("heartbeat:{}", heartbeat.id)
}

/// What the window saw against what it expected, for summaries and logs.
pub fn detail(heartbeat: &HeartbeatDefinition, evaluation: &HeartbeatEvaluation) -> String {
    let window = heartbeat.monitor.window_minutes;
    match evaluation.expected {
        Some(expected) => format!(
            "{} {} in the last {window}m, {:.0} expected ({:.0}%)",
            evaluation.observed,
            heartbeat.event,
            expected,
            evaluation.ratio().unwrap_or(0.0) * 100.0
        ),
        None => format!("{} {} in the last {window}m, still learning what to expect", evaluation.observed, heartbeat.event),
    }
}

/// The event that opens (`firing`) or resolves the monitor's alert.
pub fn event(heartbeat: &HeartbeatDefinition, firing: bool, evaluation: &HeartbeatEvaluation) -> Option<AlertEvent> {
    let dedup_key = DedupKey::parse(dedup_key(heartbeat)).ok()?;
    let mut labels: Labels = heartbeat.labels.clone().into_iter().collect();
    labels.insert("alertname".into(), "HeartbeatDropped".into());
    labels.insert("heartbeat".into(), heartbeat.id.clone());
    labels.insert("event".into(), heartbeat.event.clone());
    labels.insert("service".into(), heartbeat.service_id.clone());
    labels.insert("severity".into(), heartbeat.severity.as_str().into());
    let detail = detail(heartbeat, evaluation);
    Some(AlertEvent {
        action: if firing { AlertAction::Trigger } else { AlertAction::Resolve },
        dedup_key,
        summary: format!(
            "{} ({} on {}) dropped below its usual rate: {detail}",
            heartbeat.name, heartbeat.event, heartbeat.service_id
        ),
        severity: heartbeat.severity,
        labels,
        annotations: Labels::new(),
        details: serde_json::json!({
            "heartbeat": heartbeat.id,
            "event": heartbeat.event,
            "observed": evaluation.observed,
            "expected": evaluation.expected,
            "window_start": evaluation.window_start,
            "window_end": evaluation.window_end,
        }),
        links: Vec::new(),
        images: Vec::new(),
        starts_at: None,
        ends_at: None,
        format: SourceFormat::Api,
    })
}
