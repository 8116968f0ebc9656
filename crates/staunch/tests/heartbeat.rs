//! A heartbeat (outcome) monitor through the core loop, with the real binary: four weeks of
//! history pushed with explicit timestamps, the current window while still learning (nobody
//! paged), then the history arrives and the same low count is a drop that pages the service's
//! escalation; more events resolve it.

mod support;

use std::process::Command;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use support::receiver::Receiver;
use support::{App, WEBHOOK_SECRET, staunch_binary};

const PUSH: &str = "/api/v1/heartbeats/messages-sent/events";

async fn status(app: &App) -> Value {
    app.api_get("/api/v1/heartbeats/messages-sent").await
}

async fn alert_firing(app: &App, dedup_key: &str) -> Option<bool> {
    let alerts = app.api_get("/api/v1/alerts?limit=100").await;
    alerts["alerts"].as_array()?.iter().find(|alert| alert["dedup_key"] == dedup_key).map(|alert| alert["firing"] == true)
}

async fn push(app: &App, count: u64, at: Timestamp) {
    let (status, body) = app.api_post(PUSH, json!({ "count": count, "at": at })).await;
    assert_eq!(status, 202, "{body}");
}

#[tokio::test]
async fn a_drop_against_the_learned_weekly_pattern_pages_and_recovery_resolves() {
    let receiver = Receiver::start(WEBHOOK_SECRET).await;
    let extra = r#"
settings:
  slo_tick: 200ms
heartbeats:
  - id: messages-sent
    service: checkout
    event: message.sent
    time_zone: Europe/Berlin
    window: 10m
    threshold: 0.5
    history_weeks: 4
    min_history_weeks: 3
    severity: sev1
"#;
    let app = App::spawn(&support::config(&receiver.url, "1h", "", extra)).await;

    // Bad input is refused, naming the field.
    let (code, body) = app.api_post(PUSH, json!({})).await;
    assert_eq!((code, body["field"].as_str()), (422, Some("count")), "{body}");
    let (code, body) = app.api_post(PUSH, json!({"count": 1, "at": "2001-01-01T00:00:00Z"})).await;
    assert_eq!((code, body["field"].as_str()), (422, Some("at")), "{body}");
    let (code, body) = app.api_post(PUSH, json!({"count": -1})).await;
    assert_eq!((code, body["field"].as_str()), (422, Some("count")), "{body}");
    let (code, _) = app.api_post("/api/v1/heartbeats/nope/events", json!({"count": 1})).await;
    assert_eq!(code, 404);

    // The current window: ten events a minute. Without history the monitor is learning.
    let now = Timestamp::now();
    let minute = SignedDuration::from_mins(1);
    for back in 0..=12 {
        push(&app, 10, now - minute * back).await;
    }
    let learning = app
        .wait_for("an evaluation of the pushed window", Duration::from_secs(10), async || {
            let status = status(&app).await;
            (status["observed"].as_u64().unwrap_or(0) >= 90).then_some(status)
        })
        .await;
    assert_eq!(learning["state"], "learning", "{learning}");
    assert_eq!(learning["expected"], Value::Null, "{learning}");
    assert!(receiver.pages().is_empty(), "learning never pages");

    // Four weeks of history around this time of day: a hundred events a minute.
    for week in 1..=4 {
        let same_time = now - SignedDuration::from_hours(24 * 7 * week);
        for step in -12..=12 {
            push(&app, 1000, same_time + minute * (10 * step)).await;
        }
    }

    // Now a tenth of the usual rate is a drop: the service's escalation pages.
    let pages = receiver.wait_for_pages("/alice", 1, Duration::from_secs(15)).await;
    assert_eq!(pages[0].body["incident"]["severity"], "sev1", "{}", pages[0].body);
    let dropped = status(&app).await;
    assert_eq!(dropped["state"], "dropped", "{dropped}");
    let expected = dropped["expected"].as_f64().unwrap();
    assert!((expected - 1000.0).abs() < 1.0, "ten minutes at a hundred a minute: {dropped}");
    assert_eq!(alert_firing(&app, "heartbeat:messages-sent").await, Some(true));

    let output = Command::new(staunch_binary())
        .args(["heartbeat", "status", "--url", &app.base_url, "--token", &app.token])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success() && table.contains("messages-sent") && table.contains("dropped"), "{table}");

    // Events come back to normal: the alert resolves, and with it the incident.
    for back in 0..=12 {
        push(&app, 100, now - minute * back).await;
    }
    app.wait_for("the heartbeat alert to resolve", Duration::from_secs(15), async || {
        (alert_firing(&app, "heartbeat:messages-sent").await == Some(false)).then_some(())
    })
    .await;
    assert_eq!(status(&app).await["state"], "ok");
    let events: Vec<String> = receiver.pages_for("/alice").iter().map(|page| page.event.clone()).collect();
    assert_eq!(events.iter().filter(|event| event.as_str() == "incident.triggered").count(), 1, "one drop, one page: {events:?}");
    let log = app.log();
    assert!(log.contains("heartbeat monitor rebuilt from stored events"), "the backfill was learned from");
}
