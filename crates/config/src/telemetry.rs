//! `telemetry:`: how long pushed log lines, spans and metric points are kept, how fast one
//! organisation may push them, and the Prometheus server whose series live investigations
//! pull around an onset. One setting for the whole server (every organisation's telemetry
//! ages out alike), checked at load; which organisations read the Prometheus server is named
//! in it, since its series are the operator's, not a tenant's.

use crate::prometheus_auth::{AuthFields, BasicAuthFields, PrometheusAuth, Secret};
use serde::Deserialize;
use staunch_domain::duration::HumanDuration;
use staunch_domain::rate_limit::RateLimit;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetrySettings {
    /// Telemetry older than this is deleted by the leader, and refused when pushed.
    pub retention: HumanDuration,
    /// Items (lines, spans, points) per second one organisation may push; unlimited when
    /// absent. Beyond it pushes are answered 429 with `Retry-After`.
    pub rate_limit: Option<RateLimit>,
    /// Metric series pulled from Prometheus around an incident's onset; none when absent.
    pub prometheus: Option<PrometheusPull>,
}

impl Default for TelemetrySettings {
    fn default() -> Self {
        TelemetrySettings { retention: HumanDuration::from_secs(7 * 86_400), rate_limit: None, prometheus: None }
    }
}

/// `telemetry.prometheus`: one Prometheus server (or anything answering its HTTP API:
/// Thanos, Mimir, VictoriaMetrics) and the range queries read from it for every live
/// investigation, over the same window as pushed telemetry.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrometheusPull {
    /// Base URL, e.g. `http://127.0.0.1:9090` (a trailing `/` is dropped). Basic-auth
    /// credentials in it are sent but never logged.
    pub url: String,
    /// `query_range` resolution.
    #[serde(default = "default_step")]
    pub step: HumanDuration,
    /// How long one query may take; the investigation goes on without it after that.
    #[serde(default = "default_timeout")]
    pub timeout: HumanDuration,
    pub metrics: Vec<PulledMetric>,
    /// Slugs of the organisations whose investigations read it; the top-level (default)
    /// organisation when absent. A tenant must not see another's services through it.
    #[serde(default)]
    pub organisations: Vec<String>,
    /// A file whose content (trimmed, read at load) is sent as `Authorization: Bearer …`.
    #[serde(default)]
    pub bearer_token_file: Option<PathBuf>,
    /// The same token written here instead (like `smtp.password`).
    #[serde(default)]
    pub bearer_token: Option<Secret>,
    /// `{username, password_file | password}`, sent as `Authorization: Basic …`.
    #[serde(default)]
    pub basic_auth: Option<BasicAuthFields>,
    /// Extra request headers, e.g. `X-Scope-OrgID` for Mimir.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// What the four fields above resolve to; filled in when the config is loaded.
    #[serde(skip)]
    pub auth: PrometheusAuth,
}

/// One range query and how its series name a service (and a pod).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PulledMetric {
    /// The metric's name in the investigation; it decides what the series is evidence of,
    /// as for pushed points (see [`check_metric_name`]).
    pub name: String,
    /// PromQL; should keep the service label (e.g. `sum by (service) (…)`).
    pub query: String,
    /// The label whose value is the Staunch service.
    #[serde(default = "default_service_label")]
    pub service_label: String,
    /// The label whose value is the pod (or instance), when series are per pod.
    #[serde(default)]
    pub pod_label: Option<String>,
}

fn default_step() -> HumanDuration {
    HumanDuration::from_secs(60)
}

fn default_timeout() -> HumanDuration {
    HumanDuration::from_secs(5)
}

fn default_service_label() -> String {
    "service".to_string()
}

/// Investigations read 20 minutes around an onset: a step over 5m leaves too few points before
/// it for a robust median; under 1s is more resolution than scrapes have.
const MIN_STEP_MS: u64 = 1_000;
const MAX_STEP_MS: u64 = 300_000;
/// The investigation waits for the pull; a refresh holds its lease for 60 s.
const MIN_TIMEOUT_MS: u64 = 100;
const MAX_TIMEOUT_MS: u64 = 30_000;
/// Each query is one request per investigation.
const MAX_PULLED_METRICS: usize = 50;

