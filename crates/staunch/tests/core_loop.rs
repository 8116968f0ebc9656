//! The core loop end to end, through the real binary: alerts in, the on-call human paged,
//! escalation, acknowledgement, auto-resolve. Each test ends by checking that no page went
//! out that should not have.

mod support;

use serde_json::json;
use std::time::Duration;
use support::receiver::Receiver;
use support::{App, WEBHOOK_SECRET, config};

const WAIT: Duration = Duration::from_secs(15);

#[tokio::test]
async fn unacknowledged_incident_escalates_to_level_two() {
    let receiver = Receiver::start(WEBHOOK_SECRET).await;
    let app = App::spawn(&config(&receiver.url, "1s", "", "")).await;
    app.trigger("disk-full", "Disk full on db-1").await;

    let alice = receiver.wait_for_pages("/alice", 1, WAIT).await;
    assert_eq!(alice[0].event, "incident.triggered");
    assert_eq!(alice[0].body["incident"]["title"], "Disk full on db-1");
    let bob = receiver.wait_for_pages("/bob", 1, WAIT).await;
    assert_eq!(bob[0].event, "incident.escalated");
    assert_eq!(bob[0].body["escalation"]["level"], 2);

    let incident_id = alice[0].body["incident"]["id"].as_i64().unwrap();
    let kinds = app.timeline_kinds(incident_id).await;
    for expected in ["incident.opened", "escalation.paged", "notification.sent", "incident.escalated", "escalation.last_level"] {
        assert!(kinds.iter().any(|kind| kind == expected), "{expected} missing from {kinds:?}");
    }
    // The policy has two levels and no repeat: nothing more goes out.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(receiver.pages().len(), 2, "{:#?}", receiver.pages());
    assert_eq!(receiver.bad_signatures(), 0);
}

#[tokio::test]
async fn acknowledgement_stops_escalation() {
    let receiver = Receiver::start(WEBHOOK_SECRET).await;
    let app = App::spawn(&config(&receiver.url, "2s", "", "")).await;
    app.trigger("api-5xx", "API error rate high").await;
    let alice = receiver.wait_for_pages("/alice", 1, WAIT).await;
    let incident_id = alice[0].body["incident"]["id"].as_i64().unwrap();

    let (status, body) = app.api_post(&format!("/api/v1/incidents/{incident_id}/acknowledge"), json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["incident"]["state"], "acknowledged");
    // Alice hears that it is acknowledged; bob is never paged.
    let alice = receiver.wait_for_pages("/alice", 2, WAIT).await;
    assert_eq!(alice[1].event, "incident.acknowledged");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(receiver.pages_for("/bob").is_empty(), "bob was paged after the acknowledgement: {:#?}", receiver.pages());
    assert_eq!(receiver.pages().len(), 2);

    // A second acknowledgement is refused, naming why.
    let (status, body) = app.api_post(&format!("/api/v1/incidents/{incident_id}/acknowledge"), json!({})).await;
    assert_eq!(status, 409);
    assert_eq!(body["error"], "incident is already acknowledged");
}

#[tokio::test]
async fn duplicate_triggers_page_once_and_group_into_one_incident() {
    let receiver = Receiver::start(WEBHOOK_SECRET).await;
    let app = App::spawn(&config(&receiver.url, "1h", "", "")).await;
    for _ in 0..5 {
        app.trigger("same-key", "Queue backing up").await;
    }
    receiver.wait_for_pages("/alice", 1, WAIT).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.pages().len(), 1, "{:#?}", receiver.pages());
    let incidents = app.incidents("state=triggered").await;
    assert_eq!(incidents.len(), 1);
    let alerts = app.api_get(&format!("/api/v1/incidents/{}/alerts", incidents[0]["id"])).await;
    assert_eq!(alerts["alerts"][0]["event_count"], 5);
}

#[tokio::test]
async fn sender_acknowledge_and_resolve_through_events_v2() {
    let receiver = Receiver::start(WEBHOOK_SECRET).await;
    let app = App::spawn(&config(&receiver.url, "1h", "", "")).await;
    app.trigger("k1", "Payments failing").await;
    receiver.wait_for_pages("/alice", 1, WAIT).await;
    let (status, body) =
        app.enqueue(json!({"routing_key": support::EVENTS_KEY, "event_action": "acknowledge", "dedup_key": "k1"})).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(app.incidents("state=acknowledged").await.len(), 1);
    let (status, _) =
        app.enqueue(json!({"routing_key": support::EVENTS_KEY, "event_action": "resolve", "dedup_key": "k1"})).await;
    assert_eq!(status, 202);
    let resolved = app.incidents("state=resolved").await;
    assert_eq!(resolved.len(), 1);
    let kinds = app.timeline_kinds(resolved[0]["id"].as_i64().unwrap()).await;
    assert!(kinds.contains(&"alert.resolved".to_string()) && kinds.contains(&"incident.resolved".to_string()), "{kinds:?}");
    receiver.wait_for_pages("/alice", 3, WAIT).await;
    let events: Vec<String> = receiver.pages_for("/alice").iter().map(|page| page.event.clone()).collect();
    assert_eq!(events, ["incident.triggered", "incident.acknowledged", "incident.resolved"]);
}

