//! Cases written from incidents and replayed against directories that still, or no longer,
//! route and group their alerts the same way.

use super::*;
use crate::directory::Service;
use crate::matcher::Matcher;
use crate::postmortem::{AlertFact, IncidentFacts, TimelineFact};
use crate::routing::{Route, RoutingTree};
use serde_json::json;

fn at(text: &str) -> Timestamp {
    text.parse().expect("timestamp")
}

fn service(id: &str, group_by: &[&str], routes: Option<Vec<(&str, &str)>>) -> Service {
    let routes = routes.map(|routes| {
        let children = routes
            .into_iter()
            .map(|(matcher, receiver)| Route {
                receiver: Some(receiver.to_string()),
                matchers: vec![Matcher::parse(matcher).expect("matcher")],
                continue_matching: false,
                group_by: None,
                routes: Vec::new(),
            })
            .collect();
        RoutingTree::new(Route {
            receiver: Some(id.to_string()),
            matchers: Vec::new(),
            continue_matching: false,
            group_by: None,
            routes: children,
        })
        .expect("tree")
    });
    Service {
        id: id.into(),
        name: id.into(),
        team_id: None,
        escalation_policy_id: None,
        group_by: group_by.iter().map(|name| name.to_string()).collect(),
        auto_resolve: true,
        routes,
        route_receivers: vec![id.to_string()],
    }
}

fn directory(services: Vec<Service>) -> Directory {
    let mut directory = Directory::default();
    for service in services {
        directory.services.insert(service.id.clone(), service);
    }
    directory
}

fn incident(state: IncidentState) -> IncidentFacts {
    IncidentFacts {
        id: 5,
        title: "Checkout errors".into(),
        service_id: "checkout".into(),
        severity: Severity::Sev1,
        state,
        assignee: None,
        created_at: at("2026-02-01T08:00:00Z"),
        acknowledged_at: Some(at("2026-02-01T08:01:00Z")),
        mitigated_at: None,
        resolved_at: Some(at("2026-02-01T08:20:00Z")),
    }
}

fn alerts() -> Vec<AlertFact> {
    let labels = |name: &str| -> Labels {
        [("alertname", name), ("team", "payments"), ("env", "prod")].iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    };
    vec![
        AlertFact {
            dedup_key: "b".into(),
            summary: "5xx ratio high".into(),
            severity: Severity::Sev1,
            labels: labels("CheckoutErrors"),
            annotations: Labels::new(),
            first_seen: at("2026-02-01T08:00:30Z"),
            starts_at: None,
            resolved_at: Some(at("2026-02-01T08:15:00Z")),
        },
        AlertFact {
            dedup_key: "a".into(),
            summary: "latency high".into(),
            severity: Severity::Sev2,
            labels: labels("CheckoutErrors"),
            annotations: Labels::new(),
            first_seen: at("2026-02-01T08:00:00Z"),
            starts_at: None,
            resolved_at: None,
        },
    ]
}

fn timeline() -> Vec<TimelineFact> {
    let entry = |time: &str, actor: &str, kind: &str, data: serde_json::Value| TimelineFact {
        at: at(time),
        actor: actor.into(),
        kind: kind.into(),
        data,
    };
    vec![
        entry("2026-02-01T08:00:00Z", "integration:edge/alertmanager", "incident.opened", json!({})),
        entry("2026-02-01T08:00:01Z", "system:staunch", "incident.triaged", json!({ "symptom": "checkout_errors" })),
        entry(
            "2026-02-01T08:03:00Z",
            "system:staunch",
            "runbook.step_succeeded",
            json!({ "runbook": "rollback", "run": 1, "step": 0, "step_name": "roll back", "kind": "http", "output": "HTTP 200" }),
        ),
        entry("2026-02-01T08:05:00Z", "system:staunch", "runbook.recovered", json!({ "runbook": "rollback", "run": 1 })),
    ]
}

fn exported() -> RegressionCase {
    from_incident(
        &incident(IncidentState::Resolved),
        "{alertname=\"CheckoutErrors\"}",
        &timeline(),
        &alerts(),
        at("2026-02-02T00:00:00Z"),
    )
    .expect("case")
}

fn current_directory() -> Directory {
    directory(vec![
        service("edge", &[], Some(vec![("team=\"payments\"", "checkout")])),
        service("checkout", &["alertname"], None),
    ])
}

