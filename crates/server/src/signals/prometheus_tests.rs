use super::*;
use crate::prometheus_api::parse_answer;

const ONSET_S: i64 = 1_795_341_600;

fn at(seconds: f64) -> Timestamp {
    Timestamp::from_millisecond((seconds * 1000.0).round() as i64).unwrap()
}

fn metric(pod_label: Option<&str>) -> PulledMetric {
    PulledMetric {
        name: "latency_p99".to_string(),
        query: "q".to_string(),
        service_label: "service".to_string(),
        pod_label: pod_label.map(str::to_string),
    }
}

/// A matrix answer as Prometheus writes it, series given as (labels, [(seconds, "value")]).
fn answer(series: &[(&[(&str, &str)], &[(f64, &str)])]) -> Vec<RangeSeries> {
    let result: Vec<serde_json::Value> = series
        .iter()
        .map(|(labels, values)| {
            let labels: serde_json::Map<String, serde_json::Value> =
                labels.iter().map(|(key, value)| (key.to_string(), serde_json::json!(value))).collect();
            let values: Vec<serde_json::Value> = values.iter().map(|(at, value)| serde_json::json!([at, value])).collect();
            serde_json::json!({ "metric": labels, "values": values })
        })
        .collect();
    let body = serde_json::json!({ "status": "success", "data": { "resultType": "matrix", "result": result } });
    match parse_answer("q", 200, body.to_string().as_bytes()) {
        Ok(QueryData::Matrix(series)) => series,
        other => panic!("not a matrix: {other:?}"),
    }
}

/// (service, pod, seconds after the onset, value) of every point, in order.
fn points(pulled: &Pulled) -> Vec<(String, Option<String>, f64, f64)> {
    pulled
        .points
        .iter()
        .map(|point| {
            let seconds = (point.at.as_millisecond() - ONSET_S * 1000) as f64 / 1000.0;
            (point.service.clone(), point.pod.clone(), seconds, point.value)
        })
        .collect()
}

fn s(text: &str) -> String {
    text.to_string()
}

#[test]
fn matrix_answers_become_points_cut_to_the_window() {
    let t = |offset: f64| ONSET_S as f64 + offset;
    let (from, to) = (at(t(-60.0)), at(t(60.0)));
    type Expected = Vec<(String, Option<String>, f64, f64)>;
    struct Case {
        name: &'static str,
        pod_label: Option<&'static str>,
        series: Vec<RangeSeries>,
        expected: Expected,
        warnings: Vec<&'static str>,
    }
    let cart = [("__name__", "x"), ("service", "cart"), ("pod", "cart-0")];
    let cases = [
        Case {
            name: "finite samples inside the window are kept, with the pod when it is configured",
            pod_label: Some("pod"),
            series: answer(&[(&cart, &[(t(-60.0), "0.1"), (t(0.0), "0.5"), (t(30.5), "1e-3")])]),
            expected: vec![
                (s("cart"), Some(s("cart-0")), -60.0, 0.1),
                (s("cart"), Some(s("cart-0")), 0.0, 0.5),
                (s("cart"), Some(s("cart-0")), 30.5, 0.001),
            ],
            warnings: vec![],
        },
        Case {
            name: "without a pod label every series is the service's",
            pod_label: None,
            series: answer(&[(&cart, &[(t(0.0), "0.5")])]),
            expected: vec![(s("cart"), None, 0.0, 0.5)],
            warnings: vec![],
        },
        Case {
            name: "NaN and infinities are gaps, not values; nor is text",
            pod_label: None,
            series: answer(&[(
                &cart,
                &[(t(-30.0), "NaN"), (t(-15.0), "+Inf"), (t(0.0), "-Inf"), (t(15.0), "fast"), (t(30.0), "2")],
            )]),
            expected: vec![(s("cart"), None, 30.0, 2.0)],
            warnings: vec![],
        },
        Case {
            name: "samples at or after the end of the window (as of) and before its start are cut",
            pod_label: None,
            series: answer(&[(&cart, &[(t(-60.001), "9"), (t(59.999), "1"), (t(60.0), "7"), (t(61.0), "8")])]),
            expected: vec![(s("cart"), None, 59.999, 1.0)],
            warnings: vec![],
        },
        Case {
            name: "series without the service label (or with it empty) are left out and counted",
            pod_label: None,
            series: answer(&[
                (&[("pod", "x-0")], &[(t(0.0), "1")]),
                (&[("service", "")], &[(t(0.0), "1")]),
                (&[("service", "search")], &[(t(0.0), "3")]),
            ]),
            expected: vec![(s("search"), None, 0.0, 3.0)],
            warnings: vec!["prometheus metric latency_p99: 2 series without a \"service\" label left out"],
        },
        Case {
            name: "two series naming the same service and pod: the first in label order is kept",
            pod_label: None,
            series: answer(&[
                (&[("route", "/b"), ("service", "cart")], &[(t(0.0), "2")]),
                (&[("route", "/a"), ("service", "cart")], &[(t(0.0), "1")]),
            ]),
            expected: vec![(s("cart"), None, 0.0, 1.0)],
            warnings: vec![
                "prometheus metric latency_p99: 1 series naming a service and pod another series already named left out; aggregate the query by service",
            ],
        },
        Case { name: "an empty matrix is no points", pod_label: None, series: answer(&[]), expected: vec![], warnings: vec![] },
    ];
    for case in cases {
        let pulled = matrix_points(&metric(case.pod_label), case.series, from, to);
        assert_eq!(points(&pulled), case.expected, "{}", case.name);
        assert_eq!(pulled.warnings, case.warnings, "{}", case.name);
        assert!(pulled.points.iter().all(|point| point.name == "latency_p99" && point.at < to), "{}", case.name);
    }
}

#[test]
fn a_query_answering_a_series_per_container_is_capped() {
    let series: Vec<RangeSeries> = (0..MAX_SERIES_PER_METRIC + 3)
        .map(|index| RangeSeries {
            metric: [(s("service"), format!("svc-{index:05}"))].into_iter().collect(),
            values: vec![(ONSET_S as f64, s("1"))],
        })
        .collect();
    let pulled = matrix_points(&metric(None), series, at(ONSET_S as f64 - 1.0), at(ONSET_S as f64 + 1.0));
    assert_eq!(pulled.points.len(), MAX_SERIES_PER_METRIC);
    assert_eq!(pulled.warnings, vec!["prometheus metric latency_p99: 3 series beyond the first 1000 left out".to_string()]);
}

#[test]
fn pushed_series_win_over_pulled_ones_with_the_same_name() {
    let point = |service: &str, pod: Option<&str>, name: &str, value: f64| MetricPoint {
        service: s(service),
        name: s(name),
        at: at(ONSET_S as f64),
        value,
        pod: pod.map(s),
    };
    let pushed = vec![point("cart", Some("cart-0"), "latency_p99", 1.0), point("search", None, "latency_p99", 2.0)];
    let pulled = vec![
        point("cart", Some("cart-0"), "latency_p99", 10.0),
        point("cart", Some("cart-1"), "latency_p99", 11.0),
        point("search", None, "latency_p99", 12.0),
        point("search", None, "cpuusagerate", 13.0),
    ];
    let merged: Vec<f64> = merge(pushed, pulled).iter().map(|point| point.value).collect();
    assert_eq!(merged, vec![1.0, 2.0, 11.0, 13.0]);
}