/// A pulled metric whose name the investigation would not read as evidence is refused: it
/// would cost a query per investigation and change nothing.
pub fn check_metric_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() || name.len() > 256 {
        return Err(format!("{name:?} must be 1 to 256 bytes"));
    }
    if staunch_investigate::metrics::classify(name).is_none() {
        return Err(format!(
            "{name:?} is not read as evidence: name a latency `…latency…` (not `clientlatency`) or resources `cpuusagerate…`/`memoryusagerate…`"
        ));
    }
    Ok(())
}

impl PrometheusPull {
    fn check(&mut self, problems: &mut Vec<String>) {
        let field = "telemetry.prometheus";
        let fields = AuthFields {
            bearer_token: self.bearer_token.as_ref().map(|secret| secret.0.as_str()),
            bearer_token_file: self.bearer_token_file.as_deref(),
            basic_auth: self.basic_auth.as_ref(),
            headers: &self.headers,
        };
        self.auth = PrometheusAuth::resolve(fields, field, problems);
        let url = self.url.as_str();
        let valid_url = (url.starts_with("http://") || url.starts_with("https://"))
            && !url.contains(['?', '#', ' '])
            && url.split_once("://").is_some_and(|(_, rest)| !rest.is_empty() && !rest.starts_with('/'));
        if !valid_url {
            problems.push(format!("{field}.url: must be an http:// or https:// URL with a host and no query"));
        }
        if !(MIN_STEP_MS..=MAX_STEP_MS).contains(&self.step.as_millis()) {
            problems.push(format!("{field}.step: {} must be between 1s and 5m", self.step));
        }
        if !(MIN_TIMEOUT_MS..=MAX_TIMEOUT_MS).contains(&self.timeout.as_millis()) {
            problems.push(format!("{field}.timeout: {} must be between 100ms and 30s", self.timeout));
        }
        if self.metrics.is_empty() {
            problems.push(format!("{field}.metrics: name at least one metric to pull"));
        }
        if self.metrics.len() > MAX_PULLED_METRICS {
            problems.push(format!("{field}.metrics: {} metrics, at most {MAX_PULLED_METRICS}", self.metrics.len()));
        }
        for (index, metric) in self.metrics.iter().enumerate() {
            let at = format!("{field}.metrics[{index}]");
            if let Err(problem) = check_metric_name(&metric.name) {
                problems.push(format!("{at}.name: {problem}"));
            }
            if self.metrics[..index].iter().any(|earlier| earlier.name == metric.name) {
                problems.push(format!("{at}.name: {:?} is used twice", metric.name));
            }
            if metric.query.trim().is_empty() {
                problems.push(format!("{at}.query: must not be empty"));
            }
            if !staunch_domain::matcher::is_valid_label_name(&metric.service_label) {
                problems.push(format!("{at}.service_label: {:?} is not a Prometheus label name", metric.service_label));
            }
            if let Some(pod_label) = &metric.pod_label
                && !staunch_domain::matcher::is_valid_label_name(pod_label)
            {
                problems.push(format!("{at}.pod_label: {pod_label:?} is not a Prometheus label name"));
            }
        }
    }

    /// The URL without a trailing `/`, so paths can be appended.
    pub fn base_url(&self) -> &str {
        self.url.trim_end_matches('/')
    }

    /// The organisations whose investigations read it.
    pub fn organisation_slugs(&self) -> Vec<&str> {
        if self.organisations.is_empty() {
            vec![staunch_domain::tenant::DEFAULT_ORG_SLUG]
        } else {
            self.organisations.iter().map(String::as_str).collect()
        }
    }
}

/// Shorter and an incident's "before" window could already be gone when it is investigated;
/// longer and the tables grow past what a window read needs.
const MIN_RETENTION_MS: u64 = 3_600_000;
const MAX_RETENTION_MS: u64 = 90 * 86_400_000;

