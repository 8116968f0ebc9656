//! One test per signal, each a small table of cases: the ranking and confidences they give.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};

use super::*;
use crate::catalog::{CatalogEntity, DependencyGraph, EntityKind, EntityRef};

fn at(minutes: i64) -> Timestamp {
    Timestamp::from_second(1_790_000_000 + minutes * 60).unwrap()
}

fn graph(edges: &[(&str, &str)]) -> DependencyGraph {
    let entities: Vec<CatalogEntity> = edges
        .iter()
        .map(|(from, to)| CatalogEntity {
            kind: EntityKind::Component,
            namespace: "default".into(),
            name: from.to_string(),
            description: None,
            tags: vec![],
            owner: None,
            system: None,
            entity_type: None,
            depends_on: vec![EntityRef::parse(&format!("component:{to}"), None).unwrap()],
        })
        .collect();
    DependencyGraph::from_entities(&entities)
}

fn change(id: i64, service: &str, minute: i64, summary: &str) -> ChangeCandidate {
    ChangeCandidate {
        id,
        service_id: service.into(),
        at: at(minute),
        summary: summary.into(),
        source: None,
        details: serde_json::json!({}),
    }
}

fn alert(service: &str, minute: i64, summary: &str) -> AlertContext {
    AlertContext { service_id: service.into(), summary: summary.into(), labels: BTreeMap::new(), at: at(minute) }
}

struct Case<'a> {
    incident_service: &'a str,
    title: &'a str,
    onset: i64,
    as_of: i64,
    alerts: Vec<AlertContext>,
    notes: Vec<NoteContext>,
    changes: Vec<ChangeCandidate>,
    edges: &'a [(&'a str, &'a str)],
    similar: Vec<PastIncident>,
}

impl Default for Case<'_> {
    fn default() -> Self {
        Case {
            incident_service: "frontend",
            title: "Frontend latency high",
            onset: 0,
            as_of: 5,
            alerts: vec![alert("frontend", 0, "Frontend p99 latency above 2s")],
            notes: vec![],
            changes: vec![],
            edges: &[],
            similar: vec![],
        }
    }
}

fn run(case: &Case<'_>) -> Investigation {
    run_with(case, None)
}

fn run_with(case: &Case<'_>, telemetry: Option<&staunch_investigate::Investigation>) -> Investigation {
    let incident =
        IncidentContext { id: 100, title: case.title.into(), service_id: case.incident_service.into(), onset: at(case.onset) };
    let graph = graph(case.edges);
    let input = InvestigationInput {
        incident: &incident,
        alerts: &case.alerts,
        notes: &case.notes,
        changes: &case.changes,
        graph: &graph,
        similar: &case.similar,
        telemetry,
        as_of: at(case.as_of),
    };
    investigate(&input, &Settings::default())
}

/// `kind title confidence` per hypothesis of one kind, best first.
fn ranking(investigation: &Investigation, kind: HypothesisKind) -> Vec<String> {
    investigation
        .hypotheses
        .iter()
        .filter(|hypothesis| hypothesis.kind == kind)
        .map(|hypothesis| format!("{} {:.2}", hypothesis.title, hypothesis.confidence))
        .collect()
}

fn change_ids(investigation: &Investigation) -> Vec<i64> {
    investigation.hypotheses.iter().filter_map(|hypothesis| hypothesis.change_id).collect()
}

#[test]
fn closeness_in_time_ranks_changes() {
    let case = Case {
        changes: vec![
            change(1, "frontend", -240, "bump frontend to v41"),
            change(2, "frontend", -5, "bump frontend to v42"),
            change(3, "frontend", -45, "tune frontend cache"),
        ],
        ..Case::default()
    };
    let investigation = run(&case);
    assert_eq!(change_ids(&investigation), [2, 3, 1]);
    let top = &investigation.hypotheses[0];
    assert!(top.evidence_for.contains(&"landed 5m before the onset".to_string()), "{top:?}");
    let oldest = investigation.hypotheses.iter().find(|hypothesis| hypothesis.change_id == Some(1)).unwrap();
    assert!(oldest.evidence_against.contains(&"landed 4h before the onset: long before the trouble started".to_string()));
}

#[test]
fn changes_after_the_onset_or_as_of_are_never_seen() {
    // The onset is at 0 and the investigation runs as of 5: a change at 1 (after the onset)
    // and one at 10 (after as_of, planted to leak) must not appear, however well they match.
    let case = Case {
        changes: vec![
            change(1, "frontend", 1, "frontend latency regression"),
            change(2, "frontend", 10, "frontend latency regression"),
            change(3, "frontend", -20, "unrelated copy edit"),
        ],
        ..Case::default()
    };
    let investigation = run(&case);
    assert_eq!(change_ids(&investigation), [3]);
    assert_eq!(investigation.considered.changes, 1);
    // An onset the caller puts after as_of is cut to as_of: change 1 (before as_of) may count
    // then, change 2 (after as_of) still never does.
    let late_onset = Case { onset: 30, as_of: 5, ..case };
    assert_eq!(change_ids(&run(&late_onset)), [1, 3]);
}

