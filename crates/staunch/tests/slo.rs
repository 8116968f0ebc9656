//! SLOs through the core loop, with the real binary: pushed events page (sev1) through the
//! escalation policy, a ticket opens an incident that pages nobody, the alerts resolve when
//! the burn stops, the window survives a kill -9; and an SLI pulled from a real Prometheus
//! scraping a small service on loopback pages when the service fails half its requests.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use support::receiver::Receiver;
use support::tools::{Guard, free_port, require_tool, wait_for_port};
use support::{App, WEBHOOK_SECRET};

async fn alert_firing(app: &App, dedup_key: &str) -> Option<bool> {
    let alerts = app.api_get("/api/v1/alerts?limit=100").await;
    alerts["alerts"].as_array()?.iter().find(|alert| alert["dedup_key"] == dedup_key).map(|alert| alert["firing"] == true)
}

async fn slo_status(app: &App, id: &str) -> Value {
    app.api_get(&format!("/api/v1/slos/{id}")).await
}

#[tokio::test]
async fn pushed_events_page_open_a_ticket_and_resolve() {
    let receiver = Receiver::start(WEBHOOK_SECRET).await;
    let extra = r#"
settings:
  slo_tick: 200ms
slos:
  - id: checkout-availability
    service: checkout
    objective: 99
    min_events: 50
    sli: {push: {}}
"#;
    let mut app = App::spawn(&support::config(&receiver.url, "1h", "", extra)).await;
    let push = |good: u64, total: u64| json!({ "good": good, "total": total });

    // Bad input is refused, naming the field.
    let (status, body) = app.api_post("/api/v1/slos/checkout-availability/events", push(5, 3)).await;
    assert_eq!((status, body["field"].as_str()), (422, Some("good")), "{body}");
    let (status, body) = app.api_post("/api/v1/slos/checkout-availability/events", json!({"good": 1})).await;
    assert_eq!((status, body["field"].as_str()), (422, Some("total")), "{body}");
    let (status, body) = app
        .api_post("/api/v1/slos/checkout-availability/events", json!({"good": 1, "total": 1, "at": "2001-01-01T00:00:00Z"}))
        .await;
    assert_eq!((status, body["field"].as_str()), (422, Some("at")), "{body}");
    let (status, _) = app.api_post("/api/v1/slos/nope/events", push(1, 1)).await;
    assert_eq!(status, 404);

    // Healthy traffic: ok, nobody paged.
    let (status, body) = app.api_post("/api/v1/slos/checkout-availability/events", push(1000, 1000)).await;
    assert_eq!(status, 202, "{body}");
    app.wait_for("the slo to be ok", Duration::from_secs(10), async || {
        (slo_status(&app, "checkout-availability").await["state"] == "ok").then_some(())
    })
    .await;

    // Half of the next 1000 fail: 500 of 2000 is 25% errors, 25x the 1% budget.
    for event in ["bad", "good"] {
        let (status, _) = app.api_post("/api/v1/slos/checkout-availability/events", json!({ "event": event })).await;
        assert_eq!(status, 202);
    }
    let (status, _) = app.api_post("/api/v1/slos/checkout-availability/events", push(499, 998)).await;
    assert_eq!(status, 202);
    let pages = receiver.wait_for_pages("/alice", 1, Duration::from_secs(15)).await;
    assert_eq!(pages[0].body["incident"]["severity"], "sev1", "{}", pages[0].body);
    let status = slo_status(&app, "checkout-availability").await;
    assert_eq!(status["state"], "sev1", "{status}");
    assert_eq!(status["firing"], json!(["sev1", "sev2", "ticket"]), "{status}");
    assert!(status["budget_remaining_percent"].as_f64().unwrap() < -2000.0, "{status}");

    // The ticket is an incident of its own that paged nobody.
    let ticket = app
        .wait_for("the ticket incident", Duration::from_secs(10), async || {
            app.incidents("state=triggered").await.into_iter().find(|incident| incident["severity"] == "sev3")
        })
        .await;
    let ticket_id = ticket["id"].as_i64().unwrap();
    let notifications = app.api_get(&format!("/api/v1/incidents/{ticket_id}/notifications")).await;
    assert_eq!(notifications["notifications"].as_array().map(Vec::len), Some(0), "{notifications}");
    assert!(app.timeline_kinds(ticket_id).await.contains(&"escalation.skipped".to_string()));

    // The window survives a kill -9: the evaluator is rebuilt from the stored buckets.
    let before = slo_status(&app, "checkout-availability").await;
    app.kill_9();
    let tempdir = app.take_tempdir();
    let dir = tempdir.as_ref().unwrap().path().to_path_buf();
    let mut app = App::start_in(&dir, "127.0.0.1:0").await;
    app.adopt_tempdir(tempdir);
    let after = app
        .wait_for("the rebuilt evaluation", Duration::from_secs(10), async || {
            let status = slo_status(&app, "checkout-availability").await;
            (status["state"] != "unknown").then_some(status)
        })
        .await;
    assert_eq!(after["budget_remaining_percent"], before["budget_remaining_percent"], "{after}");
    assert_eq!(after["state"], "sev1");
    assert_eq!(receiver.pages_for("/alice").len(), 1, "the restart re-announced the page without paging again");

    // Enough good events stop the burn: every alert resolves, so do the incidents.
    let (status, _) = app.api_post("/api/v1/slos/checkout-availability/events", push(100_000, 100_000)).await;
    assert_eq!(status, 202);
    for level in ["sev1", "sev2", "ticket"] {
        let key = format!("slo:checkout-availability:{level}");
        app.wait_for(&format!("{key} to resolve"), Duration::from_secs(10), async || {
            (alert_firing(&app, &key).await == Some(false)).then_some(())
        })
        .await;
    }
    assert_eq!(slo_status(&app, "checkout-availability").await["state"], "ok");
    let svg = app.http.get(app.url("/api/v1/slos/checkout-availability/burn.svg")).bearer_auth(&app.token).send().await.unwrap();
    assert_eq!(svg.headers()["content-type"], "image/svg+xml");
    assert!(svg.text().await.unwrap().contains("<path d=\"M"));
}

