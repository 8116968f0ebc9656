//! Cases for the conversion of stored telemetry into the engine's input.

use super::*;
use staunch_investigate::{Settings, investigate};

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_second(1_790_000_000 + seconds).unwrap()
}

fn line(service: &str, seconds: i64, level: &str, message: &str) -> LogLine {
    LogLine {
        service: service.into(),
        at: at(seconds),
        level: level.into(),
        message: message.into(),
        pod: None,
        attributes: None,
    }
}

fn span(trace: usize, id: &str, parent: Option<&str>, service: &str, seconds: i64, duration_ms: f64, status: SpanStatus) -> Span {
    Span {
        trace_id: format!("t{trace}"),
        span_id: id.into(),
        parent_span_id: parent.map(str::to_string),
        service: service.into(),
        operation: format!("{service} op"),
        start: at(seconds),
        duration_ms,
        status,
    }
}

fn lookaround(before_minutes: i64, after_minutes: i64) -> Lookaround {
    Lookaround { before: SignedDuration::from_mins(before_minutes), after: SignedDuration::from_mins(after_minutes) }
}

#[test]
fn windows_are_cut_at_as_of() {
    // (as_of seconds after the onset, expected after_ms, expected `to` seconds after the onset ×1000)
    let cases: [(i64, Option<(i64, i64)>); 5] =
        [(-60, None), (0, None), (1, Some((999, 1_000))), (120, Some((119_999, 120_000))), (3_600, Some((300_000, 300_001)))];
    for (as_of, expected) in cases {
        let got = windows(at(0), at(as_of), lookaround(15, 5));
        let got = got.map(|(windows, from, to)| {
            assert_eq!(windows.before_ms, 900_000);
            assert_eq!(from, at(-900));
            assert!(to <= at(as_of), "nothing at or after as_of is read");
            (windows.after_ms, to.as_millisecond() - at(0).as_millisecond())
        });
        assert_eq!(got, expected, "as_of {as_of}s after the onset");
    }
}

#[test]
fn levels_land_where_the_engine_reads_them() {
    let cases = [
        ("error", "ERROR"),
        ("fatal", "ERROR"),
        ("critical", "ERROR"),
        ("warn", "WARN"),
        ("warning", "WARN"),
        ("info", "INFO"),
        ("debug", "INFO"),
        ("whatever", "INFO"),
    ];
    for (level, word) in cases {
        assert_eq!(level_word(level), word, "{level}");
        let text = format!("{} something", level_word(level));
        let engine_level = staunch_investigate::logs::Level::of(&text);
        let expected = match word {
            "ERROR" => staunch_investigate::logs::Level::Error,
            "WARN" => staunch_investigate::logs::Level::Warning,
            _ => staunch_investigate::logs::Level::Other,
        };
        assert_eq!(engine_level, expected, "{level}");
    }
}

#[test]
fn nothing_read_is_no_case() {
    let (windows, _, to) = windows(at(0), at(60), lookaround(15, 5)).unwrap();
    assert!(case_input(windows, to, at(60), &[], &[], &[], CallGraph::new()).is_none());
    let unfinished = [span(0, "a", None, "cart", 50, 20_000.0, SpanStatus::Ok)];
    assert!(
        case_input(windows, to, at(60), &[], &unfinished, &[], CallGraph::new()).is_none(),
        "a span still running at as_of is unknown"
    );
}