#[tokio::test]
async fn failing_webhook_is_retried_and_a_dead_one_is_reported() {
    let receiver = Receiver::start(WEBHOOK_SECRET).await;
    receiver.fail_next("/alice", 2);
    let extra_method = format!(
        "      - id: alice-broken\n        type: webhook\n        url: {}/broken\n        secret: \"{WEBHOOK_SECRET}\"\n",
        receiver.url
    );
    receiver.always_answer("/broken", 503);
    let app = App::spawn(&config(&receiver.url, "1h", &extra_method, "")).await;
    app.trigger("flaky", "Flaky receiver").await;

    let pages = receiver.wait_for_pages("/alice", 1, WAIT).await;
    let incident_id = pages[0].body["incident"]["id"].as_i64().unwrap();
    let log = app
        .wait_for("the broken channel to be given up", WAIT, async || {
            let log = app.api_get(&format!("/api/v1/incidents/{incident_id}/notifications")).await;
            let notifications = log["notifications"].as_array().cloned().unwrap_or_default();
            notifications.iter().any(|delivery| delivery["state"] == "failed").then_some(notifications)
        })
        .await;
    let delivered = log.iter().find(|delivery| delivery["contact_method_id"] == "alice/webhook-1").unwrap();
    assert_eq!(delivered["state"], "sent");
    assert_eq!(delivered["attempts"], 3, "two failures, then success");
    let broken = log.iter().find(|delivery| delivery["contact_method_id"] == "alice-broken").unwrap();
    assert_eq!(broken["state"], "failed");
    assert_eq!(broken["attempts"], 4, "max_attempts");
    assert!(broken["last_error"].as_str().unwrap().contains("503"), "{broken}");
    let kinds = app.timeline_kinds(incident_id).await;
    assert_eq!(kinds.iter().filter(|kind| *kind == "notification.attempt_failed").count(), 5);
    assert!(kinds.contains(&"notification.failed".to_string()));
    // Retries carried one idempotency key: alice received the page exactly once.
    assert_eq!(receiver.pages_for("/alice").len(), 1);
}

#[tokio::test]
async fn silenced_alerts_are_recorded_but_page_nobody() {
    let receiver = Receiver::start(WEBHOOK_SECRET).await;
    let app = App::spawn(&config(&receiver.url, "1h", "", "")).await;
    let (status, body) = app
        .api_post("/api/v1/silences", json!({"matchers": "{source=\"staging-1\"}", "duration": "1h", "comment": "maintenance"}))
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, _) = app
        .enqueue(json!({"routing_key": support::EVENTS_KEY, "event_action": "trigger", "dedup_key": "quiet",
            "payload": {"summary": "Staging noise", "source": "staging-1", "severity": "critical"}}))
        .await;
    assert_eq!(status, 202);
    let alerts = app.api_get("/api/v1/alerts?service=checkout").await;
    assert_eq!(alerts["alerts"].as_array().unwrap().len(), 1, "the silenced alert is recorded");
    assert!(alerts["alerts"][0]["silenced_by"].is_number());
    assert!(app.incidents("").await.is_empty());
    // Expiring the silence lets the next trigger page.
    let silence_id = body["id"].as_i64().unwrap();
    let response =
        app.http.delete(app.url(&format!("/api/v1/silences/{silence_id}"))).bearer_auth(&app.token).send().await.unwrap();
    assert_eq!(response.status(), 204);
    app.enqueue(json!({"routing_key": support::EVENTS_KEY, "event_action": "trigger", "dedup_key": "quiet",
        "payload": {"summary": "Staging noise", "source": "staging-1", "severity": "critical"}}))
        .await;
    receiver.wait_for_pages("/alice", 1, WAIT).await;
    assert_eq!(receiver.pages().len(), 1);
}

#[tokio::test]
async fn sigterm_shuts_down_cleanly_and_state_survives() {
    let receiver = Receiver::start(WEBHOOK_SECRET).await;
    let mut app = App::spawn(&config(&receiver.url, "1h", "", "")).await;
    app.trigger("before-restart", "Before restart").await;
    receiver.wait_for_pages("/alice", 1, WAIT).await;
    let status = app.terminate();
    assert!(status.success(), "exit status {status}");
    let tempdir = app.take_tempdir();
    let mut restarted = App::start_in(&app.dir, "127.0.0.1:0").await;
    restarted.adopt_tempdir(tempdir);
    assert_eq!(restarted.incidents("state=triggered").await.len(), 1);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.pages().len(), 1, "a restart pages nobody again");
}

