//! Trace signals, per call edge (caller service → callee service): how much the latency of
//! the calls shifted after the onset, and how much their rate shifted. Latency is blamed on
//! the callee (it answered slowly, or its network did); a change in how often a caller calls
//! is blamed on the caller (a service that fails stops making its downstream calls, while
//! its callees merely see less traffic).
//!
//! Edges come either from raw spans (Train Ticket) or as ready-made per-edge latency series
//! (Online Boutique's caller/callee percentiles); both feed the same modality.

use crate::evidence::{Evidence, Modality, ServiceScores};
use crate::graph::CallGraph;
use crate::robust::{count_shift, ratio_shift_of_extreme, shift_of_median};
use crate::{Millis, Windows};
use std::collections::{BTreeMap, HashMap};

/// One span of a distributed trace.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    pub trace_id: String,
    pub span_id: String,
    /// `None` for a root span.
    pub parent_id: Option<String>,
    pub service: String,
    pub start: Millis,
    pub duration_ms: f64,
}

/// Spans and the time ranges the recording covers (a gap in the recording is not a silence
/// of the system). With no ranges, the windows are assumed fully covered.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SpanBatch {
    pub spans: Vec<Span>,
    pub covered: Vec<(Millis, Millis)>,
}

/// A per-edge latency series, already aggregated (e.g. one median per minute).
#[derive(Debug, Clone, PartialEq)]
pub struct EdgeSeries {
    pub caller: String,
    pub callee: String,
    /// Which view of the edge, e.g. `measured at caller`.
    pub view: String,
    pub points: Vec<(Millis, f64)>,
}

/// One call from one service to another: a span whose parent lives in another service.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub caller: String,
    pub callee: String,
    pub start: Millis,
    /// The callee's own span: how long it took to answer once the request reached it.
    pub duration_ms: f64,
    /// How much longer the caller waited than the callee worked: the caller's span minus the
    /// callee's, when the caller's span wraps this call alone (a client span). That is time
    /// on the wire and in queues between the two, which the callee's own span never shows.
    /// `None` when the parent span also covers other work of the caller's.
    pub network_ms: Option<f64>,
}

/// The calls between services in `spans`. A span whose parent is not in the batch (it fell
/// outside the recording) cannot be placed and is skipped.
pub fn calls(spans: &[Span]) -> Vec<Call> {
    let by_id: HashMap<(&str, &str), &Span> =
        spans.iter().map(|span| ((span.trace_id.as_str(), span.span_id.as_str()), span)).collect();
    let mut children: HashMap<(&str, &str), usize> = HashMap::new();
    for span in spans {
        if let Some(parent) = span.parent_id.as_deref() {
            *children.entry((span.trace_id.as_str(), parent)).or_default() += 1;
        }
    }
    spans
        .iter()
        .filter_map(|span| {
            let parent_key = (span.trace_id.as_str(), span.parent_id.as_deref()?);
            let parent = *by_id.get(&parent_key)?;
            (parent.service != span.service).then(|| Call {
                caller: parent.service.clone(),
                callee: span.service.clone(),
                start: span.start,
                duration_ms: span.duration_ms,
                network_ms: (children.get(&parent_key) == Some(&1)).then_some(parent.duration_ms - span.duration_ms),
            })
        })
        .collect()
}

pub fn call_graph(calls: &[Call]) -> CallGraph {
    let mut graph = CallGraph::new();
    for call in calls {
        graph.add(&call.caller, &call.callee);
    }
    graph
}

/// Seconds of `[start, end)` that the recording covers; everything when nothing is listed.
pub fn covered_seconds(covered: &[(Millis, Millis)], start: Millis, end: Millis) -> f64 {
    if covered.is_empty() {
        return (end - start) as f64 / 1000.0;
    }
    let overlap: i64 = covered.iter().map(|(from, to)| (to.min(&end) - from.max(&start)).max(0)).sum();
    overlap as f64 / 1000.0
}

