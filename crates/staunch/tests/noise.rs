//! Alert-noise triage end to end through the real binary: a history is built through the API
//! (a flappy alert that resolves untouched, again and again; a real one that a responder
//! acknowledges every time), the model retrains from the database, and then, on a service
//! with `noise: { action: ticket }`, a new alert of the flappy kind opens a ticket and pages
//! nobody while a new alert of the real kind pages.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::receiver::Receiver;
use support::{App, WEBHOOK_SECRET, config};

const WAIT: Duration = Duration::from_secs(30);
/// The model needs 50 of each outcome before it tickets anything; a few more for the folds.
const HISTORY_EACH: usize = 56;

fn noise_config(receiver_url: &str) -> String {
    let base = config(receiver_url, "1h", "", "settings:\n  noise_retrain: 200ms\n");
    let with_noise = base.replacen("    auto_resolve: true\n", "    auto_resolve: true\n    noise: { action: ticket }\n", 1);
    assert_ne!(base, with_noise);
    with_noise
}

/// Sends one Alertmanager alert (firing or resolved); returns the receipt.
async fn alert(app: &App, alertname: &str, instance: &str, firing: bool) -> Value {
    let status = if firing { "firing" } else { "resolved" };
    let ends_at = if firing { "0001-01-01T00:00:00Z" } else { "2026-11-22T05:00:00Z" };
    let alert = json!({"status": status, "labels": {"alertname": alertname, "instance": instance},
        "annotations": {"summary": format!("{alertname} on {instance}")},
        "startsAt": "2026-11-22T04:18:18Z", "endsAt": ends_at, "generatorURL": "", "fingerprint": format!("{alertname}-{instance}")});
    let payload = json!({"version": "4", "groupKey": format!("{{}}:{{alertname=\"{alertname}\"}}"), "truncatedAlerts": 0,
        "status": status, "receiver": "staunch", "groupLabels": {"alertname": alertname}, "commonLabels": {"alertname": alertname},
        "commonAnnotations": {}, "externalURL": "http://am", "alerts": [alert]});
    app.post_alertmanager(&payload).await
}

fn opened(receipt: &Value) -> i64 {
    receipt["receipt"]["incidents_opened"][0].as_i64().unwrap_or_else(|| panic!("no incident opened: {receipt}"))
}

#[tokio::test]
async fn likely_noise_opens_a_ticket_and_a_real_alert_still_pages() {
    let receiver = Receiver::start(WEBHOOK_SECRET).await;
    let app = App::spawn(&noise_config(&receiver.url)).await;

    // While it learns, the model scores but never tickets: the first flappy alert pages.
    let noise = app.api_get("/api/v1/noise").await;
    assert_eq!(noise["services"][0]["action"], "ticket", "{noise}");
    let first = opened(&alert(&app, "DiskFlap", "host-0", true).await);
    alert(&app, "DiskFlap", "host-0", false).await;
    receiver.wait_for_pages("/alice", 1, WAIT).await;

    for index in 1..HISTORY_EACH {
        let instance = format!("host-{index}");
        alert(&app, "DiskFlap", &instance, true).await;
        alert(&app, "DiskFlap", &instance, false).await;
    }
    for index in 0..HISTORY_EACH {
        let instance = format!("db-{index}");
        let incident = opened(&alert(&app, "ReplicationBroken", &instance, true).await);
        let (status, body) = app.api_post(&format!("/api/v1/incidents/{incident}/acknowledge"), json!({})).await;
        assert_eq!(status, 200, "{body}");
        alert(&app, "ReplicationBroken", &instance, false).await;
    }
    let first_incident = app.api_get(&format!("/api/v1/incidents/{first}")).await;
    assert!(first_incident["incident"]["noise_probability"].is_number(), "scored while learning: {first_incident}");
    assert!(first_incident["incident"]["escalation_policy_id"].is_string(), "paged while learning");

    let model = app
        .wait_for("the noise model to learn the history", WAIT, async || {
            let noise = app.api_get("/api/v1/noise").await;
            let model = noise["model"].clone();
            (model["state"] == "ready" && model["actionable"].as_u64() >= Some(HISTORY_EACH as u64)).then_some(model)
        })
        .await;
    assert!(model["noise"].as_u64().unwrap() >= 50, "{model}");

    let pages_before = receiver.pages_for("/alice").len();
    let ticket = opened(&alert(&app, "DiskFlap", "host-new", true).await);
    let incident = app.api_get(&format!("/api/v1/incidents/{ticket}")).await["incident"].clone();
    assert!(incident["group_key"].as_str().unwrap().starts_with("ticket:"), "{incident}");
    assert_eq!(incident["escalation_policy_id"], Value::Null, "{incident}");
    let probability = incident["noise_probability"].as_f64().unwrap();
    assert!(probability > model["threshold"].as_f64().unwrap(), "{incident} {model}");
    let timeline = app.api_get(&format!("/api/v1/incidents/{ticket}/timeline")).await;
    let opening =
        timeline["timeline"].as_array().unwrap().iter().find(|entry| entry["kind"] == "incident.opened").unwrap().clone();
    assert_eq!(opening["data"]["noise"]["ticketed"], true, "{opening}");
    assert_eq!(opening["data"]["noise"]["likely_noise"], true, "{opening}");

    let real = opened(&alert(&app, "ReplicationBroken", "db-new", true).await);
    receiver.wait_for_pages("/alice", pages_before + 1, WAIT).await;
    let real_incident = app.api_get(&format!("/api/v1/incidents/{real}")).await["incident"].clone();
    assert_eq!(real_incident["escalation_policy_id"], "default", "{real_incident}");
    assert!(real_incident["noise_probability"].as_f64().unwrap() < 0.5, "{real_incident}");
    let timeline = app.api_get(&format!("/api/v1/incidents/{real}/timeline")).await;
    let opening =
        timeline["timeline"].as_array().unwrap().iter().find(|entry| entry["kind"] == "incident.opened").unwrap().clone();
    assert_eq!(opening["data"]["noise"]["ticketed"], false, "{opening}");

    // Only the real alert paged: the ticket's page never comes.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let pages: Vec<_> = receiver.pages_for("/alice").into_iter().skip(pages_before).collect();
    assert_eq!(pages.len(), 1, "only the real alert paged");
    assert!(pages[0].body.to_string().contains("ReplicationBroken"), "{:?}", pages[0].body);

    // The backtest reads the same history from the database once the server has stopped.
    let mut app = app;
    app.terminate();
    let database = app.dir.join("staunch.db");
    let output = std::process::Command::new(support::staunch_binary())
        .args(["eval", "noise", "--db", database.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    // 112 labelled openings (the unacted ticket is left out, the last real alert is still
    // open): 78 trained on, 34 tested.
    let count = |field: &str| report[field].as_u64().unwrap();
    assert_eq!(count("train_actionable") + count("train_noise"), 78, "{report}");
    assert_eq!(count("test_actionable") + count("test_noise"), 34, "{report}");
    assert_eq!(count("test_unlabelled"), 1, "{report}");
    let recall = report["recall"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&recall), "{report}");
    assert_eq!(report["recall_floor_held"], recall >= 0.99, "{report}");
}
