//! Metric series pulled from a real Prometheus for live investigations, through the real
//! binary. Prometheus serves TSDB blocks built by `promtool tsdb create-blocks-from
//! openmetrics` from a file of samples with fixed timestamps, so every series is known to the
//! sample: `cart`'s latency jumps at the incident's onset, `search`'s ten minutes later,
//! `front`'s never. The investigation computed when the incident opens ranks `cart` first
//! among services; asked "as of" the instant `search` jumps it does not see the jump, a
//! little later it does; with Prometheus stopped the investigation still answers, saying
//! what it went without.

mod support;

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;
use support::App;
use support::receiver::Receiver;
use support::tools::{Guard, free_port, require_tool, wait_for_port};

const WAIT: Duration = Duration::from_secs(30);
/// Seconds between samples, and the query resolution.
const STEP_S: i64 = 15;

/// The latency of `service` at `second` after the onset: steady with a little deterministic
/// jitter, then five times higher from its jump on.
fn latency(service: &str, second: i64) -> f64 {
    let (base, jump_at) = match service {
        "front" => (0.2, None),
        "cart" => (0.1, Some(0)),
        _ => (0.08, Some(600)),
    };
    let jitter = 1.0 + 0.05 * ((second / STEP_S).rem_euclid(4) as f64 - 1.5);
    let factor = if jump_at.is_some_and(|jump_at| second >= jump_at) { 5.0 } else { 1.0 };
    base * jitter * factor
}

/// OpenMetrics text: per-pod latency gauges of three services from 30 minutes before the onset
/// to 20 after, one series without a `service` label, and NaN samples (a quantile over no
/// requests) in `front`'s series.
fn openmetrics(onset: Timestamp) -> String {
    let onset_s = onset.as_second();
    let mut text = String::from("# TYPE demo_latency_seconds gauge\n");
    for service in ["front", "cart", "search"] {
        for second in (-1800..1200).step_by(STEP_S as usize) {
            let value =
                if service == "front" && second % 300 == 0 { "NaN".to_string() } else { latency(service, second).to_string() };
            text.push_str(&format!(
                "demo_latency_seconds{{service=\"{service}\",pod=\"{service}-0\"}} {value} {}\n",
                onset_s + second
            ));
        }
    }
    for second in (-1800..1200).step_by(STEP_S as usize) {
        text.push_str(&format!("demo_latency_seconds{{job=\"batch\"}} 1 {}\n", onset_s + second));
    }
    text.push_str("# EOF\n");
    text
}

/// Builds blocks from the samples and starts Prometheus on them; `None` when the binaries are
/// missing (and tools are optional).
fn start_prometheus(dir: &Path, onset: Timestamp) -> Option<(Guard, u16)> {
    let prometheus = require_tool("/usr/bin/prometheus", "prometheus")?;
    let promtool = require_tool("/usr/bin/promtool", "prometheus")?;
    let samples = dir.join("samples.om");
    std::fs::write(&samples, openmetrics(onset)).unwrap();
    let data = dir.join("data");
    let built = Command::new(promtool)
        .args(["tsdb", "create-blocks-from", "openmetrics", "--quiet"])
        .arg(&samples)
        .arg(&data)
        .output()
        .expect("run promtool");
    assert!(built.status.success(), "promtool: {}", String::from_utf8_lossy(&built.stderr));
    std::fs::write(dir.join("prometheus.yml"), "global: {scrape_interval: 1m}\n").unwrap();
    let port = free_port();
    let log = std::fs::File::create(dir.join("prometheus.log")).unwrap();
    let child = Command::new(prometheus)
        .arg(format!("--config.file={}", dir.join("prometheus.yml").display()))
        .arg(format!("--storage.tsdb.path={}", data.display()))
        // Blocks older than the retention would be dropped on start.
        .arg("--storage.tsdb.retention.time=10y")
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start prometheus");
    let guard = Guard(child);
    wait_for_port(port, Duration::from_secs(30));
    Some((guard, port))
}

fn config(receiver_url: &str, prometheus_port: u16) -> String {
    let extra = format!(
        r#"
telemetry:
  prometheus:
    url: http://127.0.0.1:{prometheus_port}/
    step: {STEP_S}s
    timeout: 2s
    metrics:
      - name: latency_p99
        query: demo_latency_seconds
        pod_label: pod
"#
    );
    support::config(receiver_url, "1h", "", &extra)
}

/// Services in the order a telemetry ranking puts them.
fn telemetry_ranking(body: &Value) -> Vec<String> {
    let hypotheses = body["investigation"]["hypotheses"].as_array().cloned().unwrap_or_default();
    hypotheses.iter().filter_map(|hypothesis| hypothesis["service"].as_str().map(str::to_string)).collect()
}

