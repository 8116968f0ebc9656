//! Stored telemetry as the investigation engine's input, as pure functions: the windows
//! around an onset cut at the "as of" time, log lines with their level where the engine looks
//! for it, spans as calls (spans that had not ended by "as of" left out: they were not known
//! yet), metric points as per-pod series, and what the recording covers.

use jiff::{SignedDuration, Timestamp};
use staunch_investigate::logs::{LogBatch, LogLine as EngineLogLine};
use staunch_investigate::metrics::MetricSeries;
use staunch_investigate::traces::{Span as EngineSpan, SpanBatch};
use staunch_investigate::{CallGraph, CaseInput, Millis, Windows};
use staunch_store::{LogLine, MetricPoint, Span, SpanStatus};
use std::collections::BTreeMap;

/// How much telemetry around an onset an investigation reads: `before` is the normal the
/// incident is compared with, `after` what the incident changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lookaround {
    pub before: SignedDuration,
    pub after: SignedDuration,
}

impl Default for Lookaround {
    /// A quarter of an hour of normal is enough for robust rates and medians without reaching
    /// back into an earlier incident; five minutes after is what the first page usually has.
    fn default() -> Self {
        Lookaround { before: SignedDuration::from_mins(15), after: SignedDuration::from_mins(5) }
    }
}

/// The engine's windows and the `[from, to)` range to read, or `None` when `as_of` leaves
/// nothing after the onset to compare.
pub fn windows(onset: Timestamp, as_of: Timestamp, lookaround: Lookaround) -> Option<(Windows, Timestamp, Timestamp)> {
    let onset_ms = onset.as_millisecond();
    // The engine's after-window is inclusive of its end; the read range excludes `to`.
    let after_ms = lookaround.after.as_millis().min(i128::from(as_of.as_millisecond() - onset_ms - 1));
    if after_ms < 0 {
        return None;
    }
    let after_ms = after_ms as i64;
    let before_ms = lookaround.before.as_millis().max(0) as i64;
    let windows = Windows { onset: onset_ms, before_ms, after_ms };
    let from = onset.checked_sub(SignedDuration::from_millis(before_ms)).ok()?;
    let to = onset.checked_add(SignedDuration::from_millis(after_ms + 1)).ok()?;
    Some((windows, from, to))
}

/// The engine reads a line's level from its first words.
fn level_word(level: &str) -> &'static str {
    match level {
        "error" | "err" | "fatal" | "critical" | "crit" | "alert" | "emerg" | "emergency" | "severe" | "panic" => "ERROR",
        "warn" | "warning" => "WARN",
        _ => "INFO",
    }
}

/// The recording covers a modality from the first item pushed in the range on: before that,
/// nothing was being sent, which is not the same as a quiet service.
fn covered_from(first: Option<Millis>, to: Timestamp) -> Vec<(Millis, Millis)> {
    first.map(|first| vec![(first, to.as_millisecond())]).unwrap_or_default()
}

/// Everything read for one window as the engine's case, or `None` when nothing was read.
/// Spans that ended at or after `as_of` are left out. Error spans also count as error lines
/// of their service (`ERROR span <operation> failed`): the engine's trace signals look at
/// latency and call rates only, and a burst of failing calls is what a fault looks like.
pub fn case_input(
    windows: Windows,
    to: Timestamp,
    as_of: Timestamp,
    logs: &[LogLine],
    spans: &[Span],
    metrics: &[MetricPoint],
    graph: CallGraph,
) -> Option<CaseInput> {
    let finished: Vec<&Span> = spans.iter().filter(|span| span.end() < as_of).collect();
    if logs.is_empty() && finished.is_empty() && metrics.is_empty() {
        return None;
    }
    let mut lines: Vec<EngineLogLine> = logs
        .iter()
        .map(|line| EngineLogLine {
            service: line.service.clone(),
            at: line.at.as_millisecond(),
            text: format!("{} {}", level_word(&line.level), line.message),
            trace_id: attribute_id(line, "trace_id"),
            span_id: attribute_id(line, "span_id"),
        })
        .collect();
    lines.extend(finished.iter().filter(|span| span.status == SpanStatus::Error).map(|span| EngineLogLine {
        service: span.service.clone(),
        at: span.start.as_millisecond(),
        text: format!("ERROR span {} failed", span.operation),
        trace_id: Some(span.trace_id.clone()),
        span_id: Some(span.span_id.clone()),
    }));
    let first_line = lines.iter().map(|line| line.at).min();
    let log_batch = (!lines.is_empty()).then(|| LogBatch { covered: covered_from(first_line, to), lines });
    let span_batch = (!finished.is_empty()).then(|| SpanBatch {
        covered: covered_from(finished.iter().map(|span| span.start.as_millisecond()).min(), to),
        spans: finished
            .iter()
            .map(|span| EngineSpan {
                trace_id: span.trace_id.clone(),
                span_id: span.span_id.clone(),
                parent_id: span.parent_span_id.clone(),
                service: span.service.clone(),
                start: span.start.as_millisecond(),
                duration_ms: span.duration_ms,
            })
            .collect(),
    });
    Some(CaseInput {
        windows,
        metrics: metric_series(metrics),
        edge_series: Vec::new(),
        spans: span_batch,
        logs: log_batch,
        graph,
    })
}

/// A series' name: (service, pod, metric).
type SeriesKey<'a> = (&'a str, Option<&'a str>, &'a str);

/// One series per (service, pod, metric), points in time order.
fn metric_series(points: &[MetricPoint]) -> Vec<MetricSeries> {
    let mut series: BTreeMap<SeriesKey, Vec<(Millis, f64)>> = BTreeMap::new();
    for point in points {
        series
            .entry((&point.service, point.pod.as_deref(), &point.name))
            .or_default()
            .push((point.at.as_millisecond(), point.value));
    }
    series
        .into_iter()
        .map(|((service, _, metric), mut points)| {
            points.sort_by_key(|(at, _)| *at);
            MetricSeries { service: service.to_string(), metric: metric.to_string(), points }
        })
        .collect()
}

/// A pushed line's trace context, when its attributes carry it as a string (`trace_id`,
/// `span_id`, the names OpenTelemetry's log records use): it links the line to the spans of
/// its request. The push API stores attributes as sent, so this needs no new field.
fn attribute_id(line: &LogLine, key: &str) -> Option<String> {
    let value = line.attributes.as_ref()?.get(key)?.as_str()?.trim();
    (!value.is_empty()).then(|| value.to_string())
}

#[cfg(test)]
#[path = "case_tests.rs"]
mod tests;
