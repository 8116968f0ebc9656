//! Postmortems of constructed incidents, rendered and compared with reviewed snapshots
//! (`cargo insta review` after an intended change). The clock is fixed.

use super::*;
use crate::action_item::ActionItemStatus;
use serde_json::json;

fn at(text: &str) -> Timestamp {
    text.parse().expect("timestamp")
}

fn people() -> Vec<(String, String)> {
    vec![("alice".into(), "Alice Martin".into()), ("bob".into(), "Bob Stone".into())]
}

fn entry(time: &str, actor: &str, kind: &str, data: serde_json::Value) -> TimelineFact {
    TimelineFact { at: at(time), actor: actor.into(), kind: kind.into(), data }
}

fn alert(name: &str, labels: &[(&str, &str)], first_seen: &str) -> AlertFact {
    let mut all: Labels = labels.iter().map(|(key, value)| (key.to_string(), value.to_string())).collect();
    all.insert("alertname".into(), name.into());
    AlertFact {
        dedup_key: format!("{name}:{first_seen}"),
        summary: format!("{name} firing"),
        severity: Severity::Sev1,
        labels: all,
        annotations: [("description".to_string(), "error budget burning fast".to_string())].into(),
        first_seen: at(first_seen),
        starts_at: None,
        resolved_at: None,
    }
}

/// An SLO burn after a deploy, triaged, mitigated by a runbook that recovered the service.
fn slo_incident() -> (IncidentFacts, Vec<TimelineFact>, Vec<AlertFact>, Vec<ChangeFact>, Vec<ActionItemFact>, BudgetFacts) {
    let incident = IncidentFacts {
        id: 42,
        title: "checkout availability: error budget burn".into(),
        service_id: "checkout".into(),
        severity: Severity::Sev1,
        state: IncidentState::Resolved,
        assignee: Some("alice".into()),
        created_at: at("2026-03-02T10:00:00Z"),
        acknowledged_at: Some(at("2026-03-02T10:02:10Z")),
        mitigated_at: Some(at("2026-03-02T10:09:00Z")),
        resolved_at: Some(at("2026-03-02T10:30:00Z")),
    };
    let timeline = vec![
        entry(
            "2026-03-02T10:00:00Z",
            "integration:checkout/staunch_slo",
            "incident.opened",
            json!({ "title": incident.title, "service": "checkout", "severity": "sev1" }),
        ),
        entry("2026-03-02T10:00:00Z", "system:staunch", "escalation.paged", json!({ "level": 1, "users": ["alice", "bob"] })),
        entry(
            "2026-03-02T10:00:01Z",
            "system:staunch",
            "notification.sent",
            json!({ "user": "alice", "channel": "webhook", "event": "page" }),
        ),
        entry(
            "2026-03-02T10:00:01Z",
            "system:staunch",
            "notification.sent",
            json!({ "user": "bob", "channel": "webhook", "event": "page" }),
        ),
        entry("2026-03-02T10:00:02Z", "system:staunch", "incident.triaged", json!({ "symptom": "model_provider_outage" })),
        entry(
            "2026-03-02T10:02:10Z",
            "user:alice",
            "incident.acknowledged",
            json!({ "from": "triggered", "to": "acknowledged" }),
        ),
        entry(
            "2026-03-02T10:03:00Z",
            "system:staunch",
            "runbook.step_started",
            json!({ "runbook": "provider-outage", "run": 7, "step_name": "fallback provider", "kind": "http" }),
        ),
        entry(
            "2026-03-02T10:03:05Z",
            "system:staunch",
            "runbook.step_succeeded",
            json!({ "runbook": "provider-outage", "run": 7, "step_name": "fallback provider", "kind": "http", "output": "HTTP 200" }),
        ),
        entry(
            "2026-03-02T10:05:00Z",
            "system:staunch",
            "runbook.step_failed",
            json!({ "runbook": "provider-outage", "run": 7, "step_name": "warm cache", "kind": "command", "output": "exit status 1" }),
        ),
        entry(
            "2026-03-02T10:08:00Z",
            "user:alice",
            "runbook.step_succeeded",
            json!({ "runbook": "provider-outage", "run": 7, "step_name": "shed load", "kind": "manual" }),
        ),
        entry("2026-03-02T10:08:30Z", "system:staunch", "runbook.recovered", json!({ "runbook": "provider-outage", "run": 7 })),
        entry("2026-03-02T10:09:00Z", "user:alice", "incident.mitigated", json!({ "from": "acknowledged", "to": "mitigated" })),
        entry(
            "2026-03-02T10:12:00Z",
            "user:bob",
            "note.added",
            json!({ "text": "The provider returned 503 for half the requests. Bob broke prod with the 1.4 deploy." }),
        ),
        entry("2026-03-02T10:30:00Z", "user:alice", "incident.resolved", json!({ "from": "mitigated", "to": "resolved" })),
        entry(
            "2026-03-02T10:31:00Z",
            "user:alice",
            "action_item.added",
            json!({ "id": 7, "text": "Page on provider error rate before the SLO burns" }),
        ),
    ];
    let alerts = vec![alert(
        "CheckoutAvailabilityBurn",
        &[("slo", "checkout-availability"), ("service", "checkout")],
        "2026-03-02T10:00:00Z",
    )];
    let changes = vec![
        ChangeFact {
            service_id: "checkout".into(),
            at: at("2026-03-02T09:40:00Z"),
            received_at: at("2026-03-02T09:40:01Z"),
            summary: "deployment to production success: v1.4".into(),
            source: Some("github:acme/checkout".into()),
            details: json!({ "kind": "deployment" }),
        },
        ChangeFact {
            service_id: "checkout".into(),
            at: at("2026-03-01T09:40:00Z"),
            received_at: at("2026-03-01T09:40:00Z"),
            summary: "an old deploy, outside the window".into(),
            source: None,
            details: json!({}),
        },
    ];
    let action_items = vec![
        ActionItemFact {
            id: 7,
            text: "Page on provider error rate before the SLO burns".into(),
            owner: Some("alice".into()),
            due: Some(jiff::civil::date(2026, 3, 16)),
            status: ActionItemStatus::Open,
        },
        ActionItemFact {
            id: 8,
            text: "Make sure Bob forgot nothing in the | deploy checklist".into(),
            owner: None,
            due: None,
            status: ActionItemStatus::Done,
        },
    ];
    let budget = BudgetFacts {
        slo_id: "checkout-availability".into(),
        objective_percent: 99.9,
        period: "30d".into(),
        bad_during: 1_250,
        total_during: 2_500,
        total_in_period: 5_000_000,
    };
    (incident, timeline, alerts, changes, action_items, budget)
}

