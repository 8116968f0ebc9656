//! Deploys and rollback end to end through the real binary: a signed GitHub
//! `deployment_status` delivery records a deploy of `checkout`; pushed SLI events burn its
//! SLO; the sev1 incident opens linked to that deploy; the rollback runbook starts on its own
//! and calls a real service on loopback with the deploy's sha; the service heals and the run
//! stops on recovery — once, also after a kill -9. Also: "after approval" waits for a person,
//! a burn with no recent deploy starts nothing, and failing release pipelines page until a
//! success resolves the page.

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use support::receiver::Receiver;
use support::{App, WEBHOOK_SECRET};

const GITHUB_KEY: &str = "github-key-0123456789abcdef";
const GITHUB_SECRET: &str = "github webhook secret";
const WAIT: Duration = Duration::from_secs(20);
const DEPLOYED_SHA: &str = "9f3c2a1b7e";

/// The service a rollback acts on: it records what it is sent and is healthy once it has
/// been asked to roll back the sha it was told is bad.
#[derive(Clone, Default)]
struct Deployable {
    received: Arc<Mutex<Vec<(String, String)>>>,
    healthy: Arc<AtomicBool>,
}

impl Deployable {
    async fn start() -> (Deployable, String) {
        let service = Deployable::default();
        let app = axum::Router::new().fallback(handle).with_state(service.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (service, url)
    }

    /// Requests other than health probes: (path and query, body).
    fn calls(&self) -> Vec<(String, String)> {
        self.received.lock().unwrap().iter().filter(|(target, _)| target != "/health").cloned().collect()
    }
}

async fn handle(State(service): State<Deployable>, uri: Uri, body: String) -> (StatusCode, String) {
    let target = uri.path_and_query().map(|target| target.as_str().to_string()).unwrap_or_default();
    service.received.lock().unwrap().push((target.clone(), body));
    if target == "/health" {
        let healthy = service.healthy.load(Ordering::SeqCst);
        return if healthy { (StatusCode::OK, "healthy".into()) } else { (StatusCode::SERVICE_UNAVAILABLE, "degraded".into()) };
    }
    if uri.path() == format!("/rollback/{DEPLOYED_SHA}") {
        service.healthy.store(true, Ordering::SeqCst);
    }
    (StatusCode::OK, "ok".into())
}

/// The standard config with a GitHub integration on `checkout`, a pushed SLO on it, a
/// rollback runbook against `service_url` and the `deploys:` section given.
fn config(receiver_url: &str, service_url: &str, deploys: &str) -> String {
    let integration = format!("      - type: github\n        key: \"{GITHUB_KEY}\"\n        secret: \"{GITHUB_SECRET}\"\n");
    let extra = format!(
        r#"
settings:
  slo_tick: 200ms
slos:
  - id: checkout-availability
    service: checkout
    objective: 99
    min_events: 50
    sli: {{push: {{}}}}
runbooks:
  - name: rollback-checkout
    recovery: {{http: {{url: "{service_url}/health", expect_status: [200]}}}}
    steps:
      - name: roll back
        http:
          method: POST
          url: "{service_url}/rollback/{{{{deploy.details.sha}}}}"
          body: {{deploy: "{{{{deploy.id}}}}", summary: "{{{{deploy.summary}}}}", incident: "{{{{incident.id}}}}"}}
        reversible: true
        undo: {{http: {{method: POST, url: "{service_url}/redeploy/{{{{deploy.details.sha}}}}"}}}}
      - name: wait for traffic
        wait: 2s
      - name: page the release manager
        http: {{method: POST, url: "{service_url}/escalate"}}
deploys:
{deploys}
"#
    );
    support::config(receiver_url, "1h", "", &extra)
        .replace("      - type: alertmanager\n", &format!("{integration}      - type: alertmanager\n"))
}

fn sign(body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(GITHUB_SECRET.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Delivers a signed `deployment_status` of `sha` in `state`, dated now; returns the change id.
async fn deployment_status(app: &App, sha: &str, state: &str) -> i64 {
    let body = json!({
        "deployment_status": { "state": state, "created_at": jiff::Timestamp::now().to_string(), "description": "release" },
        "deployment": { "sha": sha, "ref": "main", "environment": "production", "description": "checkout release",
                        "creator": { "login": "ci-bot" } },
        "repository": { "full_name": "acme/checkout" },
    })
    .to_string();
    let response = app
        .http
        .post(app.url(&format!("/integrations/github/{GITHUB_KEY}")))
        .header("X-GitHub-Event", "deployment_status")
        .header("X-Hub-Signature-256", sign(body.as_bytes()))
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 202);
    let answer: Value = response.json().await.unwrap();
    answer["id"].as_i64().expect("a change id")
}

/// Burns the SLO: 25% errors over 2000 events, 25 times the 1% budget.
async fn burn(app: &App) {
    for (good, total) in [(1000, 1000), (500, 1000)] {
        let (status, body) =
            app.api_post("/api/v1/slos/checkout-availability/events", json!({ "good": good, "total": total })).await;
        assert_eq!(status, 202, "{body}");
    }
}

/// The sev1 incident the burn opens.
async fn sev1_incident(app: &App) -> i64 {
    let incident = app
        .wait_for("the sev1 incident", WAIT, async || {
            app.incidents("").await.into_iter().find(|incident| incident["severity"] == "sev1")
        })
        .await;
    incident["id"].as_i64().unwrap()
}

async fn runs(app: &App, incident_id: i64) -> Vec<Value> {
    app.api_get(&format!("/api/v1/incidents/{incident_id}/runbook-runs")).await["runs"].as_array().unwrap().clone()
}

async fn wait_for_run_state(app: &App, incident_id: i64, state: &str) -> Value {
    let found = app
        .wait_for(&format!("the rollback run to be {state}"), WAIT, async || {
            let runs = runs(app, incident_id).await;
            if runs.iter().any(|run| run["state"] == "failed" || run["state"] == "finished") {
                return Some(Err(runs));
            }
            runs.into_iter().find(|run| run["state"] == state).map(Ok)
        })
        .await;
    found.unwrap_or_else(|runs| panic!("the rollback run stopped otherwise: {runs:?}"))
}

async fn timeline(app: &App, incident_id: i64) -> Vec<Value> {
    app.api_get(&format!("/api/v1/incidents/{incident_id}/timeline")).await["timeline"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_burn_after_a_deploy_rolls_it_back_automatically_once() {
    let receiver = Receiver::start(WEBHOOK_SECRET).await;
    let (service, service_url) = Deployable::start().await;
    let deploys =
        "  link_window: 10m\n  services:\n    checkout:\n      rollback_runbook: rollback-checkout\n      rollback: automatic\n";
    let mut app = App::spawn(&config(&receiver.url, &service_url, deploys)).await;

    let change_id = deployment_status(&app, DEPLOYED_SHA, "success").await;
    burn(&app).await;
    let incident_id = sev1_incident(&app).await;

    // Linked to the deploy, on the timeline and in the incident's view.
    let entries = timeline(&app, incident_id).await;
    let linked = entries.iter().find(|entry| entry["kind"] == "incident.linked_to_deploy").expect("linked");
    assert_eq!(linked["data"]["change_id"], change_id, "{linked}");
    assert_eq!(linked["data"]["source"], "github:acme/checkout");
    assert_eq!(linked["data"]["rollback"], json!({ "runbook": "rollback-checkout", "mode": "automatic" }));
    assert!(linked["data"]["summary"].as_str().unwrap().starts_with("deployment to production success"), "{linked}");
    let view = app.api_get(&format!("/api/v1/incidents/{incident_id}")).await;
    assert_eq!(view["deploy"]["change_id"], change_id, "{view}");
    assert_eq!(view["deploy"]["details"]["sha"], DEPLOYED_SHA);

    // The rollback ran on its own, with the deploy's fields, and stopped as soon as the
    // service was healthy again: the wait and the escalation never ran.
    let run = wait_for_run_state(&app, incident_id, "recovered").await;
    assert_eq!(run["runbook"], "rollback-checkout");
    assert_eq!(run["started_by"], json!({ "kind": "system", "id": "staunch" }), "{run}");
    let calls = service.calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].0, format!("/rollback/{DEPLOYED_SHA}"));
    let body: Value = serde_json::from_str(&calls[0].1).unwrap();
    assert_eq!(body["deploy"], change_id.to_string());
    assert_eq!(body["incident"], incident_id.to_string());
    let view = app.api_get(&format!("/api/v1/incidents/{incident_id}")).await;
    assert_eq!(view["deploy"]["rollback"]["state"], "started", "{view}");
    assert_eq!(view["deploy"]["rollback"]["run_id"], run["id"]);
    let entries = timeline(&app, incident_id).await;
    let started = entries.iter().find(|entry| entry["kind"] == "runbook.started").unwrap();
    assert_eq!(started["data"]["rollback_of_deploy"], change_id, "{started}");
    // Reported, never asserted: how long the rollback took to start (the task polls every 500 ms).
    let time_of = |kind: &str| -> jiff::Timestamp {
        entries.iter().find(|entry| entry["kind"] == kind).unwrap()["at"].as_str().unwrap().parse().unwrap()
    };
    let delay = time_of("runbook.started").duration_since(time_of("incident.opened"));
    println!("rollback started {} ms after the incident opened", delay.as_millis());

    // Exactly once: a restarted server finds nothing pending and starts nothing again.
    app.kill_9();
    let tempdir = app.take_tempdir();
    let dir = tempdir.as_ref().unwrap().path().to_path_buf();
    let mut app = App::start_in(&dir, "127.0.0.1:0").await;
    app.adopt_tempdir(tempdir);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(runs(&app, incident_id).await.len(), 1);
    assert_eq!(service.calls().len(), 1);
}

#[tokio::test]
async fn a_rollback_after_approval_waits_for_a_person() {
    let receiver = Receiver::start(WEBHOOK_SECRET).await;
    let (service, service_url) = Deployable::start().await;
    let deploys = "  services:\n    checkout:\n      rollback_runbook: rollback-checkout\n      rollback: approval\n";
    let app = App::spawn(&config(&receiver.url, &service_url, deploys)).await;

    deployment_status(&app, DEPLOYED_SHA, "success").await;
    burn(&app).await;
    let incident_id = sev1_incident(&app).await;
    let waiting = wait_for_run_state(&app, incident_id, "awaiting_approval").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(service.calls().is_empty(), "nothing runs before approval");

    let (status, body) = app.api_post(&format!("/api/v1/runbook-runs/{}/approve", waiting["id"]), json!({})).await;
    assert_eq!(status, 200, "{body}");
    wait_for_run_state(&app, incident_id, "recovered").await;
    assert_eq!(service.calls()[0].0, format!("/rollback/{DEPLOYED_SHA}"));
    assert_eq!(runs(&app, incident_id).await.len(), 1);
}

#[tokio::test]
async fn a_burn_without_a_recent_deploy_starts_no_rollback() {
    let receiver = Receiver::start(WEBHOOK_SECRET).await;
    let (service, service_url) = Deployable::start().await;
    // The deploy is older than the window: a failed one now, a successful one an hour ago.
    let deploys =
        "  link_window: 5m\n  services:\n    checkout:\n      rollback_runbook: rollback-checkout\n      rollback: automatic\n";
    let app = App::spawn(&config(&receiver.url, &service_url, deploys)).await;
    deployment_status(&app, "0ld5ha", "failure").await;

    burn(&app).await;
    let incident_id = sev1_incident(&app).await;
    // The rollback task looks every half second; give it several looks.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(runs(&app, incident_id).await.is_empty());
    assert!(service.calls().is_empty());
    let view = app.api_get(&format!("/api/v1/incidents/{incident_id}")).await;
    assert_eq!(view["deploy"], Value::Null, "{view}");
    assert!(!timeline(&app, incident_id).await.iter().any(|entry| entry["kind"] == "incident.linked_to_deploy"));
}

#[tokio::test]
async fn failing_release_pipelines_page_and_a_success_resolves() {
    let receiver = Receiver::start(WEBHOOK_SECRET).await;
    let (_service, service_url) = Deployable::start().await;
    let app = App::spawn(&config(&receiver.url, &service_url, "  services:\n    checkout:\n      pipeline_failures: 3\n")).await;
    let pipeline_alert = async || {
        let alerts = app.api_get("/api/v1/alerts?limit=100").await;
        alerts["alerts"].as_array().unwrap().iter().find(|alert| alert["dedup_key"] == "pipeline:checkout").cloned()
    };

    // Two failures and a pending status: not yet.
    deployment_status(&app, "a1", "failure").await;
    deployment_status(&app, "a2", "error").await;
    deployment_status(&app, "a3", "pending").await;
    assert!(pipeline_alert().await.is_none());
    assert!(app.incidents("").await.is_empty());

    // The third failure in a row pages.
    deployment_status(&app, "a3", "failure").await;
    let alert = pipeline_alert().await.expect("the pipeline alert");
    assert_eq!(alert["firing"], true);
    assert_eq!(alert["details"]["failures_in_a_row"], 3, "{alert}");
    let pages = receiver.wait_for_pages("/alice", 1, WAIT).await;
    assert_eq!(pages[0].body["incident"]["service"], "checkout", "{}", pages[0].body);

    // A fourth failure refreshes the same alert; the next success resolves it and the incident.
    deployment_status(&app, "a4", "failure").await;
    assert_eq!(pipeline_alert().await.unwrap()["details"]["failures_in_a_row"], 4);
    assert_eq!(app.incidents("").await.len(), 1);
    deployment_status(&app, "a5", "success").await;
    assert_eq!(pipeline_alert().await.unwrap()["firing"], false);
    let incidents = app.incidents("").await;
    assert_eq!(incidents[0]["state"], "resolved", "{incidents:?}");
    let events: Vec<Value> = receiver.pages_for("/alice").iter().map(|page| page.body["event"].clone()).collect();
    assert_eq!(
        events.iter().filter(|event| *event == "incident.triggered").count(),
        1,
        "one page for the whole streak: {events:?}"
    );

    // PagerDuty change events count too, by the build state in their custom details.
    for build in 1..=3 {
        let event = json!({
            "routing_key": support::EVENTS_KEY,
            "payload": { "summary": format!("Build {build} failed"), "source": "ci", "custom_details": { "build_state": "failed" } },
        });
        let response = app.http.post(app.url("/v2/change/enqueue")).json(&event).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 202);
    }
    let alert = pipeline_alert().await.unwrap();
    assert_eq!((&alert["firing"], &alert["details"]["failures_in_a_row"]), (&json!(true), &json!(3)), "{alert}");
}

#[tokio::test]
async fn two_replicas_on_postgres_roll_back_once() {
    let Some(db_url) = support::fresh_postgres_database("deploys").await else { return };
    let receiver = Receiver::start(WEBHOOK_SECRET).await;
    let (service, service_url) = Deployable::start().await;
    let deploys = "  services:\n    checkout:\n      rollback_runbook: rollback-checkout\n      rollback: automatic\n";
    let mut first = App::spawn_on(&config(&receiver.url, &service_url, deploys), &db_url).await;
    let mut second = App::spawn_on_existing(&first.dir.clone(), &db_url).await;

    let change_id = deployment_status(&second, DEPLOYED_SHA, "success").await;
    burn(&first).await;
    let incident_id = sev1_incident(&second).await;
    let run = wait_for_run_state(&second, incident_id, "recovered").await;
    assert_eq!(service.calls().len(), 1);
    let view = first.api_get(&format!("/api/v1/incidents/{incident_id}")).await;
    assert_eq!((view["deploy"]["change_id"].as_i64(), &view["deploy"]["rollback"]["run_id"]), (Some(change_id), &run["id"]));

    // Whichever replica led goes away; the other leads and finds nothing left to start.
    first.kill_9();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(runs(&second, incident_id).await.len(), 1);
    assert_eq!(service.calls().len(), 1);
    second.kill_9();
}