#[test]
fn catalog_distance_ranks_changes() {
    let case = Case {
        edges: &[("frontend", "checkout"), ("checkout", "payments"), ("ads", "frontend")],
        changes: vec![
            change(1, "payments", -10, "payments release"),
            change(2, "checkout", -10, "checkout release"),
            change(3, "frontend", -10, "frontend release"),
            change(4, "ads", -10, "ads release"),
            change(5, "mail", -10, "mail release"),
        ],
        ..Case::default()
    };
    let investigation = run(&case);
    assert_eq!(change_ids(&investigation), [3, 2, 1, 4, 5], "same > direct dependency > two hops > dependent > unrelated");
    let evidence: Vec<String> = investigation.hypotheses.iter().flat_map(|h| h.evidence_for.clone()).collect();
    assert!(evidence.contains(&"frontend depends on checkout directly (1 hop in the catalog)".to_string()));
    assert!(evidence.contains(&"frontend depends on payments through 2 hops in the catalog".to_string()));
    let mail = investigation.hypotheses.iter().find(|h| h.change_id == Some(5)).unwrap();
    assert!(mail.evidence_against.contains(&"mail is not connected to frontend in the catalog".to_string()));
}

#[test]
fn shared_words_rank_changes() {
    let mut with_files = change(2, "frontend", -10, "merged #7: Tune connection pool");
    with_files.details = serde_json::json!({ "files": ["frontend/latency_budget.go"], "labels": ["p99"] });
    let case = Case {
        alerts: vec![alert("frontend", 0, "Frontend p99 latency above budget")],
        changes: vec![change(1, "frontend", -10, "merged #6: Fix typo in footer"), with_files],
        ..Case::default()
    };
    let investigation = run(&case);
    assert_eq!(change_ids(&investigation), [2, 1]);
    let best = investigation.hypotheses.iter().find(|h| h.change_id == Some(2)).unwrap();
    assert!(
        best.evidence_for.contains(&"shares words with the alerts and notes: budget, frontend, latency, p99".to_string()),
        "{best:?}"
    );
}

#[test]
fn notes_count_as_incident_text_until_as_of() {
    let case = Case {
        notes: vec![
            NoteContext { at: at(2), text: "looks like the redis eviction policy".into() },
            NoteContext { at: at(9), text: "tls certificate expired".into() },
        ],
        changes: vec![
            change(1, "frontend", -10, "switch redis eviction policy"),
            change(2, "frontend", -10, "rotate tls certificate"),
        ],
        ..Case::default()
    };
    let investigation = run(&case);
    assert_eq!(change_ids(&investigation), [1, 2], "the note written after as_of does not help change 2");
}

#[test]
fn past_incidents_caused_by_similar_changes_boost_a_change() {
    let past = PastIncident {
        id: 7,
        title: "Checkout errors".into(),
        service_id: "checkout".into(),
        opened_at: at(-10_000),
        text: String::new(),
        resolved: true,
        caused_by: Some(PastChange { service_id: "payments".into(), summary: "payments client retry policy".into() }),
        mitigation_runbook: None,
    };
    let case = Case {
        edges: &[("frontend", "payments"), ("frontend", "search")],
        changes: vec![change(1, "search", -10, "search index rebuild"), change(2, "payments", -10, "payments client timeout")],
        similar: vec![past],
        ..Case::default()
    };
    let investigation = run(&case);
    assert_eq!(change_ids(&investigation), [2, 1]);
    let boosted = investigation.hypotheses.iter().find(|h| h.change_id == Some(2)).unwrap();
    assert!(boosted.evidence_for.iter().any(|text| text.starts_with("similar incident #7 followed a change of payments")));
}

#[test]
fn the_upstream_root_outranks_its_victims() {
    let case = Case {
        edges: &[("frontend", "checkout"), ("checkout", "payments"), ("frontend", "payments")],
        alerts: vec![
            alert("frontend", 0, "frontend errors"),
            alert("frontend", 0, "frontend latency"),
            alert("checkout", 0, "checkout errors"),
            alert("payments", 0, "payments timeouts"),
        ],
        ..Case::default()
    };
    let investigation = run(&case);
    let services = ranking(&investigation, HypothesisKind::Service);
    assert_eq!(services[0], "service payments 0.32");
    assert!(services[1].starts_with("service checkout") && services[2].starts_with("service frontend"), "{services:?}");
    let root = &investigation.hypotheses.iter().find(|h| h.title == "service payments").unwrap();
    assert!(root.evidence_for.contains(&"alerting services that depend on it: frontend, checkout".to_string()));
    let victim = &investigation.hypotheses.iter().find(|h| h.title == "service frontend").unwrap();
    assert!(victim.evidence_against.contains(&"it depends on alerting checkout, payments, which may be the root".to_string()));
}