/// Fewer calls than this on either side and a latency median means nothing.
pub(crate) const MIN_CALLS_FOR_LATENCY: usize = 3;

/// Latency and call-rate symptoms per edge; `calls` are [`calls`] of `batch.spans`.
pub fn score_spans(batch: &SpanBatch, calls: &[Call], windows: &Windows) -> ServiceScores {
    let mut scores = ServiceScores::new(Modality::Traces);
    let before_seconds = covered_seconds(&batch.covered, windows.onset - windows.before_ms, windows.onset);
    let after_seconds = covered_seconds(&batch.covered, windows.onset, windows.onset + windows.after_ms + 1);
    let mut edges: BTreeMap<(String, String), (Vec<f64>, Vec<f64>)> = BTreeMap::new();
    for span in &batch.spans {
        scores.observe(&span.service);
    }
    for call in calls {
        let (before, after) = edges.entry((call.caller.clone(), call.callee.clone())).or_default();
        if windows.is_before(call.start) {
            before.push(call.duration_ms);
        } else if windows.is_after(call.start) {
            after.push(call.duration_ms);
        }
    }
    for ((caller, callee), (before, after)) in &edges {
        if before.len() >= MIN_CALLS_FOR_LATENCY
            && after.len() >= MIN_CALLS_FOR_LATENCY
            && let Some(shift) = shift_of_median(before, after)
        {
            scores.add(Evidence {
                modality: Modality::Traces,
                service: callee.clone(),
                signal: format!("{caller} -> {callee} latency"),
                detail: format!(
                    "calls from {caller} took a median {:.1} ms after the onset against {:.1} ms before ({:.1} robust sd)",
                    shift.observed, shift.baseline, shift.z
                ),
                z: shift.z,
            });
        }
        let rate_z = count_shift(before.len() as f64, before_seconds, after.len() as f64, after_seconds);
        scores.add(Evidence {
            modality: Modality::Traces,
            service: caller.clone(),
            signal: format!("{caller} -> {callee} call rate"),
            detail: format!(
                "{caller} called {callee} {} times in {:.0} s after the onset against {} in {:.0} s before ({rate_z:+.1} sd)",
                after.len(),
                after_seconds,
                before.len(),
                before_seconds
            ),
            z: rate_z.abs(),
        });
    }
    scores
}