fn render_both(input: &PostmortemInput<'_>, now: Timestamp) -> (Postmortem, String, String) {
    let postmortem = build(input, now);
    let markdown = render_markdown(&postmortem);
    let html = render_html(&postmortem);
    (postmortem, markdown, html)
}

#[test]
fn slo_incident_mitigated_by_a_runbook() {
    let (incident, timeline, alerts, changes, action_items, budget) = slo_incident();
    let people = people();
    let input = PostmortemInput {
        incident: &incident,
        timeline: &timeline,
        alerts: &alerts,
        changes: &changes,
        change_window: SignedDuration::from_hours(2),
        action_items: &action_items,
        budget: Some(&budget),
        people: &people,
    };
    let (postmortem, markdown, html) = render_both(&input, at("2026-03-03T09:00:00Z"));
    assert_eq!(postmortem.impact.time_to_acknowledge, Some(SignedDuration::from_secs(130)));
    match &postmortem.impact.error_budget {
        build::ErrorBudget::Consumed { fraction, .. } => assert!((fraction - 0.25).abs() < 1e-9, "{fraction}"),
        other => panic!("budget should be known: {other:?}"),
    }
    // The note's blaming sentence and the blaming action item are found; the first sentence is not.
    let flagged: Vec<&str> = postmortem.language_findings.iter().map(|finding| finding.finding.sentence.as_str()).collect();
    assert_eq!(flagged, vec!["Bob broke prod with the 1.4 deploy.", "Make sure Bob forgot nothing in the | deploy checklist"]);
    assert!(postmortem.what_worked[0].contains("after step shed load"), "{:?}", postmortem.what_worked);
    insta::assert_snapshot!("slo_incident_markdown", markdown);
    insta::assert_snapshot!("slo_incident_html", html);
}

