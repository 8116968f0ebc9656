//! Senders configured for Opsgenie or Grafana OnCall, pointed at Staunch by changing only the
//! base URL, end to end through the real binary: Opsgenie's Alert API v2 (by hand and from the
//! real Alertmanager's `opsgenie_configs`), Grafana Alerting's webhook, and Grafana OnCall's
//! integration URLs.

mod support;

use serde_json::{Value, json};
use std::time::Duration;
use support::receiver::Receiver;
use support::tools::start_alertmanager;
use support::{ALERTMANAGER_KEY, App, EVENTS_KEY, WEBHOOK_SECRET, config};

const WAIT: Duration = Duration::from_secs(20);
const OPSGENIE_KEY: &str = "eb243592-faa2-4ba2-a551-1afdf565c889";
const GRAFANA_KEY: &str = "grafana-0123456789abcdef01234567";

/// The shared test config with an `opsgenie` and a `grafana` integration added to the service.
fn compat_config(receiver_url: &str) -> String {
    let integrations = format!(
        "      - type: opsgenie\n        key: \"{OPSGENIE_KEY}\"\n      - type: grafana\n        key: \"{GRAFANA_KEY}\"\n"
    );
    config(receiver_url, "1h", "", &integrations)
}

async fn start() -> (Receiver, App) {
    let receiver = Receiver::start(WEBHOOK_SECRET).await;
    let app = App::spawn(&compat_config(&receiver.url)).await;
    (receiver, app)
}

/// Sends an Opsgenie API request with `Authorization: GenieKey <key>`; returns (status, body).
async fn opsgenie(app: &App, method: reqwest::Method, path: &str, key: Option<&str>, body: Option<&str>) -> (u16, Value) {
    let mut request = app.http.request(method, app.url(path)).header("Content-Type", "application/json");
    if let Some(key) = key {
        request = request.header("Authorization", format!("GenieKey {key}"));
    }
    if let Some(body) = body {
        request = request.body(body.to_string());
    }
    let response = request.send().await.expect("opsgenie request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn opsgenie_post(app: &App, path: &str, body: Value) -> (u16, Value) {
    opsgenie(app, reqwest::Method::POST, path, Some(OPSGENIE_KEY), Some(&body.to_string())).await
}

/// Every Opsgenie answer carries `took` (seconds) and a UUID `requestId`.
fn assert_opsgenie_envelope(body: &Value) {
    assert!(body["took"].as_f64().is_some_and(|took| took >= 0.0), "{body}");
    let request_id = body["requestId"].as_str().unwrap_or_default();
    assert_eq!(request_id.len(), 36, "{body}");
    assert_eq!(request_id.matches('-').count(), 4, "{body}");
}

fn assert_accepted(status: u16, body: &Value) {
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["result"], "Request will be processed", "{body}");
    assert_opsgenie_envelope(body);
}

async fn incident_of_alert(app: &App, dedup_key: &str) -> Value {
    let alerts = app.api_get("/api/v1/alerts?service=checkout&limit=1000").await;
    let alert = alerts["alerts"].as_array().unwrap().iter().find(|alert| alert["dedup_key"] == dedup_key).cloned();
    let alert = alert.unwrap_or_else(|| panic!("no alert {dedup_key}: {alerts}"));
    let incident_id = alert["incident_id"].as_i64().expect("the alert opened an incident");
    app.api_get(&format!("/api/v1/incidents/{incident_id}")).await["incident"].clone()
}

