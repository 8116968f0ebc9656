//! The link window and the pipeline count over small histories worked out by hand; the
//! incident's opening time is the injected clock.

use super::link::deploy_to_link;
use super::pipeline::{PipelineAlert, PipelineResult, decide, result_of};
use crate::postmortem::ChangeFact;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

fn at(text: &str) -> Timestamp {
    text.parse().expect("timestamp")
}

fn change(service: &str, source: Option<&str>, when: &str, details: Value) -> ChangeFact {
    ChangeFact {
        service_id: service.into(),
        at: at(when),
        received_at: at(when),
        summary: format!("change at {when}"),
        source: source.map(str::to_string),
        details,
    }
}

fn github_deployment(service: &str, when: &str, state: &str) -> ChangeFact {
    change(service, Some("github:acme/chat"), when, json!({ "kind": "deployment", "state": state, "sha": "abc" }))
}

fn github_push(service: &str, when: &str) -> ChangeFact {
    change(service, Some("github:acme/chat"), when, json!({ "kind": "push", "after": "abc" }))
}

fn pagerduty(service: &str, when: &str, details: Value) -> ChangeFact {
    change(service, Some("ci"), when, details)
}

#[test]
fn an_incident_links_to_the_newest_deploy_of_its_service_inside_the_window() {
    let window = SignedDuration::from_mins(30);
    let chat_history = [
        github_deployment("chat", "2026-11-22T10:00:00Z", "success"),   // 0
        github_deployment("chat", "2026-11-22T10:20:00Z", "failure"),   // 1: failed, deployed nothing
        github_push("chat", "2026-11-22T10:25:00Z"),                    // 2: chat deploys through deployments
        github_deployment("search", "2026-11-22T10:28:00Z", "success"), // 3: another service
        github_deployment("chat", "2026-11-22T10:10:00Z", "success"),   // 4: newer than 0, listed later
    ];
    let push_only = [github_push("docs", "2026-11-22T10:00:00Z")];
    let pagerduty_history = [
        pagerduty("api", "2026-11-22T10:00:00Z", json!({ "build_state": "passed", "revision": "r1" })), // 0
        pagerduty("api", "2026-11-22T10:05:00Z", json!({ "build_state": "failed" })),                   // 1
        pagerduty("api", "2026-11-22T10:06:00Z", json!({})),                                            // 2
    ];
    let pagerduty_failed_last = pagerduty_history[..2].to_vec();
    // (history, service, incident opened at (the clock), expected index)
    let cases: Vec<(&[ChangeFact], &str, &str, Option<usize>)> = vec![
        (&chat_history[..], "chat", "2026-11-22T10:30:00Z", Some(4)),
        (&chat_history[..], "chat", "2026-11-22T10:40:00Z", Some(4)), // exactly 30 minutes after: inside
        (&chat_history[..], "chat", "2026-11-22T10:40:00.000001Z", None), // just past the window
        (&chat_history[..], "chat", "2026-11-22T10:05:00Z", Some(0)), // before the second deploy
        (&chat_history[..], "chat", "2026-11-22T10:00:00Z", None),    // at the deploy itself: not after it
        (&chat_history[..], "chat", "2026-11-22T09:59:00Z", None),    // before any deploy
        (&chat_history[..], "search", "2026-11-22T10:29:00Z", Some(3)),
        (&chat_history[..], "billing", "2026-11-22T10:30:00Z", None),
        (&push_only[..], "docs", "2026-11-22T10:15:00Z", Some(0)), // push-to-deploy
        (&pagerduty_history[..], "api", "2026-11-22T10:07:00Z", Some(2)), // no result given: a deploy
        (&pagerduty_failed_last[..], "api", "2026-11-22T10:07:00Z", Some(0)),
    ];
    for (history, service, opened, expected) in cases {
        assert_eq!(deploy_to_link(history, service, at(opened), window), expected, "{service} opened at {opened}");
    }
    assert_eq!(deploy_to_link(&chat_history[..], "chat", at("2026-11-22T10:40:00Z"), SignedDuration::from_mins(5)), None);
}