/// Whether a telemetry ranking saw `service`'s pulled latency shift (every service it observed
/// is listed, most with no evidence).
fn telemetry_saw_shift(body: &Value, service: &str) -> bool {
    let hypotheses = body["investigation"]["hypotheses"].as_array().cloned().unwrap_or_default();
    hypotheses.iter().filter(|hypothesis| hypothesis["service"] == service).any(|hypothesis| {
        let evidence = hypothesis["evidence_for"].as_array().cloned().unwrap_or_default();
        evidence.iter().any(|evidence| evidence["signal"] == "latency_p99")
    })
}

/// Whether an incident's investigation names a pulled latency shift of `service`.
fn incident_saw_shift(investigation: &Value, service: &str) -> bool {
    let hypotheses = investigation["hypotheses"].as_array().cloned().unwrap_or_default();
    hypotheses
        .iter()
        .filter(|hypothesis| hypothesis["service_id"] == service)
        .any(|hypothesis| hypothesis["evidence_for"].to_string().contains("latency_p99 went from"))
}

/// Service hypotheses of an incident's investigation, best first.
fn service_hypotheses(investigation: &Value) -> Vec<String> {
    let hypotheses = investigation["hypotheses"].as_array().cloned().unwrap_or_default();
    hypotheses
        .iter()
        .filter(|hypothesis| hypothesis["kind"] == "service")
        .filter_map(|hypothesis| hypothesis["service_id"].as_str().map(str::to_string))
        .collect()
}

fn warnings(value: &Value) -> Vec<String> {
    let warnings = value["warnings"].as_array().cloned().unwrap_or_default();
    warnings.iter().filter_map(|warning| warning.as_str().map(str::to_string)).collect()
}

