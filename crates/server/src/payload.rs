//! The JSON document a notification carries. Rendered when the delivery is enqueued, so a
//! retry days later sends exactly what the first attempt sent.

use jiff::Timestamp;
use staunch_domain::directory::User;
use staunch_store::Incident;

pub(crate) fn incident_event(event: &str, incident: &Incident, user: &User, now: Timestamp) -> serde_json::Value {
    serde_json::json!({
        "event": event,
        "occurred_at": now,
        "incident": {
            "id": incident.id,
            "title": incident.title,
            "service": incident.service_id,
            "severity": incident.severity,
            "state": incident.state,
            "created_at": incident.created_at,
            "assignee": incident.assignee,
        },
        "escalation": {
            "level": incident.escalation_level + 1,
            "cycle": incident.escalation_cycle + 1,
        },
        "recipient": { "id": user.id, "name": user.name },
    })
}
