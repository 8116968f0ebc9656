//! Pushed telemetry with the real binary: batches of log lines, spans and metric points are
//! checked field by field and stored; the investigation of a window around an onset ranks the
//! service that broke first; data timestamped at or after "as of" is never seen; telemetry
//! older than the retention is pruned by the server.

mod support;

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use std::time::Duration;
use support::App;

fn config(extra: &str) -> String {
    support::config("http://127.0.0.1:9", "1h", "", extra)
}

fn seconds_after(onset: Timestamp, seconds: i64) -> String {
    (onset + SignedDuration::from_secs(seconds)).to_string()
}

/// Twenty minutes of three services: `front` calls `cart` and `search` every five seconds and
/// each logs what it handled. From the onset on, `cart` logs a new error and answers 400 ms
/// slower. Returns (lines, spans, points).
fn incident_traffic(onset: Timestamp) -> (Vec<Value>, Vec<Value>, Vec<Value>) {
    let (mut lines, mut spans, mut points) = (Vec::new(), Vec::new(), Vec::new());
    for second in (-900_i64..300).step_by(5) {
        let at = seconds_after(onset, second);
        let broken = second >= 0;
        for service in ["front", "cart", "search"] {
            let message = format!("handled request {} in {} ms", second.rem_euclid(97), 3 + second.rem_euclid(5));
            lines.push(
                json!({ "service": service, "at": at, "level": "info", "message": message, "pod": format!("{service}-0") }),
            );
        }
        if broken {
            let message = format!("redis timeout after {} ms on key cart:{}", 500 + second, second * 7);
            lines.push(json!({ "service": "cart", "at": at, "level": "error", "message": message, "pod": "cart-0" }));
        }
        let jitter = second.rem_euclid(3) as f64;
        let cart_ms = 10.0 + jitter + if broken { 400.0 } else { 0.0 };
        let trace = format!("trace-{second}");
        spans.push(json!({ "trace_id": trace, "span_id": "root", "service": "front", "operation": "GET /cart", "start": at, "duration_ms": cart_ms + 20.0 }));
        spans.push(json!({ "trace_id": trace, "span_id": "cart", "parent_span_id": "root", "service": "cart", "operation": "get", "start": at, "duration_ms": cart_ms }));
        spans.push(json!({ "trace_id": trace, "span_id": "search", "parent_span_id": "root", "service": "search", "operation": "find", "start": at, "duration_ms": 8.0 + jitter }));
        if second % 15 == 0 {
            for (service, value) in [("front", 30.0 + jitter), ("cart", cart_ms), ("search", 8.0 + jitter)] {
                points.push(
                    json!({ "service": service, "name": "latency_ms", "at": at, "value": value, "pod": format!("{service}-0") }),
                );
            }
        }
    }
    (lines, spans, points)
}

async fn push(app: &App, kind: &str, key: &str, items: Vec<Value>) {
    let expected = items.len() as u64;
    let (status, body) = app.api_post(&format!("/api/v1/telemetry/{kind}"), json!({ key: items })).await;
    assert_eq!((status, body["accepted"].as_u64()), (202, Some(expected)), "push {kind}: {body}");
}

async fn investigation(app: &App, onset: Timestamp, as_of: Timestamp) -> Value {
    app.api_get(&format!("/api/v1/telemetry/investigation?onset={onset}&as_of={as_of}")).await
}

