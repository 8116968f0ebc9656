//! Data-driven cases for the telemetry batch parsers: each bad document names its field.

use super::*;
use serde_json::json;

fn times() -> AcceptedTimes {
    AcceptedTimes { not_before: "2026-01-01T00:00:00Z".parse().unwrap(), not_after: "2026-01-02T00:00:00Z".parse().unwrap() }
}

fn limits() -> BatchLimits {
    BatchLimits { max_items: 3, max_message_bytes: 32, max_name_bytes: 16, max_attributes_bytes: 40, max_span_ms: 1000.0 }
}

fn errors_of<T: std::fmt::Debug>(result: Result<T, IngestError>) -> Vec<String> {
    result.expect_err("should be refused").errors.iter().map(ToString::to_string).collect()
}

#[test]
fn good_log_lines_parse_with_defaults() {
    let body = json!({"lines": [
        {"service": "cart", "at": "2026-01-01T10:00:00Z", "level": "ERROR", "message": "boom", "pod": "cart-1", "attributes": {"k": 1}},
        {"service": "cart", "at": 1_767_261_600_000_i64, "message": "fine"},
    ]});
    let lines = parse_log_batch(body.to_string().as_bytes(), &limits(), &times()).unwrap();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0].level, "error");
    assert_eq!(lines[0].pod.as_deref(), Some("cart-1"));
    assert_eq!(lines[0].attributes.as_ref().unwrap()["k"], json!(1));
    assert_eq!(lines[1].level, "info");
    assert_eq!(lines[1].at, "2026-01-01T10:00:00Z".parse::<Timestamp>().unwrap());
    assert_eq!(lines[1].attributes, None);
}

#[test]
fn bad_log_batches_name_the_field_and_index() {
    let cases: &[(serde_json::Value, &str)] = &[
        (json!([]), "body: must be an object"),
        (json!({}), "lines: is required"),
        (json!({"lines": {}}), "lines: must be an array"),
        (json!({"lines": [], "extra": 1}), "extra: is not a field of this batch"),
        (json!({"lines": [1, 2, 3, 4]}), "lines: 4 items, at most 3 per batch"),
        (json!({"lines": [7]}), "lines[0]: must be an object"),
        (json!({"lines": [{"at": "2026-01-01T10:00:00Z", "message": "m"}]}), "lines[0].service: is required"),
        (json!({"lines": [{"service": " ", "at": "2026-01-01T10:00:00Z", "message": "m"}]}), "lines[0].service: is required"),
        (
            json!({"lines": [{"service": "a-very-long-service-name", "at": "2026-01-01T10:00:00Z", "message": "m"}]}),
            "lines[0].service: 24 bytes, at most 16",
        ),
        (
            json!({"lines": [{"service": "a\nb", "at": "2026-01-01T10:00:00Z", "message": "m"}]}),
            "lines[0].service: \"a\\nb\" must not contain control characters",
        ),
        (
            json!({"lines": [{"service": "s", "at": "2026-01-01T10:00:00Z", "message": "m"}, {"service": "s", "at": "yesterday", "message": "m"}]}),
            "lines[1].at: must be an rfc 3339 time or integer milliseconds since the epoch, not \"yesterday\"",
        ),
        (
            json!({"lines": [{"service": "s", "at": 1.5, "message": "m"}]}),
            "lines[0].at: must be an rfc 3339 time or integer milliseconds since the epoch, not \"1.5\"",
        ),
        (json!({"lines": [{"service": "s", "message": "m"}]}), "lines[0].at: is required"),
        (
            json!({"lines": [{"service": "s", "at": "2025-12-31T00:00:00Z", "message": "m"}]}),
            "lines[0].at: 2025-12-31T00:00:00Z is before 2026-01-01T00:00:00Z, older than the telemetry retention",
        ),
        (
            json!({"lines": [{"service": "s", "at": "2026-01-03T00:00:00Z", "message": "m"}]}),
            "lines[0].at: 2026-01-03T00:00:00Z is in the future (after 2026-01-02T00:00:00Z)",
        ),
        (json!({"lines": [{"service": "s", "at": "2026-01-01T10:00:00Z"}]}), "lines[0].message: is required"),
        (
            json!({"lines": [{"service": "s", "at": "2026-01-01T10:00:00Z", "message": "m".repeat(33)}]}),
            "lines[0].message: 33 bytes, at most 32",
        ),
        (json!({"lines": [{"service": "s", "at": "2026-01-01T10:00:00Z", "message": 5}]}), "lines[0].message: must be a string"),
        (
            json!({"lines": [{"service": "s", "at": "2026-01-01T10:00:00Z", "message": "m", "attributes": []}]}),
            "lines[0].attributes: must be an object",
        ),
        (
            json!({"lines": [{"service": "s", "at": "2026-01-01T10:00:00Z", "message": "m", "attributes": {"k": "v".repeat(40)}}]}),
            "lines[0].attributes: 48 bytes as json, at most 40",
        ),
        (
            json!({"lines": [{"service": "s", "at": "2026-01-01T10:00:00Z", "message": "m", "severity": "x"}]}),
            "lines[0].severity: is not a field of this batch",
        ),
    ];
    for (body, expected) in cases {
        let errors = errors_of(parse_log_batch(body.to_string().as_bytes(), &limits(), &times()));
        assert!(errors.iter().any(|error| error == expected), "{body}: expected {expected:?}, got {errors:?}");
    }
}