/// A service on loopback counting its requests by status code in Prometheus' text format;
/// it fails every other request while `failing` is set.
async fn start_counting_service(failing: Arc<AtomicBool>) -> u16 {
    let ok = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let serve = {
        let (ok, errors, failing) = (ok.clone(), errors.clone(), failing.clone());
        move || {
            let served = ok.load(Ordering::SeqCst) + errors.load(Ordering::SeqCst);
            if failing.load(Ordering::SeqCst) && served % 2 == 0 {
                errors.fetch_add(1, Ordering::SeqCst);
                axum::http::StatusCode::INTERNAL_SERVER_ERROR
            } else {
                ok.fetch_add(1, Ordering::SeqCst);
                axum::http::StatusCode::OK
            }
        }
    };
    let metrics = move || {
        let text = format!(
            "# TYPE http_requests_total counter\nhttp_requests_total{{code=\"200\"}} {}\nhttp_requests_total{{code=\"500\"}} {}\n",
            ok.load(Ordering::SeqCst),
            errors.load(Ordering::SeqCst)
        );
        async move { text }
    };
    let app = axum::Router::new()
        .route("/work", axum::routing::get(move || std::future::ready(serve())))
        .route("/metrics", axum::routing::get(metrics));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    port
}

#[tokio::test]
async fn an_sli_pulled_from_prometheus_pages_and_resolves() {
    let Some(prometheus) = require_tool("/usr/bin/prometheus", "prometheus") else { return };
    let failing = Arc::new(AtomicBool::new(false));
    let service_port = start_counting_service(failing.clone()).await;
    // Clients: about 100 requests a second.
    let client = reqwest::Client::new();
    let traffic = tokio::spawn(async move {
        loop {
            let _ = client.get(format!("http://127.0.0.1:{service_port}/work")).send().await;
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });

    let dir = tempfile::tempdir().unwrap();
    let prometheus_port = free_port();
    let config = format!(
        "global: {{scrape_interval: 1s, evaluation_interval: 1s}}\nscrape_configs:\n  - job_name: service\n    static_configs: [{{targets: ['127.0.0.1:{service_port}']}}]\n"
    );
    std::fs::write(dir.path().join("prometheus.yml"), config).unwrap();
    let log = std::fs::File::create(dir.path().join("prometheus.log")).unwrap();
    let child = std::process::Command::new(prometheus)
        .arg(format!("--config.file={}", dir.path().join("prometheus.yml").display()))
        .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{prometheus_port}"))
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start prometheus");
    let _prometheus = Guard(child);
    wait_for_port(prometheus_port, Duration::from_secs(30));

    let receiver = Receiver::start(WEBHOOK_SECRET).await;
    // A 98% objective: half the requests failing burns 25x the budget; recovery brings the
    // short window under the 14.4x page threshold within seconds.
    let extra = format!(
        r#"
settings:
  slo_tick: 3s
slos:
  - id: service-availability
    service: checkout
    objective: 98
    min_events: 20
    sli:
      prometheus:
        url: http://127.0.0.1:{prometheus_port}
        error_query: sum(increase(http_requests_total{{code=~"5.."}}[{{{{.window}}}}]))
        total_query: sum(increase(http_requests_total[{{{{.window}}}}]))
"#
    );
    let app = App::spawn(&support::config(&receiver.url, "1h", "", &extra)).await;
    app.wait_for("the slo to be ok", Duration::from_secs(60), async || {
        (slo_status(&app, "service-availability").await["state"] == "ok").then_some(())
    })
    .await;
    assert!(receiver.pages().is_empty());

    failing.store(true, Ordering::SeqCst);
    let pages = receiver.wait_for_pages("/alice", 1, Duration::from_secs(60)).await;
    failing.store(false, Ordering::SeqCst);
    assert_eq!(pages[0].body["incident"]["severity"], "sev1", "{}", pages[0].body);
    app.wait_for("the sev1 alert to resolve", Duration::from_secs(90), async || {
        (alert_firing(&app, "slo:service-availability:sev1").await == Some(false)).then_some(())
    })
    .await;
    traffic.abort();
}

#[tokio::test]
async fn a_prometheus_that_is_down_makes_the_slo_unknown_and_pages_nobody() {
    let receiver = Receiver::start(WEBHOOK_SECRET).await;
    let port = free_port();
    let extra = format!(
        "settings: {{slo_tick: 200ms}}\nslos:\n  - id: down\n    service: checkout\n    objective: 99.9\n    sli:\n      prometheus:\n        url: http://127.0.0.1:{port}\n        error_query: x[{{{{.window}}}}]\n        total_query: y[{{{{.window}}}}]\n"
    );
    let app = App::spawn(&support::config(&receiver.url, "1h", "", &extra)).await;
    let status = app
        .wait_for("an evaluation", Duration::from_secs(10), async || {
            let status = slo_status(&app, "down").await;
            status["evaluated_at"].is_string().then_some(status)
        })
        .await;
    assert_eq!(status["state"], "unknown", "{status}");
    assert!(status["last_error"].as_str().unwrap().contains("cannot reach prometheus"), "{status}");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let log = app.log();
    assert_eq!(log.matches("cannot read slo source").count(), 1, "logged once, not per tick:\n{log}");
    assert!(receiver.pages().is_empty());
    let listed = app.api_get("/api/v1/slos").await;
    assert_eq!(listed.as_array().map(Vec::len), Some(1));
}
