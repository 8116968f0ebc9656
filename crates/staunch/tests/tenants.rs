//! Organisations are isolated: with one organisation's credentials, no API call reads or
//! changes another's data. Roles limit what a token may do, integration keys only ingest,
//! and every change made through the API lands in the caller's audit log.
//!
//! Two organisations share one server and even a service name (`checkout`). Organisation B
//! (`globex`) gets an incident, an alert, a change event, a silence and a note; then A's
//! admin token calls every API endpoint with B's ids, and B's data is checked unchanged.

mod support;

use serde_json::{Value, json};
use std::process::Command;
use support::receiver::Receiver;
use support::{App, EVENTS_KEY, WEBHOOK_SECRET, staunch_binary};

const GLOBEX_EVENTS_KEY: &str = "globex0123456789abcdef0123456789";

fn two_organisations(receiver_url: &str) -> String {
    let globex = format!(
        r#"
schedules:
  - id: default-primary
    time_zone: UTC
    layers:
      - name: weekly
        start: 2026-01-05T09:00
        rotation: weekly
        users: [alice]
runbooks:
  - name: call-the-vendor
    steps: [{{manual: call the vendor}}]
organisations:
  - id: globex
    name: Globex Corporation
    users:
      - id: hank
        contact_methods:
          - type: webhook
            url: {receiver_url}/hank
            secret: "{WEBHOOK_SECRET}"
    schedules:
      - id: globex-primary
        time_zone: UTC
        layers:
          - name: weekly
            start: 2026-01-05T09:00
            rotation: weekly
            users: [hank]
    escalation_policies:
      - id: globex-default
        levels:
          - timeout: 1h
            targets: [{{user: hank}}]
    services:
      - id: checkout
        escalation_policy: globex-default
        integrations:
          - type: events_v2
            key: "{GLOBEX_EVENTS_KEY}"
      - id: billing
    runbooks:
      - name: call-the-vendor
        steps: [{{manual: call the globex vendor}}]
"#
    );
    support::config(receiver_url, "1h", "", &globex)
}

