use super::*;
use crate::prometheus_api::parse_answer;
use std::collections::BTreeMap;

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

/// One series as (labels, [(seconds, "value")]).
type Written<'a> = (&'a [(&'a str, &'a str)], &'a [(f64, &'a str)]);

/// A matrix answer as Prometheus writes it.
fn answer(series: &[Written<'_>]) -> Vec<RangeSeries> {
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

#[test]
fn only_the_organisations_the_config_names_read_it() {
    use staunch_domain::tenant::OrgSlug;
    let signals = |organisations: &str| {
        let text = format!(
            "organisations: [{{id: acme}}, {{id: beta}}]\ntelemetry: {{prometheus: {{url: 'http://me:secret@p', {organisations} metrics: [{{name: latency, query: x}}]}}}}"
        );
        let mut config = staunch_config::parse_config(&text, "test").unwrap();
        config.bind_org_ids(&[(OrgSlug::parse("acme").unwrap(), OrgId(2)), (OrgSlug::parse("beta").unwrap(), OrgId(3))]);
        PrometheusSignals::from_config(&config).unwrap()
    };
    let served = |signals: &PrometheusSignals| [OrgId::DEFAULT, OrgId(2), OrgId(3)].map(|org| signals.serves(org));
    assert_eq!(served(&signals("")), [true, false, false]);
    assert_eq!(served(&signals("organisations: [acme],")), [false, true, false]);
    assert!(!format!("{:?}", signals("")).contains("secret"));
    assert!(staunch_config::parse_config("{}", "test").map(|config| PrometheusSignals::from_config(&config).is_none()).unwrap());
}

/// A stand-in Prometheus whose answer depends on the query: a good matrix, a refusal, a body
/// that is not JSON, or nothing for ten seconds. It records the `end` each query asked for.
async fn fake_prometheus(ends: Arc<std::sync::Mutex<Vec<String>>>) -> String {
    use axum::extract::Query;
    let app = axum::Router::new().route(
        "/api/v1/query_range",
        axum::routing::get(move |Query(params): Query<BTreeMap<String, String>>| {
            let ends = ends.clone();
            async move {
                ends.lock().unwrap().push(params["end"].clone());
                let matrix = r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"service":"cart"},"values":[[1795341600,"0.5"],[1795341660,"0.7"]]}]}}"#;
                match params["query"].as_str() {
                    "good" => (axum::http::StatusCode::OK, matrix.to_string()),
                    "refused" => (
                        axum::http::StatusCode::BAD_REQUEST,
                        r#"{"status":"error","errorType":"bad_data","error":"parse error"}"#.to_string(),
                    ),
                    "garbled" => (axum::http::StatusCode::OK, "<html>proxy</html>".to_string()),
                    _ => {
                        tokio::time::sleep(std::time::Duration::from_secs(10)).await;
                        (axum::http::StatusCode::OK, matrix.to_string())
                    }
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}")
}

#[tokio::test]
async fn a_slow_refusing_or_garbled_prometheus_costs_only_its_metrics() {
    let ends = Arc::new(std::sync::Mutex::new(Vec::new()));
    let url = fake_prometheus(ends.clone()).await;
    let metrics: Vec<String> =
        ["slow", "refused", "garbled", "good"].iter().map(|query| format!("{{name: latency_{query}, query: {query}}}")).collect();
    let text = format!("telemetry: {{prometheus: {{url: '{url}', timeout: 300ms, metrics: [{}]}}}}", metrics.join(", "));
    let signals = PrometheusSignals::from_config(&staunch_config::parse_config(&text, "test").unwrap()).unwrap();
    let (from, to) = (at(ONSET_S as f64 - 60.0), at(ONSET_S as f64 + 60.0));
    let started = std::time::Instant::now();
    let pulled = signals.pull(from, to).await;
    assert!(
        started.elapsed() < std::time::Duration::from_secs(3),
        "queried at once, each cut at its timeout: {:?}",
        started.elapsed()
    );
    // The good metric's sample at `to` is cut; the others are named, in the config's order.
    assert_eq!(points(&pulled), vec![(s("cart"), None, 0.0, 0.5)]);
    assert_eq!(pulled.warnings.len(), 3, "{:?}", pulled.warnings);
    let expected = [
        "prometheus metric latency_slow left out: cannot reach prometheus at http://127.0.0.1:",
        "prometheus metric latency_refused left out: prometheus answered 400 to \"refused\": parse error",
        "prometheus metric latency_garbled left out: malformed prometheus answer to \"garbled\"",
    ];
    for (warning, expected) in pulled.warnings.iter().zip(expected) {
        assert!(warning.starts_with(expected), "{warning}");
    }
    assert!(pulled.warnings[0].ends_with(": no answer within 300ms"), "{}", pulled.warnings[0]);
    // The range's end is inclusive: it stops a millisecond before `to`.
    assert!(ends.lock().unwrap().iter().all(|end| end == "1795341659.999"), "{ends:?}");
}
