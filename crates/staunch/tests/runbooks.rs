//! Runbooks end to end through the real binary: every step kind against a real HTTP service on
//! loopback, label values that try shell, template and JSON injection, approval gating, stop on
//! recovery, resume after kill -9 in the middle of a run, undo, dry runs, and the ranking that
//! learns from finished runs.

mod support;

use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::receiver::Receiver;
use support::{App, WEBHOOK_SECRET};

const WAIT: Duration = Duration::from_secs(20);

/// One request the test service received.
#[derive(Debug, Clone)]
struct Received {
    method: String,
    /// Path and query exactly as sent (still percent-encoded).
    target: String,
    headers: HeaderMap,
    body: String,
}

/// A small HTTP service standing in for the system a runbook mitigates. It records every
/// request; `GET /health` answers 200 while healthy and 503 otherwise; a request to the path
/// named by `heal_on` makes it healthy; paths under `/slow/` answer after `slow_for`.
#[derive(Clone, Default)]
struct Service {
    received: Arc<Mutex<Vec<Received>>>,
    healthy: Arc<AtomicBool>,
    heal_on: Arc<Mutex<Option<String>>>,
    slow_for: Arc<Mutex<Duration>>,
}

impl Service {
    async fn start() -> (Service, String) {
        let service = Service::default();
        *service.slow_for.lock().unwrap() = Duration::from_secs(4);
        let app = axum::Router::new().fallback(handle).with_state(service.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (service, url)
    }

    /// Requests other than health probes, in arrival order.
    fn calls(&self) -> Vec<Received> {
        self.received.lock().unwrap().iter().filter(|request| request.target != "/health").cloned().collect()
    }

    fn targets(&self) -> Vec<String> {
        self.calls().iter().map(|request| format!("{} {}", request.method, request.target)).collect()
    }
}

async fn handle(
    State(service): State<Service>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> (StatusCode, String) {
    let target = uri.path_and_query().map(|target| target.as_str().to_string()).unwrap_or_default();
    service.received.lock().unwrap().push(Received { method: method.to_string(), target: target.clone(), headers, body });
    if target == "/health" {
        let healthy = service.healthy.load(Ordering::SeqCst);
        return if healthy { (StatusCode::OK, "healthy".into()) } else { (StatusCode::SERVICE_UNAVAILABLE, "degraded".into()) };
    }
    if service.heal_on.lock().unwrap().as_deref() == Some(uri.path()) {
        service.healthy.store(true, Ordering::SeqCst);
    }
    if uri.path().starts_with("/slow/") {
        let hold = *service.slow_for.lock().unwrap();
        tokio::time::sleep(hold).await;
    }
    if uri.path().starts_with("/fail/") {
        return (StatusCode::INTERNAL_SERVER_ERROR, "broken".into());
    }
    (StatusCode::OK, format!("done {}", uri.path()))
}

/// The standard test config plus `runbooks` (YAML list items, indented by two spaces) and
/// symptom rules naming the provider outage.
fn config_with(receiver_url: &str, runbooks: &str) -> String {
    let extra = format!(
        r#"
settings:
  runbook_commands: [/bin/echo, /usr/bin/touch]
symptoms:
  - name: model_provider_outage
    services: [checkout]
    matchers: ['provider=~".+"']
runbooks:
{runbooks}
"#
    );
    support::config(receiver_url, "1h", "", &extra)
}

/// Fires one Alertmanager alert with `labels` on `checkout` and returns the incident it opened.
async fn open_incident(app: &App, labels: Value) -> i64 {
    let mut labels = labels;
    labels["alertname"] = json!("ProviderErrors");
    let payload = json!({"version": "4", "groupKey": "{}:{alertname=\"ProviderErrors\"}", "truncatedAlerts": 0, "status": "firing",
        "receiver": "staunch", "groupLabels": {"alertname": "ProviderErrors"}, "commonLabels": labels, "commonAnnotations": {},
        "externalURL": "http://am", "alerts": [{"status": "firing", "labels": labels, "annotations": {"summary": "provider errors"},
        "startsAt": "2026-11-22T04:18:18Z", "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "", "fingerprint": "fp-provider"}]});
    app.post_alertmanager(&payload).await;
    let incidents = app.incidents("").await;
    incidents[0]["id"].as_i64().expect("an incident opened")
}

async fn start_run(app: &App, incident_id: i64, runbook: &str, dry_run: bool) -> i64 {
    let (status, body) = app
        .api_post(&format!("/api/v1/incidents/{incident_id}/runbooks"), json!({ "runbook": runbook, "dry_run": dry_run }))
        .await;
    assert_eq!(status, 201, "{body}");
    body["run"]["id"].as_i64().unwrap()
}

async fn run(app: &App, run_id: i64) -> Value {
    app.api_get(&format!("/api/v1/runbook-runs/{run_id}")).await["run"].clone()
}

async fn wait_for_state(app: &App, run_id: i64, state: &str) -> Value {
    app.wait_for(&format!("run {run_id} to be {state}"), WAIT, async || {
        let current = run(app, run_id).await;
        (current["state"] == state).then_some(current)
    })
    .await
}

fn step_statuses(run: &Value) -> Vec<String> {
    run["progress"]["steps"].as_array().unwrap().iter().map(|step| step["status"].as_str().unwrap().to_string()).collect()
}

async fn timeline(app: &App, incident_id: i64) -> Vec<Value> {
    app.api_get(&format!("/api/v1/incidents/{incident_id}/timeline")).await["timeline"].as_array().unwrap().clone()
}

fn runbook_kinds(entries: &[Value]) -> Vec<String> {
    entries.iter().map(|entry| entry["kind"].as_str().unwrap().to_string()).filter(|kind| kind.starts_with("runbook.")).collect()
}

#[tokio::test]
async fn every_step_kind_runs_against_a_real_service() {
    let receiver = Receiver::start(WEBHOOK_SECRET).await;
    let (service, service_url) = Service::start().await;
    service.healthy.store(true, Ordering::SeqCst);
    let marker_dir = tempfile::tempdir().unwrap();
    let marker = marker_dir.path().join("restarted");
    let runbooks = format!(
        r#"
  - name: all-kinds
    steps:
      - name: switch provider
        http:
          method: POST
          url: {service_url}/flags/fallback?incident={{{{incident.id}}}}
          headers: {{X-Incident: "{{{{incident.id}}}}"}}
          body: {{provider: "{{{{alert.labels.provider}}}}", reason: "{{{{incident.title}}}}"}}
          expect_status: [200]
        reversible: true
        undo: {{http: {{method: DELETE, url: "{service_url}/flags/fallback"}}}}
      - name: mark restart
        command: {{argv: [/usr/bin/touch, "{marker}"]}}
        reversible: true
        undo: {{command: {{argv: [/bin/echo, undo]}}}}
      - name: settle
        wait: 300ms
      - name: tell the provider
        manual: open a ticket with the provider
      - name: healthy again
        check: {{http: {{url: "{service_url}/health", expect_status: [200]}}}}
"#,
        marker = marker.display()
    );
    let app = App::spawn(&config_with(&receiver.url, &runbooks)).await;
    let incident_id = open_incident(&app, json!({ "provider": "openai" })).await;
    let run_id = start_run(&app, incident_id, "all-kinds", false).await;

    let waiting = wait_for_state(&app, run_id, "awaiting_tick").await;
    assert_eq!(step_statuses(&waiting), ["succeeded", "succeeded", "succeeded", "awaiting_tick", "pending"]);
    let calls = service.calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].method, "POST");
    assert_eq!(calls[0].target, format!("/flags/fallback?incident={incident_id}"));
    assert_eq!(calls[0].headers["x-incident"], incident_id.to_string().as_str());
    let body: Value = serde_json::from_str(&calls[0].body).unwrap();
    let title = app.api_get(&format!("/api/v1/incidents/{incident_id}")).await["incident"]["title"].clone();
    assert_eq!(body, json!({ "provider": "openai", "reason": title }));
    assert!(marker.exists(), "the command ran");
    assert!(waiting["progress"]["steps"][0]["output"].as_str().unwrap().starts_with("HTTP 200\ndone /flags/fallback"));

    let (status, body) = app.api_post(&format!("/api/v1/runbook-runs/{run_id}/steps/3/tick"), json!({})).await;
    assert_eq!(status, 200, "{body}");
    let finished = wait_for_state(&app, run_id, "finished").await;
    assert_eq!(step_statuses(&finished), ["succeeded"; 5]);
    assert_eq!(finished["progress"]["steps"][3]["approved_by"], "token:admin");
    assert!(finished["progress"]["steps"][4]["output"].as_str().unwrap().contains("HTTP 200"), "{finished}");

    let entries = timeline(&app, incident_id).await;
    let kinds = runbook_kinds(&entries);
    assert_eq!(kinds.first().map(String::as_str), Some("runbook.started"));
    assert_eq!(kinds.iter().filter(|kind| *kind == "runbook.step_started").count(), 4, "{kinds:?}");
    assert_eq!(kinds.iter().filter(|kind| *kind == "runbook.step_succeeded").count(), 4, "{kinds:?}");
    assert!(kinds.contains(&"runbook.awaiting_tick".to_string()) && kinds.contains(&"runbook.step_ticked".to_string()));
    assert_eq!(kinds.last().map(String::as_str), Some("runbook.finished"));
    let ticked = entries.iter().find(|entry| entry["kind"] == "runbook.step_ticked").unwrap();
    assert_eq!(ticked["actor"], json!({ "kind": "token", "id": "admin" }));
    let started = entries.iter().find(|entry| entry["kind"] == "runbook.started").unwrap();
    assert_eq!(started["data"]["symptom"], "model_provider_outage");
}

#[tokio::test]
async fn label_values_are_data_never_code() {
    let receiver = Receiver::start(WEBHOOK_SECRET).await;
    let (service, service_url) = Service::start().await;
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().display().to_string();
    let runbooks = format!(
        r#"
  - name: hostile
    steps:
      - name: echo the labels
        command: {{argv: [/bin/echo, "{{{{alert.labels.shell}}}}", "{{{{alert.labels.chain}}}}", "{{{{alert.labels.template}}}}"]}}
        reversible: true
        undo: {{command: {{argv: [/bin/echo, undo]}}}}
      - name: post the labels
        http:
          method: POST
          url: "{service_url}/echo/{{{{alert.labels.chain}}}}?template={{{{alert.labels.template}}}}"
          body: {{shell: "{{{{alert.labels.shell}}}}", quote: "{{{{alert.labels.quote}}}}", template: "{{{{alert.labels.template}}}}"}}
        reversible: true
        undo: {{http: {{method: DELETE, url: "{service_url}/echo"}}}}
"#
    );
    let app = App::spawn(&config_with(&receiver.url, &runbooks)).await;
    let shell = format!("$(touch {dir}/shell)`touch {dir}/backtick`");
    let chain = format!("x; touch {dir}/chained && rm -rf {dir}/../nothing");
    let template = "{{incident.id}}".to_string();
    let quote = "\", \"admin\": true, \"x\": \"".to_string();
    let incident_id = open_incident(
        &app,
        json!({ "provider": "openai", "shell": shell, "chain": chain, "template": template, "quote": quote }),
    )
    .await;
    let run_id = start_run(&app, incident_id, "hostile", false).await;
    let finished = wait_for_state(&app, run_id, "finished").await;

    // The command received each value as exactly one argument, unexpanded.
    assert_eq!(finished["progress"]["steps"][0]["output"], format!("{shell} {chain} {template}\n"));
    let created: Vec<String> = std::fs::read_dir(scratch.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(created.is_empty(), "a label value ran as code and created {created:?}");

    // The service received the values percent-encoded in the URL and as JSON strings.
    let calls = service.calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    let (path, query) = calls[0].target.split_once('?').unwrap();
    assert_eq!(path.matches('/').count(), 2, "one path segment: {path}");
    assert!(!path.contains(';') && !path.contains(' ') && query == "template=%7B%7Bincident.id%7D%7D", "{}", calls[0].target);
    let body: Value = serde_json::from_str(&calls[0].body).unwrap();
    assert_eq!(body, json!({ "shell": shell, "quote": quote, "template": "{{incident.id}}" }));
    assert!(body.get("admin").is_none());
}

#[tokio::test]
async fn nothing_runs_before_approval_and_approvals_carry_their_actor() {
    let receiver = Receiver::start(WEBHOOK_SECRET).await;
    let (service, service_url) = Service::start().await;
    let runbooks = format!(
        r#"
  - name: gated
    approval: required
    steps:
      - name: purge the cache
        http: {{method: POST, url: "{service_url}/purge"}}
      - name: scale out
        http: {{method: POST, url: "{service_url}/scale"}}
        reversible: true
        undo: {{http: {{method: POST, url: "{service_url}/scale-in"}}}}
"#
    );
    let app = App::spawn(&config_with(&receiver.url, &runbooks)).await;
    let incident_id = open_incident(&app, json!({ "provider": "openai" })).await;
    let run_id = start_run(&app, incident_id, "gated", false).await;
    wait_for_state(&app, run_id, "awaiting_approval").await;
    // The executor looks again every second; give it several chances to run something.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(service.calls().is_empty(), "ran before approval: {:?}", service.targets());

    let (status, body) = app.api_post(&format!("/api/v1/runbook-runs/{run_id}/approve"), json!({})).await;
    assert_eq!(status, 200, "{body}");
    // The run is approved, but the purge cannot be undone: it waits for an approval of its own.
    let waiting = wait_for_state(&app, run_id, "awaiting_approval").await;
    assert_eq!(step_statuses(&waiting), ["awaiting_approval", "pending"]);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(service.calls().is_empty(), "ran before the step's approval: {:?}", service.targets());
    let (status, _) = app.api_post(&format!("/api/v1/runbook-runs/{run_id}/approve"), json!({})).await;
    assert_eq!(status, 200);
    let finished = wait_for_state(&app, run_id, "finished").await;
    assert_eq!(service.targets(), ["POST /purge", "POST /scale"]);
    assert_eq!(finished["progress"]["approved_by"], "token:admin");
    assert_eq!(finished["progress"]["steps"][0]["approved_by"], "token:admin");

    let entries = timeline(&app, incident_id).await;
    let approvals: Vec<&Value> = entries.iter().filter(|entry| entry["kind"] == "runbook.approved").collect();
    assert_eq!(approvals.len(), 2);
    assert!(approvals.iter().all(|entry| entry["actor"] == json!({ "kind": "token", "id": "admin" })));
    assert_eq!(approvals[0]["data"]["step"], Value::Null, "first the run");
    assert_eq!(approvals[1]["data"]["step"], 0, "then the irreversible step");
    let audit = app.api_get("/api/v1/audit").await;
    let actions: Vec<&str> = audit["audit"].as_array().unwrap().iter().map(|entry| entry["action"].as_str().unwrap()).collect();
    assert_eq!(actions.iter().filter(|action| **action == "runbook.approve").count(), 2, "{actions:?}");
    // Approving again has nothing to approve.
    let (status, _) = app.api_post(&format!("/api/v1/runbook-runs/{run_id}/approve"), json!({})).await;
    assert_eq!(status, 409);
}

#[tokio::test]
async fn a_run_stops_as_soon_as_the_sli_recovers_and_the_ranking_learns() {
    let receiver = Receiver::start(WEBHOOK_SECRET).await;
    let (service, service_url) = Service::start().await;
    *service.heal_on.lock().unwrap() = Some("/mitigate/cache".into());
    let step = |name: &str| {
        format!(
            "      - name: {name}\n        http: {{method: POST, url: \"{service_url}/mitigate/{name}\"}}\n        reversible: true\n        undo: {{http: {{method: POST, url: \"{service_url}/revert/{name}\"}}}}\n"
        )
    };
    let runbooks = format!(
        r#"
  - name: provider-outage
    applies_to: {{symptoms: [model_provider_outage]}}
    recovery: {{http: {{url: "{service_url}/health", expect_status: [200]}}}}
    steps:
{}{}{}{}  - name: unrelated
    applies_to: {{symptoms: [disk_full]}}
    steps: [{{wait: 1s}}]
  - name: generic
    steps: [{{wait: 1s}}]
"#,
        step("fallback"),
        step("cache"),
        step("shed"),
        step("page-vendor")
    );
    let app = App::spawn(&config_with(&receiver.url, &runbooks)).await;
    let incident_id = open_incident(&app, json!({ "provider": "openai" })).await;

    let candidates = app.api_get(&format!("/api/v1/incidents/{incident_id}/runbooks")).await;
    assert_eq!(candidates["symptom"], "model_provider_outage");
    let names: Vec<&str> = candidates["candidates"].as_array().unwrap().iter().map(|c| c["runbook"].as_str().unwrap()).collect();
    assert_eq!(names, ["provider-outage", "generic"], "the disk runbook does not apply; untried ones keep file order");

    let run_id = start_run(&app, incident_id, "provider-outage", false).await;
    let stopped = wait_for_state(&app, run_id, "recovered").await;
    assert_eq!(service.targets(), ["POST /mitigate/fallback", "POST /mitigate/cache"], "steps 3 and 4 never ran");
    assert_eq!(step_statuses(&stopped), ["succeeded", "succeeded", "skipped", "skipped"]);
    let kinds = runbook_kinds(&timeline(&app, incident_id).await);
    assert_eq!(kinds.last().map(String::as_str), Some("runbook.recovered"), "{kinds:?}");

    // The recovered run counts for the symptom: the runbook now outranks the untried one more.
    let candidates = app.api_get(&format!("/api/v1/incidents/{incident_id}/runbooks")).await;
    let first = &candidates["candidates"][0];
    assert_eq!(
        (first["runbook"].as_str(), first["attempts"].as_u64(), first["successes"].as_u64()),
        (Some("provider-outage"), Some(1), Some(1))
    );
    assert_eq!(first["score"], 2.0 / 3.0);
    assert_eq!(candidates["candidates"][1]["score"], 0.5);

    // The postmortem reads the run back from the timeline: triage's symptom, and the step
    // after which the SLI recovered.
    let postmortem = app.api_get(&format!("/api/v1/incidents/{incident_id}/postmortem?format=json")).await["postmortem"].clone();
    let summary = postmortem["summary"].as_str().unwrap();
    assert!(summary.contains("model_provider_outage"), "{summary}");
    let worked = postmortem["what_worked"].to_string();
    assert!(worked.contains("Runbook provider-outage recovered the service"), "{worked}");
    assert!(worked.contains("after 2 step(s) (fallback, cache)") && worked.contains("after step cache"), "{worked}");
}

#[tokio::test]
async fn undo_reverts_applied_steps_newest_first() {
    let receiver = Receiver::start(WEBHOOK_SECRET).await;
    let (service, service_url) = Service::start().await;
    let runbooks = format!(
        r#"
  - name: reversible
    steps:
      - name: fallback
        http: {{method: POST, url: "{service_url}/fallback/on"}}
        reversible: true
        undo: {{http: {{method: POST, url: "{service_url}/fallback/off"}}}}
      - name: settle
        wait: 100ms
      - name: cache
        http: {{method: POST, url: "{service_url}/cache/on"}}
        reversible: true
        undo: {{http: {{method: POST, url: "{service_url}/cache/off"}}}}
      - name: confirm with the team
        manual: agree the mitigation holds
      - name: shed load
        http: {{method: POST, url: "{service_url}/shed/on"}}
        reversible: true
        undo: {{http: {{method: POST, url: "{service_url}/shed/off"}}}}
"#
    );
    let app = App::spawn(&config_with(&receiver.url, &runbooks)).await;
    let incident_id = open_incident(&app, json!({ "provider": "openai" })).await;
    let run_id = start_run(&app, incident_id, "reversible", false).await;
    wait_for_state(&app, run_id, "awaiting_tick").await;
    let (status, body) = app.api_post(&format!("/api/v1/runbook-runs/{run_id}/undo"), json!({})).await;
    assert_eq!(status, 200, "{body}");
    let undone = wait_for_state(&app, run_id, "undone").await;
    assert_eq!(service.targets(), ["POST /fallback/on", "POST /cache/on", "POST /cache/off", "POST /fallback/off"]);
    assert_eq!(step_statuses(&undone), ["undone", "succeeded", "undone", "skipped", "skipped"]);
    let kinds = runbook_kinds(&timeline(&app, incident_id).await);
    assert_eq!(kinds.iter().filter(|kind| *kind == "runbook.step_undone").count(), 2, "{kinds:?}");
    assert!(kinds.contains(&"runbook.undo_requested".to_string()));
    let (status, _) = app.api_post(&format!("/api/v1/runbook-runs/{run_id}/undo"), json!({})).await;
    assert_eq!(status, 409, "a second undo has nothing to do");
}

#[tokio::test]
async fn a_dry_run_renders_every_step_and_runs_nothing() {
    let receiver = Receiver::start(WEBHOOK_SECRET).await;
    let (service, service_url) = Service::start().await;
    let runbooks = format!(
        r#"
  - name: dry
    steps:
      - http: {{method: POST, url: "{service_url}/flags/{{{{alert.labels.provider}}}}"}}
      - command: {{argv: [/bin/echo, "{{{{incident.service}}}}"]}}
      - http: {{method: POST, url: "{service_url}/pods/{{{{alert.labels.pod}}}}"}}
"#
    );
    let app = App::spawn(&config_with(&receiver.url, &runbooks)).await;
    let incident_id = open_incident(&app, json!({ "provider": "open ai" })).await;
    let run_id = start_run(&app, incident_id, "dry", true).await;
    let dry = run(&app, run_id).await;
    assert_eq!(dry["state"], "dry_run");
    let steps = dry["progress"]["steps"].as_array().unwrap();
    assert_eq!(steps[0]["output"], format!("POST {service_url}/flags/open%20ai"));
    assert_eq!(steps[1]["output"], "command [\"/bin/echo\", \"checkout\"]");
    assert_eq!(steps[2]["error"], "the incident's alert has no label \"pod\"");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(service.calls().is_empty());
    assert!(runbook_kinds(&timeline(&app, incident_id).await).contains(&"runbook.dry_run".to_string()));
}

/// Kills the server (SIGKILL) once the service has received `count` requests to `path`.
async fn kill_during(app: &mut App, service: &Service, target: &str, count: usize) {
    app.wait_for(&format!("{count} × {target}"), WAIT, async || {
        (service.targets().iter().filter(|seen| *seen == target).count() >= count).then_some(())
    })
    .await;
    app.kill_9();
}

async fn restart(app: &mut App, dir: &Path) -> App {
    let tempdir = app.take_tempdir();
    let mut restarted = App::start_in(dir, "127.0.0.1:0").await;
    restarted.adopt_tempdir(tempdir);
    restarted
}

#[tokio::test]
async fn after_kill_9_an_idempotent_step_runs_again_and_a_non_idempotent_one_is_reported() {
    let receiver = Receiver::start(WEBHOOK_SECRET).await;
    let (service, service_url) = Service::start().await;
    let runbooks = format!(
        r#"
  - name: slow
    steps:
      - name: drain traffic
        http: {{method: PUT, url: "{service_url}/slow/drain"}}
        idempotent: true
        reversible: true
        undo: {{http: {{method: PUT, url: "{service_url}/undrain"}}}}
      - name: migrate queue
        http: {{method: POST, url: "{service_url}/slow/migrate"}}
        idempotent: false
        reversible: true
        undo: {{http: {{method: POST, url: "{service_url}/unmigrate"}}}}
      - name: never reached
        http: {{method: POST, url: "{service_url}/after"}}
        reversible: true
        undo: {{http: {{method: POST, url: "{service_url}/unafter"}}}}
"#
    );
    let mut app = App::spawn(&config_with(&receiver.url, &runbooks)).await;
    let dir = app.dir.clone();
    let incident_id = open_incident(&app, json!({ "provider": "openai" })).await;
    let run_id = start_run(&app, incident_id, "slow", false).await;

    // Killed while the idempotent step is in flight: it runs again after the restart.
    kill_during(&mut app, &service, "PUT /slow/drain", 1).await;
    let mut app = restart(&mut app, &dir).await;
    assert_eq!(step_statuses(&run(&app, run_id).await)[0], "started", "recorded before it acted");
    // Killed while the step that is not idempotent is in flight: it is never run again.
    kill_during(&mut app, &service, "POST /slow/migrate", 1).await;
    let app = restart(&mut app, &dir).await;
    let interrupted = wait_for_state(&app, run_id, "interrupted").await;
    assert_eq!(step_statuses(&interrupted), ["succeeded", "started", "skipped"]);
    assert_eq!(interrupted["progress"]["steps"][0]["attempts"], 2);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(service.targets(), ["PUT /slow/drain", "PUT /slow/drain", "POST /slow/migrate"]);

    let entries = timeline(&app, incident_id).await;
    let reported = entries.iter().find(|entry| entry["kind"] == "runbook.interrupted").expect("the timeline says so");
    assert_eq!(reported["data"]["step"], 1);
    assert!(reported["data"]["reason"].as_str().unwrap().contains("not idempotent"), "{reported}");
}

fn cli(app: &App, args: &[&str]) -> String {
    let output = std::process::Command::new(support::staunch_binary())
        .args(args)
        .env("STAUNCH_URL", &app.base_url)
        .env("STAUNCH_TOKEN", &app.token)
        .output()
        .expect("run staunch");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "staunch {args:?}: {stdout}{}", String::from_utf8_lossy(&output.stderr));
    stdout
}

#[tokio::test]
async fn the_cli_lists_runs_approves_and_shows_status() {
    let receiver = Receiver::start(WEBHOOK_SECRET).await;
    let (service, service_url) = Service::start().await;
    let runbooks = format!(
        r#"
  - name: purge
    description: purge the provider cache
    steps:
      - name: purge the cache
        http: {{method: POST, url: "{service_url}/purge"}}
"#
    );
    let app = App::spawn(&config_with(&receiver.url, &runbooks)).await;
    let incident_id = open_incident(&app, json!({ "provider": "openai" })).await;
    let incident = incident_id.to_string();

    let listed = cli(&app, &["runbook", "list"]);
    assert!(
        listed.contains("purge") && listed.contains("http (approval)") && listed.contains("purge the provider cache"),
        "{listed}"
    );
    let candidates = cli(&app, &["runbook", "list", "--incident", &incident]);
    assert!(candidates.starts_with("symptom: model_provider_outage\n") && candidates.contains("0.50"), "{candidates}");

    let started = cli(&app, &["runbook", "run", &incident, "purge"]);
    let run_id: i64 = started.split_whitespace().nth(1).unwrap().parse().unwrap();
    wait_for_state(&app, run_id, "awaiting_approval").await;
    let status = cli(&app, &["runbook", "status", &incident]);
    assert!(status.contains("awaiting_approval") && status.contains("purge the cache"), "{status}");
    assert!(service.calls().is_empty());
    cli(&app, &["runbook", "approve", &run_id.to_string()]);
    wait_for_state(&app, run_id, "finished").await;
    let status = cli(&app, &["runbook", "status", &incident]);
    assert!(status.contains("finished") && status.contains("token:admin") && status.contains("HTTP 200"), "{status}");
    assert_eq!(service.targets(), ["POST /purge"]);
}

#[tokio::test]
async fn runs_survive_a_restart_on_postgres_too() {
    let Some(db_url) = support::fresh_postgres_database("runbooks").await else { return };
    let receiver = Receiver::start(WEBHOOK_SECRET).await;
    let (service, service_url) = Service::start().await;
    *service.heal_on.lock().unwrap() = Some("/mitigate/cache".into());
    let runbooks = format!(
        r#"
  - name: provider-outage
    recovery: {{http: {{url: "{service_url}/health"}}}}
    steps:
      - name: drain
        http: {{method: PUT, url: "{service_url}/slow/drain"}}
        idempotent: true
        reversible: true
        undo: {{http: {{method: PUT, url: "{service_url}/undrain"}}}}
      - name: cache
        http: {{method: POST, url: "{service_url}/mitigate/cache"}}
        reversible: true
        undo: {{http: {{method: POST, url: "{service_url}/uncache"}}}}
      - name: shed
        http: {{method: POST, url: "{service_url}/mitigate/shed"}}
        reversible: true
        undo: {{http: {{method: POST, url: "{service_url}/unshed"}}}}
"#
    );
    let mut app = App::spawn_on(&config_with(&receiver.url, &runbooks), &db_url).await;
    let dir = app.dir.clone();
    let incident_id = open_incident(&app, json!({ "provider": "openai" })).await;
    let run_id = start_run(&app, incident_id, "provider-outage", false).await;
    kill_during(&mut app, &service, "PUT /slow/drain", 1).await;
    let tempdir = app.take_tempdir();
    let mut app = App::spawn_on_existing(&dir, &db_url).await;
    app.adopt_tempdir(tempdir);
    let stopped = wait_for_state(&app, run_id, "recovered").await;
    assert_eq!(step_statuses(&stopped), ["succeeded", "succeeded", "skipped"]);
    assert_eq!(service.targets(), ["PUT /slow/drain", "PUT /slow/drain", "POST /mitigate/cache"]);
}
