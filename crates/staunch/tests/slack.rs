//! Slack slash commands: a signed `/staunch ack N` from a linked Slack user acknowledges the
//! incident as that user (timeline and audit log say so); unsigned, wrongly signed, replayed
//! (stale timestamp) and unlinked requests change nothing.

mod support;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use support::{App, WEBHOOK_SECRET};

const SLACK_KEY: &str = "slack-key-0123456789abcdef";
const SLACK_SECRET: &str = "slack signing secret";

fn sign(secret: &str, timestamp: &str, body: &str) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("v0:{timestamp}:{body}").as_bytes());
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

fn now_seconds() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// Sends a slash command as Slack would: form-encoded, signed at `sent_at` with `secret`.
async fn command(app: &App, slack_user: &str, text: &str, secret: &str, sent_at: i64) -> (u16, serde_json::Value) {
    let body = format!(
        "token=ignored&team_id=T1&user_id={slack_user}&user_name=someone&command=%2Fstaunch&text={}",
        text.replace(' ', "+")
    );
    let timestamp = sent_at.to_string();
    let response = app
        .http
        .post(app.url(&format!("/integrations/slack/{SLACK_KEY}")))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("X-Slack-Request-Timestamp", &timestamp)
        .header("X-Slack-Signature", sign(secret, &timestamp, &body))
        .body(body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap_or_default())
}

#[tokio::test]
async fn a_linked_slack_user_acknowledges_and_resolves_and_nobody_else_can() {
    let receiver = support::receiver::Receiver::start(WEBHOOK_SECRET).await;
    let integration = format!(
        "      - type: slack\n        key: \"{SLACK_KEY}\"\n        secret: \"{SLACK_SECRET}\"\n        slack_users: {{U0ALICE: alice}}\n"
    );
    let config = support::config(&receiver.url, "1h", "", "")
        .replace("      - type: alertmanager\n", &format!("{integration}      - type: alertmanager\n"));
    let app = App::spawn(&config).await;
    app.trigger("slack-1", "checkout is failing").await;
    let incident_id = app.incidents("").await[0]["id"].as_i64().expect("an incident");
    let state = async || app.api_get(&format!("/api/v1/incidents/{incident_id}")).await["incident"]["state"].clone();

    // Not from Slack: refused before anything is read.
    let (status, body) = command(&app, "U0ALICE", &format!("ack {incident_id}"), "not the secret", now_seconds()).await;
    assert_eq!((status, body["field"].as_str()), (401, Some("X-Slack-Signature")), "{body}");
    // A captured request replayed ten minutes later.
    let (status, body) = command(&app, "U0ALICE", &format!("ack {incident_id}"), SLACK_SECRET, now_seconds() - 600).await;
    assert_eq!((status, body["field"].as_str()), (401, Some("X-Slack-Request-Timestamp")), "{body}");
    // Signed, but by someone the integration does not link to a user here.
    let (status, body) = command(&app, "U0MALLORY", &format!("ack {incident_id}"), SLACK_SECRET, now_seconds()).await;
    assert_eq!((status, body["response_type"].as_str()), (200, Some("ephemeral")), "{body}");
    assert!(body["text"].as_str().unwrap().contains("not linked"), "{body}");
    // A mistake is explained to the sender only.
    let (status, body) = command(&app, "U0ALICE", "ack $(reboot)", SLACK_SECRET, now_seconds()).await;
    assert_eq!((status, body["response_type"].as_str()), (200, Some("ephemeral")), "{body}");
    assert_eq!(state().await, "triggered", "nothing above changed the incident");

    let (status, body) = command(&app, "U0ALICE", &format!("ack {incident_id}"), SLACK_SECRET, now_seconds()).await;
    assert_eq!((status, body["response_type"].as_str()), (200, Some("in_channel")), "{body}");
    assert_eq!(body["text"], format!("Alice acknowledged incident #{incident_id}: checkout is failing"));
    assert_eq!(state().await, "acknowledged");
    let (_, body) = command(&app, "U0ALICE", "show 999", SLACK_SECRET, now_seconds()).await;
    assert_eq!(body["text"], "There is no incident #999.");
    let (_, body) = command(&app, "U0ALICE", &format!("resolve {incident_id}"), SLACK_SECRET, now_seconds()).await;
    assert_eq!(body["response_type"], "in_channel", "{body}");
    assert_eq!(state().await, "resolved");

    // Acting as alice, from Slack: the timeline and the audit log both say so.
    let timeline = app.api_get(&format!("/api/v1/incidents/{incident_id}/timeline")).await["timeline"].clone();
    let acknowledged = timeline.as_array().unwrap().iter().find(|entry| entry["kind"] == "incident.acknowledged").unwrap();
    assert_eq!(acknowledged["actor"], serde_json::json!({"kind": "user", "id": "alice"}));
    let audit = app.api_get("/api/v1/audit").await["audit"].clone();
    let from_slack: Vec<&serde_json::Value> =
        audit.as_array().unwrap().iter().filter(|entry| entry["origin"] == "slack U0ALICE").collect();
    let actions: Vec<&str> = from_slack.iter().map(|entry| entry["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["incident.resolve", "incident.acknowledge"], "newest first: {audit}");
}
