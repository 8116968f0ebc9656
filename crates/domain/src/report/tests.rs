//! Reports over small constructed histories whose figures can be worked out by hand.

use super::*;
use crate::incident::IncidentState;
use crate::severity::Severity;
use serde_json::json;

fn at(text: &str) -> Timestamp {
    text.parse().expect("timestamp")
}

/// (id, service, severity, created, acknowledged after s, resolved after s)
fn incident(id: i64, service: &str, severity: Severity, created: &str, ack: Option<i64>, resolve: Option<i64>) -> IncidentFacts {
    let created_at = at(created);
    IncidentFacts {
        id,
        title: format!("incident {id}"),
        service_id: service.into(),
        severity,
        state: if resolve.is_some() { IncidentState::Resolved } else { IncidentState::Triggered },
        assignee: None,
        created_at,
        acknowledged_at: ack.map(|seconds| created_at + SignedDuration::from_secs(seconds)),
        mitigated_at: None,
        resolved_at: resolve.map(|seconds| created_at + SignedDuration::from_secs(seconds)),
    }
}

fn change(service: &str, source: Option<&str>, at_text: &str, received: &str, details: serde_json::Value) -> ChangeFact {
    ChangeFact {
        service_id: service.into(),
        at: at(at_text),
        received_at: at(received),
        summary: "change".into(),
        source: source.map(str::to_string),
        details,
    }
}

#[test]
fn medians_and_means() {
    let cases: Vec<(Vec<i64>, Option<f64>, Option<f64>)> = vec![
        (vec![], None, None),
        (vec![60], Some(60.0), Some(60.0)),
        (vec![60, 120, 600], Some(120.0), Some(260.0)),
        (vec![600, 60, 120, 300], Some(210.0), Some(270.0)),
    ];
    for (seconds, median, mean) in cases {
        let durations: Vec<SignedDuration> = seconds.iter().map(|second| SignedDuration::from_secs(*second)).collect();
        let stat = Stat::of(&durations);
        assert_eq!((stat.count, stat.median_seconds, stat.mean_seconds), (seconds.len(), median, mean), "{seconds:?}");
    }
}

#[test]
fn deploys_are_read_from_change_events() {
    let changes = vec![
        // checkout deploys through GitHub deployments: its pushes are commits, not deploys.
        change(
            "checkout",
            Some("github:acme/checkout"),
            "2026-04-01T09:00:00Z",
            "2026-04-01T09:01:00Z",
            json!({ "kind": "push", "after": "abc" }),
        ),
        change(
            "checkout",
            Some("github:acme/checkout"),
            "2026-04-01T09:30:00Z",
            "2026-04-01T09:30:01Z",
            json!({ "kind": "deployment", "state": "success", "sha": "abc" }),
        ),
        change(
            "checkout",
            Some("github:acme/checkout"),
            "2026-04-01T10:00:00Z",
            "2026-04-01T10:00:01Z",
            json!({ "kind": "deployment", "state": "failure", "sha": "def" }),
        ),
        change(
            "checkout",
            Some("github:acme/checkout"),
            "2026-04-01T11:00:00Z",
            "2026-04-01T11:00:01Z",
            json!({ "kind": "deployment", "state": "success", "sha": "unknown" }),
        ),
        // search deploys on push: commit at 12:00, pushed at 12:10.
        change(
            "search",
            Some("github:acme/search"),
            "2026-04-01T12:00:00Z",
            "2026-04-01T12:10:00Z",
            json!({ "kind": "push", "after": "123" }),
        ),
        change(
            "search",
            Some("github:acme/search"),
            "2026-04-01T12:30:00Z",
            "2026-04-01T12:30:00Z",
            json!({ "kind": "pull_request" }),
        ),
        // A PagerDuty change event.
        change("billing", Some("deploy-bot"), "2026-04-02T08:00:00Z", "2026-04-02T08:00:00Z", json!({ "version": "7" })),
    ];
    let found: Vec<(String, Timestamp, Option<i64>)> = deploys(&changes)
        .into_iter()
        .map(|deploy| (deploy.service_id, deploy.at, deploy.lead_time.map(|lead| lead.as_secs())))
        .collect();
    assert_eq!(
        found,
        vec![
            ("checkout".to_string(), at("2026-04-01T09:30:00Z"), Some(1800)),
            ("checkout".to_string(), at("2026-04-01T11:00:00Z"), None),
            ("search".to_string(), at("2026-04-01T12:10:00Z"), Some(600)),
            ("billing".to_string(), at("2026-04-02T08:00:00Z"), None),
        ]
    );
}

