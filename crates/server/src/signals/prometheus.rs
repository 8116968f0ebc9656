//! Metric series pulled from Prometheus for live investigations (`telemetry.prometheus`):
//! one `query_range` per configured metric over the window the pushed telemetry is read
//! (`[onset − before, min(onset + after, as_of))`, see [`super::case::windows`]), turned into
//! the same metric points services push, so the engine sees one kind of series whichever way
//! it arrived.
//!
//! The I/O is [`PrometheusSignals::pull`]; the conversion ([`matrix_points`]) and the merge
//! with pushed points ([`merge`]) are pure and unit-tested.
//!
//! - **Never the future.** `query_range` includes its `end`, and Prometheus evaluates at
//!   `start + k·step` with data up to each evaluation time, so the request ends a millisecond
//!   before `to` and [`matrix_points`] still drops every sample outside `[from, to)`. The
//!   caller's `to` never passes `as_of`.
//! - **Pushed wins.** When a pushed series and a pulled one name the same (service, pod,
//!   metric), the pulled one is left out: the service's own report is the one its owners
//!   chose, and two sources in one series would put two samples, of possibly different
//!   definitions, at each step and blur the medians the engine compares.
//! - **Never fatal.** A Prometheus that is down, slow (each query ends at `timeout`), refuses
//!   a query or answers nonsense costs that metric only: the investigation goes on with what
//!   it has and says what was left out in its `warnings`; the reason is logged at warn with
//!   the URL's credentials removed.
//! - **Tenants.** The server is the operator's, so only the organisations the config names
//!   read it ([`PrometheusSignals::serves`]).

use crate::prometheus_api::{PrometheusClient, PullError, QueryData, RangeSeries, millis_as_seconds, seconds, shown_url};
use jiff::{SignedDuration, Timestamp};
use staunch_config::Config;
use staunch_config::telemetry::{PrometheusPull, PulledMetric};
use staunch_store::{MetricPoint, OrgId};
use std::collections::BTreeSet;
use std::sync::Arc;

/// Series kept per pulled metric, at most: a query that forgot its `sum by (service)` can
/// answer one series per container of a cluster.
pub const MAX_SERIES_PER_METRIC: usize = 1_000;

/// Pulls the configured metrics for the organisations that may read them. Cheap to clone.
#[derive(Clone)]
pub struct PrometheusSignals {
    inner: Arc<Inner>,
}

struct Inner {
    settings: PrometheusPull,
    client: PrometheusClient,
    organisations: BTreeSet<OrgId>,
}

/// What a pull gave: points (for the engine) and what was left out and why (for people).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Pulled {
    pub points: Vec<MetricPoint>,
    pub warnings: Vec<String>,
}

impl PrometheusSignals {
    /// `None` without `telemetry.prometheus`. The organisations are those the config names
    /// that the database has numbered (see [`Config::bind_org_ids`]).
    pub fn from_config(config: &Config) -> Option<PrometheusSignals> {
        let settings = config.telemetry.prometheus.clone()?;
        let slugs = settings.organisation_slugs();
        let organisations = config
            .bound_organisations()
            .filter(|(_, organisation)| slugs.contains(&organisation.slug.as_str()))
            .map(|(org, _)| org)
            .collect();
        let client = PrometheusClient::new(settings.timeout.as_std());
        Some(PrometheusSignals { inner: Arc::new(Inner { settings, client, organisations }) })
    }

    /// Whether `org`'s investigations read this Prometheus.
    pub fn serves(&self, org: OrgId) -> bool {
        self.inner.organisations.contains(&org)
    }

    /// Every configured metric over `[from, to)`, queried at once; each query ends within the
    /// configured timeout, so a slow server delays an investigation by that much at most.
    pub async fn pull(&self, from: Timestamp, to: Timestamp) -> Pulled {
        let mut tasks = tokio::task::JoinSet::new();
        for (index, metric) in self.inner.settings.metrics.iter().enumerate() {
            let this = self.clone();
            let metric = metric.clone();
            tasks.spawn(async move { (index, this.pull_one(&metric, from, to).await.map_err(|error| (metric, error))) });
        }
        let mut answers = Vec::new();
        let mut pulled = Pulled::default();
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(answer) => answers.push(answer),
                Err(error) => {
                    tracing::warn!(%error, "prometheus pull task failed; investigating without it");
                    pulled.warnings.push(format!("a prometheus pull failed: {error}"));
                }
            }
        }
        // In the config's order, whichever answered first.
        answers.sort_by_key(|(index, _)| *index);
        for (_, answer) in answers {
            match answer {
                Ok(one) => {
                    pulled.points.extend(one.points);
                    pulled.warnings.extend(one.warnings);
                }
                Err((metric, error)) => {
                    tracing::warn!(metric = %metric.name, %error, "prometheus series not read; investigating without them");
                    pulled.warnings.push(format!("prometheus metric {} left out: {error}", metric.name));
                }
            }
        }
        pulled
    }

    async fn pull_one(&self, metric: &PulledMetric, from: Timestamp, to: Timestamp) -> Result<Pulled, PullError> {
        let settings = &self.inner.settings;
        let url = settings.base_url();
        // The range's end is inclusive: stop a millisecond short of `to`.
        let end = to.checked_sub(SignedDuration::from_millis(1)).unwrap_or(from).max(from);
        let (start, end) = (seconds(from), seconds(end));
        let step = millis_as_seconds(settings.step.as_millis() as i64);
        // Prometheus gives up on the query too, instead of computing an answer nobody reads.
        let timeout = millis_as_seconds(settings.timeout.as_millis() as i64);
        let params = [
            ("query", metric.query.as_str()),
            ("start", start.as_str()),
            ("end", end.as_str()),
            ("step", step.as_str()),
            ("timeout", timeout.as_str()),
        ];
        let data = self.inner.client.get(url, &settings.auth, "/api/v1/query_range", &metric.query, &params).await?;
        match data {
            QueryData::Matrix(series) => Ok(matrix_points(metric, series, from, to)),
            _ => Err(PullError::Malformed { query: metric.query.clone(), message: "expected a matrix result".to_string() }),
        }
    }
}