#[tokio::test]
async fn pulled_latency_ranks_the_service_that_jumped_and_nothing_after_as_of_is_seen() {
    let dir = tempfile::tempdir().unwrap();
    // Whole minutes, so sample times fall on the onset; within the hour an alert's start is
    // believed for the onset.
    let now = Timestamp::now();
    let onset = Timestamp::from_second(now.as_second() - now.as_second().rem_euclid(60) - 30 * 60).unwrap();
    let Some((prometheus, port)) = start_prometheus(dir.path(), onset) else { return };
    let receiver = Receiver::start(support::WEBHOOK_SECRET).await;
    let app = App::spawn(&config(&receiver.url, port)).await;

    // The incident: checkout alerts, its alert saying it started at the onset.
    let alert = json!({"status": "firing", "labels": {"alertname": "CheckoutSlow", "service": "checkout"},
        "annotations": {"summary": "checkout is slow"}, "startsAt": onset.to_string(), "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "", "fingerprint": "checkout-slow"});
    let payload = json!({"version": "4", "groupKey": "{}:{alertname=\"CheckoutSlow\"}", "status": "firing", "receiver": "staunch",
        "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://am", "alerts": [alert]});
    let receipt = app.post_alertmanager(&payload).await;
    let incident = receipt["receipt"]["incidents_opened"][0].as_i64().unwrap_or_else(|| panic!("no incident: {receipt}"));

    // Computed by the engine when the incident opened: cart's pulled latency ranks it first
    // among services, above the alerting checkout; search's jump is after the window.
    let path = format!("/api/v1/incidents/{incident}/investigation");
    let stored = app
        .wait_for("the investigation computed on opening", WAIT, async || {
            let body = app.api_get(&path).await;
            (body["stored"] == true).then_some(body)
        })
        .await;
    let investigation = &stored["investigation"];
    assert_eq!(investigation["onset"], json!(onset.to_string()), "{investigation:#}");
    let services = service_hypotheses(investigation);
    assert_eq!(services.first().map(String::as_str), Some("cart"), "{investigation:#}");
    assert!(incident_saw_shift(investigation, "cart"), "{investigation:#}");
    assert!(!incident_saw_shift(investigation, "search") && !incident_saw_shift(investigation, "front"), "{investigation:#}");
    assert_eq!(
        warnings(investigation),
        vec!["prometheus metric latency_p99: 1 series without a \"service\" label left out".to_string()],
        "{investigation:#}"
    );

    // The window around a later onset, as of the instant search jumps: the sample at as_of
    // (and everything after) is not seen. Two minutes later it is, and search leads.
    let jump = onset + SignedDuration::from_mins(10);
    let later_onset = jump - SignedDuration::from_mins(2);
    let window = |as_of: Timestamp| format!("/api/v1/telemetry/investigation?onset={later_onset}&as_of={as_of}");
    let before_jump = app.api_get(&window(jump)).await;
    assert!(telemetry_ranking(&before_jump).contains(&"search".to_string()), "its series was read: {before_jump:#}");
    assert!(!telemetry_saw_shift(&before_jump, "search"), "{before_jump:#}");
    let after_jump = app.api_get(&window(jump + SignedDuration::from_mins(2))).await;
    assert_eq!(telemetry_ranking(&after_jump).first().map(String::as_str), Some("search"), "{after_jump:#}");
    assert!(telemetry_saw_shift(&after_jump, "search"), "{after_jump:#}");
    // Recomputed on demand (as of now), the incident's investigation agrees with the stored one.
    let as_of = Timestamp::now();
    let replayed = app.api_get(&format!("{path}?as_of={as_of}")).await;
    assert_eq!(service_hypotheses(&replayed["investigation"]).first().map(String::as_str), Some("cart"), "{replayed:#}");

    // Prometheus stopped: the investigation still answers, with what it went without.
    drop(prometheus);
    let started = std::time::Instant::now();
    let without = app.api_get(&format!("{path}?as_of={}", Timestamp::now())).await;
    assert!(started.elapsed() < Duration::from_secs(10), "waited {:?}", started.elapsed());
    let said = warnings(&without["investigation"]);
    assert!(
        said.len() == 1
            && said[0].starts_with("prometheus metric latency_p99 left out: cannot reach prometheus at http://127.0.0.1:"),
        "{without:#}"
    );
    assert!(!incident_saw_shift(&without["investigation"], "cart"), "{without:#}");
    let window_without = app.api_get(&window(jump + SignedDuration::from_mins(2))).await;
    assert_eq!(window_without["investigation"], Value::Null, "{window_without:#}");
    assert_eq!(warnings(&window_without).len(), 1, "{window_without:#}");
    logged_at_warn(&app).await;
}

/// The warning reaches the log file through the test's copy of the server's stdout, which may
/// still be a line behind when the answer arrives.
async fn logged_at_warn(app: &App) {
    app.wait_for("the warning in the log", Duration::from_secs(5), async || {
        app.log().contains("prometheus series not read").then_some(())
    })
    .await;
}

/// What the stand-in for an authenticating proxy in front of Prometheus saw and answers.
#[derive(Default)]
struct Proxy {
    /// `(Authorization, X-Scope-OrgID)` of every request.
    seen: Vec<(Option<String>, Option<String>)>,
    /// Once set, every request is refused with 401, as when a token is revoked.
    revoked: bool,
}

/// Behind a reverse proxy or hosted (Grafana Cloud, Mimir), Prometheus wants a token and a
/// tenant header: the configured bearer token file and headers are sent with every query, and
/// a 401 costs the metric only, said in `warnings` with its status. The real Prometheus has no
/// auth of its own, so a loopback server stands in for the proxy.
#[tokio::test]
async fn the_configured_token_and_headers_are_sent_and_a_401_is_a_warning() {
    use axum::extract::State;
    use axum::http::{HeaderMap, StatusCode};
    use std::sync::{Arc, Mutex};

    let proxy = Arc::new(Mutex::new(Proxy::default()));
    let answer = async |State(proxy): State<Arc<Mutex<Proxy>>>, headers: HeaderMap| {
        let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok()).map(str::to_string);
        let mut proxy = proxy.lock().unwrap();
        proxy.seen.push((header("authorization"), header("x-scope-orgid")));
        let allowed = !proxy.revoked && header("authorization").as_deref() == Some("Bearer s3cret-token");
        if allowed {
            (StatusCode::OK, r#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#)
        } else {
            (StatusCode::UNAUTHORIZED, "authentication required\n")
        }
    };
    let router =
        axum::Router::new().route("/prometheus/api/v1/query_range", axum::routing::get(answer)).with_state(proxy.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, router).await });

    let secrets = tempfile::tempdir().unwrap();
    let token_file = secrets.path().join("token");
    std::fs::write(&token_file, "s3cret-token\n").unwrap();
    let receiver = Receiver::start(support::WEBHOOK_SECRET).await;
    let extra = format!(
        r#"
telemetry:
  prometheus:
    url: http://127.0.0.1:{port}/prometheus
    timeout: 2s
    bearer_token_file: {}
    headers: {{X-Scope-OrgID: team-a}}
    metrics:
      - name: latency_p99
        query: demo_latency_seconds
"#,
        token_file.display()
    );
    let app = App::spawn(&support::config(&receiver.url, "1h", "", &extra)).await;

    let now = Timestamp::now();
    let window = format!("/api/v1/telemetry/investigation?onset={}&as_of={now}", now - SignedDuration::from_mins(5));
    let accepted = app.api_get(&window).await;
    assert_eq!(warnings(&accepted), Vec::<String>::new(), "{accepted:#}");
    let seen = proxy.lock().unwrap().seen.clone();
    assert_eq!(seen, vec![(Some("Bearer s3cret-token".to_string()), Some("team-a".to_string()))]);

    proxy.lock().unwrap().revoked = true;
    let refused = app.api_get(&window).await;
    let said = warnings(&refused);
    assert!(
        said.len() == 1 && said[0].starts_with("prometheus metric latency_p99 left out: prometheus answered 401"),
        "{refused:#}"
    );
    logged_at_warn(&app).await;
    assert!(!app.log().contains("s3cret"), "the token is never logged");
}
