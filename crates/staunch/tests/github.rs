//! GitHub webhooks: signed deliveries become change events of the integration's service;
//! unsigned or wrongly signed ones are refused before anything is parsed or stored.

mod support;

use hmac::{Hmac, KeyInit, Mac};
use serde_json::json;
use sha2::Sha256;
use support::{App, WEBHOOK_SECRET};

const GITHUB_KEY: &str = "github-key-0123456789abcdef";
const GITHUB_SECRET: &str = "github webhook secret";

fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

async fn deliver(app: &App, event: &str, body: &serde_json::Value, signature: Option<String>) -> (u16, serde_json::Value) {
    let body = body.to_string();
    let mut request = app
        .http
        .post(app.url(&format!("/integrations/github/{GITHUB_KEY}")))
        .header("X-GitHub-Event", event)
        .header("Content-Type", "application/json")
        .body(body.clone());
    if let Some(signature) = signature {
        request = request.header("X-Hub-Signature-256", signature);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap_or_default())
}

#[tokio::test]
async fn signed_github_deliveries_are_recorded_as_changes_and_unsigned_ones_refused() {
    let receiver = support::receiver::Receiver::start(WEBHOOK_SECRET).await;
    let integration = format!("      - type: github\n        key: \"{GITHUB_KEY}\"\n        secret: \"{GITHUB_SECRET}\"\n");
    let config = support::config(&receiver.url, "1h", "", "")
        .replace("      - type: alertmanager\n", &format!("{integration}      - type: alertmanager\n"));
    let app = App::spawn(&config).await;

    let push = json!({
        "ref": "refs/heads/main", "before": "a1", "after": "b2", "repository": { "full_name": "acme/checkout" },
        "pusher": { "name": "dana" },
        "head_commit": { "id": "b2", "message": "Lower the payment timeout", "timestamp": "2026-11-22T08:00:00Z", "modified": ["pay.go"] },
        "commits": [{ "id": "b2", "message": "Lower the payment timeout", "timestamp": "2026-11-22T08:00:00Z", "modified": ["pay.go"] }],
    });
    let (status, body) = deliver(&app, "push", &push, None).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["field"], "X-Hub-Signature-256");
    let (status, _) = deliver(&app, "push", &push, Some(sign("not the secret", push.to_string().as_bytes()))).await;
    assert_eq!(status, 401);
    assert!(app.api_get("/api/v1/changes").await["changes"].as_array().unwrap().is_empty(), "nothing stored");

    let (status, body) = deliver(&app, "push", &push, Some(sign(GITHUB_SECRET, push.to_string().as_bytes()))).await;
    assert_eq!(status, 202, "{body}");
    let (status, body) = deliver(
        &app,
        "ping",
        &json!({ "zen": "Keep it logically awesome." }),
        Some(sign(GITHUB_SECRET, br#"{"zen":"Keep it logically awesome."}"#)),
    )
    .await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ignored")));

    let changes = app.api_get("/api/v1/changes?service=checkout").await;
    let change = &changes["changes"][0];
    assert_eq!(change["summary"], "push to main by dana: Lower the payment timeout");
    assert_eq!(change["source"], "github:acme/checkout");
    assert_eq!(change["details"]["files"], json!(["pay.go"]));
    assert_eq!(changes["changes"].as_array().unwrap().len(), 1);
}