#[test]
fn spans_errors_and_metrics_are_converted() {
    let (windows, _, to) = windows(at(0), at(60), lookaround(15, 5)).unwrap();
    let spans = [
        span(0, "root", None, "front", -30, 5.0, SpanStatus::Ok),
        span(0, "child", Some("root"), "cart", -29, 3.0, SpanStatus::Error),
        span(1, "late", None, "front", 59, 2_000.0, SpanStatus::Ok),
    ];
    let points = [
        MetricPoint { service: "cart".into(), name: "latency_ms".into(), at: at(10), value: 2.0, pod: Some("cart-1".into()) },
        MetricPoint { service: "cart".into(), name: "latency_ms".into(), at: at(-10), value: 1.0, pod: Some("cart-1".into()) },
        MetricPoint { service: "cart".into(), name: "latency_ms".into(), at: at(-10), value: 7.0, pod: Some("cart-2".into()) },
    ];
    let mut traced = line("cart", -4, "error", "price lookup failed");
    traced.attributes = serde_json::json!({"trace_id": "t0", "span_id": "child", "user": 7}).as_object().cloned();
    let logs = [line("cart", -5, "warning", "slow"), traced];
    let case = case_input(windows, to, at(60), &logs, &spans, &points, CallGraph::new()).unwrap();
    let batch = case.spans.as_ref().unwrap();
    let ids: Vec<&str> = batch.spans.iter().map(|span| span.span_id.as_str()).collect();
    assert_eq!(ids, ["root", "child"], "the span ending after as_of is left out");
    assert_eq!(batch.spans[1].parent_id.as_deref(), Some("root"));
    assert_eq!(batch.covered, vec![(at(-30).as_millisecond(), to.as_millisecond())]);
    let texts: Vec<&str> = case.logs.as_ref().unwrap().lines.iter().map(|line| line.text.as_str()).collect();
    assert_eq!(texts, ["WARN slow", "ERROR price lookup failed", "ERROR span cart op failed"]);
    let contexts: Vec<(Option<&str>, Option<&str>)> =
        case.logs.as_ref().unwrap().lines.iter().map(|line| (line.trace_id.as_deref(), line.span_id.as_deref())).collect();
    assert_eq!(
        contexts,
        [(None, None), (Some("t0"), Some("child")), (Some("t0"), Some("child"))],
        "trace context from a pushed line's attributes and from an error span"
    );
    assert_eq!(case.metrics.len(), 2, "one series per pod");
    assert_eq!(case.metrics[0].points, vec![(at(-10).as_millisecond(), 1.0), (at(10).as_millisecond(), 2.0)], "in time order");
    assert_eq!(case.metrics[1].points, vec![(at(-10).as_millisecond(), 7.0)]);
}

/// The whole path but the store: a service that starts logging new errors and answering
/// slowly after the onset, among services that carry on as before, comes first — whichever
/// of the two callees it is.
#[test]
fn a_service_that_breaks_after_the_onset_is_ranked_first() {
    for broken in ["cart", "search"] {
        let mut logs = Vec::new();
        let mut spans = Vec::new();
        for second in (-600_i64..120).step_by(5) {
            let after = second >= 0;
            for service in ["front", "cart", "search"] {
                let message = format!("handled request {} in {} ms", second.rem_euclid(97), 3 + second.rem_euclid(5));
                logs.push(line(service, second, "info", &message));
            }
            if after {
                logs.push(line(
                    broken,
                    second,
                    "error",
                    &format!("redis timeout after {} ms on key k:{}", 500 + second, second * 7),
                ));
            }
            let trace = (second + 600) as usize;
            let slow = |service: &str| if after && service == broken { 400.0 } else { 0.0 };
            let jitter = second.rem_euclid(3) as f64;
            spans.push(span(trace, "root", None, "front", second, 20.0 + slow(broken) + jitter, SpanStatus::Ok));
            for callee in ["cart", "search"] {
                spans.push(span(trace, callee, Some("root"), callee, second, 10.0 + slow(callee) + jitter, SpanStatus::Ok));
            }
        }
        let as_of = at(121);
        let (windows, _, to) = windows(at(0), as_of, Lookaround::default()).unwrap();
        let case = case_input(windows, to, as_of, &logs, &spans, &[], CallGraph::new()).unwrap();
        let investigation = investigate(&case, &Settings::default());
        let ranking: Vec<&str> = investigation.ranking().collect();
        assert_eq!(ranking.first(), Some(&broken), "{ranking:?}");
        assert!(!investigation.abstained, "{investigation:?}");
    }
}
