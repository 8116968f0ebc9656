//! Investigations end to end through the real binary: a catalog imported with `staunch
//! catalog import`, a deploy of a dependency minutes before its caller alerts, and a past
//! incident with the same symptom that a runbook fixed. The investigation computed when the
//! incident opens ranks the deploy first, naming the time gap and the catalog distance, and
//! suggests the runbook; asked "as of" a time, it never sees a change dated after it.

mod support;

use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};
use support::receiver::Receiver;
use support::{App, EVENTS_KEY, WEBHOOK_SECRET, staunch_binary};

const PAYMENTS_KEY: &str = "paymentskey0123456789abcdef01234";
const WAIT: Duration = Duration::from_secs(20);

const CATALOG: &str = r#"
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: checkout
  tags: [web]
spec:
  type: service
  owner: team-shop
  dependsOn: [component:payments]
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: payments
spec:
  type: service
  owner: team-payments
---
kind: Group
metadata:
  name: team-shop
"#;

fn config(receiver_url: &str) -> String {
    let extra = format!(
        "  - id: payments\n    escalation_policy: default\n    integrations:\n      - type: events_v2\n        key: \"{PAYMENTS_KEY}\"\n\
         runbooks:\n  - name: restart-checkout\n    steps: [{{wait: 100ms}}]\n"
    );
    support::config(receiver_url, "1h", "", &extra)
}

fn staunch(app: &App, args: &[&str]) -> (bool, String, String) {
    let output = Command::new(staunch_binary())
        .args(args)
        .env("STAUNCH_URL", &app.base_url)
        .current_dir(&app.dir)
        .output()
        .expect("run staunch");
    (output.status.success(), String::from_utf8_lossy(&output.stdout).into(), String::from_utf8_lossy(&output.stderr).into())
}

/// Records a change of `payments` dated `at`; returns nothing (the API answers 202).
async fn payments_change(app: &App, summary: &str, at: jiff::Timestamp) {
    let change = json!({ "routing_key": PAYMENTS_KEY, "payload": {
        "summary": summary, "source": "ci", "timestamp": at.to_string(),
        "custom_details": { "files": ["payments/pool.go"] } } });
    let response = app.http.post(app.url("/v2/change/enqueue")).json(&change).send().await.unwrap();
    let status = response.status().as_u16();
    assert_eq!(status, 202, "{}", response.text().await.unwrap_or_default());
}

async fn investigation(app: &App, incident_id: i64, query: &str) -> (u16, Value) {
    let path = format!("/api/v1/incidents/{incident_id}/investigation{query}");
    let response = app.http.get(app.url(&path)).bearer_auth(&app.token).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
}

fn change_ids(investigation: &Value) -> Vec<i64> {
    investigation["hypotheses"].as_array().unwrap().iter().filter_map(|hypothesis| hypothesis["change_id"].as_i64()).collect()
}

async fn newest_incident(app: &App) -> i64 {
    app.incidents("limit=1").await[0]["id"].as_i64().unwrap()
}