/// Mints a token with the CLI, before the server holds the database.
fn mint_token(dir: &std::path::Path, org: &str, role: &str, name: &str) -> String {
    let output = Command::new(staunch_binary())
        .args(["token", "create", name, "--org", org, "--role", role, "--config", "staunch.yaml"])
        .current_dir(dir)
        .output()
        .expect("run staunch token create");
    assert!(output.status.success(), "token create: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

struct Tokens {
    default_admin: String,
    default_viewer: String,
    default_responder: String,
    globex_admin: String,
}

async fn start(receiver: &Receiver) -> (App, Tokens) {
    let tempdir = tempfile::tempdir().unwrap();
    let dir = tempdir.path().to_path_buf();
    std::fs::write(dir.join("staunch.yaml"), two_organisations(&receiver.url)).unwrap();
    let tokens = Tokens {
        default_admin: mint_token(&dir, "default", "admin", "ops-admin"),
        default_viewer: mint_token(&dir, "default", "viewer", "dashboard"),
        default_responder: mint_token(&dir, "default", "responder", "oncall-bot"),
        globex_admin: mint_token(&dir, "globex", "admin", "globex-admin"),
    };
    std::fs::write(dir.join("staunch.token"), &tokens.default_admin).unwrap();
    let mut app = App::start_in(&dir, "127.0.0.1:0").await;
    app.adopt_tempdir(Some(tempdir));
    (app, tokens)
}

async fn call(app: &App, token: &str, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let url = app.url(path);
    let request = match method {
        "GET" => app.http.get(url),
        "POST" => app.http.post(url),
        "DELETE" => app.http.delete(url),
        "PATCH" => app.http.patch(url),
        "PUT" => app.http.put(url),
        other => panic!("unknown method {other}"),
    };
    let request = request.bearer_auth(token);
    let request = match body {
        Some(body) => request.json(&body),
        None => request,
    };
    let response = request.send().await.expect("api request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn get_ok(app: &App, token: &str, path: &str) -> Value {
    let (status, body) = call(app, token, "GET", path, None).await;
    assert_eq!(status, 200, "GET {path}: {body}");
    body
}

async fn trigger(app: &App, routing_key: &str, dedup_key: &str) {
    let (status, body) = app
        .enqueue(json!({
            "routing_key": routing_key, "event_action": "trigger", "dedup_key": dedup_key,
            "payload": { "summary": format!("{dedup_key} is failing"), "source": "web-1", "severity": "critical",
                         "custom_details": { "alertname": dedup_key } },
        }))
        .await;
    assert_eq!(status, 202, "{body}");
}

/// Everything organisation B has, as B sees it.
/// Waits until the incident's stored investigation was computed after its newest note.
async fn wait_for_investigation_after_last_note(app: &App, token: &str, incident_id: i64) {
    for _ in 0..200 {
        let timeline = get_ok(app, token, &format!("/api/v1/incidents/{incident_id}/timeline")).await;
        let last_note = timeline["timeline"].as_array().unwrap().iter().rfind(|entry| entry["kind"] == "incident.note").cloned();
        let (status, investigation) =
            call(app, token, "GET", &format!("/api/v1/incidents/{incident_id}/investigation"), None).await;
        let computed_at = investigation["computed_at"].as_str().and_then(|at| at.parse::<jiff::Timestamp>().ok());
        let note_at = last_note.and_then(|note| note["at"].as_str().and_then(|at| at.parse::<jiff::Timestamp>().ok()));
        if status == 200 && investigation["stored"] == true && computed_at > note_at {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the investigation of incident {incident_id} never caught up with its last note");
}

async fn globex_state(app: &App, tokens: &Tokens, incident_id: i64) -> Value {
    json!({
        "incident": get_ok(app, &tokens.globex_admin, &format!("/api/v1/incidents/{incident_id}")).await["incident"],
        "timeline": get_ok(app, &tokens.globex_admin, &format!("/api/v1/incidents/{incident_id}/timeline")).await["timeline"],
        "alerts": get_ok(app, &tokens.globex_admin, "/api/v1/alerts").await["alerts"],
        "changes": get_ok(app, &tokens.globex_admin, "/api/v1/changes").await["changes"],
        "silences": get_ok(app, &tokens.globex_admin, "/api/v1/silences").await["silences"],
        "audit": get_ok(app, &tokens.globex_admin, "/api/v1/audit").await["audit"],
        "runs": get_ok(app, &tokens.globex_admin, &format!("/api/v1/incidents/{incident_id}/runbook-runs")).await["runs"],
        "telemetry": telemetry_of(app, &tokens.globex_admin).await,
    })
}

/// One log line, one span and one metric point, a minute old, with `marker` in every name.
fn telemetry_batches(marker: &str) -> [(&'static str, Value); 3] {
    let at = (jiff::Timestamp::now() - jiff::SignedDuration::from_mins(1)).to_string();
    [
        (
            "/api/v1/telemetry/logs",
            json!({ "lines": [{ "service": format!("{marker}-api"), "at": at, "level": "error", "message": format!("{marker} failed") }] }),
        ),
        (
            "/api/v1/telemetry/spans",
            json!({ "spans": [{ "trace_id": marker, "span_id": "1", "service": format!("{marker}-api"), "operation": "GET /", "start": at, "duration_ms": 3, "status": "error" }] }),
        ),
        (
            "/api/v1/telemetry/metrics",
            json!({ "points": [{ "service": format!("{marker}-api"), "name": "latency_ms", "at": at, "value": 1.5 }] }),
        ),
    ]
}

/// Everything pushed in the last hour, as `token`'s organisation reads it.
async fn telemetry_of(app: &App, token: &str) -> Value {
    let from = (jiff::Timestamp::now() - jiff::SignedDuration::from_hours(1)).to_string();
    let onset = (jiff::Timestamp::now() - jiff::SignedDuration::from_mins(2)).to_string();
    json!({
        "logs": get_ok(app, token, &format!("/api/v1/telemetry/logs?from={from}")).await["lines"],
        "spans": get_ok(app, token, &format!("/api/v1/telemetry/spans?from={from}")).await["spans"],
        "metrics": get_ok(app, token, &format!("/api/v1/telemetry/metrics?from={from}")).await["points"],
        "investigation": get_ok(app, token, &format!("/api/v1/telemetry/investigation?onset={onset}")).await["investigation"]["hypotheses"],
    })
}

#[tokio::test]
async fn no_api_call_with_one_organisations_token_reaches_anothers_data() {
    let receiver = Receiver::start(WEBHOOK_SECRET).await;
    let (app, tokens) = start(&receiver).await;

    // Organisation B: an incident through its own integration key, a change, a silence, a note.
    trigger(&app, GLOBEX_EVENTS_KEY, "globex-db-down").await;
    let globex_incidents = get_ok(&app, &tokens.globex_admin, "/api/v1/incidents").await;
    let globex_incident = globex_incidents["incidents"][0].clone();
    let globex_incident_id = globex_incident["id"].as_i64().expect("globex has an incident");
    assert_eq!(globex_incident["service_id"], "checkout");
    let globex_alert_id = get_ok(&app, &tokens.globex_admin, "/api/v1/alerts").await["alerts"][0]["id"].as_i64().unwrap();
    let change = json!({ "routing_key": GLOBEX_EVENTS_KEY, "payload": { "summary": "globex deploy 42", "source": "ci" } });
    let response = app.http.post(app.url("/v2/change/enqueue")).json(&change).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 202);
    let (status, silence) = call(
        &app,
        &tokens.globex_admin,
        "POST",
        "/api/v1/silences",
        Some(json!({ "matchers": "{env=\"globex-staging\"}", "duration": "2h", "comment": "globex maintenance" })),
    )
    .await;
    assert_eq!(status, 201, "{silence}");
    let globex_silence_id = silence["id"].as_i64().unwrap();
    let (status, _) = call(
        &app,
        &tokens.globex_admin,
        "POST",
        &format!("/api/v1/incidents/{globex_incident_id}/notes"),
        Some(json!({ "text": "globex only" })),
    )
    .await;
    assert_eq!(status, 200);
    // Hank, B's only responder, was paged; nobody of A's was.
    receiver.wait_for_pages("/hank", 1, std::time::Duration::from_secs(10)).await;

    // B runs a runbook that waits for a person at its manual step.
    let (status, started) = call(
        &app,
        &tokens.globex_admin,
        "POST",
        &format!("/api/v1/incidents/{globex_incident_id}/runbooks"),
        Some(json!({ "runbook": "call-the-vendor" })),
    )
    .await;
    assert_eq!(status, 201, "{started}");
    let globex_run_id = started["run"]["id"].as_i64().unwrap();
    for _ in 0..200 {
        let run = get_ok(&app, &tokens.globex_admin, &format!("/api/v1/runbook-runs/{globex_run_id}")).await;
        if run["run"]["state"] == "awaiting_tick" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    // B pushes telemetry.
    for (path, batch) in telemetry_batches("globex") {
        let (status, answer) = call(&app, &tokens.globex_admin, "POST", path, Some(batch)).await;
        assert_eq!(status, 202, "{path}: {answer}");
    }
    // B's catalog names its own services.
    let catalog = json!({ "entities": [{ "kind": "Component", "namespace": "default", "name": "globex-billing",
                                          "depends_on": ["component:globex-db"] }] });
    let (status, answer) = call(&app, &tokens.globex_admin, "PUT", "/api/v1/catalog", Some(catalog)).await;
    assert_eq!(status, 200, "{answer}");
    // B's investigation has caught up with its note (it is refreshed shortly after one), so
    // B's timeline holds still from here on.
    wait_for_investigation_after_last_note(&app, &tokens.globex_admin, globex_incident_id).await;

    // Organisation A has an incident of its own on a service of the same name.
    trigger(&app, EVENTS_KEY, "default-api-slow").await;
    let before = globex_state(&app, &tokens, globex_incident_id).await;
    assert!(before["telemetry"].to_string().contains("globex-api"), "B reads its own telemetry: {}", before["telemetry"]);
    // A pushes telemetry of its own, and sees only that.
    for (path, batch) in telemetry_batches("initech") {
        let (status, answer) = call(&app, &tokens.default_admin, "POST", path, Some(batch)).await;
        assert_eq!(status, 202, "{path}: {answer}");
    }
    let own = telemetry_of(&app, &tokens.default_admin).await.to_string();
    assert!(own.contains("initech-api") && !own.contains("globex"), "A's telemetry reads show B's: {own}");

    let admin = &tokens.default_admin;
    // Reads: lists hold none of B's rows, B's ids are unknown.
    let lists = [
        ("/api/v1/incidents", "incidents"),
        ("/api/v1/incidents?state=triggered,acknowledged,mitigated,resolved", "incidents"),
        ("/api/v1/incidents?service=checkout", "incidents"),
        ("/api/v1/alerts", "alerts"),
        ("/api/v1/alerts?service=checkout&firing=true", "alerts"),
        ("/api/v1/changes", "changes"),
        ("/api/v1/silences", "silences"),
        ("/api/v1/audit", "audit"),
        ("/api/v1/catalog", "entities"),
    ];
    for (path, key) in lists {
        let body = get_ok(&app, admin, path).await;
        let text = body[key].to_string();
        assert!(!text.contains("globex"), "{path} shows organisation B's data: {text}");
    }
    let incidents = get_ok(&app, admin, "/api/v1/incidents").await;
    assert_eq!(incidents["incidents"].as_array().unwrap().len(), 1, "A sees exactly its own incident");
    let services = get_ok(&app, admin, "/api/v1/services").await.to_string();
    assert!(services.contains("checkout") && !services.contains("billing"), "{services}");
    let oncall = get_ok(&app, admin, "/api/v1/oncall").await.to_string();
    assert!(oncall.contains("default-primary") && !oncall.contains("globex") && !oncall.contains("hank"), "{oncall}");
    let (status, _) = call(&app, admin, "GET", "/api/v1/oncall?schedule=globex-primary", None).await;
    assert_eq!(status, 404, "B's schedule is unknown to A");

    let id = globex_incident_id;
    let not_found = [
        ("GET", format!("/api/v1/incidents/{id}"), None),
        ("GET", format!("/api/v1/incidents/{id}/investigation"), None),
        ("GET", format!("/api/v1/incidents/{id}/investigation?as_of={}", jiff::Timestamp::now()), None),
        ("GET", format!("/api/v1/incidents/{id}/alerts"), None),
        ("GET", format!("/api/v1/incidents/{id}/timeline"), None),
        ("GET", format!("/api/v1/incidents/{id}/notifications"), None),
        ("GET", format!("/api/v1/alerts/{globex_alert_id}"), None),
        ("POST", format!("/api/v1/incidents/{id}/acknowledge"), None),
        ("POST", format!("/api/v1/incidents/{id}/mitigate"), None),
        ("POST", format!("/api/v1/incidents/{id}/escalate"), None),
        ("POST", format!("/api/v1/incidents/{id}/resolve"), None),
        ("POST", format!("/api/v1/incidents/{id}/reassign"), Some(json!({ "user": "alice" }))),
        ("POST", format!("/api/v1/incidents/{id}/severity"), Some(json!({ "severity": "sev3" }))),
        ("POST", format!("/api/v1/incidents/{id}/notes"), Some(json!({ "text": "written by A" }))),
        ("DELETE", format!("/api/v1/silences/{globex_silence_id}"), None),
        ("GET", format!("/api/v1/incidents/{id}/runbooks"), None),
        ("POST", format!("/api/v1/incidents/{id}/runbooks"), Some(json!({ "runbook": "call-the-vendor" }))),
        ("POST", format!("/api/v1/incidents/{id}/runbooks"), Some(json!({ "runbook": "call-the-vendor", "dry_run": true }))),
        ("GET", format!("/api/v1/incidents/{id}/runbook-runs"), None),
        ("GET", format!("/api/v1/incidents/{id}/llm-exchanges"), None),
        ("GET", format!("/api/v1/runbook-runs/{globex_run_id}"), None),
        ("POST", format!("/api/v1/runbook-runs/{globex_run_id}/approve"), None),
        ("POST", format!("/api/v1/runbook-runs/{globex_run_id}/undo"), None),
        ("POST", format!("/api/v1/runbook-runs/{globex_run_id}/steps/0/tick"), None),
    ];
    // (Telemetry has no ids: its reads are checked above and B's telemetry below, unchanged.)
    for (method, path, body) in not_found {
        let (status, answer) = call(&app, admin, method, &path, body).await;
        assert_eq!(status, 404, "{method} {path} with A's token: {answer}");
    }
    // B's user is not a user of A's either.
    let (status, answer) = call(
        &app,
        admin,
        "POST",
        &format!("/api/v1/incidents/{}/reassign", incidents["incidents"][0]["id"]),
        Some(json!({ "user": "hank" })),
    )
    .await;
    assert_eq!(status, 422, "{answer}");

    // Nothing of B's changed; B's audit log holds only B's own changes.
    let after = globex_state(&app, &tokens, globex_incident_id).await;
    assert_eq!(before, after);
    let audit = after["audit"].as_array().unwrap();
    let actions: Vec<&str> = audit.iter().map(|entry| entry["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["catalog.replace", "runbook.start", "incident.note", "silence.create", "token.create"]);
    // A replaced its own catalog; B's is as it was.
    let (status, answer) = call(&app, admin, "PUT", "/api/v1/catalog", Some(json!({ "entities": [] }))).await;
    assert_eq!(status, 200, "{answer}");
    let globex_catalog = get_ok(&app, &tokens.globex_admin, "/api/v1/catalog").await.to_string();
    assert!(globex_catalog.contains("globex-billing"), "{globex_catalog}");
    let runbooks = get_ok(&app, admin, "/api/v1/runbooks").await.to_string();
    assert!(runbooks.contains("call-the-vendor") && !runbooks.contains("globex"), "{runbooks}");
    assert!(audit.iter().all(|entry| entry["actor"]["id"] != "ops-admin"));
    assert!(receiver.pages_for("/alice").len() == 1 && receiver.pages_for("/hank").len() == 1, "one page per organisation");
}

#[tokio::test]
async fn roles_limit_tokens_and_integration_keys_only_ingest() {
    let receiver = Receiver::start(WEBHOOK_SECRET).await;
    let (app, tokens) = start(&receiver).await;
    trigger(&app, EVENTS_KEY, "default-api-slow").await;
    let incident_id = get_ok(&app, &tokens.default_viewer, "/api/v1/incidents").await["incidents"][0]["id"].as_i64().unwrap();

    // A viewer reads but changes nothing.
    for (path, body) in [
        (format!("/api/v1/incidents/{incident_id}/acknowledge"), None),
        (format!("/api/v1/incidents/{incident_id}/notes"), Some(json!({ "text": "hi" }))),
        (format!("/api/v1/incidents/{incident_id}/reassign"), Some(json!({ "user": "bob" }))),
        ("/api/v1/silences".to_string(), Some(json!({ "matchers": "{a=\"b\"}", "duration": "1h" }))),
        (format!("/api/v1/incidents/{incident_id}/runbooks"), Some(json!({ "runbook": "call-the-vendor" }))),
        ("/api/v1/runbook-runs/1/approve".to_string(), None),
        ("/api/v1/runbook-runs/1/undo".to_string(), None),
        ("/api/v1/runbook-runs/1/steps/0/tick".to_string(), None),
        ("/api/v1/telemetry/logs".to_string(), Some(json!({ "lines": [] }))),
        ("/api/v1/telemetry/spans".to_string(), Some(json!({ "spans": [] }))),
        ("/api/v1/telemetry/metrics".to_string(), Some(json!({ "points": [] }))),
    ] {
        let (status, answer) = call(&app, &tokens.default_viewer, "POST", &path, body).await;
        assert_eq!(status, 403, "viewer POST {path}: {answer}");
        assert!(answer["error"].as_str().unwrap().contains("responder"), "{answer}");
    }
    // Only admins replace the catalog (it is configuration); viewers read it and investigations.
    for token in [&tokens.default_viewer, &tokens.default_responder] {
        let (status, _) = call(&app, token, "PUT", "/api/v1/catalog", Some(json!({ "entities": [] }))).await;
        assert_eq!(status, 403);
    }
    let (status, _) = call(&app, &tokens.default_viewer, "GET", "/api/v1/catalog", None).await;
    assert_eq!(status, 200);
    let (status, _) =
        call(&app, &tokens.default_viewer, "GET", &format!("/api/v1/incidents/{incident_id}/investigation"), None).await;
    assert_eq!(status, 200);
    // Only admins read the audit log and the language-model exchanges.
    for token in [&tokens.default_viewer, &tokens.default_responder] {
        let (status, _) = call(&app, token, "GET", "/api/v1/audit", None).await;
        assert_eq!(status, 403);
        let (status, _) = call(&app, token, "GET", &format!("/api/v1/incidents/{incident_id}/llm-exchanges"), None).await;
        assert_eq!(status, 403);
    }
    let exchanges = get_ok(&app, &tokens.default_admin, &format!("/api/v1/incidents/{incident_id}/llm-exchanges")).await;
    assert_eq!(exchanges["llm_exchanges"], json!([]), "no language model is configured: nothing was sent");
    // An integration key is not an API token.
    let (status, _) = call(&app, EVENTS_KEY, "GET", "/api/v1/incidents", None).await;
    assert_eq!(status, 401);
    let (status, _) = call(&app, EVENTS_KEY, "POST", "/api/v1/telemetry/logs", Some(json!({ "lines": [] }))).await;
    assert_eq!(status, 401, "telemetry is pushed with an API token");
    // A responder pushes telemetry; a push is not an audited change (like SLO events).
    let (status, answer) =
        call(&app, &tokens.default_responder, "POST", "/api/v1/telemetry/logs", Some(json!({ "lines": [] }))).await;
    assert_eq!((status, answer), (202, json!({ "accepted": 0 })));

    // A responder's change is audited: who, what, to what, from where.
    let (status, _) =
        call(&app, &tokens.default_responder, "POST", &format!("/api/v1/incidents/{incident_id}/acknowledge"), None).await;
    assert_eq!(status, 200);
    // Refused and no-op requests change nothing, so they are not in the log.
    let (status, _) =
        call(&app, &tokens.default_responder, "POST", &format!("/api/v1/incidents/{incident_id}/acknowledge"), None).await;
    assert_eq!(status, 409);
    let audit = get_ok(&app, &tokens.default_admin, "/api/v1/audit").await;
    let newest = &audit["audit"][0];
    assert_eq!(newest["action"], "incident.acknowledge");
    assert_eq!(newest["target"], format!("incident/{incident_id}"));
    assert_eq!(newest["actor"], json!({ "kind": "token", "id": "oncall-bot" }));
    assert_eq!(newest["origin"], "127.0.0.1");
    let token_entries = audit["audit"].as_array().unwrap().iter().filter(|entry| entry["action"] == "token.create").count();
    assert_eq!(token_entries, 3, "the three tokens of the default organisation, minted by the CLI");
    assert_eq!(audit["audit"][1]["origin"], "cli");
}

#[tokio::test]
async fn action_items_postmortems_cases_and_reports_stay_within_their_organisation() {
    let receiver = Receiver::start(WEBHOOK_SECRET).await;
    let (app, tokens) = start(&receiver).await;
    trigger(&app, GLOBEX_EVENTS_KEY, "globex-db-down").await;
    let globex = &tokens.globex_admin;
    let id = get_ok(&app, globex, "/api/v1/incidents").await["incidents"][0]["id"].as_i64().unwrap();
    let (status, added) =
        call(&app, globex, "POST", &format!("/api/v1/incidents/{id}/action-items"), Some(json!({ "text": "globex follow-up" })))
            .await;
    assert_eq!(status, 201, "{added}");
    let item_id = added["action_item"]["id"].as_i64().unwrap();
    let (status, _) = call(&app, globex, "POST", &format!("/api/v1/incidents/{id}/resolve"), None).await;
    assert_eq!(status, 200);
    let before = get_ok(&app, globex, &format!("/api/v1/incidents/{id}/action-items")).await;

    let admin = &tokens.default_admin;
    let not_found = [
        ("GET", format!("/api/v1/incidents/{id}/action-items"), None),
        ("POST", format!("/api/v1/incidents/{id}/action-items"), Some(json!({ "text": "written by A" }))),
        ("PATCH", format!("/api/v1/action-items/{item_id}"), Some(json!({ "status": "cancelled" }))),
        ("GET", format!("/api/v1/incidents/{id}/postmortem"), None),
        ("GET", format!("/api/v1/incidents/{id}/case"), None),
    ];
    for (method, path, body) in not_found {
        let (status, answer) = call(&app, admin, method, &path, body).await;
        assert_eq!(status, 404, "{method} {path} with A's token: {answer}");
    }
    let report = get_ok(&app, admin, "/api/v1/report").await;
    assert_eq!(report["report"]["incidents"], 0, "A's report counts none of B's incidents: {report}");
    assert_eq!(get_ok(&app, globex, "/api/v1/report").await["report"]["incidents"], 1);
    assert_eq!(get_ok(&app, globex, &format!("/api/v1/incidents/{id}/action-items")).await, before, "B's items are unchanged");

    // A viewer reads postmortems but does not add action items.
    trigger(&app, EVENTS_KEY, "default-api-slow").await;
    let own = get_ok(&app, admin, "/api/v1/incidents").await["incidents"][0]["id"].as_i64().unwrap();
    let (status, _) =
        call(&app, &tokens.default_viewer, "GET", &format!("/api/v1/incidents/{own}/postmortem?format=json"), None).await;
    assert_eq!(status, 200);
    let (status, _) = call(
        &app,
        &tokens.default_viewer,
        "POST",
        &format!("/api/v1/incidents/{own}/action-items"),
        Some(json!({ "text": "x" })),
    )
    .await;
    assert_eq!(status, 403);
}
