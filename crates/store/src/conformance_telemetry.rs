//! Conformance cases for pushed telemetry (run by [`crate::conformance_tests!`]): round trips,
//! the `[from, to)` window cut, service filters and limits, tenant isolation, pruning in
//! bounded batches.

use crate::*;
use jiff::Timestamp;
use std::sync::Arc;

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_second(1_790_000_000 + seconds).expect("valid timestamp")
}

fn line(service: &str, seconds: i64, message: &str) -> LogLine {
    LogLine {
        service: service.into(),
        at: at(seconds),
        level: "error".into(),
        message: message.into(),
        pod: Some(format!("{service}-0")),
        attributes: Some(serde_json::json!({"user": "u1", "n": [1, 2.5]}).as_object().unwrap().clone()),
    }
}

fn span(service: &str, seconds: i64, span_id: &str, parent: Option<&str>) -> Span {
    Span {
        trace_id: "trace-1".into(),
        span_id: span_id.into(),
        parent_span_id: parent.map(str::to_string),
        service: service.into(),
        operation: "GET /cart".into(),
        start: at(seconds),
        duration_ms: 12.75,
        status: if parent.is_some() { SpanStatus::Error } else { SpanStatus::Ok },
    }
}

fn point(service: &str, seconds: i64, value: f64) -> MetricPoint {
    MetricPoint { service: service.into(), name: "latency_p99_ms".into(), at: at(seconds), value, pod: None }
}

fn window(from: i64, to: i64, services: &[&str]) -> TelemetryQuery {
    TelemetryQuery {
        from: at(from),
        to: at(to),
        services: services.iter().map(|service| service.to_string()).collect(),
        limit: 1000,
    }
}

pub async fn telemetry_is_read_per_organisation_window_and_service(store: Arc<dyn Store>) {
    let (org_a, org_b) = (OrgId::DEFAULT, OrgId(2));
    let lines = [line("cart", 0, "a"), line("cart", 10, "b"), line("front", 20, "c"), line("cart", 30, "d")];
    store.add_log_lines(org_a, &lines).await.unwrap();
    store.add_log_lines(org_b, &[line("cart", 10, "other tenant")]).await.unwrap();
    store
        .add_spans(
            org_a,
            &[span("front", 10, "root", None), span("cart", 29, "child", Some("root")), span("cart", 30, "late", None)],
        )
        .await
        .unwrap();
    store.add_metric_points(org_a, &[point("cart", 10, 1.5), point("cart", 20, -2.25), point("front", 30, 9.0)]).await.unwrap();
    store.add_metric_points(org_b, &[point("cart", 10, 100.0)]).await.unwrap();

    let read = store.telemetry_logs(org_a, &window(10, 30, &[])).await.unwrap();
    assert_eq!(read, lines[1..3].to_vec(), "from is inclusive, to exclusive: nothing at or after `to` is returned");
    let read = store.telemetry_logs(org_a, &window(0, 31, &["cart"])).await.unwrap();
    let messages: Vec<&str> = read.iter().map(|line| line.message.as_str()).collect();
    assert_eq!(messages, ["a", "b", "d"], "only the services asked for, oldest first");
    let read = store.telemetry_logs(org_a, &TelemetryQuery { limit: 2, ..window(0, 31, &[]) }).await.unwrap();
    assert_eq!(read, lines[..2].to_vec(), "the limit keeps the oldest");
    let read = store.telemetry_logs(org_a, &window(0, 31, &["nothing"])).await.unwrap();
    assert!(read.is_empty());

    let spans = store.telemetry_spans(org_a, &window(0, 30, &[])).await.unwrap();
    assert_eq!(
        spans,
        vec![span("front", 10, "root", None), span("cart", 29, "child", Some("root"))],
        "spans are cut by their start"
    );
    let points = store.telemetry_metrics(org_a, &window(0, 30, &["cart"])).await.unwrap();
    assert_eq!(points, vec![point("cart", 10, 1.5), point("cart", 20, -2.25)]);

    let other = store.telemetry_logs(org_b, &window(0, 31, &[])).await.unwrap();
    assert_eq!(other, vec![line("cart", 10, "other tenant")], "one organisation never sees another's lines");
    assert!(store.telemetry_spans(org_b, &window(0, 31, &[])).await.unwrap().is_empty());
    assert_eq!(store.telemetry_metrics(org_b, &window(0, 31, &[])).await.unwrap(), vec![point("cart", 10, 100.0)]);

    // An uncommitted insert leaves nothing behind.
    let mut tx = store.begin().await.unwrap();
    tx.insert_log_lines(org_a, &[line("cart", 15, "rolled back")]).await.unwrap();
    tx.insert_spans(org_a, &[span("cart", 15, "rolled back", None)]).await.unwrap();
    tx.insert_metric_points(org_a, &[point("cart", 15, 0.0)]).await.unwrap();
    drop(tx);
    assert_eq!(store.telemetry_logs(org_a, &window(0, 31, &[])).await.unwrap(), lines.to_vec());
    assert_eq!(store.telemetry_spans(org_a, &window(0, 31, &[])).await.unwrap().len(), 3);
    assert_eq!(store.telemetry_metrics(org_a, &window(0, 31, &[])).await.unwrap().len(), 3);
}

pub async fn telemetry_is_pruned_in_bounded_batches_per_organisation(store: Arc<dyn Store>) {
    let (org_a, org_b) = (OrgId::DEFAULT, OrgId(2));
    let old: Vec<LogLine> = (0..5).map(|index| line("cart", index, "old")).collect();
    store.add_log_lines(org_a, &old).await.unwrap();
    store.add_log_lines(org_a, &[line("cart", 100, "new")]).await.unwrap();
    store.add_spans(org_a, &[span("cart", 1, "old", None), span("cart", 100, "new", None)]).await.unwrap();
    store.add_metric_points(org_a, &[point("cart", 1, 1.0), point("cart", 100, 1.0)]).await.unwrap();
    store.add_log_lines(org_b, &[line("cart", 0, "old elsewhere")]).await.unwrap();

    let mut deleted = Vec::new();
    loop {
        let batch = store.prune_telemetry(org_a, at(50), 2).await.unwrap();
        deleted.push(batch);
        if batch == 0 {
            break;
        }
    }
    assert_eq!(deleted, [4, 2, 1, 0], "each call deletes at most the limit per table");
    let everything = window(-1000, 1000, &[]);
    let kept = store.telemetry_logs(org_a, &everything).await.unwrap();
    assert_eq!(kept, vec![line("cart", 100, "new")]);
    assert_eq!(store.telemetry_spans(org_a, &everything).await.unwrap(), vec![span("cart", 100, "new", None)]);
    assert_eq!(store.telemetry_metrics(org_a, &everything).await.unwrap(), vec![point("cart", 100, 1.0)]);
    assert_eq!(store.telemetry_logs(org_b, &everything).await.unwrap().len(), 1, "pruning stays in its organisation");
}