#[test]
fn pipeline_results_are_read_from_what_senders_send() {
    let cases: Vec<(ChangeFact, Option<PipelineResult>)> = vec![
        (github_deployment("chat", "2026-11-22T10:00:00Z", "success"), Some(PipelineResult::Success)),
        (github_deployment("chat", "2026-11-22T10:00:00Z", "failure"), Some(PipelineResult::Failure)),
        (github_deployment("chat", "2026-11-22T10:00:00Z", "error"), Some(PipelineResult::Failure)),
        (github_deployment("chat", "2026-11-22T10:00:00Z", "in_progress"), None),
        (github_push("chat", "2026-11-22T10:00:00Z"), None),
        (pagerduty("api", "2026-11-22T10:00:00Z", json!({ "build_state": "passed" })), Some(PipelineResult::Success)),
        (pagerduty("api", "2026-11-22T10:00:00Z", json!({ "build_state": "Failed" })), Some(PipelineResult::Failure)),
        (pagerduty("api", "2026-11-22T10:00:00Z", json!({ "status": "error" })), Some(PipelineResult::Failure)),
        (pagerduty("api", "2026-11-22T10:00:00Z", json!({ "result": "succeeded" })), Some(PipelineResult::Success)),
        (pagerduty("api", "2026-11-22T10:00:00Z", json!({ "build_state": "canceled" })), None),
        (pagerduty("api", "2026-11-22T10:00:00Z", json!({ "build_state": 3 })), None),
        (pagerduty("api", "2026-11-22T10:00:00Z", json!("not an object")), None),
    ];
    for (change, expected) in cases {
        assert_eq!(result_of(&change), expected, "{}", change.details);
    }
}

#[test]
fn n_failures_in_a_row_trigger_and_a_success_resolves() {
    let ok = |minute: u32| github_deployment("chat", &format!("2026-11-22T10:{minute:02}:00Z"), "success");
    let failed = |minute: u32| github_deployment("chat", &format!("2026-11-22T10:{minute:02}:00Z"), "failure");
    let pending = |minute: u32| github_deployment("chat", &format!("2026-11-22T10:{minute:02}:00Z"), "pending");
    // (history oldest first, threshold, expected)
    let cases: Vec<(Vec<ChangeFact>, u32, PipelineAlert)> = vec![
        (vec![], 3, PipelineAlert::Nothing),
        (vec![failed(1), failed(2)], 3, PipelineAlert::Nothing),
        (vec![failed(1), failed(2), failed(3)], 3, PipelineAlert::Trigger { failures: 3 }),
        (vec![failed(1), failed(2), failed(3), failed(4)], 3, PipelineAlert::Trigger { failures: 4 }),
        (vec![failed(1), ok(2), failed(3), failed(4)], 3, PipelineAlert::Nothing),
        (vec![failed(1), pending(2), failed(3), pending(4), failed(5)], 3, PipelineAlert::Trigger { failures: 3 }),
        (vec![failed(1), failed(2), failed(3), pending(4)], 3, PipelineAlert::Nothing),
        (vec![failed(1), failed(2), failed(3), ok(4)], 3, PipelineAlert::Resolve),
        (vec![ok(1)], 3, PipelineAlert::Resolve),
        (vec![failed(1)], 1, PipelineAlert::Trigger { failures: 1 }),
        (vec![failed(1)], 0, PipelineAlert::Trigger { failures: 1 }),
        (vec![failed(1), github_push("chat", "2026-11-22T10:02:00Z")], 1, PipelineAlert::Nothing),
    ];
    for (history, threshold, expected) in cases {
        let states: Vec<&str> = history.iter().map(|change| change.details["state"].as_str().unwrap_or("-")).collect();
        assert_eq!(decide(&history, threshold), expected, "{states:?} with N = {threshold}");
    }
}