fn ranking(body: &Value) -> Vec<String> {
    body["investigation"]["hypotheses"]
        .as_array()
        .map(|hypotheses| hypotheses.iter().map(|hypothesis| hypothesis["service"].as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn the_service_that_broke_is_ranked_first_and_nothing_after_as_of_is_seen() {
    let app = App::spawn(&config("")).await;
    let onset = Timestamp::now() - SignedDuration::from_mins(10);
    let nothing = investigation(&app, onset, onset + SignedDuration::from_mins(2)).await;
    assert_eq!(nothing["investigation"], Value::Null, "nothing pushed, nothing to say: {nothing}");

    let (lines, spans, points) = incident_traffic(onset);
    push(&app, "logs", "lines", lines).await;
    push(&app, "spans", "spans", spans).await;
    push(&app, "metrics", "points", points).await;

    let as_of = onset + SignedDuration::from_mins(2);
    let first = investigation(&app, onset, as_of).await;
    assert_eq!(ranking(&first).first().map(String::as_str), Some("cart"), "{first}");
    assert_eq!(first["investigation"]["abstained"], false, "{first}");
    let modalities = first["investigation"]["modalities"].to_string();
    for modality in ["metrics", "traces", "logs"] {
        assert!(modalities.to_lowercase().contains(modality), "every pushed modality is used: {modalities}");
    }

    // Later, `search` falls over far worse than `cart` did: a flood of new errors and
    // five-second answers, timestamped three minutes after the onset.
    let mut late_lines = Vec::new();
    let mut late_spans = Vec::new();
    for tenth in 0..600_i64 {
        let at = (onset + SignedDuration::from_millis(180_000 + tenth * 100)).to_string();
        late_lines.push(json!({ "service": "search", "at": at, "level": "fatal", "message": format!("index shard {} lost: out of memory", tenth % 7) }));
        if tenth % 5 == 0 {
            let trace = format!("late-{tenth}");
            late_spans.push(json!({ "trace_id": trace, "span_id": "root", "service": "front", "operation": "GET /cart", "start": at, "duration_ms": 5030.0 }));
            late_spans.push(json!({ "trace_id": trace, "span_id": "search", "parent_span_id": "root", "service": "search", "operation": "find", "start": at, "duration_ms": 5000.0, "status": "error" }));
        }
    }
    push(&app, "logs", "lines", late_lines).await;
    push(&app, "spans", "spans", late_spans).await;

    // As of two minutes after the onset, none of it exists: the answer is unchanged.
    let again = investigation(&app, onset, as_of).await;
    assert_eq!(again["investigation"], first["investigation"], "data after as_of leaked into the investigation");
    let read = app.api_get(&format!("/api/v1/telemetry/logs?from={onset}&to={as_of}&service=search&limit=10000")).await;
    assert!(!read.to_string().contains("index shard"), "a read up to as_of returned later lines");
    assert!(!again.to_string().contains("index shard"), "{again}");
    // As of five minutes after, it is there: the cut above is what hid it.
    let later = investigation(&app, onset, onset + SignedDuration::from_mins(5)).await;
    let search =
        later["investigation"]["hypotheses"].as_array().unwrap().iter().find(|hypothesis| hypothesis["service"] == "search");
    let search = search.expect("search is a hypothesis once its failure is in the past").to_string();
    assert!(search.contains("index shard") && search.contains("front -> search latency"), "{later}");
}

#[tokio::test]
async fn bad_batches_are_refused_whole_naming_the_field() {
    let app = App::spawn(&config("")).await;
    let now = Timestamp::now();
    let good = json!({ "service": "cart", "at": now.to_string(), "message": "fine" });
    let cases = [
        (
            "logs",
            json!({ "lines": [good, good, good, { "service": "cart", "at": "yesterday", "message": "m" }] }),
            422,
            "lines[3].at",
        ),
        ("logs", json!({ "lines": [{ "service": "cart", "at": now.to_string() }] }), 422, "lines[0].message"),
        ("logs", json!({ "line": [] }), 422, "lines"),
        (
            "logs",
            json!({ "lines": [{ "service": "cart", "at": (now - SignedDuration::from_hours(24 * 8)).to_string(), "message": "m" }] }),
            422,
            "lines[0].at",
        ),
        (
            "logs",
            json!({ "lines": [{ "service": "cart", "at": (now + SignedDuration::from_hours(1)).to_string(), "message": "m" }] }),
            422,
            "lines[0].at",
        ),
        (
            "spans",
            json!({ "spans": [{ "trace_id": "t", "span_id": "s", "service": "x", "operation": "o", "start": now.to_string(), "duration_ms": -5 }] }),
            422,
            "spans[0].duration_ms",
        ),
        (
            "metrics",
            json!({ "points": [{ "service": "x", "name": "n", "at": now.as_millisecond(), "value": "high" }] }),
            422,
            "points[0].value",
        ),
    ];
    for (kind, body, status, field) in cases {
        let (got_status, answer) = app.api_post(&format!("/api/v1/telemetry/{kind}"), body.clone()).await;
        assert_eq!((got_status, answer["field"].as_str()), (status, Some(field)), "{body}: {answer}");
        assert!(answer["errors"].as_array().is_some_and(|errors| !errors.is_empty()), "{answer}");
    }
    // Nothing of a refused batch was stored, not even its good lines.
    let from = (now - SignedDuration::from_hours(1)).to_string();
    let stored = app.api_get(&format!("/api/v1/telemetry/logs?from={from}")).await;
    assert_eq!(stored["lines"], json!([]), "{stored}");

    let too_many: Vec<Value> = (0..5001).map(|_| good.clone()).collect();
    let (status, answer) = app.api_post("/api/v1/telemetry/logs", json!({ "lines": too_many })).await;
    assert_eq!((status, answer["field"].as_str()), (422, Some("lines")), "{answer}");
    let response = app
        .http
        .post(app.url("/api/v1/telemetry/logs"))
        .bearer_auth(&app.token)
        .header("content-type", "application/json")
        .header("connection", "close")
        .body("{\"lines\": [")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let huge = json!({ "lines": [{ "service": "cart", "at": now.to_string(), "message": "x".repeat(2 * 1024 * 1024) }] });
    // The server refuses an oversized body unread and closes the connection: use one of its own.
    let response = app
        .http
        .post(app.url("/api/v1/telemetry/logs"))
        .bearer_auth(&app.token)
        .header("connection", "close")
        .json(&huge)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let answer: Value = response.json().await.unwrap();
    assert_eq!((status, answer["field"].as_str()), (413, Some("body")), "{answer}");
    let (status, answer) = app.api_post("/api/v1/telemetry/logs", json!({ "lines": [good] })).await;
    assert_eq!((status, answer), (202, json!({ "accepted": 1 })), "the server still takes good batches");
}

#[tokio::test]
async fn telemetry_older_than_the_retention_is_pruned() {
    let app = App::spawn(&config("settings:\n  slo_tick: 200ms\ntelemetry:\n  retention: 1h\n")).await;
    let now = Timestamp::now();
    let expiring = now - SignedDuration::from_hours(1) + SignedDuration::from_secs(8);
    let lines = json!({ "lines": [
        { "service": "cart", "at": expiring.to_string(), "message": "about to expire" },
        { "service": "cart", "at": (now - SignedDuration::from_mins(1)).to_string(), "message": "fresh" },
    ] });
    let (status, answer) = app.api_post("/api/v1/telemetry/logs", lines).await;
    assert_eq!(status, 202, "{answer}");
    let path = format!("/api/v1/telemetry/logs?from={}", now - SignedDuration::from_hours(2));
    let messages = async || -> Vec<String> {
        let body = app.api_get(&path).await;
        body["lines"].as_array().unwrap().iter().map(|line| line["message"].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(messages().await, ["about to expire", "fresh"]);
    app.wait_for("the expired line to be pruned", Duration::from_secs(30), async || {
        let left = messages().await;
        (left == ["fresh"]).then_some(())
    })
    .await;
    let (status, answer) = app
        .api_post(
            "/api/v1/telemetry/logs",
            json!({ "lines": [{ "service": "cart", "at": expiring.to_string(), "message": "late" }] }),
        )
        .await;
    assert_eq!((status, answer["field"].as_str()), (422, Some("lines[0].at")), "older than the retention is refused: {answer}");
}

#[tokio::test]
async fn an_organisation_over_its_telemetry_rate_limit_is_told_when_to_retry() {
    let app = App::spawn(&config("telemetry:\n  rate_limit: {per_second: 1, burst: 10}\n")).await;
    let now = Timestamp::now();
    let lines = |count: usize| {
        let lines: Vec<Value> = (0..count)
            .map(|index| json!({ "service": "cart", "at": now.to_string(), "message": format!("line {index}") }))
            .collect();
        json!({ "lines": lines })
    };
    let (status, answer) = app.api_post("/api/v1/telemetry/logs", lines(10)).await;
    assert_eq!((status, answer), (202, json!({ "accepted": 10 })));
    let response = app.http.post(app.url("/api/v1/telemetry/logs")).bearer_auth(&app.token).json(&lines(5)).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 429);
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry_after >= 1, "{retry_after}");
    let answer: Value = response.json().await.unwrap();
    assert!(answer["error"].as_str().unwrap().contains("retry after"), "{answer}");
    let from = (now - SignedDuration::from_mins(1)).to_string();
    let stored = app.api_get(&format!("/api/v1/telemetry/logs?from={from}")).await;
    assert_eq!(stored["lines"].as_array().unwrap().len(), 10, "the throttled batch was not stored");
}

/// The incident's own investigation (`/api/v1/incidents/{id}/investigation`) reads the pushed
/// telemetry around the incident's onset: `cart`, which no alert names, is among its
/// hypotheses with the telemetry's evidence.
#[tokio::test]
async fn an_incident_investigation_uses_the_telemetry_around_its_onset() {
    let app = App::spawn(&config("")).await;
    let onset = Timestamp::now() - SignedDuration::from_mins(3);
    let (lines, spans, points) = incident_traffic(onset);
    push(&app, "logs", "lines", lines).await;
    push(&app, "spans", "spans", spans).await;
    push(&app, "metrics", "points", points).await;
    let (status, body) = app
        .enqueue(json!({
            "routing_key": support::EVENTS_KEY, "event_action": "trigger", "dedup_key": "front-errors",
            "payload": { "summary": "front answers 5xx", "source": "test", "severity": "critical", "timestamp": onset.to_string() },
        }))
        .await;
    assert_eq!(status, 202, "{body}");
    let incident = app.incidents("").await[0]["id"].as_i64().unwrap();

    let as_of = Timestamp::now();
    let body = app.api_get(&format!("/api/v1/incidents/{incident}/investigation?as_of={as_of}")).await;
    let investigation = &body["investigation"];
    assert_eq!(investigation["considered"]["telemetry"], true, "{investigation:#}");
    let cart = investigation["hypotheses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|hypothesis| hypothesis["kind"] == "service" && hypothesis["service_id"] == "cart")
        .unwrap_or_else(|| panic!("cart is a hypothesis: {investigation:#}"));
    let evidence = cart["evidence_for"].to_string();
    assert!(evidence.contains("telemetry"), "{evidence}");
}