#[test]
fn not_json_is_a_body_error() {
    let errors = errors_of(parse_log_batch(b"{\"lines\": [", &limits(), &times()));
    assert!(errors[0].starts_with("body: invalid json"), "{errors:?}");
}

#[test]
fn good_spans_parse_and_end_after_their_duration() {
    let body = json!({"spans": [
        {"trace_id": "t1", "span_id": "a", "service": "front", "operation": "GET /", "start": "2026-01-01T10:00:00Z", "duration_ms": 12.5, "status": "ok"},
        {"trace_id": "t1", "span_id": "b", "parent_span_id": "a", "service": "cart", "operation": "get", "start": "2026-01-01T10:00:00.001Z", "duration_ms": 10, "status": "ERROR"},
        {"trace_id": "t1", "span_id": "c", "parent_span_id": "", "service": "cart", "operation": "get", "start": 1_767_261_600_000_i64, "duration_ms": 0},
    ]});
    let spans = parse_span_batch(body.to_string().as_bytes(), &limits(), &times()).unwrap();
    assert_eq!(spans[0].parent_span_id, None);
    assert_eq!(spans[0].end(), "2026-01-01T10:00:00.0125Z".parse::<Timestamp>().unwrap());
    assert_eq!(spans[1].status, SpanStatus::Error);
    assert_eq!(spans[1].parent_span_id.as_deref(), Some("a"));
    assert_eq!(spans[2].parent_span_id, None, "a blank parent is a root span");
    assert_eq!(spans[2].status, SpanStatus::Ok, "status defaults to ok");
}

#[test]
fn bad_spans_name_the_field_and_index() {
    let span = |overrides: serde_json::Value| {
        let mut span = json!({"trace_id": "t", "span_id": "s", "service": "x", "operation": "op", "start": "2026-01-01T10:00:00Z", "duration_ms": 3});
        for (key, value) in overrides.as_object().unwrap() {
            if value.is_null() {
                span.as_object_mut().unwrap().remove(key);
            } else {
                span[key] = value.clone();
            }
        }
        json!({"spans": [span]})
    };
    let cases: &[(serde_json::Value, &str)] = &[
        (span(json!({"trace_id": null})), "spans[0].trace_id: is required"),
        (span(json!({"span_id": 5})), "spans[0].span_id: must be a string"),
        (span(json!({"operation": null})), "spans[0].operation: is required"),
        (span(json!({"duration_ms": null})), "spans[0].duration_ms: is required"),
        (span(json!({"duration_ms": "3"})), "spans[0].duration_ms: must be a number"),
        (span(json!({"duration_ms": -1})), "spans[0].duration_ms: -1 must be between 0 and 1000"),
        (span(json!({"duration_ms": 5000})), "spans[0].duration_ms: 5000 must be between 0 and 1000"),
        (span(json!({"status": "failed"})), "spans[0].status: must be \"ok\" or \"error\", not \"failed\""),
        (span(json!({"start": null})), "spans[0].start: is required"),
        (span(json!({"traceId": "t"})), "spans[0].traceId: is not a field of this batch"),
    ];
    for (body, expected) in cases {
        let errors = errors_of(parse_span_batch(body.to_string().as_bytes(), &limits(), &times()));
        assert!(errors.iter().any(|error| error == expected), "{body}: expected {expected:?}, got {errors:?}");
    }
}

#[test]
fn metric_points_parse_and_bad_ones_name_their_field() {
    let body = json!({"points": [{"service": "cart", "name": "latency_p99_ms", "at": "2026-01-01T10:00:00Z", "value": 12.5, "pod": "cart-1"}]});
    let points = parse_metric_batch(body.to_string().as_bytes(), &limits(), &times()).unwrap();
    assert_eq!(points[0].value, 12.5);
    assert_eq!(points[0].pod.as_deref(), Some("cart-1"));
    let cases: &[(serde_json::Value, &str)] = &[
        (json!({"points": [{"service": "s", "at": "2026-01-01T10:00:00Z", "value": 1}]}), "points[0].name: is required"),
        (json!({"points": [{"service": "s", "name": "n", "at": "2026-01-01T10:00:00Z"}]}), "points[0].value: is required"),
        (
            json!({"points": [{"service": "s", "name": "n", "at": "2026-01-01T10:00:00Z", "value": "NaN"}]}),
            "points[0].value: must be a number",
        ),
        (json!({"lines": []}), "points: is required"),
    ];
    for (body, expected) in cases {
        let errors = errors_of(parse_metric_batch(body.to_string().as_bytes(), &limits(), &times()));
        assert!(errors.iter().any(|error| error == expected), "{body}: expected {expected:?}, got {errors:?}");
    }
}

#[test]
fn a_batch_of_bad_items_lists_the_first_problems_and_says_there_are_more() {
    let lines: Vec<serde_json::Value> = (0..100).map(|_| json!({"message": "m"})).collect();
    let limits = BatchLimits { max_items: 1000, ..limits() };
    let errors = errors_of(parse_log_batch(json!({ "lines": lines }).to_string().as_bytes(), &limits, &times()));
    assert_eq!(errors.len(), MAX_REPORTED_PROBLEMS + 1);
    assert_eq!(errors[0], "lines[0].service: is required");
    assert_eq!(errors.last().unwrap(), "body: more problems not listed: fix these first");
}