#[test]
fn a_week_of_incidents_and_deploys() {
    let incidents = vec![
        // 20 min after the 09:30 checkout deploy: a change failure, restored in 40 min.
        incident(1, "checkout", Severity::Sev1, "2026-04-01T09:50:00Z", Some(120), Some(2400)),
        // 3 h after the 11:00 deploy: outside the 1 h window.
        incident(2, "checkout", Severity::Sev2, "2026-04-01T14:00:00Z", Some(600), Some(3600)),
        // Search: 5 min after its push deploy; never acknowledged, still open.
        incident(3, "search", Severity::Sev2, "2026-04-01T12:15:00Z", None, None),
        // Before the report's range: ignored.
        incident(4, "checkout", Severity::Sev1, "2026-03-20T00:00:00Z", Some(1), Some(2)),
    ];
    let changes = vec![
        change(
            "checkout",
            Some("github:acme/checkout"),
            "2026-04-01T09:00:00Z",
            "2026-04-01T09:01:00Z",
            json!({ "kind": "push", "after": "abc" }),
        ),
        change(
            "checkout",
            Some("github:acme/checkout"),
            "2026-04-01T09:30:00Z",
            "2026-04-01T09:30:01Z",
            json!({ "kind": "deployment", "state": "success", "sha": "abc" }),
        ),
        change(
            "checkout",
            Some("github:acme/checkout"),
            "2026-04-01T11:00:00Z",
            "2026-04-01T11:00:01Z",
            json!({ "kind": "deployment", "state": "success", "sha": "zzz" }),
        ),
        change(
            "search",
            Some("github:acme/search"),
            "2026-04-01T12:00:00Z",
            "2026-04-01T12:10:00Z",
            json!({ "kind": "push", "after": "123" }),
        ),
        change("billing", None, "2026-04-03T08:00:00Z", "2026-04-03T08:00:00Z", json!({})),
    ];
    let report =
        compute(&incidents, &changes, at("2026-04-01T00:00:00Z"), at("2026-04-08T00:00:00Z"), SignedDuration::from_hours(1));
    assert_eq!(report.incidents, 3);
    assert_eq!((report.time_to_acknowledge.count, report.time_to_acknowledge.median_seconds), (2, Some(360.0)));
    assert_eq!((report.time_to_resolve.count, report.time_to_resolve.mean_seconds), (2, Some(3000.0)));
    assert_eq!(report.incidents_per_service, BTreeMap::from([("checkout".to_string(), 2), ("search".to_string(), 1)]));
    assert_eq!(report.incidents_per_severity, BTreeMap::from([("sev1".to_string(), 1), ("sev2".to_string(), 2)]));
    let dora = &report.dora;
    assert_eq!(dora.deploys, 4);
    assert!((dora.deploys_per_day - 4.0 / 7.0).abs() < 1e-12);
    assert_eq!((dora.lead_time.count, dora.lead_time.median_seconds), (2, Some(1200.0)));
    assert_eq!(dora.failed_deploys, 2);
    assert_eq!(dora.change_failure_rate, Some(0.5));
    // Incident 1 restored in 2400 s; incident 3 is still open and has no restore time.
    assert_eq!((dora.time_to_restore.count, dora.time_to_restore.median_seconds), (1, Some(2400.0)));
}

#[test]
fn an_empty_range_has_no_figures_rather_than_zeros() {
    let report = compute(&[], &[], at("2026-04-01T00:00:00Z"), at("2026-04-02T00:00:00Z"), SignedDuration::from_hours(1));
    assert_eq!(report.incidents, 0);
    assert_eq!(report.time_to_resolve.median_seconds, None);
    assert_eq!(report.dora.change_failure_rate, None);
}