#[test]
fn weak_evidence_abstains() {
    let cases = [
        ("nothing at all", Case { alerts: vec![], ..Case::default() }),
        ("one service alerting alone", Case::default()),
        ("an unrelated change hours ago", Case { changes: vec![change(1, "mail", -300, "mail template")], ..Case::default() }),
        (
            "two equally plausible changes",
            Case {
                changes: vec![change(1, "frontend", -10, "release a"), change(2, "frontend", -10, "release b")],
                ..Case::default()
            },
        ),
    ];
    for (name, case) in cases {
        let investigation = run(&case);
        assert!(investigation.abstained, "{name}: {:#?}", investigation.hypotheses);
        assert!(investigation.summary.starts_with("I don't know yet"), "{name}: {}", investigation.summary);
        let best = investigation.hypotheses.first().map(|h| h.confidence).unwrap_or(0.0);
        assert!(best < 0.3, "{name}: {best}");
    }
}

#[test]
fn strong_evidence_leads_but_never_claims_certainty() {
    let mut release = change(1, "checkout", -3, "checkout: new payment latency budget");
    release.details = serde_json::json!({ "files": ["checkout/latency.go"] });
    let past = PastIncident {
        id: 7,
        title: "Frontend latency high".into(),
        service_id: "frontend".into(),
        opened_at: at(-10_000),
        text: "checkout latency".into(),
        resolved: true,
        caused_by: Some(PastChange { service_id: "checkout".into(), summary: "checkout latency budget".into() }),
        mitigation_runbook: Some("rollback-checkout".into()),
    };
    let case = Case {
        edges: &[("frontend", "checkout")],
        alerts: vec![alert("frontend", 0, "Frontend latency above budget"), alert("checkout", 0, "checkout payment latency")],
        changes: vec![release],
        similar: vec![past],
        ..Case::default()
    };
    let investigation = run(&case);
    assert!(!investigation.abstained);
    let top = &investigation.hypotheses[0];
    assert_eq!(top.change_id, Some(1));
    assert!(top.confidence > 0.5 && top.confidence <= MAX_CONFIDENCE, "{top:?}");
    assert_eq!(investigation.summary, format!("Most likely: {} (confidence {:.2})", top.title, top.confidence));
    let similar = investigation.hypotheses.iter().find(|h| h.kind == HypothesisKind::SimilarIncident).unwrap();
    assert_eq!(similar.suggested_runbook.as_deref(), Some("rollback-checkout"));
}

#[test]
fn similar_incidents_rank_by_words_and_service_and_never_from_the_future() {
    let past = |id: i64, title: &str, service: &str, minute: i64, runbook: Option<&str>| PastIncident {
        id,
        title: title.into(),
        service_id: service.into(),
        opened_at: at(minute),
        text: String::new(),
        resolved: true,
        caused_by: None,
        mitigation_runbook: runbook.map(String::from),
    };
    let case = Case {
        similar: vec![
            past(1, "Frontend latency high", "frontend", -5000, Some("scale-frontend")),
            past(2, "Search latency high", "search", -5000, None),
            past(3, "Frontend latency high", "frontend", 10, Some("leak")),
        ],
        ..Case::default()
    };
    let investigation = run(&case);
    let similar = ranking(&investigation, HypothesisKind::SimilarIncident);
    assert_eq!(similar.len(), 2, "incident 3 opened after as_of: {similar:?}");
    assert!(similar[0].starts_with("like incident #1"), "{similar:?}");
    let first = investigation.hypotheses.iter().find(|h| h.incident_id == Some(1)).unwrap();
    assert_eq!(first.suggested_runbook.as_deref(), Some("scale-frontend"));
    assert!(first.evidence_for.contains(&"runbook scale-frontend worked there".to_string()));
}

#[test]
fn telemetry_joins_the_service_ranking() {
    let telemetry = staunch_investigate::Investigation {
        hypotheses: vec![staunch_investigate::Hypothesis {
            service: "cache".into(),
            score: 4.0,
            confidence: 0.8,
            evidence_for: vec![],
            evidence_against: vec![],
        }],
        abstained: false,
        modalities: vec![],
    };
    let case = Case { edges: &[("frontend", "cache")], ..Case::default() };
    let investigation = run_with(&case, Some(&telemetry));
    assert!(investigation.considered.telemetry);
    let services = ranking(&investigation, HypothesisKind::Service);
    assert!(services[0].starts_with("service cache"), "{services:?}");
}

#[test]
fn gaps_read_as_people_say_them() {
    let cases = [(40, "40s"), (60 * 12, "12m"), (3600 * 2, "2h"), (3600 * 2 + 300, "2h 5m")];
    for (seconds, expected) in cases {
        assert_eq!(human_gap(SignedDuration::from_secs(seconds)), expected);
    }
}