impl TelemetrySettings {
    /// Checks the settings and reads the Prometheus pull's secret files.
    pub(crate) fn check(&mut self, problems: &mut Vec<String>) {
        if !(MIN_RETENTION_MS..=MAX_RETENTION_MS).contains(&self.retention.as_millis()) {
            problems.push(format!("telemetry.retention: {} must be between 1h and 90d", self.retention));
        }
        if let Some(limit) = &self.rate_limit
            && let Err(error) = limit.check()
        {
            problems.push(format!("telemetry.rate_limit: {error}"));
        }
        if let Some(prometheus) = &mut self.prometheus {
            prometheus.check(problems);
        }
    }

    /// The organisations `telemetry.prometheus` names must be in the file.
    pub(crate) fn check_organisations(&self, known: &[&str], problems: &mut Vec<String>) {
        let Some(prometheus) = &self.prometheus else { return };
        for (index, slug) in prometheus.organisations.iter().enumerate() {
            if !known.contains(&slug.as_str()) {
                problems.push(format!("telemetry.prometheus.organisations[{index}]: no organisation {slug:?} in this file"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::parse_config;

    #[test]
    fn retention_defaults_to_a_week_and_is_checked() {
        let config = parse_config("{}", "test").unwrap();
        assert_eq!(config.telemetry.retention.to_string(), "1w");
        let cases = [
            ("telemetry: {retention: 2d}", Ok("2d")),
            ("telemetry: {retention: 1h}", Ok("1h")),
            ("telemetry: {retention: 90d}", Ok("12w6d")),
            ("telemetry: {retention: 59m}", Err("test: telemetry.retention: 59m must be between 1h and 90d")),
            ("telemetry: {retention: 91d}", Err("test: telemetry.retention: 13w must be between 1h and 90d")),
        ];
        for (text, expected) in cases {
            let got = parse_config(text, "test")
                .map(|config| config.telemetry.retention.to_string())
                .map_err(|error| error.to_string());
            assert_eq!(got.as_deref().map_err(String::as_str), expected, "{text}");
        }
        let limited = parse_config("telemetry: {rate_limit: {per_second: 100, burst: 1000}}", "test").unwrap();
        assert_eq!(limited.telemetry.rate_limit.map(|limit| (limit.per_second, limit.burst)), Some((100.0, 1000.0)));
        let bad_limit = parse_config("telemetry: {rate_limit: {per_second: 0, burst: 10}}", "test").unwrap_err().to_string();
        assert_eq!(bad_limit, "test: telemetry.rate_limit: per_second must be a positive number, not 0");
        let unknown = parse_config("telemetry: {keep: 2d}", "test").unwrap_err().to_string();
        assert!(unknown.contains("keep"), "{unknown}");
    }

    #[test]
    fn a_prometheus_pull_is_checked_naming_each_field() {
        let config = parse_config(
            "telemetry: {prometheus: {url: 'http://prom:9090/', metrics: [{name: latency_p99, query: 'x'}]}}",
            "test",
        )
        .unwrap();
        let prometheus = config.telemetry.prometheus.unwrap();
        assert_eq!(prometheus.base_url(), "http://prom:9090");
        assert_eq!((prometheus.step.to_string(), prometheus.timeout.to_string()), ("1m".to_string(), "5s".to_string()));
        assert_eq!((prometheus.metrics[0].service_label.as_str(), prometheus.metrics[0].pod_label.as_deref()), ("service", None));

        let metric = "{name: latency_p99, query: 'x'}";
        let cases = [
            (
                format!("{{url: 'prom:9090', metrics: [{metric}]}}"),
                "telemetry.prometheus.url: must be an http:// or https:// URL",
            ),
            (format!("{{url: 'http://p?x=1', metrics: [{metric}]}}"), "telemetry.prometheus.url: must be"),
            (
                format!("{{url: 'http://p', step: 0s, metrics: [{metric}]}}"),
                "telemetry.prometheus.step: 0s must be between 1s and 5m",
            ),
            (format!("{{url: 'http://p', step: 10m, metrics: [{metric}]}}"), "telemetry.prometheus.step: 10m must be"),
            (
                format!("{{url: 'http://p', timeout: 1m, metrics: [{metric}]}}"),
                "telemetry.prometheus.timeout: 1m must be between",
            ),
            ("{url: 'http://p', metrics: []}".to_string(), "telemetry.prometheus.metrics: name at least one"),
            (
                "{url: 'http://p', metrics: [{name: p99, query: x}]}".to_string(),
                "telemetry.prometheus.metrics[0].name: \"p99\" is not read as evidence",
            ),
            (
                format!("{{url: 'http://p', metrics: [{metric}, {metric}]}}"),
                "telemetry.prometheus.metrics[1].name: \"latency_p99\" is used twice",
            ),
            (
                "{url: 'http://p', metrics: [{name: latency, query: ' '}]}".to_string(),
                "telemetry.prometheus.metrics[0].query: must not be empty",
            ),
            (
                "{url: 'http://p', metrics: [{name: latency, query: x, service_label: 'app.kubernetes.io/name'}]}".to_string(),
                "telemetry.prometheus.metrics[0].service_label: \"app.kubernetes.io/name\" is not a Prometheus label name",
            ),
            (
                "{url: 'http://p', metrics: [{name: latency, query: x, pod_label: '1pod'}]}".to_string(),
                "telemetry.prometheus.metrics[0].pod_label",
            ),
            (
                format!("{{url: 'http://p', organisations: [acme], metrics: [{metric}]}}"),
                "telemetry.prometheus.organisations[0]: no organisation \"acme\"",
            ),
            (format!("{{url: 'http://p', metrics: [{metric}], header: {{}}}}"), "unknown field"),
            (
                format!("{{url: 'http://p', metrics: [{metric}], headers: {{'X Org': a}}}}"),
                "telemetry.prometheus.headers.X Org: not an HTTP header name",
            ),
            (
                format!("{{url: 'http://p', metrics: [{metric}], bearer_token_file: /nonexistent/token}}"),
                "telemetry.prometheus.bearer_token_file: cannot read /nonexistent/token",
            ),
            (
                format!("{{url: 'http://p', metrics: [{metric}], bearer_token: a, basic_auth: {{username: u, password: b}}}}"),
                "telemetry.prometheus: give bearer_token_file or basic_auth, not both",
            ),
        ];
        for (prometheus, expected) in cases {
            let text = format!("telemetry: {{prometheus: {prometheus}}}");
            let error = parse_config(&text, "test").unwrap_err().to_string();
            assert!(error.contains(expected), "{text}: {error}");
        }
        // A URL's credentials are never echoed in a problem.
        let error =
            parse_config("telemetry: {prometheus: {url: 'ftp://me:hunter2@p', metrics: [{name: latency, query: x}]}}", "test")
                .unwrap_err()
                .to_string();
        assert!(!error.contains("hunter2"), "{error}");

        // Secrets are read at load, sent, and never printed.
        let dir = tempfile::tempdir().unwrap();
        let token = dir.path().join("token");
        std::fs::write(&token, "hunter2\n").unwrap();
        let text = format!(
            "telemetry: {{prometheus: {{url: 'http://p', bearer_token_file: '{}', headers: {{X-Scope-OrgID: team-a}}, metrics: [{{name: latency, query: x}}]}}}}",
            token.display()
        );
        let config = parse_config(&text, "test").unwrap();
        let prometheus = config.telemetry.prometheus.as_ref().unwrap();
        let sent: Vec<(&str, &str, bool)> = prometheus.auth.headers().collect();
        assert_eq!(sent, vec![("authorization", "Bearer hunter2", true), ("X-Scope-OrgID", "team-a", false)]);
        assert!(!format!("{config:?}").contains("hunter2"));
        let inline = "telemetry: {prometheus: {url: 'http://p', basic_auth: {username: u, password: hunter2}, metrics: [{name: latency, query: x}]}}";
        let config = parse_config(inline, "test").unwrap();
        assert!(!format!("{config:?}").contains("hunter2"));
        assert_eq!(config.telemetry.prometheus.unwrap().auth.headers().count(), 1);

        let named = "organisations: [{id: acme}]\ntelemetry: {prometheus: {url: 'http://p', organisations: [default, acme], metrics: [{name: cpuusagerate, query: x}]}}";
        let config = parse_config(named, "test").unwrap();
        assert_eq!(config.telemetry.prometheus.unwrap().organisation_slugs(), vec!["default", "acme"]);
    }
}
