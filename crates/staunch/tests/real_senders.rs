//! Real third-party parts on loopback: Prometheus Alertmanager firing into Staunch, the
//! payloads Alertmanager 0.25 actually sent (../shared), and an SMTP server receiving pages.

mod support;

use serde_json::{Value, json};
use std::time::Duration;
use support::receiver::Receiver;
use support::tools::{maildir_messages, start_alertmanager, start_smtp_sink};
use support::{ALERTMANAGER_KEY, App, WEBHOOK_SECRET, config, shared_data};

const WAIT: Duration = Duration::from_secs(30);

/// Alerts to post to Alertmanager: the ones captured in ../shared when present (re-timed to
/// now), otherwise an equivalent built-in set.
fn alerts_to_post(starts_at: &str, ends_at: &str) -> Vec<Value> {
    let mut alerts: Vec<Value> = match shared_data("alertmanager/webhook-payloads-0.25.0/posted_alerts_firing.json") {
        Some(path) => serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap(),
        None => vec![
            json!({"labels": {"alertname": "HighErrorRate", "service": "checkout", "severity": "page", "instance": "a"}, "annotations": {"summary": "checkout 5xx ratio above SLO burn threshold"}}),
            json!({"labels": {"alertname": "HighErrorRate", "service": "checkout", "severity": "page", "instance": "b"}, "annotations": {"summary": "checkout 5xx ratio above SLO burn threshold"}}),
            json!({"labels": {"alertname": "DiskFilling", "service": "postgres", "severity": "ticket", "instance": "pg-0"}, "annotations": {"summary": "disk will fill in 4h"}}),
        ],
    };
    for alert in &mut alerts {
        alert["startsAt"] = json!(starts_at);
        alert["endsAt"] = json!(ends_at);
    }
    alerts
}

#[tokio::test]
async fn alertmanager_fires_into_staunch_pages_and_auto_resolves() {
    let receiver = Receiver::start(WEBHOOK_SECRET).await;
    let app = App::spawn(&config(&receiver.url, "1h", "", "")).await;
    let alertmanager_config = format!(
        "route:\n  receiver: staunch\n  group_by: [alertname]\n  group_wait: 0s\n  group_interval: 1s\n  repeat_interval: 1h\n\
         receivers:\n  - name: staunch\n    webhook_configs:\n      - url: {}/integrations/alertmanager/{ALERTMANAGER_KEY}\n        send_resolved: true\n",
        app.base_url
    );
    let Some((_alertmanager, alertmanager_url)) = start_alertmanager(&app.dir, &alertmanager_config) else { return };

    let now = jiff::Timestamp::now();
    let firing = alerts_to_post(&now.to_string(), &(now + jiff::SignedDuration::from_hours(1)).to_string());
    let alertnames: std::collections::BTreeSet<String> =
        firing.iter().map(|alert| alert["labels"]["alertname"].as_str().unwrap().to_string()).collect();
    let response = app.http.post(format!("{alertmanager_url}/api/v2/alerts")).json(&firing).send().await.unwrap();
    assert_eq!(response.status(), 200);

    // One incident per alertname (the service groups by alertname), each paged to alice once.
    let pages = receiver.wait_for_pages("/alice", alertnames.len(), WAIT).await;
    assert!(pages.iter().all(|page| page.event == "incident.triggered"));
    let incidents = app.incidents("state=triggered").await;
    assert_eq!(incidents.len(), alertnames.len());
    // Alertmanager may send a group's later alerts in a second notification, after the page for
    // its first one went out.
    app.wait_for("every alert stored", WAIT, async || {
        let alerts = app.api_get("/api/v1/alerts?service=checkout&firing=true&limit=1000").await;
        (alerts["alerts"].as_array().unwrap().len() == firing.len()).then_some(())
    })
    .await;
    let high_error =
        incidents.iter().find(|incident| incident["title"] == "checkout 5xx ratio above SLO burn threshold").unwrap();
    assert_eq!(high_error["severity"], "sev1", "severity=page maps to sev1");

    // Resolving them in Alertmanager resolves every incident in Staunch.
    let ended = now.to_string();
    let resolved = alerts_to_post(&(now - jiff::SignedDuration::from_mins(5)).to_string(), &ended);
    let response = app.http.post(format!("{alertmanager_url}/api/v2/alerts")).json(&resolved).send().await.unwrap();
    assert_eq!(response.status(), 200);
    app.wait_for("every incident to auto-resolve", WAIT, async || {
        let open = app.incidents("state=triggered,acknowledged,mitigated").await;
        open.is_empty().then_some(())
    })
    .await;
    assert_eq!(app.incidents("state=resolved").await.len(), alertnames.len());
    receiver.wait_for_pages("/alice", alertnames.len() * 2, WAIT).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let events: Vec<String> = receiver.pages().iter().map(|page| page.event.clone()).collect();
    assert_eq!(events.iter().filter(|event| *event == "incident.triggered").count(), alertnames.len(), "{events:?}");
    assert_eq!(events.iter().filter(|event| *event == "incident.resolved").count(), alertnames.len(), "{events:?}");
    assert_eq!(receiver.pages().len(), alertnames.len() * 2, "no unexpected page: {events:?}");
}

