//! Per-integration rate limits: a sender over its key's limit is answered 429 with
//! `Retry-After` in its own dialect, nothing of the refused request is stored, and other keys
//! are unaffected.

mod support;

use serde_json::json;
use support::{App, EVENTS_KEY, WEBHOOK_SECRET};

const LIMITED_KEY: &str = "limited0123456789abcdef012345678";

#[tokio::test]
async fn a_key_over_its_limit_is_answered_429_with_retry_after() {
    let receiver = support::receiver::Receiver::start(WEBHOOK_SECRET).await;
    let extra = format!(
        "  - id: batch-jobs\n    integrations:\n      - type: events_v2\n        key: \"{LIMITED_KEY}\"\n        rate_limit: {{per_second: 0.5, burst: 3}}\n      - type: alertmanager\n        key: \"limited-am-key-0123456789\"\n        rate_limit: {{per_second: 0.5, burst: 4}}\n"
    );
    let app = App::spawn(&support::config(&receiver.url, "1h", "", &extra)).await;

    let event = |dedup_key: &str| {
        json!({ "routing_key": LIMITED_KEY, "event_action": "trigger", "dedup_key": dedup_key,
                "payload": { "summary": "nightly batch failed", "source": "cron", "severity": "error" } })
    };
    for number in 0..3 {
        let (status, body) = app.enqueue(event(&format!("job-{number}"))).await;
        assert_eq!(status, 202, "{body}");
    }
    let response = app.http.post(app.url("/v2/enqueue")).json(&event("job-3")).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 429);
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry_after), "retry after {retry_after}");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "throttle event");

    // An Alertmanager notification is charged per alert, and refused whole when too large.
    let notification = |first: usize, count: usize| {
        let alerts: Vec<_> = (first..first + count)
            .map(|number| {
                json!({ "status": "firing", "labels": { "alertname": "BatchLate", "job": format!("j{number}") },
                                   "annotations": {}, "startsAt": "2026-11-22T08:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
                                   "generatorURL": "", "fingerprint": format!("{number:016x}") })
            })
            .collect();
        json!({ "version": "4", "groupKey": "{}:{}", "status": "firing", "receiver": "staunch", "groupLabels": {},
                "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://am", "truncatedAlerts": 0, "alerts": alerts })
    };
    let url = app.url("/integrations/alertmanager/limited-am-key-0123456789");
    let response = app.http.post(&url).json(&notification(0, 3)).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let response = app.http.post(&url).json(&notification(3, 2)).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 429);
    assert!(response.headers().contains_key("retry-after"));

    // Other keys, even of the same organisation, are not throttled.
    for number in 0..5 {
        app.trigger(&format!("other-{number}"), "checkout failing").await;
    }
    let (status, _) = app
        .enqueue(json!({ "routing_key": EVENTS_KEY, "event_action": "trigger", "dedup_key": "x",
                                           "payload": { "summary": "s", "source": "s", "severity": "info" } }))
        .await;
    assert_eq!(status, 202);

    // Nothing of the refused requests was stored.
    let alerts = app.api_get("/api/v1/alerts?service=batch-jobs&limit=100").await;
    let keys: Vec<&str> = alerts["alerts"].as_array().unwrap().iter().map(|alert| alert["dedup_key"].as_str().unwrap()).collect();
    assert_eq!(keys.len(), 6, "three events and three alerts: {keys:?}");
    assert!(!keys.contains(&"job-3"));
}