#[tokio::test]
async fn opsgenie_create_pages_and_close_by_alias_resolves() {
    let (receiver, app) = start().await;
    let create = json!({
        "message": "Disk full on db-1", "alias": "db-1/disk", "description": "/var is at 100%",
        "priority": "P1", "tags": ["prod", "db"], "entity": "db-1", "source": "cron",
        "details": {"alertname": "DiskFull", "team": "storage"},
        "responders": [{"name": "NOC", "type": "team"}]
    });
    let (status, body) = opsgenie_post(&app, "/v2/alerts", create).await;
    assert_accepted(status, &body);
    assert_eq!(body["data"]["alertId"], "db-1/disk", "the id of an alert is its alias");

    let pages = receiver.wait_for_pages("/alice", 1, WAIT).await;
    assert_eq!(pages[0].event, "incident.triggered");
    assert_eq!(pages[0].body["incident"]["title"], "Disk full on db-1");
    let incident = incident_of_alert(&app, "db-1/disk").await;
    assert_eq!(incident["severity"], "sev1", "P1");
    let alerts = app.api_get("/api/v1/alerts?service=checkout").await;
    let alert = &alerts["alerts"][0];
    assert_eq!(alert["format"], "opsgenie");
    assert_eq!(
        alert["labels"],
        json!({"alertname": "DiskFull", "team": "storage", "entity": "db-1", "source": "cron", "priority": "P1", "tags": "prod,db"})
    );
    assert_eq!(alert["annotations"]["description"], "/var is at 100%");

    // A slash in an alias travels percent-encoded in the path.
    let (status, body) =
        opsgenie_post(&app, "/v2/alerts/db-1%2Fdisk/close?identifierType=alias", json!({"source": "cron", "note": "cleaned up"}))
            .await;
    assert_accepted(status, &body);
    let incident_id = incident["id"].as_i64().unwrap();
    let incident = app.api_get(&format!("/api/v1/incidents/{incident_id}")).await;
    assert_eq!(incident["incident"]["state"], "resolved", "a 202 means committed: resolved already");
    let kinds = app.timeline_kinds(incident_id).await;
    assert!(kinds.contains(&"alert.resolved".to_string()) && kinds.contains(&"incident.resolved".to_string()), "{kinds:?}");
    let timeline = app.api_get(&format!("/api/v1/incidents/{incident_id}/timeline")).await;
    let resolved =
        timeline["timeline"].as_array().unwrap().iter().find(|entry| entry["kind"] == "incident.resolved").cloned().unwrap();
    assert_eq!(resolved["actor"]["id"], "checkout/opsgenie", "{resolved}");

    let pages = receiver.wait_for_pages("/alice", 2, WAIT).await;
    assert_eq!(pages[1].event, "incident.resolved");
    // Closing again is accepted and changes nothing, as Opsgenie processes it asynchronously.
    let (status, body) = opsgenie_post(&app, "/v2/alerts/db-1%2Fdisk/close?identifierType=alias", json!({})).await;
    assert_accepted(status, &body);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.pages().len(), 2, "{:#?}", receiver.pages());
}

#[tokio::test]
async fn opsgenie_acknowledge_by_alias_and_by_the_returned_id() {
    let (receiver, app) = start().await;
    let (status, body) =
        opsgenie_post(&app, "/v2/alerts", json!({"message": "Queue backing up", "alias": "queue-lag", "priority": "P2"})).await;
    assert_accepted(status, &body);
    receiver.wait_for_pages("/alice", 1, WAIT).await;
    let (status, body) =
        opsgenie_post(&app, "/v2/alerts/queue-lag/acknowledge?identifierType=alias", json!({"user": "alice", "source": "phone"}))
            .await;
    assert_accepted(status, &body);
    assert_eq!(incident_of_alert(&app, "queue-lag").await["state"], "acknowledged");

    // Without an alias Staunch generates the id and returns it; `identifierType` defaults to id.
    let (status, body) =
        opsgenie_post(&app, "/v2/alerts", json!({"message": "Certificate expires in 3 days", "priority": "P4"})).await;
    assert_accepted(status, &body);
    let alert_id = body["data"]["alertId"].as_str().expect("generated id").to_string();
    assert_eq!(alert_id.len(), 36, "a UUID, as Opsgenie ids are: {alert_id}");
    receiver.wait_for_pages("/alice", 3, WAIT).await;
    let incident = incident_of_alert(&app, &alert_id).await;
    assert_eq!(incident["severity"], "sev3", "P4");
    let (status, body) =
        opsgenie(&app, reqwest::Method::POST, &format!("/v2/alerts/{alert_id}/acknowledge"), Some(OPSGENIE_KEY), None).await;
    assert_accepted(status, &body);
    assert_eq!(incident_of_alert(&app, &alert_id).await["state"], "acknowledged");

    let events: Vec<String> = receiver.wait_for_pages("/alice", 4, WAIT).await.iter().map(|page| page.event.clone()).collect();
    assert_eq!(events, ["incident.triggered", "incident.acknowledged", "incident.triggered", "incident.acknowledged"]);
}