#[tokio::test]
async fn a_payload_larger_than_one_engine_slice_is_answered_once_for_all_its_alerts() {
    let receiver = Receiver::start(WEBHOOK_SECRET).await;
    let app = App::spawn(&config(&receiver.url, "1h", "", "")).await;
    let alert = |instance: usize| {
        json!({"status": "firing", "labels": {"alertname": "Wide", "instance": format!("i{instance}")}, "annotations": {"summary": "wide"},
        "startsAt": "2026-11-22T04:18:18Z", "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "", "fingerprint": format!("fp-{instance}")})
    };
    // 100 alerts are four slices; the last names the first alert again, three slices later.
    let mut alerts: Vec<serde_json::Value> = (0..99).map(alert).collect();
    alerts.push(alert(0));
    let payload = json!({"version": "4", "groupKey": "{}:{alertname=\"Wide\"}", "truncatedAlerts": 3, "status": "firing", "receiver": "staunch",
        "groupLabels": {"alertname": "Wide"}, "commonLabels": {"alertname": "Wide"}, "commonAnnotations": {}, "externalURL": "http://am",
        "alerts": alerts});
    let receipt = app.post_alertmanager(&payload).await;
    assert_eq!(receipt["receipt"]["alerts_stored"], 99, "{receipt}");
    assert_eq!(receipt["receipt"]["deduplicated"], 1, "{receipt}");
    assert_eq!(receipt["receipt"]["incidents_opened"], json!([1]), "{receipt}");
    let listed = app.api_get("/api/v1/alerts?service=checkout&limit=500").await;
    assert_eq!(listed["alerts"].as_array().unwrap().len(), 99);
    receiver.wait_for_pages("/alice", 1, WAIT).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.pages().len(), 1, "one incident, one page");
    let timeline = app.api_get("/api/v1/incidents/1/timeline").await;
    let truncations =
        timeline["timeline"].as_array().unwrap().iter().filter(|entry| entry["data"]["truncated_alerts"] == 3).count();
    assert_eq!(truncations, 1, "the truncation is recorded once, not per slice: {timeline}");
}

#[tokio::test]
async fn one_payload_naming_an_alert_twice_stores_it_once() {
    let receiver = Receiver::start(WEBHOOK_SECRET).await;
    let app = App::spawn(&config(&receiver.url, "1h", "", "")).await;
    let alert = |instance: &str| {
        json!({"status": "firing", "labels": {"alertname": "Twice", "instance": instance}, "annotations": {"summary": "twice"},
        "startsAt": "2026-11-22T04:18:18Z", "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "", "fingerprint": format!("fp-{instance}")})
    };
    let payload = json!({"version": "4", "groupKey": "{}:{alertname=\"Twice\"}", "truncatedAlerts": 0, "status": "firing", "receiver": "staunch",
        "groupLabels": {"alertname": "Twice"}, "commonLabels": {"alertname": "Twice"}, "commonAnnotations": {}, "externalURL": "http://am",
        "alerts": [alert("a"), alert("b"), alert("a")]});
    let receipt = app.post_alertmanager(&payload).await;
    assert_eq!(receipt["receipt"]["alerts_stored"], 2, "{receipt}");
    assert_eq!(receipt["receipt"]["deduplicated"], 1, "{receipt}");
    let alerts = app.api_get("/api/v1/alerts?service=checkout").await;
    let alerts = alerts["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 2);
    let twice = alerts.iter().find(|alert| alert["dedup_key"] == "fp-a").unwrap();
    assert_eq!(twice["event_count"], 2);
    receiver.wait_for_pages("/alice", 1, WAIT).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.pages().len(), 1, "one incident, one page");
    // The alert that joined is on the timeline once, after the opening, as one entry per batch.
    let timeline = app.api_get("/api/v1/incidents/1/timeline").await;
    let entries = timeline["timeline"].as_array().unwrap();
    let kinds: Vec<&str> = entries.iter().map(|entry| entry["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds.iter().filter(|kind| **kind == "alerts.added").count(), 1, "{kinds:?}");
    let added = entries.iter().find(|entry| entry["kind"] == "alerts.added").unwrap();
    assert_eq!(added["data"]["count"], 1);
    assert_eq!(added["data"]["alerts"][0]["dedup_key"], "fp-b");
    let opened = kinds.iter().position(|kind| *kind == "incident.opened").unwrap();
    assert!(opened < kinds.iter().position(|kind| *kind == "alerts.added").unwrap());
}

#[tokio::test]
async fn slack_incoming_webhook_gets_the_headline() {
    let receiver = Receiver::start(WEBHOOK_SECRET).await;
    let slack = format!("      - type: slack\n        webhook_url: {}/slack-alice\n", receiver.url);
    let app = App::spawn(&config(&receiver.url, "1h", &slack, "")).await;
    app.trigger("slack", "Search is slow").await;
    let posts = receiver.wait_for_pages("/slack-alice", 1, WAIT).await;
    assert_eq!(posts[0].body["text"], ":rotating_light: [SEV1] #1 triggered: Search is slow (checkout)");
    receiver.wait_for_pages("/alice", 1, WAIT).await;
}