#[tokio::test]
async fn a_dependency_deploy_ranks_first_and_the_past_fix_is_suggested() {
    let receiver = Receiver::start(WEBHOOK_SECRET).await;
    let app = App::spawn(&config(&receiver.url)).await;

    // The catalog, from catalog-info.yaml through the CLI; importing it again changes nothing.
    std::fs::write(app.dir.join("catalog-info.yaml"), CATALOG).unwrap();
    let (ok, stdout, stderr) = staunch(&app, &["catalog", "import", "catalog-info.yaml"]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("added: 2 (component:default/checkout, component:default/payments)"), "{stdout}");
    assert!(stderr.contains("Group team-shop"), "{stderr}");
    let (ok, stdout, _) = staunch(&app, &["catalog", "import", "catalog-info.yaml"]);
    assert!(ok && stdout.contains("added: 0") && stdout.contains("unchanged: 2"), "{stdout}");

    // A past incident with the same symptom, fixed by a runbook, then resolved.
    app.trigger("past-latency", "Checkout latency above SLO").await;
    let past = newest_incident(&app).await;
    let (status, body) =
        app.api_post(&format!("/api/v1/incidents/{past}/runbooks"), json!({ "runbook": "restart-checkout" })).await;
    assert_eq!(status, 201, "{body}");
    app.wait_for("the runbook to finish", WAIT, async || {
        let runs = app.api_get(&format!("/api/v1/incidents/{past}/runbook-runs")).await;
        (runs["runs"][0]["state"] == "finished").then_some(())
    })
    .await;
    let (status, body) = app.api_post(&format!("/api/v1/incidents/{past}/resolve"), json!({})).await;
    assert_eq!(status, 200, "{body}");

    // A deploy of payments three minutes ago, then checkout alerts.
    let deployed_at = jiff::Timestamp::now() - jiff::SignedDuration::from_mins(3);
    payments_change(&app, "payments: shrink connection pool", deployed_at).await;
    app.trigger("latency-now", "Checkout latency above SLO, payments pool exhausted").await;
    let incident = newest_incident(&app).await;
    assert_ne!(incident, past);

    let stored = app
        .wait_for("the investigation computed on opening", WAIT, async || {
            let (status, body) = investigation(&app, incident, "").await;
            (status == 200 && body["stored"] == true).then_some(body)
        })
        .await;
    let investigation_body = &stored["investigation"];
    let top = &investigation_body["hypotheses"][0];
    assert_eq!(top["kind"], "change", "{investigation_body:#}");
    assert_eq!(top["service_id"], "payments");
    let evidence: Vec<&str> = top["evidence_for"].as_array().unwrap().iter().map(|e| e.as_str().unwrap()).collect();
    assert!(evidence.iter().any(|e| e.starts_with("landed 3m before the onset")), "{evidence:?}");
    assert!(evidence.contains(&"checkout depends on payments directly (1 hop in the catalog)"), "{evidence:?}");
    let confidence = top["confidence"].as_f64().unwrap();
    assert!(confidence > 0.3 && confidence <= 0.9, "{confidence}");
    assert_eq!(investigation_body["abstained"], false);

    let similar = investigation_body["hypotheses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|hypothesis| hypothesis["kind"] == "similar_incident")
        .unwrap_or_else(|| panic!("no similar incident: {investigation_body:#}"));
    assert_eq!(similar["incident_id"], past);
    assert_eq!(similar["suggested_runbook"], "restart-checkout");

    let kinds = app.timeline_kinds(incident).await;
    assert!(kinds.contains(&"investigation.updated".to_string()), "{kinds:?}");
    let timeline = app.api_get(&format!("/api/v1/incidents/{incident}/timeline")).await;
    let updated = timeline["timeline"].as_array().unwrap().iter().find(|entry| entry["kind"] == "investigation.updated").unwrap();
    assert_eq!(updated["actor"], json!({ "kind": "system", "id": "staunch" }));
    assert_eq!(updated["data"]["top"][0]["kind"], "change");

    // The CLI's table says the same.
    let (ok, stdout, stderr) = staunch(&app, &["incident", "investigate", &incident.to_string()]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("Most likely: change #") && stdout.contains("SUGGESTED RUNBOOK"), "{stdout}");
    assert!(stdout.contains("+ checkout depends on payments directly (1 hop in the catalog)"), "{stdout}");
}

#[tokio::test]
async fn a_change_dated_after_as_of_is_never_seen() {
    let receiver = Receiver::start(WEBHOOK_SECRET).await;
    let app = App::spawn(&config(&receiver.url)).await;
    std::fs::write(app.dir.join("catalog-info.yaml"), CATALOG).unwrap();
    assert!(staunch(&app, &["catalog", "import", "catalog-info.yaml"]).0);

    let early = jiff::Timestamp::now() - jiff::SignedDuration::from_mins(10);
    payments_change(&app, "payments: early release", early).await;
    app.trigger("latency", "Checkout latency above SLO").await;
    let incident = newest_incident(&app).await;
    let opened: jiff::Timestamp =
        app.api_get(&format!("/api/v1/incidents/{incident}")).await["incident"]["created_at"].as_str().unwrap().parse().unwrap();
    let as_of = opened + jiff::SignedDuration::from_millis(1);
    // Planted after the fact: dated after as_of, in the same service and with the alert's words.
    tokio::time::sleep(Duration::from_millis(20)).await;
    payments_change(&app, "checkout latency slo payments", as_of + jiff::SignedDuration::from_millis(5)).await;
    tokio::time::sleep(Duration::from_millis(20)).await;

    let query = format!("?as_of={as_of}");
    let (status, body) = investigation(&app, incident, &query).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["stored"], false);
    let ids = change_ids(&body["investigation"]);
    assert_eq!(ids.len(), 1, "only the early change: {body:#}");
    let early_title = body["investigation"]["hypotheses"].as_array().unwrap().iter().find(|h| h["change_id"] == ids[0]).unwrap();
    assert!(early_title["title"].as_str().unwrap().contains("payments: early release"));
    assert!(!body.to_string().contains("checkout latency slo payments"), "the planted change leaked: {body:#}");

    // Through the CLI too, as JSON.
    let (ok, stdout, stderr) =
        staunch(&app, &["incident", "investigate", &incident.to_string(), "--as-of", &as_of.to_string(), "--json"]);
    assert!(ok, "{stderr}");
    assert!(!stdout.contains("checkout latency slo payments") && stdout.contains("payments: early release"), "{stdout}");

    // Bad as_of values are refused, naming the parameter.
    for bad in ["?as_of=yesterday", "?as_of=2000-01-01T00:00:00Z", "?as_of=2999-01-01T00:00:00Z"] {
        let (status, body) = investigation(&app, incident, bad).await;
        assert!((400..500).contains(&status), "{bad}: {status} {body}");
        assert_eq!(body["field"], "as_of", "{bad}: {body}");
    }
    let _ = EVENTS_KEY;
}