/// A refused Opsgenie request and what Staunch must answer.
struct ErrorCase<'a> {
    name: &'a str,
    key: Option<&'a str>,
    path: &'a str,
    body: &'a str,
    status: u16,
    /// How the `message` begins.
    message: &'a str,
}

impl<'a> ErrorCase<'a> {
    fn new(name: &'a str, key: Option<&'a str>, path: &'a str, body: &'a str, status: u16, message: &'a str) -> ErrorCase<'a> {
        ErrorCase { name, key, path, body, status, message }
    }
}

#[tokio::test]
async fn opsgenie_errors_are_shaped_as_opsgenie_shapes_them() {
    let (receiver, app) = start().await;
    let valid = r#"{"message": "m", "alias": "a"}"#;
    let post = reqwest::Method::POST;
    let alias_too_long = format!("/v2/alerts/{}/acknowledge?identifierType=alias", "a".repeat(600));
    let cases = [
        ErrorCase::new(
            "unknown key",
            Some("00000000-0000-4000-8000-000000000000"),
            "/v2/alerts",
            valid,
            401,
            "Could not authenticate",
        ),
        ErrorCase::new("no key", None, "/v2/alerts", valid, 401, "Could not authenticate"),
        ErrorCase::new("no key on close", None, "/v2/alerts/a/close?identifierType=alias", "{}", 401, "Could not authenticate"),
        ErrorCase::new(
            "a key of another integration type",
            Some(ALERTMANAGER_KEY),
            "/v2/alerts",
            valid,
            403,
            "this key belongs to an integration of type alertmanager",
        ),
        ErrorCase::new("not json", Some(OPSGENIE_KEY), "/v2/alerts", "message=m", 400, "invalid json body: "),
        ErrorCase::new(
            "no message",
            Some(OPSGENIE_KEY),
            "/v2/alerts",
            r#"{"alias": "a"}"#,
            422,
            "invalid payload: message: is required",
        ),
        ErrorCase::new(
            "misspelt field",
            Some(OPSGENIE_KEY),
            "/v2/alerts",
            r#"{"message": "m", "alais": "a"}"#,
            422,
            "invalid payload: alais: ",
        ),
        ErrorCase::new(
            "tiny ids",
            Some(OPSGENIE_KEY),
            "/v2/alerts/17/close?identifierType=tiny",
            "{}",
            422,
            "invalid payload: identifierType: tiny ids",
        ),
        ErrorCase::new(
            "alias too long",
            Some(OPSGENIE_KEY),
            &alias_too_long,
            "",
            422,
            "invalid payload: identifier: must be at most 512",
        ),
    ];
    for case in cases {
        let (status, got) = opsgenie(&app, post.clone(), case.path, case.key, Some(case.body)).await;
        assert_eq!(status, case.status, "{}: {got}", case.name);
        assert!(got["message"].as_str().is_some_and(|text| text.starts_with(case.message)), "{}: {got}", case.name);
        assert_opsgenie_envelope(&got);
    }
    let (_, forbidden) = opsgenie(&app, post.clone(), "/v2/alerts", Some(EVENTS_KEY), Some(valid)).await;
    assert_eq!(forbidden["code"], 40301, "{forbidden}");
    let (_, invalid) = opsgenie(&app, post, "/v2/alerts", Some(OPSGENIE_KEY), Some(r#"{"alias": 5}"#)).await;
    assert_eq!(invalid["errors"], json!({"message": "is required", "alias": "must be a string"}), "{invalid}");

    assert!(app.incidents("").await.is_empty(), "nothing was accepted");
    assert!(receiver.pages().is_empty());
}

#[tokio::test]
async fn opsgenie_message_and_description_updates_are_accepted() {
    let (_receiver, app) = start().await;
    let (status, body) = opsgenie_post(&app, "/v2/alerts", json!({"message": "first", "alias": "u1"})).await;
    assert_accepted(status, &body);
    let put = reqwest::Method::PUT;
    let (status, body) = opsgenie(
        &app,
        put.clone(),
        "/v2/alerts/u1/message?identifierType=alias",
        Some(OPSGENIE_KEY),
        Some(r#"{"message":"second"}"#),
    )
    .await;
    assert_accepted(status, &body);
    let (status, body) =
        opsgenie(&app, put.clone(), "/v2/alerts/u1/description?identifierType=alias", Some(OPSGENIE_KEY), Some("{}")).await;
    assert_accepted(status, &body);
    let (status, body) =
        opsgenie(&app, put.clone(), "/v2/alerts/u1/message?identifierType=alias", Some(OPSGENIE_KEY), Some("{}")).await;
    assert_eq!(status, 422, "{body}");
    let (status, _) = opsgenie(
        &app,
        put,
        "/v2/alerts/u1/message?identifierType=alias",
        Some("wrong-key-0123456789"),
        Some(r#"{"message":"x"}"#),
    )
    .await;
    assert_eq!(status, 401);
}

/// A Grafana Alerting webhook body for one alert, as Grafana 11/12 sends it.
fn grafana_payload(status: &str, alertname: &str, fingerprint: &str) -> Value {
    let ends_at = if status == "firing" { "0001-01-01T00:00:00Z".to_string() } else { jiff::Timestamp::now().to_string() };
    json!({
        "receiver": "staunch", "status": status, "orgId": 1, "version": "1",
        "groupKey": format!("{{}}/{{}}:{{alertname=\"{alertname}\"}}"), "truncatedAlerts": 0,
        "groupLabels": {"alertname": alertname}, "commonLabels": {"alertname": alertname, "grafana_folder": "Checkout"},
        "commonAnnotations": {}, "externalURL": "http://grafana.test/",
        "title": format!("[{}:1] {alertname} (Checkout)", status.to_uppercase()),
        "state": if status == "firing" { "alerting" } else { "ok" },
        "message": "**Firing**\n\nValue: B=97.1",
        "appVersion": "12.1.0",
        "alerts": [{
            "status": status,
            "labels": {"alertname": alertname, "grafana_folder": "Checkout", "severity": "critical"},
            "annotations": {"summary": format!("{alertname} on checkout"), "runbook_url": "http://runbooks.test/cpu"},
            "startsAt": "2026-03-01T10:00:00Z", "endsAt": ends_at,
            "generatorURL": "http://grafana.test/alerting/grafana/cpu-rule/view",
            "fingerprint": fingerprint,
            "silenceURL": "http://grafana.test/alerting/silence/new?alertmanager=grafana",
            "dashboardURL": "http://grafana.test/d/checkout", "panelURL": "http://grafana.test/d/checkout?viewPanel=2",
            "values": {"B": 97.1, "C": 1}, "valueString": "[ var='B' value=97.1 ], [ var='C' value=1 ]",
            "orgId": 1, "ruleUID": "cpu-rule"
        }]
    })
}

async fn send(app: &App, method: reqwest::Method, path: &str, body: &Value) -> (u16, Value) {
    let response = app.http.request(method, app.url(path)).json(body).send().await.expect("webhook");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn grafana_webhook_fires_then_resolves_and_the_incident_auto_resolves() {
    let (receiver, app) = start().await;
    let path = format!("/integrations/grafana/{GRAFANA_KEY}");
    let (status, body) =
        send(&app, reqwest::Method::POST, &path, &grafana_payload("firing", "HighCpu", "a1b2c3d4e5f60718")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["receipt"]["incidents_opened"].as_array().map(Vec::len), Some(1), "{body}");
    let pages = receiver.wait_for_pages("/alice", 1, WAIT).await;
    assert_eq!(pages[0].body["incident"]["title"], "HighCpu on checkout");

    let incident = incident_of_alert(&app, "a1b2c3d4e5f60718").await;
    assert_eq!(incident["severity"], "sev1");
    let alerts = app.api_get(&format!("/api/v1/incidents/{}/alerts", incident["id"])).await;
    let alert = &alerts["alerts"][0];
    assert_eq!(alert["format"], "grafana");
    let link_texts: Vec<&str> = alert["links"].as_array().unwrap().iter().filter_map(|link| link["text"].as_str()).collect();
    assert_eq!(link_texts, ["Alert rule", "Dashboard", "Panel", "Silence"]);
    assert_eq!(alert["details"]["values"]["B"], 97.1);

    let (status, body) =
        send(&app, reqwest::Method::POST, &path, &grafana_payload("resolved", "HighCpu", "a1b2c3d4e5f60718")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["receipt"]["resolved"], 1, "{body}");
    let incident = app.api_get(&format!("/api/v1/incidents/{}", incident["id"])).await;
    assert_eq!(incident["incident"]["state"], "resolved");
    let events: Vec<String> = receiver.wait_for_pages("/alice", 2, WAIT).await.iter().map(|page| page.event.clone()).collect();
    assert_eq!(events, ["incident.triggered", "incident.resolved"]);

    // A bad body names the field; the payload of Alertmanager's webhook is pointed elsewhere.
    let mut bad = grafana_payload("firing", "HighCpu", "a1b2c3d4e5f60718");
    bad["version"] = json!("4");
    let (status, body) = send(&app, reqwest::Method::POST, &path, &bad).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["errors"][0]["field"], "version", "{body}");
}

#[tokio::test]
async fn grafana_oncall_integration_urls_work_with_only_the_host_changed() {
    let (receiver, app) = start().await;
    let grafana_paths = [
        format!("/integrations/v1/grafana_alerting/{GRAFANA_KEY}/"),
        format!("/integrations/v1/grafana_alerting/{GRAFANA_KEY}"),
        format!("/integrations/v1/grafana/{GRAFANA_KEY}/"),
        format!("/integrations/v1/grafana/{GRAFANA_KEY}"),
    ];
    for (index, path) in grafana_paths.iter().enumerate() {
        // Grafana's webhook contact point can be set to PUT; the OnCall one always POSTs.
        let method = if index % 2 == 0 { reqwest::Method::POST } else { reqwest::Method::PUT };
        let alertname = format!("Rule{index}");
        let (status, body) = send(&app, method, path, &grafana_payload("firing", &alertname, &format!("f{index}"))).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert_eq!(body["receipt"]["incidents_opened"].as_array().map(Vec::len), Some(1), "{path}: {body}");
    }

    // OnCall's Alertmanager integration URL takes Alertmanager's webhook and an alertmanager key.
    let alertmanager = json!({"version": "4", "groupKey": "{}:{alertname=\"AmRule\"}", "truncatedAlerts": 0, "status": "firing",
        "receiver": "oncall", "groupLabels": {"alertname": "AmRule"}, "commonLabels": {"alertname": "AmRule"}, "commonAnnotations": {},
        "externalURL": "http://am.test", "alerts": [{"status": "firing", "labels": {"alertname": "AmRule"}, "annotations": {"summary": "from am"},
        "startsAt": "2026-03-01T10:00:00Z", "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "", "fingerprint": "am-1"}]});
    for path in [
        format!("/integrations/v1/alertmanager/{ALERTMANAGER_KEY}/"),
        format!("/integrations/v1/alertmanager/{ALERTMANAGER_KEY}"),
    ] {
        let (status, body) = send(&app, reqwest::Method::POST, &path, &alertmanager).await;
        assert_eq!(status, 200, "{path}: {body}");
    }
    receiver.wait_for_pages("/alice", 5, WAIT).await;
    assert_eq!(app.incidents("state=triggered").await.len(), 5, "four grafana rules and one alertmanager group");

    // Keys are checked per format, as on Staunch's own URLs.
    let refused = [
        format!("/integrations/v1/grafana_alerting/{ALERTMANAGER_KEY}/"),
        "/integrations/v1/grafana/not-a-key-0123456789/".to_string(),
        format!("/integrations/v1/alertmanager/{GRAFANA_KEY}/"),
    ];
    for path in refused {
        let (status, body) = send(&app, reqwest::Method::POST, &path, &grafana_payload("firing", "X", "x")).await;
        assert_eq!(status, 404, "{path}: {body}");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.pages().len(), 5, "{:#?}", receiver.pages());
}

#[tokio::test]
async fn alertmanager_opsgenie_config_pages_and_closes_through_staunch() {
    let (receiver, app) = start().await;
    // Alertmanager appends "v2/alerts" to api_url; `update_alerts` adds the PUT updates.
    let alertmanager_config = format!(
        "route:\n  receiver: staunch\n  group_by: [alertname]\n  group_wait: 0s\n  group_interval: 1s\n  repeat_interval: 1h\n\
         receivers:\n  - name: staunch\n    opsgenie_configs:\n      - api_key: {OPSGENIE_KEY}\n        api_url: {}/\n\
         \x20       priority: '{{{{ if eq .CommonLabels.severity \"critical\" }}}}P1{{{{ else }}}}P3{{{{ end }}}}'\n\
         \x20       tags: 'prod,{{{{ .CommonLabels.alertname }}}}'\n        update_alerts: true\n        send_resolved: true\n",
        app.base_url
    );
    let Some((_alertmanager, alertmanager_url)) = start_alertmanager(&app.dir, &alertmanager_config) else { return };

    let now = jiff::Timestamp::now();
    let alert = |instance: &str, ends_at: jiff::Timestamp| {
        json!({"labels": {"alertname": "CheckoutErrors", "severity": "critical", "instance": instance},
            "annotations": {"summary": "checkout 5xx above SLO"},
            "startsAt": (now - jiff::SignedDuration::from_mins(1)).to_string(), "endsAt": ends_at.to_string()})
    };
    let later = now + jiff::SignedDuration::from_hours(1);
    let firing = json!([alert("a", later), alert("b", later)]);
    let response = app.http.post(format!("{alertmanager_url}/api/v2/alerts")).json(&firing).send().await.unwrap();
    assert_eq!(response.status(), 200);

    let pages = receiver.wait_for_pages("/alice", 1, WAIT).await;
    assert_eq!(pages[0].event, "incident.triggered");
    let incidents = app.incidents("state=triggered").await;
    assert_eq!(incidents.len(), 1, "one Alertmanager group, one Opsgenie alias, one incident");
    assert_eq!(incidents[0]["severity"], "sev1", "priority P1 from the template");
    // Alertmanager's default message, `[FIRING:<n>] <group labels>`.
    assert!(
        incidents[0]["title"].as_str().is_some_and(|title| title.starts_with("[FIRING:") && title.contains("CheckoutErrors")),
        "{}",
        incidents[0]
    );
    let alerts = app.api_get("/api/v1/alerts?service=checkout").await;
    let stored = &alerts["alerts"][0];
    assert_eq!(stored["format"], "opsgenie");
    assert_eq!(
        stored["dedup_key"].as_str().map(str::len),
        Some(64),
        "Alertmanager's alias is a SHA-256 of the group key: {stored}"
    );
    assert_eq!(stored["labels"]["alertname"], "CheckoutErrors", "common labels come as details: {stored}");
    assert_eq!(stored["labels"]["tags"], "prod,CheckoutErrors");

    // Ending the alerts in Alertmanager closes the alias, which resolves the incident.
    let ended = json!([alert("a", now), alert("b", now)]);
    let response = app.http.post(format!("{alertmanager_url}/api/v2/alerts")).json(&ended).send().await.unwrap();
    assert_eq!(response.status(), 200);
    app.wait_for("the incident to resolve", WAIT, async || {
        app.incidents("state=triggered,acknowledged,mitigated").await.is_empty().then_some(())
    })
    .await;
    assert_eq!(app.incidents("state=resolved").await.len(), 1);
    let events: Vec<String> = receiver.wait_for_pages("/alice", 2, WAIT).await.iter().map(|page| page.event.clone()).collect();
    assert_eq!(events, ["incident.triggered", "incident.resolved"]);

    // Alertmanager logged no failed notification: every create, update (`update_alerts: true`
    // sends two PUTs after each create) and close got a 2xx.
    let log = std::fs::read_to_string(app.dir.join("alertmanager.log")).unwrap_or_default();
    assert!(!log.contains("Notify for alerts failed") && !log.contains("Notify attempt failed"), "{log}");
}
