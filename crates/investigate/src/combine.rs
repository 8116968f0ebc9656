//! The combiner: runs every signal a case has data for, reads each modality's z-scores as how
//! far they single a service out from its peers, combines the modalities as independent
//! witnesses (own evidence and symptoms apart), propagates the symptoms over the call graph,
//! and ranks services with their evidence and a confidence. Below the confidence threshold
//! the investigation abstains: it still lists its ranking, but says it does not know.

use crate::Windows;
use crate::evidence::{Evidence, Modality, ServiceScores};
use crate::graph::{CallGraph, propagate};
use crate::logs::{LogBatch, score_logs};
use crate::metrics::{MetricSeries, score_metrics};
use crate::network::score_network;
use crate::peers::stand_out;
use crate::traces::{EdgeSeries, SpanBatch, call_graph, calls, score_edge_series, score_spans};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Everything known about one incident. Any modality may be empty.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseInput {
    pub windows: Windows,
    pub metrics: Vec<MetricSeries>,
    pub edge_series: Vec<EdgeSeries>,
    pub spans: Option<SpanBatch>,
    pub logs: Option<LogBatch>,
    /// Known dependencies (a catalog, a dependency file); edges seen in spans are added.
    pub graph: CallGraph,
}

/// The method's constants, fixed in advance and the same for every system.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Settings {
    /// The z at which a signal is half-way to certain: three robust standard deviations, the
    /// n-sigma rule's threshold.
    pub half_strength_z: f64,
    /// Softmax temperature turning final scores into confidences.
    pub temperature: f64,
    /// Below this confidence in the first hypothesis the investigation abstains.
    pub abstain_below: f64,
    /// Observations quoted for and against each hypothesis.
    pub evidence_per_hypothesis: usize,
    /// How far back before the onset metric and per-edge series are read for their baseline,
    /// when the input has that much (it is never shorter than the case's before window).
    /// Minute-level series are cheap to keep, and five points give a MAD that mistakes the
    /// ordinary jitter of a sparse latency percentile for a fault; thirty points measure it.
    /// The median and MAD stay robust to the earlier faults such a window holds, each a few
    /// minutes of it.
    pub series_history_ms: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            half_strength_z: 3.0,
            temperature: 0.1,
            abstain_below: 0.3,
            evidence_per_hypothesis: 4,
            series_history_ms: 30 * 60_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hypothesis {
    pub service: String,
    pub score: f64,
    /// Probability-like share of belief in this service among all candidates.
    pub confidence: f64,
    pub evidence_for: Vec<Evidence>,
    /// Plain sentences: what weakens this hypothesis.
    pub evidence_against: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Investigation {
    /// Every candidate service, most likely first.
    pub hypotheses: Vec<Hypothesis>,
    /// True when the first hypothesis is below the confidence threshold: "I don't know yet".
    pub abstained: bool,
    pub modalities: Vec<Modality>,
}

impl Investigation {
    pub fn ranking(&self) -> impl Iterator<Item = &str> {
        self.hypotheses.iter().map(|hypothesis| hypothesis.service.as_str())
    }
}

pub fn investigate(input: &CaseInput, settings: &Settings) -> Investigation {
    let mut graph = input.graph.clone();
    let mut per_modality: Vec<ServiceScores> = Vec::new();
    let series_windows = Windows { before_ms: input.windows.before_ms.max(settings.series_history_ms), ..input.windows };
    let metric_scores = score_metrics(&input.metrics, &series_windows);
    if !metric_scores.is_empty() {
        per_modality.push(metric_scores);
    }
    let mut trace_scores = score_edge_series(&input.edge_series, &series_windows);
    if let Some(spans) = &input.spans {
        let span_calls = calls(&spans.spans);
        graph.merge(&call_graph(&span_calls));
        let from_spans = score_spans(spans, &span_calls, &input.windows);
        for service in from_spans.strongest.keys() {
            trace_scores.observe(service);
        }
        for evidence in from_spans.evidence.into_values().flatten() {
            trace_scores.add(evidence);
        }
        // The network signal is the only own evidence traces give (see `network`).
        for evidence in score_network(&span_calls, &input.windows).evidence.into_values().flatten() {
            trace_scores.add_own(evidence);
        }
    }
    if !trace_scores.is_empty() {
        per_modality.push(trace_scores);
    }
    if let Some(logs) = &input.logs {
        let log_scores = score_logs(logs, &input.windows);
        if !log_scores.is_empty() {
            per_modality.push(log_scores);
        }
    }
    combine(&per_modality, &graph, settings)
}

/// Strength in [0, 1): z / (z + z½). Monotone in z, so each modality's ranking is kept, and
/// bounded, so one modality's extreme z cannot drown the others.
fn strength(z: f64, settings: &Settings) -> f64 {
    z / (z + settings.half_strength_z)
}

pub fn combine(per_modality: &[ServiceScores], graph: &CallGraph, settings: &Settings) -> Investigation {
    let services: BTreeSet<&str> = per_modality.iter().flat_map(|scores| scores.strongest.keys().map(String::as_str)).collect();
    let modalities: Vec<Modality> = per_modality.iter().map(|scores| scores.modality).collect();
    // Each modality's evidence is read as how much it singles a service out from its peers
    // in this case, the peers being the services that modality observed: a service it never
    // saw is no quiet peer, and counting it as one lowers the bar for everyone else; the modalities are then combined as independent witnesses (noisy-OR), so
    // one modality that clearly singles a service out is enough, and agreement adds to it.
    // Symptoms (latency, call rates, traffic) travel along calls, so only they are propagated
    // over the call graph; evidence of a service's own misbehaviour is added after, unmoved.
    // Below the n-sigma threshold a shift is what any service does by chance, not a witness:
    // counting it lets a busy service's ordinary noise add up across modalities.
    let witness = |z: f64| if z >= settings.half_strength_z { z } else { 0.0 };
    let noisy_or = |z_of: &dyn Fn(&ServiceScores, &str) -> f64| -> BTreeMap<String, f64> {
        let standing: Vec<BTreeMap<String, f64>> = per_modality
            .iter()
            .map(|scores| {
                stand_out(&scores.strongest.keys().map(|service| (service.clone(), witness(z_of(scores, service)))).collect())
            })
            .collect();
        services
            .iter()
            .map(|service| {
                let doubt: f64 =
                    standing.iter().map(|peers| 1.0 - strength(peers.get(*service).copied().unwrap_or(0.0), settings)).product();
                (service.to_string(), 1.0 - doubt)
            })
            .collect()
    };
    let own = noisy_or(&|scores, service| scores.own_z_of(service));
    let symptoms = noisy_or(&|scores, service| scores.symptom_z_of(service));
    let mut propagated = propagate(&symptoms, graph);
    for (service, result) in propagated.iter_mut() {
        result.score += own.get(service).copied().unwrap_or(0.0);
    }
    let mut ranked: Vec<(&String, f64)> = propagated.iter().map(|(service, result)| (service, result.score)).collect();
    ranked.sort_by(|left, right| right.1.total_cmp(&left.1).then_with(|| left.0.cmp(right.0)));
    let top = ranked.first().map_or(0.0, |(_, score)| *score);
    let weights: Vec<f64> = ranked.iter().map(|(_, score)| ((score - top) / settings.temperature).exp()).collect();
    let total_weight: f64 = weights.iter().sum();
    let hypotheses: Vec<Hypothesis> = ranked
        .iter()
        .zip(&weights)
        .map(|((service, score), weight)| {
            let mut evidence_for: Vec<Evidence> = per_modality
                .iter()
                .filter_map(|scores| scores.evidence.get(*service))
                .flatten()
                .filter(|evidence| evidence.z >= settings.half_strength_z)
                .cloned()
                .collect();
            evidence_for.sort_by(|left, right| right.z.total_cmp(&left.z));
            evidence_for.truncate(settings.evidence_per_hypothesis);
            let result = &propagated[*service];
            let mut evidence_against = Vec::new();
            if let Some((callee, share)) = &result.explained_by {
                evidence_against.push(format!("its callee {callee} is anomalous too and explains {share:.2} of its score"));
            }
            for scores in per_modality {
                if scores.z_of(service) < settings.half_strength_z {
                    evidence_against.push(format!(
                        "no clear {} shift ({:.1} sd at most)",
                        scores.modality.name(),
                        scores.z_of(service)
                    ));
                }
            }
            for modality in Modality::ALL {
                if !modalities.contains(&modality) {
                    evidence_against.push(format!("no {} to check", modality.name()));
                }
            }
            if let Some((caller, share)) = &result.blamed_by {
                evidence_for.push(Evidence {
                    modality: Modality::Traces,
                    service: service.to_string(),
                    signal: format!("caller {caller} anomalous"),
                    detail: format!(
                        "its caller {caller} is anomalous too ({share:.2} of excess in common), which a fault here would explain"
                    ),
                    z: 0.0,
                });
            }
            Hypothesis {
                service: service.to_string(),
                score: *score,
                confidence: if total_weight > 0.0 { weight / total_weight } else { 0.0 },
                evidence_for,
                evidence_against,
            }
        })
        .collect();
    let abstained = hypotheses.first().is_none_or(|first| first.confidence < settings.abstain_below);
    Investigation { hypotheses, abstained, modalities }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::LogLine;
    use crate::traces::tests::span;

    const MINUTE: i64 = 60_000;

    fn windows() -> Windows {
        Windows { onset: 5 * MINUTE, before_ms: 5 * MINUTE, after_ms: 3 * MINUTE }
    }

    fn metric(service: &str, name: &str, values: &[f64]) -> MetricSeries {
        MetricSeries {
            service: service.into(),
            metric: name.into(),
            points: values.iter().enumerate().map(|(index, value)| (index as i64 * MINUTE, *value)).collect(),
        }
    }

    /// Six services, quiet except `faulty`, whose CPU jumps after the onset, and `slowed`,
    /// its callers, which get slower (louder than the root's own signal).
    fn metrics_with_fault(faulty: &str, slowed: &[&str]) -> Vec<MetricSeries> {
        let mut series = Vec::new();
        for (index, service) in ["frontend", "cart", "checkout", "payment", "email", "ads"].iter().enumerate() {
            let base = 10.0 + index as f64;
            let wobble = [0.0, 0.4, -0.3, 0.2, -0.1, 0.3, -0.2, 0.1];
            let mut cpu: Vec<f64> = wobble.iter().map(|delta| base + delta).collect();
            let mut latency: Vec<f64> = wobble.iter().map(|delta| 0.1 + delta / 100.0).collect();
            if *service == faulty {
                cpu[5] = base * 6.0;
                cpu[6] = base * 6.0;
            }
            if slowed.contains(service) {
                latency[5] = 0.9;
                latency[6] = 0.8;
            }
            series.push(metric(service, "CpuUsageRate(%)", &cpu));
            series.push(metric(service, "PodServerLatencyP99(s)", &latency));
        }
        series
    }

    fn graph() -> CallGraph {
        let mut graph = CallGraph::new();
        for callee in ["cart", "checkout", "ads"] {
            graph.add("frontend", callee);
        }
        graph.add("checkout", "payment");
        graph.add("checkout", "email");
        graph
    }

    fn case(metrics: Vec<MetricSeries>) -> CaseInput {
        CaseInput { windows: windows(), metrics, edge_series: vec![], spans: None, logs: None, graph: graph() }
    }

    #[test]
    fn metrics_alone_still_answer_and_rank_the_planted_root_first() {
        let investigation = investigate(&case(metrics_with_fault("payment", &["frontend", "checkout"])), &Settings::default());
        assert_eq!(investigation.modalities, [Modality::Metrics]);
        assert_eq!(investigation.ranking().next(), Some("payment"), "{investigation:#?}");
        let first = &investigation.hypotheses[0];
        assert!(first.evidence_for.iter().any(|evidence| evidence.signal == "CpuUsageRate(%)"));
        assert!(first.evidence_against.iter().any(|sentence| sentence == "no logs to check"));
        let total: f64 = investigation.hypotheses.iter().map(|hypothesis| hypothesis.confidence).sum();
        assert!((total - 1.0).abs() < 1e-9);
        assert!(!investigation.abstained, "{investigation:#?}");
    }

    #[test]
    fn an_entry_point_with_its_own_resource_anomaly_outranks_its_slowed_callees() {
        // frontend has no callers; its CPU is the fault, and its callees look slow (their
        // latency is measured while frontend starves). Own evidence is not propagated away.
        let investigation =
            investigate(&case(metrics_with_fault("frontend", &["cart", "checkout", "ads"])), &Settings::default());
        assert_eq!(investigation.ranking().next(), Some("frontend"), "{investigation:#?}");
    }

    #[test]
    fn one_modality_that_singles_a_service_out_is_enough() {
        // Every service's latency doubles (a symptom everywhere, singling nobody out); only
        // email logs a new error. Averaging modalities would drown the one clear witness.
        let mut metrics = Vec::new();
        for service in ["frontend", "cart", "checkout", "payment", "email", "ads"] {
            let wobble = [0.0, 0.4, -0.3, 0.2, -0.1, 0.3, -0.2, 0.1];
            let latency: Vec<f64> =
                wobble.iter().enumerate().map(|(minute, delta)| (if minute >= 5 { 0.2 } else { 0.1 }) + delta / 100.0).collect();
            metrics.push(metric(service, "PodServerLatencyP99(s)", &latency));
        }
        let mut lines = Vec::new();
        for second in 0..480 {
            for service in ["frontend", "cart", "checkout", "payment", "email", "ads"] {
                lines.push(LogLine::new(service, second * 1000, &format!("INFO {service} handled {second}")));
            }
            if second > 320 && second % 10 == 0 {
                lines.push(LogLine::new("email", second * 1000, "ERROR smtp relay refused"));
            }
        }
        let mut input = case(metrics);
        input.logs = Some(LogBatch { lines, covered: vec![] });
        let investigation = investigate(&input, &Settings::default());
        assert_eq!(investigation.ranking().next(), Some("email"), "{investigation:#?}");
    }

    #[test]
    fn series_history_measures_a_series_usual_jitter() {
        // ads's latency swings between 0.1 and 0.19 all the time but happened to be calm in
        // the five minutes before the onset; against thirty minutes it is ordinary.
        let windows = Windows { onset: 35 * MINUTE, before_ms: 5 * MINUTE, after_ms: 3 * MINUTE };
        let latency: Vec<f64> = (0..39)
            .map(|minute| match minute {
                30..=34 => 0.1,
                35.. => 0.18,
                _ => 0.1 + 0.01 * ((minute * 7) % 10) as f64,
            })
            .collect();
        let input = CaseInput {
            windows,
            metrics: vec![metric("ads", "PodServerLatencyP99(s)", &latency)],
            edge_series: vec![],
            spans: None,
            logs: None,
            graph: CallGraph::new(),
        };
        let quoted = |settings: &Settings| investigate(&input, settings).hypotheses[0].evidence_for.len();
        assert_eq!(quoted(&Settings::default()), 0, "thirty minutes of history know this swing");
        let short = Settings { series_history_ms: 0, ..Settings::default() };
        assert_eq!(quoted(&short), 1, "five calm minutes alone make the usual swing look like a fault");
    }

    #[test]
    fn logs_alone_still_answer() {
        let mut lines = Vec::new();
        for second in 0..480 {
            let at = second * 1000;
            lines.push(LogLine::new("cart", at, &format!("INFO cart item {second} added")));
            lines.push(LogLine::new("email", at, &format!("INFO mail {second} sent")));
            if second > 320 && second % 3 == 0 {
                lines.push(LogLine::new("email", at, &format!("ERROR smtp relay refused message {second}")));
            }
        }
        let input = CaseInput {
            windows: windows(),
            metrics: vec![],
            edge_series: vec![],
            spans: None,
            logs: Some(LogBatch { lines, covered: vec![] }),
            graph: CallGraph::new(),
        };
        let investigation = investigate(&input, &Settings::default());
        assert_eq!(investigation.modalities, [Modality::Logs]);
        assert_eq!(investigation.ranking().next(), Some("email"));
    }

    #[test]
    fn spans_add_their_call_graph_and_evidence() {
        let mut spans = Vec::new();
        for second in 0..480_i64 {
            let start = second * 1000;
            let slow = if start >= 5 * MINUTE { 20.0 } else { 1.0 };
            spans.push(span(second as usize, "a", None, "checkout", start, 10.0 * slow));
            spans.push(span(second as usize, "b", Some("a"), "payment", start, 5.0 * slow + (second % 3) as f64));
        }
        let mut input = case(metrics_with_fault("none", &[]));
        input.spans = Some(SpanBatch { spans, covered: vec![] });
        let investigation = investigate(&input, &Settings::default());
        assert_eq!(investigation.modalities, [Modality::Metrics, Modality::Traces]);
        assert_eq!(investigation.ranking().next(), Some("payment"), "{investigation:#?}");
    }

    #[test]
    fn a_delayed_network_is_found_though_no_span_of_the_service_moved() {
        let mut spans = Vec::new();
        for second in 0..480_i64 {
            let start = second * 1000;
            let delay = if start >= 5 * MINUTE { 400.0 } else { 0.0 };
            let jitter = (second % 3) as f64 * 0.5;
            let trace = second as usize;
            let (payment_ms, cart_ms) = (5.0 + jitter, 3.0 + jitter);
            let (payment_call, cart_call) = (payment_ms + 2.0 + delay, cart_ms + 2.5 - jitter);
            spans.push(span(trace, "a", None, "checkout", start, 4.0 + payment_call + cart_call));
            spans.push(span(trace, "a-payment", Some("a"), "checkout", start, payment_call));
            spans.push(span(trace, "p", Some("a-payment"), "payment", start + 1, payment_ms));
            spans.push(span(trace, "a-cart", Some("a"), "checkout", start, cart_call));
            spans.push(span(trace, "c", Some("a-cart"), "cart", start + 1, cart_ms));
        }
        let mut input = case(metrics_with_fault("none", &[]));
        input.spans = Some(SpanBatch { spans, covered: vec![] });
        let investigation = investigate(&input, &Settings::default());
        let first = &investigation.hypotheses[0];
        assert_eq!(first.service, "payment", "{investigation:#?}");
        assert_eq!(first.evidence_for[0].signal, "network of payment", "{investigation:#?}");
    }

    #[test]
    fn without_any_anomaly_it_abstains() {
        let investigation = investigate(&case(metrics_with_fault("none", &[])), &Settings::default());
        assert!(investigation.abstained, "{investigation:#?}");
        assert!(!investigation.hypotheses.is_empty(), "an abstaining investigation still shows its ranking");
    }

    #[test]
    fn with_no_data_at_all_it_abstains_with_no_hypotheses() {
        let input = CaseInput {
            windows: windows(),
            metrics: vec![],
            edge_series: vec![],
            spans: None,
            logs: None,
            graph: CallGraph::new(),
        };
        let investigation = investigate(&input, &Settings::default());
        assert!(investigation.abstained);
        assert!(investigation.hypotheses.is_empty());
        assert!(investigation.modalities.is_empty());
    }
}