#[tokio::test]
async fn bad_catalogs_are_refused_naming_the_entity_and_field() {
    let receiver = Receiver::start(WEBHOOK_SECRET).await;
    let app = App::spawn(&config(&receiver.url)).await;
    let put = async |body: Value| {
        let response = app.http.put(app.url("/api/v1/catalog")).bearer_auth(&app.token).json(&body).send().await.unwrap();
        (response.status().as_u16(), response.json::<Value>().await.unwrap_or(Value::Null))
    };
    let component =
        |name: &str, depends: Value| json!({ "kind": "Component", "namespace": "default", "name": name, "depends_on": depends });
    let cases = [
        (json!({ "entities": [component("a", json!([])), component("bad name", json!([]))] }), "entities[1].name"),
        (json!({ "entities": [component("a", json!(["group:x"]))] }), "entities[0].depends_on[0]"),
        (json!({ "entities": [{ "kind": "Group", "namespace": "default", "name": "x" }] }), "entities[0].kind"),
        (json!({ "entities": [component("a", json!([])), component("a", json!([]))] }), "entities[1] (component:default/a)"),
    ];
    for (body, field) in cases {
        let (status, answer) = put(body.clone()).await;
        assert_eq!(status, 422, "{body}: {answer}");
        assert_eq!(answer["field"], field, "{body}: {answer}");
    }
    assert_eq!(app.api_get("/api/v1/catalog").await["entities"], json!([]));
    // A file the CLI cannot read names the file, the document and the field.
    std::fs::write(app.dir.join("catalog-info.yaml"), "kind: Component\nmetadata: {}\n").unwrap();
    let (ok, _, stderr) = staunch(&app, &["catalog", "import", "catalog-info.yaml"]);
    assert!(!ok);
    assert!(stderr.contains("catalog-info.yaml document 1: metadata.name: missing"), "{stderr}");
}