#[tokio::test]
async fn captured_alertmanager_payloads_open_and_resolve_incidents() {
    let Some(directory) = shared_data("alertmanager/webhook-payloads-0.25.0") else { return };
    let receiver = Receiver::start(WEBHOOK_SECRET).await;
    let app = App::spawn(&config(&receiver.url, "1h", "", "")).await;
    let post = async |name: &str| {
        let body = std::fs::read(directory.join(name)).unwrap();
        let response = app
            .http
            .post(app.url(&format!("/integrations/alertmanager/{ALERTMANAGER_KEY}")))
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json::<Value>().await.unwrap())
    };
    let (status, body) = post("01_pager.json").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["receipt"]["incidents_opened"].as_array().unwrap().len(), 1);
    assert_eq!(body["receipt"]["alerts_stored"], 2);
    let incident_id = body["receipt"]["incidents_opened"][0].as_i64().unwrap();
    receiver.wait_for_pages("/alice", 1, WAIT).await;

    // The truncated payload says one alert was left out; that goes on the incident's timeline.
    let (status, body) = post("02_trunc.json").await;
    assert_eq!(status, 200, "{body}");
    if let Some(truncated_incident) = body["receipt"]["incidents_opened"][0].as_i64() {
        assert!(app.timeline_kinds(truncated_incident).await.contains(&"alerts.truncated".to_string()));
    }

    let (status, body) = post("04_pager.json").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["receipt"]["resolved"], 2);
    let incident = app.api_get(&format!("/api/v1/incidents/{incident_id}")).await;
    assert_eq!(incident["incident"]["state"], "resolved");
    let kinds = app.timeline_kinds(incident_id).await;
    assert_eq!(kinds.iter().filter(|kind| *kind == "alert.resolved").count(), 2);
    assert!(kinds.contains(&"incident.resolved".to_string()));
}

#[tokio::test]
async fn email_page_reaches_an_smtp_server() {
    let receiver = Receiver::start(WEBHOOK_SECRET).await;
    let scratch = tempfile::tempdir().unwrap();
    let Some((_smtp, port, maildir)) = start_smtp_sink(scratch.path()) else { return };
    let email_method = "      - type: email\n        address: alice@example.test\n";
    let smtp = format!("smtp:\n  host: 127.0.0.1\n  port: {port}\n  tls: none\n  from: \"Staunch <staunch@example.test>\"\n");
    let app = App::spawn(&config(&receiver.url, "1h", email_method, &smtp)).await;
    app.trigger("mail-me", "Checkout latency high").await;

    let message = app.wait_for("an email at the SMTP server", WAIT, async || maildir_messages(&maildir).into_iter().next()).await;
    assert!(message.contains("To: alice@example.test"), "{message}");
    assert!(message.contains("Subject: [Staunch] [SEV1] #1 triggered: Checkout latency high (checkout)"), "{message}");
    assert!(message.contains("staunch ack 1"), "{message}");
    // The message can land before the outbox has recorded the send.
    let email = app
        .wait_for("the email delivery to be recorded as sent", WAIT, async || {
            let log = app.api_get("/api/v1/incidents/1/notifications").await;
            let email = log["notifications"].as_array()?.iter().find(|delivery| delivery["channel"] == "email").cloned()?;
            (email["state"] != "sending").then_some(email)
        })
        .await;
    assert_eq!(email["state"], "sent");
    assert_eq!(email["attempts"], 1);
    assert_eq!(maildir_messages(&maildir).len(), 1);
}