impl std::fmt::Debug for PrometheusSignals {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("PrometheusSignals")
            .field("url", &shown_url(self.inner.settings.base_url()))
            .field("metrics", &self.inner.settings.metrics.len())
            .finish()
    }
}

/// A matrix answer for `metric` as metric points, one series per (service, pod): samples
/// outside `[from, to)` and values that are not finite numbers (`NaN` is what
/// `histogram_quantile` gives a minute without requests: a gap, not a value) are dropped;
/// series without the service label are left out, and so is every series after the first (in
/// label order) that names the same service and pod, each said in a warning.
pub fn matrix_points(metric: &PulledMetric, mut series: Vec<RangeSeries>, from: Timestamp, to: Timestamp) -> Pulled {
    let (from_ms, to_ms) = (from.as_millisecond(), to.as_millisecond());
    // Prometheus sorts series by labels already; sorting again keeps "the first" one meaning.
    series.sort_by(|left, right| left.metric.cmp(&right.metric));
    let mut pulled = Pulled::default();
    let mut seen: BTreeSet<(String, Option<String>)> = BTreeSet::new();
    let (mut unnamed, mut duplicates, mut over) = (0usize, 0usize, 0usize);
    for one in series {
        let service = one.metric.get(&metric.service_label).filter(|service| !service.is_empty());
        let Some(service) = service else {
            unnamed += 1;
            continue;
        };
        let pod = metric.pod_label.as_ref().and_then(|label| one.metric.get(label)).filter(|pod| !pod.is_empty());
        let key = (service.clone(), pod.cloned());
        if seen.contains(&key) {
            duplicates += 1;
            continue;
        }
        if seen.len() == MAX_SERIES_PER_METRIC {
            over += 1;
            continue;
        }
        seen.insert(key);
        for (at_seconds, text) in &one.values {
            let at_ms = (at_seconds * 1000.0).round();
            if !(from_ms as f64..to_ms as f64).contains(&at_ms) {
                continue;
            }
            let Ok(value) = text.parse::<f64>() else { continue };
            let Ok(at) = Timestamp::from_millisecond(at_ms as i64) else { continue };
            if value.is_finite() {
                pulled.points.push(MetricPoint {
                    service: service.clone(),
                    name: metric.name.clone(),
                    at,
                    value,
                    pod: pod.cloned(),
                });
            }
        }
    }
    let name = &metric.name;
    if unnamed > 0 {
        pulled
            .warnings
            .push(format!("prometheus metric {name}: {unnamed} series without a {:?} label left out", metric.service_label));
    }
    if duplicates > 0 {
        pulled.warnings.push(format!(
            "prometheus metric {name}: {duplicates} series naming a service and pod another series already named left out; aggregate the query by {}",
            metric.pod_label.as_ref().map_or_else(|| metric.service_label.clone(), |pod| format!("{}, {pod}", metric.service_label))
        ));
    }
    if over > 0 {
        pulled
            .warnings
            .push(format!("prometheus metric {name}: {over} series beyond the first {MAX_SERIES_PER_METRIC} left out"));
    }
    pulled
}

/// Pushed points and pulled ones as one list: a pulled series whose (service, pod, metric)
/// was also pushed is left out (see the module doc).
pub fn merge(mut pushed: Vec<MetricPoint>, pulled: Vec<MetricPoint>) -> Vec<MetricPoint> {
    let pushed_series: BTreeSet<(&str, Option<&str>, &str)> =
        pushed.iter().map(|point| (point.service.as_str(), point.pod.as_deref(), point.name.as_str())).collect();
    let kept: Vec<MetricPoint> = pulled
        .into_iter()
        .filter(|point| !pushed_series.contains(&(point.service.as_str(), point.pod.as_deref(), point.name.as_str())))
        .collect();
    pushed.extend(kept);
    pushed
}

#[cfg(test)]
#[path = "prometheus_tests.rs"]
mod tests;