/// Per-edge latency series, each blamed on its callee.
pub fn score_edge_series(series: &[EdgeSeries], windows: &Windows) -> ServiceScores {
    let mut scores = ServiceScores::new(Modality::Traces);
    for edge in series {
        scores.observe(&edge.caller);
        scores.observe(&edge.callee);
        // Latencies vary by factors (see `ratio_shift_of_extreme`, which also skips the zeros
        // of minutes without calls).
        let before: Vec<f64> = edge.points.iter().filter(|(at, _)| windows.is_before(*at)).map(|(_, value)| *value).collect();
        let after: Vec<f64> = edge.points.iter().filter(|(at, _)| windows.is_after(*at)).map(|(_, value)| *value).collect();
        let Some(shift) = ratio_shift_of_extreme(&before, &after) else { continue };
        scores.add(Evidence {
            modality: Modality::Traces,
            service: edge.callee.clone(),
            signal: format!("{} -> {} latency ({})", edge.caller, edge.callee, edge.view),
            detail: format!(
                "edge latency went from a median of {:.4} to {:.4} ({:.1} robust sd)",
                shift.baseline, shift.observed, shift.z
            ),
            z: shift.z,
        });
    }
    scores
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A span of trace `t{trace}`, for tests here and in the modules built on spans.
    pub(crate) fn span(trace: usize, id: &str, parent: Option<&str>, service: &str, start: Millis, duration_ms: f64) -> Span {
        Span {
            trace_id: format!("t{trace}"),
            span_id: id.to_string(),
            parent_id: parent.map(str::to_string),
            service: service.to_string(),
            start,
            duration_ms,
        }
    }

    /// One trace a second for two minutes: gateway → orders → (contacts, prices). After the
    /// onset at one minute, prices answers ten times slower.
    fn traces() -> SpanBatch {
        let mut spans = Vec::new();
        for second in 0..120 {
            let start = second * 1000;
            let slow = if second >= 60 { 10.0 } else { 1.0 };
            let jitter = (second % 5) as f64 * 0.1;
            spans.push(span(second as usize, "a", None, "gateway", start, 30.0 * slow));
            spans.push(span(second as usize, "b", Some("a"), "orders", start + 1, 20.0 * slow));
            spans.push(span(second as usize, "c", Some("b"), "contacts", start + 2, 5.0 + jitter));
            spans.push(span(second as usize, "d", Some("b"), "prices", start + 3, (8.0 + jitter) * slow));
        }
        SpanBatch { spans, covered: vec![(0, 120_000)] }
    }

    fn windows() -> Windows {
        Windows { onset: 60_000, before_ms: 60_000, after_ms: 60_000 }
    }

    #[test]
    fn calls_join_spans_to_their_parents_across_services() {
        let batch = traces();
        let calls = calls(&batch.spans);
        assert_eq!(calls.len(), 3 * 120);
        let graph = call_graph(&calls);
        assert_eq!(graph.callees_of("orders").collect::<Vec<_>>(), ["contacts", "prices"]);
        assert_eq!(graph.callers_of("orders").collect::<Vec<_>>(), ["gateway"]);
    }

    #[test]
    fn a_slow_edge_is_blamed_on_its_callee_and_a_steady_rate_on_nobody() {
        let batch = traces();
        let scores = score_spans(&batch, &calls(&batch.spans), &windows());
        assert!(scores.z_of("prices") > 10.0, "{scores:?}");
        assert!(scores.z_of("contacts") < 1.0, "{scores:?}");
        let evidence = &scores.evidence["prices"][0];
        assert_eq!(evidence.signal, "orders -> prices latency");
    }

    #[test]
    fn a_caller_that_stops_calling_is_blamed_for_the_drop() {
        let mut batch = traces();
        batch.spans.retain(|span| !(span.service == "prices" && span.start >= 60_000));
        let scores = score_spans(&batch, &calls(&batch.spans), &windows());
        let evidence = &scores.evidence["orders"];
        assert!(evidence.iter().any(|item| item.signal == "orders -> prices call rate" && item.z > 3.0), "{evidence:?}");
    }

    #[test]
    fn edge_series_blame_the_callee() {
        let points = |values: &[f64]| values.iter().enumerate().map(|(index, value)| (index as i64 * 60_000, *value)).collect();
        let series = vec![
            EdgeSeries {
                caller: "frontend".into(),
                callee: "cart".into(),
                view: "caller".into(),
                points: points(&[3.0, 3.1, 2.9, 3.0, 3.0, 250.0, 240.0]),
            },
            EdgeSeries {
                caller: "frontend".into(),
                callee: "ads".into(),
                view: "caller".into(),
                points: points(&[8.0, 8.2, 7.9, 8.0, 8.1, 8.0, 8.3]),
            },
        ];
        let windows = Windows { onset: 5 * 60_000, before_ms: 5 * 60_000, after_ms: 3 * 60_000 };
        let scores = score_edge_series(&series, &windows);
        // 3 ms to 250 ms is about 4.4 on a log scale, 46 tenths-of-a-level.
        assert!(scores.z_of("cart") > 40.0, "{scores:?}");
        assert!(scores.z_of("ads") < 1.0);
        assert_eq!(scores.z_of("frontend"), 0.0);
    }

    #[test]
    fn coverage_counts_only_recorded_time() {
        assert_eq!(covered_seconds(&[], 0, 60_000), 60.0);
        assert_eq!(covered_seconds(&[(0, 30_000), (50_000, 90_000)], 0, 60_000), 40.0);
    }
}