#[test]
fn a_case_holds_signals_relative_to_the_start_symptom_and_mitigation() {
    let case = exported();
    assert_eq!(case.version, CASE_VERSION);
    assert_eq!(case.source_service, "edge");
    assert_eq!(case.source_format.as_deref(), Some("alertmanager"));
    let offsets: Vec<(i64, Option<i64>)> =
        case.signals.iter().map(|signal| (signal.offset_seconds, signal.resolved_offset_seconds)).collect();
    assert_eq!(offsets, vec![(0, None), (30, Some(900))]);
    assert_eq!(case.expected.symptom.as_deref(), Some("checkout_errors"));
    let mitigation = case.mitigation.clone().expect("mitigation");
    assert_eq!(
        (mitigation.runbook.as_str(), mitigation.steps, mitigation.reason.as_str()),
        ("rollback", vec!["roll back".to_string()], "recovered")
    );
    let text = serde_json::to_string_pretty(&case).expect("json");
    assert_eq!(parse_case(&text).expect("parse"), case);
}

#[test]
fn only_resolved_incidents_with_a_source_become_cases() {
    let error = from_incident(&incident(IncidentState::Acknowledged), "g", &timeline(), &alerts(), at("2026-02-02T00:00:00Z"));
    assert_eq!(error.unwrap_err().to_string(), "incident #5 is acknowledged; only a resolved incident becomes a regression case");
    let error = from_incident(&incident(IncidentState::Resolved), "g", &[], &alerts(), at("2026-02-02T00:00:00Z"));
    assert!(matches!(error, Err(CaseError::NoSource { id: 5 })));
}

struct Rules(&'static str, Vec<String>);

impl CaseClassifier for Rules {
    fn classify(&self, _service_id: &str, _signals: &[CaseSignal]) -> Classification {
        if self.0.is_empty() { Classification::Unrecognised } else { Classification::Symptom(self.0.to_string()) }
    }
    fn runbooks_for(&self, _service_id: &str, _symptom: Option<&str>, _signals: &[CaseSignal]) -> Option<Vec<String>> {
        Some(self.1.clone())
    }
}

#[test]
fn replays_pass_and_fail_with_the_reason() {
    let case = exported();
    let rollback = || vec!["rollback".to_string()];
    type Case = (&'static str, Directory, Box<dyn CaseClassifier>, Option<&'static str>);
    let cases: Vec<Case> = vec![
        ("same configuration, no triage", current_directory(), Box::new(NoTriage), None),
        ("same configuration, same triage", current_directory(), Box::new(Rules("checkout_errors", rollback())), None),
        (
            "route now sends the alerts elsewhere",
            directory(vec![
                service("edge", &[], Some(vec![("team=\"web\"", "checkout")])),
                service("checkout", &["alertname"], None),
            ]),
            Box::new(NoTriage),
            Some("alert \"CheckoutErrors\" arriving at edge now routes to edge instead of checkout"),
        ),
        (
            "source service removed",
            directory(vec![service("checkout", &["alertname"], None)]),
            Box::new(NoTriage),
            Some("service \"edge\", whose integration received the alerts, is no longer configured"),
        ),
        (
            "grouping changed",
            directory(vec![
                service("edge", &[], Some(vec![("team=\"payments\"", "checkout")])),
                service("checkout", &["env"], None),
            ]),
            Box::new(NoTriage),
            Some("grouping changed: the alerts now group under {env=\"prod\"} instead of {alertname=\"CheckoutErrors\"}"),
        ),
        (
            "symptom no longer recognised",
            current_directory(),
            Box::new(Rules("", rollback())),
            Some("symptom checkout_errors is no longer recognised"),
        ),
        (
            "symptom classified differently",
            current_directory(),
            Box::new(Rules("provider_outage", rollback())),
            Some("symptom is now classified as provider_outage instead of checkout_errors"),
        ),
        (
            "runbook no longer offered",
            current_directory(),
            Box::new(Rules("checkout_errors", vec![])),
            Some("runbook rollback that mitigated it is no longer offered (offered: none)"),
        ),
    ];
    for (name, directory, classifier, expected_failure) in cases {
        let verdict = check_case(&case, &directory, classifier.as_ref());
        match expected_failure {
            None => assert!(verdict.passed, "{name}: {verdict:?}"),
            Some(reason) => {
                assert!(!verdict.passed, "{name}: {verdict:?}");
                assert_eq!(verdict.failures, vec![reason.to_string()], "{name}");
            }
        }
    }
}

#[test]
fn bad_cases_name_the_field() {
    let mut value = serde_json::to_value(exported()).expect("json");
    value["signals"][0]["severity"] = json!("sev9");
    let error = parse_case(&value.to_string()).unwrap_err();
    assert!(error.starts_with("signals[0].severity:"), "{error}");
    let mut value = serde_json::to_value(exported()).expect("json");
    value["version"] = json!(2);
    let case = parse_case(&value.to_string()).expect("parses");
    assert!(check_case(&case, &current_directory(), &NoTriage).failures[0].contains("version 2 is not supported"));
}
