//! Learning from an incident through the real binary: a deploy, an alert that opens an
//! incident, acknowledgement, a note, action items, resolution; then `staunch postmortem`,
//! `staunch incident export-case`, `staunch cases check` (passing, then failing once the
//! configuration routes or groups the alert differently) and `staunch report`.

mod support;

use serde_json::{Value, json};
use std::process::Command;
use std::time::Duration;
use support::receiver::Receiver;
use support::{App, EVENTS_KEY, WEBHOOK_SECRET, config, staunch_binary};

const WAIT: Duration = Duration::from_secs(15);

fn staunch(app: &App, args: &[&str]) -> (bool, String, String) {
    let output = Command::new(staunch_binary())
        .args(args)
        .env("STAUNCH_URL", &app.base_url)
        .current_dir(&app.dir)
        .output()
        .expect("run staunch");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).to_string(),
        String::from_utf8_lossy(&output.stderr).to_string(),
    )
}

async fn patch(app: &App, path: &str, body: Value) -> (u16, Value) {
    let response = app.http.patch(app.url(path)).bearer_auth(&app.token).json(&body).send().await.expect("patch");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn postmortem_case_and_report_of_a_real_incident() {
    let receiver = Receiver::start(WEBHOOK_SECRET).await;
    let extra = "  - id: payments\n    escalation_policy: default\n";
    let app = App::spawn(&config(&receiver.url, "1h", "", extra)).await;

    // A deploy of checkout, then an alert on it.
    let change = json!({ "routing_key": EVENTS_KEY, "payload": { "summary": "deploy checkout 1.4", "source": "ci" } });
    let response = app.http.post(app.url("/v2/change/enqueue")).json(&change).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 202);
    tokio::time::sleep(Duration::from_millis(20)).await;
    let payload = json!({ "version": "4", "groupKey": "{}:{alertname=\"CheckoutDown\"}", "status": "firing", "receiver": "staunch",
        "groupLabels": { "alertname": "CheckoutDown" }, "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://am",
        "alerts": [{ "status": "firing", "labels": { "alertname": "CheckoutDown", "team": "payments" },
            "annotations": { "summary": "checkout answers 503" }, "startsAt": "2026-11-22T04:18:18Z",
            "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "", "fingerprint": "fp-1" }] });
    app.post_alertmanager(&payload).await;
    receiver.wait_for_pages("/alice", 1, WAIT).await;

    let (ok, _, stderr) = staunch(&app, &["ack", "1"]);
    assert!(ok, "{stderr}");
    let (ok, _, stderr) =
        staunch(&app, &["note", "1", "Restarted the pods; errors stopped. Bob forgot to pin the provider version."]);
    assert!(ok, "{stderr}");

    // Action items: added, then changed; each change is on the timeline with its actor.
    let (status, added) = app
        .api_post(
            "/api/v1/incidents/1/action-items",
            json!({ "text": "Pin provider versions in CI", "owner": "alice", "due": "2026-12-01" }),
        )
        .await;
    assert_eq!(status, 201, "{added}");
    let item_id = added["action_item"]["id"].as_i64().unwrap();
    let (status, body) = app.api_post("/api/v1/incidents/1/action-items", json!({ "text": "x", "owner": "mallory" })).await;
    assert_eq!((status, body["field"].as_str()), (422, Some("owner")), "{body}");
    let (status, body) = app.api_post("/api/v1/incidents/1/action-items", json!({ "text": "x", "due": "tomorrow" })).await;
    assert_eq!((status, body["field"].as_str()), (422, Some("due")), "{body}");
    let (status, body) =
        patch(&app, &format!("/api/v1/action-items/{item_id}"), json!({ "status": "done", "owner": null })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["action_item"]["status"].as_str(), &body["action_item"]["owner"]), (Some("done"), &Value::Null));
    let (status, body) = patch(&app, &format!("/api/v1/action-items/{item_id}"), json!({ "status": "closed" })).await;
    assert_eq!((status, body["field"].as_str()), (422, Some("status")), "{body}");
    let (status, _) = patch(&app, "/api/v1/action-items/999", json!({ "status": "done" })).await;
    assert_eq!(status, 404);
    let listed = app.api_get("/api/v1/incidents/1/action-items").await;
    assert_eq!(listed["action_items"].as_array().unwrap().len(), 1);
    let timeline = app.api_get("/api/v1/incidents/1/timeline").await;
    let item_entries: Vec<(&str, &str)> = timeline["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| entry["kind"].as_str().unwrap().starts_with("action_item."))
        .map(|entry| (entry["kind"].as_str().unwrap(), entry["actor"]["id"].as_str().unwrap()))
        .collect();
    assert_eq!(item_entries, vec![("action_item.added", "admin"), ("action_item.updated", "admin")]);

    // An open incident is not a regression case yet.
    let (ok, _, stderr) = staunch(&app, &["incident", "export-case", "1"]);
    assert!(!ok && stderr.contains("only a resolved incident becomes a regression case"), "{stderr}");
    let (ok, _, stderr) = staunch(&app, &["resolve", "1"]);
    assert!(ok, "{stderr}");

    let (ok, markdown, stderr) = staunch(&app, &["postmortem", "1"]);
    assert!(ok, "{stderr}");
    println!("{markdown}");
    for expected in [
        "# Postmortem: incident #1 — checkout answers 503",
        "| Error budget consumed | unknown: the incident did not come from an SLO",
        "deploy checkout 1.4 \\[ci\\]",
        "Alert CheckoutDown fired (1×, sev",
        "| token admin | acknowledged |",
        "Pin provider versions in CI | unassigned | 2026-12-01 | done |",
        "\"Bob forgot to pin the provider version.\" — makes a person the cause of the failure",
        "The last note before it",
    ] {
        assert!(markdown.contains(expected), "missing {expected:?} in\n{markdown}");
    }
    assert!(!markdown.contains("\"Restarted the pods; errors stopped.\" —"), "{markdown}");
    let (ok, html, _) = staunch(&app, &["postmortem", "1", "--html"]);
    assert!(ok && html.starts_with("<!doctype html>") && html.contains("<h2>Action items</h2>"), "{html}");
    let response =
        app.http.get(app.url("/api/v1/incidents/1/postmortem?format=pdf")).bearer_auth(&app.token).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 400);

    // The regression case passes against today's configuration...
    std::fs::create_dir_all(app.dir.join("cases")).unwrap();
    let (ok, _, stderr) = staunch(&app, &["incident", "export-case", "1", "--out", "cases/incident-1.json"]);
    assert!(ok, "{stderr}");
    let case: Value = serde_json::from_str(&std::fs::read_to_string(app.dir.join("cases/incident-1.json")).unwrap()).unwrap();
    assert_eq!((case["version"].as_u64(), case["source_service"].as_str()), (Some(1), Some("checkout")));
    assert_eq!(case["signals"][0]["labels"]["team"], "payments");
    assert_eq!(case["expected"]["group_key"], "{alertname=\"CheckoutDown\"}");
    let (ok, stdout, stderr) = staunch(&app, &["cases", "check", "cases"]);
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.contains("pass  incident-1.json") && stdout.contains("1 case(s): 1 passed, 0 failed"), "{stdout}");

    // ...and fails, saying why, once the alert would route elsewhere or group differently.
    let original = std::fs::read_to_string(app.dir.join("staunch.yaml")).unwrap();
    let rerouted = original.replace(
        "    group_by: [alertname]\n",
        "    group_by: [alertname]\n    routes:\n      - matchers: ['team=\"payments\"']\n        service: payments\n",
    );
    assert_ne!(rerouted, original);
    std::fs::write(app.dir.join("changed.yaml"), &rerouted).unwrap();
    let (ok, stdout, stderr) = staunch(&app, &["cases", "check", "cases", "--config", "changed.yaml"]);
    assert!(!ok, "{stdout}");
    assert!(
        stdout.contains(
            "FAIL  incident-1.json: alert \"CheckoutDown\" arriving at checkout now routes to payments instead of checkout"
        ),
        "{stdout}"
    );
    assert!(stderr.contains("1 regression case(s) would no longer be recognised"), "{stderr}");
    std::fs::write(app.dir.join("regrouped.yaml"), original.replace("group_by: [alertname]", "group_by: [team]")).unwrap();
    let (ok, stdout, _) = staunch(&app, &["cases", "check", "cases", "--config", "regrouped.yaml"]);
    assert!(!ok && stdout.contains("grouping changed"), "{stdout}");

    // The report: one incident, acknowledged and resolved; one deploy followed by it.
    let (ok, stdout, stderr) = staunch(&app, &["report", "--json"]);
    assert!(ok, "{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let report = &report["report"];
    assert_eq!(report["incidents"], 1);
    assert_eq!(
        (report["time_to_acknowledge"]["count"].as_u64(), report["time_to_resolve"]["count"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(report["incidents_per_service"]["checkout"], 1);
    assert_eq!((report["dora"]["deploys"].as_u64(), report["dora"]["change_failure_rate"].as_f64()), (Some(1), Some(1.0)));
    let (ok, stdout, _) = staunch(&app, &["report"]);
    assert!(ok && stdout.contains("change failure rate: 100% (1 of 1 deploys)"), "{stdout}");
    let (ok, _, stderr) = staunch(&app, &["report", "--since", "yesterday"]);
    assert!(!ok && stderr.contains("since"), "{stderr}");
}
