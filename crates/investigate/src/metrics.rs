//! Metric anomaly per service: each per-pod series is compared, window after the onset
//! against window before, with a robust z-score (BARO's median/IQR idea with the MAD, and the
//! n-sigma rule's reading of the result). Only metrics a service drives itself count: traffic
//! volume (workload, bytes, syscalls) is set by its callers, and node metrics are shared by
//! every pod on the host, so neither says anything about which service is at fault.

use crate::Millis;
use crate::Windows;
use crate::evidence::{Evidence, Modality, ServiceScores};
use crate::robust::{ratio_shift_of_extreme, shift_of_extreme};

/// One metric of one pod (or service) over time.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricSeries {
    pub service: String,
    pub metric: String,
    pub points: Vec<(Millis, f64)>,
}

/// What a metric says about the service that reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    /// CPU and memory of the service's own containers.
    Resource,
    /// How long the service takes to answer, or to get answers from its callees.
    Latency,
}

/// Which metrics are evidence about their own service, by name. `None` for traffic volume,
/// host-wide (`Node…`), client-side latency and constant metrics.
pub fn classify(metric: &str) -> Option<MetricKind> {
    let lower = metric.to_ascii_lowercase();
    if lower.starts_with("node") || lower.contains("successrate") {
        return None;
    }
    // Client latency is how long a service waits for its callees: evidence about them, which
    // per-edge latencies apportion, not about the service that waits.
    if lower.contains("clientlatency") {
        return None;
    }
    if lower.contains("latency") {
        return Some(MetricKind::Latency);
    }
    if lower.starts_with("cpuusagerate") || lower.starts_with("memoryusagerate") {
        return Some(MetricKind::Resource);
    }
    None
}

/// Scores every series that [`classify`] accepts; a service's strength is its most shifted metric.
pub fn score_metrics(series: &[MetricSeries], windows: &Windows) -> ServiceScores {
    let mut scores = ServiceScores::new(Modality::Metrics);
    for one in series {
        scores.observe(&one.service);
        let Some(kind) = classify(&one.metric) else { continue };
        // A latency percentile of zero is a minute without requests, not an instant answer:
        // counting it as a value makes the next real request look infinitely slow.
        let sampled = |value: &f64| kind != MetricKind::Latency || *value > 0.0;
        let before: Vec<f64> =
            one.points.iter().filter(|(at, _)| windows.is_before(*at)).map(|(_, value)| *value).filter(sampled).collect();
        let after: Vec<f64> =
            one.points.iter().filter(|(at, _)| windows.is_after(*at)).map(|(_, value)| *value).filter(sampled).collect();
        let shift = match kind {
            MetricKind::Latency => ratio_shift_of_extreme(&before, &after),
            MetricKind::Resource => shift_of_extreme(&before, &after),
        };
        let Some(shift) = shift else { continue };
        let evidence = Evidence {
            modality: Modality::Metrics,
            service: one.service.clone(),
            signal: one.metric.clone(),
            detail: format!(
                "{} went from a median of {:.4} to {:.4} ({:.1} robust sd)",
                one.metric, shift.baseline, shift.observed, shift.z
            ),
            z: shift.z,
        };
        match kind {
            MetricKind::Resource => scores.add_own(evidence),
            MetricKind::Latency => scores.add(evidence),
        }
    }
    scores
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: i64 = 60_000;

    fn series(service: &str, metric: &str, values: &[f64]) -> MetricSeries {
        MetricSeries {
            service: service.to_string(),
            metric: metric.to_string(),
            points: values.iter().enumerate().map(|(index, value)| (index as i64 * MINUTE, *value)).collect(),
        }
    }

    fn windows() -> Windows {
        Windows { onset: 5 * MINUTE, before_ms: 5 * MINUTE, after_ms: 3 * MINUTE }
    }

    #[test]
    fn a_planted_cpu_spike_ranks_its_service_first() {
        let input = vec![
            series("cart", "CpuUsageRate(%)", &[20.0, 21.0, 19.0, 20.0, 22.0, 80.0, 85.0, 20.0]),
            series("frontend", "CpuUsageRate(%)", &[30.0, 33.0, 29.0, 31.0, 30.0, 34.0, 32.0, 30.0]),
            series("email", "PodServerLatencyP99(s)", &[0.1, 0.12, 0.09, 0.11, 0.1, 0.13, 0.1, 0.1]),
        ];
        let scores = score_metrics(&input, &windows());
        let mut ranked: Vec<_> = scores.strongest.iter().collect();
        ranked.sort_by(|left, right| right.1.total_cmp(left.1));
        assert_eq!(ranked[0].0, "cart", "{ranked:?}");
        assert!(scores.z_of("cart") > 10.0 * scores.z_of("frontend"));
        assert_eq!(scores.evidence["cart"][0].signal, "CpuUsageRate(%)");
    }

    #[test]
    fn minutes_without_requests_are_not_latency_samples() {
        // Zeros are minutes without a request: against a baseline of zeros, the first real
        // request would otherwise look infinitely slow.
        let sparse = vec![series("news", "PodServerLatencyP99(s)", &[0.0, 0.0, 0.02, 0.0, 0.021, 0.0, 0.022, 0.0])];
        let scores = score_metrics(&sparse, &windows());
        assert!(scores.z_of("news") < 3.0, "{scores:?}");
    }

    #[test]
    fn resource_evidence_is_the_services_own_and_latency_a_symptom() {
        let input = vec![
            series("cart", "CpuUsageRate(%)", &[20.0, 21.0, 19.0, 20.0, 22.0, 80.0, 85.0, 20.0]),
            series("frontend", "PodServerLatencyP99(s)", &[0.1, 0.11, 0.1, 0.09, 0.1, 0.9, 0.8, 0.1]),
        ];
        let scores = score_metrics(&input, &windows());
        assert!(scores.own_z_of("cart") > 10.0 && scores.symptom_z_of("cart") == 0.0, "{scores:?}");
        assert!(scores.symptom_z_of("frontend") > 10.0 && scores.own_z_of("frontend") == 0.0, "{scores:?}");
    }

    #[test]
    fn traffic_and_node_metrics_are_not_evidence_about_the_service() {
        for (metric, expected) in [
            ("CpuUsageRate(%)", Some(MetricKind::Resource)),
            ("MemoryUsageRate(%)", Some(MetricKind::Resource)),
            ("PodServerLatencyP99(s)", Some(MetricKind::Latency)),
            ("PodClientLatencyP99(s)", None),
            ("PodWorkload(Ops)", None),
            ("NetworkReceiveBytes", None),
            ("NodeCpuUsageRate(%)", None),
            ("PodSuccessRate(%)", None),
        ] {
            assert_eq!(classify(metric), expected, "{metric}");
        }
        let input = vec![series("cart", "PodWorkload(Ops)", &[5.0, 5.0, 5.0, 5.0, 5.0, 0.0, 0.0, 5.0])];
        let scores = score_metrics(&input, &windows());
        assert_eq!(scores.z_of("cart"), 0.0);
        assert!(scores.strongest.contains_key("cart"), "an observed service stays a candidate");
    }
}