#[test]
fn incident_resolved_by_hand_without_runbooks_or_slo() {
    let incident = IncidentFacts {
        id: 3,
        title: "DiskFull on db-1".into(),
        service_id: "database".into(),
        severity: Severity::Sev2,
        state: IncidentState::Resolved,
        assignee: Some("bob".into()),
        created_at: at("2026-01-10T23:58:00Z"),
        acknowledged_at: Some(at("2026-01-11T00:05:00Z")),
        mitigated_at: None,
        resolved_at: Some(at("2026-01-11T01:10:30Z")),
    };
    let timeline = vec![
        entry(
            "2026-01-10T23:58:00Z",
            "integration:database/alertmanager",
            "incident.opened",
            json!({ "title": "DiskFull on db-1", "service": "database", "severity": "sev2" }),
        ),
        entry(
            "2026-01-10T23:58:01Z",
            "system:staunch",
            "notification.failed",
            json!({ "user": "alice", "channel": "email", "error": "550 mailbox unavailable" }),
        ),
        entry("2026-01-11T00:04:00Z", "system:staunch", "incident.escalated", json!({ "to_level": 2 })),
        entry("2026-01-11T00:05:00Z", "user:bob", "incident.acknowledged", json!({})),
        entry("2026-01-11T00:20:00Z", "user:bob", "note.added", json!({ "text": "Deleted old WAL segments; disk at 71%." })),
        entry("2026-01-11T01:00:00Z", "integration:database/alertmanager", "alert.resolved", json!({ "dedup_key": "a" })),
        entry("2026-01-11T01:00:00Z", "integration:database/alertmanager", "alert.resolved", json!({ "dedup_key": "b" })),
        entry("2026-01-11T01:10:30Z", "user:bob", "incident.resolved", json!({})),
    ];
    let alerts = vec![
        alert("DiskFull", &[("instance", "db-1")], "2026-01-10T23:58:00Z"),
        alert("DiskFull", &[("instance", "db-1"), ("mount", "/wal")], "2026-01-10T23:59:00Z"),
    ];
    let people = people();
    let input = PostmortemInput {
        incident: &incident,
        timeline: &timeline,
        alerts: &alerts,
        changes: &[],
        change_window: SignedDuration::from_hours(1),
        action_items: &[],
        budget: None,
        people: &people,
    };
    let (postmortem, markdown, html) = render_both(&input, at("2026-01-12T08:00:00Z"));
    assert!(postmortem.language_findings.is_empty());
    assert!(matches!(postmortem.impact.error_budget, build::ErrorBudget::Unknown { .. }));
    insta::assert_snapshot!("resolved_by_hand_markdown", markdown);
    insta::assert_snapshot!("resolved_by_hand_html", html);
}

#[test]
fn open_incident_with_hostile_text_is_escaped() {
    let incident = IncidentFacts {
        id: 9,
        title: "<script>alert(1)</script> | **bold** [link](javascript:x)".into(),
        service_id: "web".into(),
        severity: Severity::Sev3,
        state: IncidentState::Triggered,
        assignee: None,
        created_at: at("2026-05-01T12:00:00Z"),
        acknowledged_at: None,
        mitigated_at: None,
        resolved_at: None,
    };
    let timeline = vec![entry(
        "2026-05-01T12:01:00Z",
        "token:ci",
        "note.added",
        json!({ "text": "<img src=x onerror=alert(1)> \"quoted\" & 'single'\nsecond line" }),
    )];
    let alerts = vec![alert("Latency", &[("slo", "web-latency")], "2026-05-01T12:00:00Z")];
    let input = PostmortemInput {
        incident: &incident,
        timeline: &timeline,
        alerts: &alerts,
        changes: &[],
        change_window: SignedDuration::from_mins(30),
        action_items: &[],
        budget: None,
        people: &[],
    };
    let (postmortem, markdown, html) = render_both(&input, at("2026-05-01T12:45:00Z"));
    assert_eq!(postmortem.impact.duration, SignedDuration::from_mins(45));
    match &postmortem.impact.error_budget {
        build::ErrorBudget::Unknown { reason } => assert!(reason.contains("web-latency"), "{reason}"),
        other => panic!("budget should be unknown: {other:?}"),
    }
    assert!(!html.contains("<script>") && !html.contains("<img"), "{html}");
    assert!(!markdown.contains("<script>") && !markdown.contains("<img"), "{markdown}");
    insta::assert_snapshot!("hostile_text_markdown", markdown);
    insta::assert_snapshot!("hostile_text_html", html);
}

#[test]
fn durations_read_in_two_units() {
    for (seconds, expected) in [(5, "5s"), (130, "2m 10s"), (3_725, "1h 2m"), (183_600, "2d 3h")] {
        assert_eq!(build::format_duration(SignedDuration::from_secs(seconds)), expected);
    }
}
