//! Trace-linked log lines: which service a log line's failure belongs to, when the line carries
//! the id of the trace (and span) it was written in and that trace's spans were recorded.
//!
//! A service that logs an error or a warning while serving a request has often just called
//! another service and is reporting what came back ("call to X failed", an empty answer, a
//! null it cannot use): the failing request may have gone wrong in the callee, and then the
//! caller's line is evidence about the callee. This is the link Nezha's event graphs draw
//! between a log event and the spans around it. The rule:
//!
//! - The line's *invocation* of its service S is found in its trace: the span named by the
//!   line's span id when it is one of S's, otherwise S's innermost span of the trace whose
//!   time contains the line. An invocation is S's part of the request, from the span where the
//!   request entered S down through S's internal spans (controller, repository, client).
//! - Its *calls* are the spans of other services whose parent is a span of that invocation.
//!   The candidate is the callee of the call that started last before the line: what S did
//!   just before it wrote the line. The start is read on S's own client span, timed by the
//!   same host as the line, not on the callee's span, whose clock may be skewed.
//! - The callee is blamed only when it **confirms** it: it wrote an error or warning line of
//!   its own in the same trace. The spans carry no status, so a caller's error after a call
//!   cannot by itself tell "the callee failed" from "I mishandled its answer", and a fault
//!   injected in a service's own code does the latter (on the Train Ticket day, moving every
//!   such line to the last callee took the food and basic services' own errors away from
//!   them: variant O in docs/benchmarks.md). The callee's own error line is the status the
//!   span lacks.
//! - From a confirmed callee the walk goes on from its last error or warning line in the
//!   trace, the same way, and stops at the deepest service that confirms: the chain of
//!   errors ends where the request first went wrong. A service already on the chain ends it.
//! - With no trace id, a trace not in the spans, no span of S around the line, no call before
//!   it or no confirmation, the line stays with S (as the engine read it without traces).
//!
//! Known limit: a call that failed before it reached its callee (no instance to connect to)
//! leaves no callee span and no callee line, so such a line stays with its caller.
//! [`crate::logs`] moves a template's evidence only when most of its lines agree.

use crate::Millis;
use crate::logs::{Level, LogLine};
use crate::traces::Span;
use std::collections::HashMap;

struct Recorded<'a> {
    service: &'a str,
    parent: Option<&'a str>,
    start: Millis,
    end: Millis,
}

/// The recorded spans, by trace, ready to link log lines to, with the error and warning lines
/// each service wrote in each trace (a callee's confirmation).
pub struct TraceIndex<'a> {
    traces: HashMap<&'a str, HashMap<&'a str, Recorded<'a>>>,
    /// (trace, service) → its error and warning lines in that trace: time and span id.
    failures: HashMap<(&'a str, &'a str), Vec<(Millis, Option<&'a str>)>>,
}

impl<'a> TraceIndex<'a> {
    pub fn new(spans: &'a [Span], lines: &'a [LogLine]) -> Self {
        let mut failures: HashMap<(&str, &str), Vec<(Millis, Option<&str>)>> = HashMap::new();
        for line in lines {
            if let Some(trace_id) = &line.trace_id
                && Level::of(&line.text) >= Level::Warning
            {
                failures.entry((trace_id.as_str(), line.service.as_str())).or_default().push((line.at, line.span_id.as_deref()));
            }
        }
        let mut traces: HashMap<&str, HashMap<&str, Recorded>> = HashMap::new();
        for span in spans {
            traces.entry(span.trace_id.as_str()).or_default().insert(
                span.span_id.as_str(),
                Recorded {
                    service: span.service.as_str(),
                    parent: span.parent_id.as_deref(),
                    start: span.start,
                    // A span's end, rounded up: a line written in its last microseconds is in it.
                    end: span.start + span.duration_ms.ceil() as Millis,
                },
            );
        }
        TraceIndex { traces, failures }
    }

    /// The service an error or warning line of `service` written at `at` in `trace_id` (and
    /// `span_id`, when known) blames: the deepest service down the chain of confirmed last
    /// calls, or `None` when nothing links it (the line then stays with its own service).
    pub fn blamed_callee(&self, service: &str, at: Millis, trace_id: &str, span_id: Option<&str>) -> Option<&'a str> {
        let mut chain: Vec<&str> = vec![service];
        let (mut at, mut span_id) = (at, span_id);
        let mut blamed = None;
        while let Some(callee) = self.last_callee(chain[chain.len() - 1], at, trace_id, span_id) {
            let Some(lines) = self.failures.get(&(trace_id, callee)) else { break };
            if chain.contains(&callee) {
                break;
            }
            blamed = Some(callee);
            chain.push(callee);
            // Its last error or warning in the trace is where its own part of the chain ends.
            let Some(&(last_at, last_span)) = lines.iter().max_by_key(|(line_at, _)| *line_at) else { break };
            (at, span_id) = (last_at, last_span);
        }
        blamed
    }

    /// The callee of the last call the line's invocation made before it, confirmed or not.
    fn last_callee(&self, service: &str, at: Millis, trace_id: &str, span_id: Option<&str>) -> Option<&'a str> {
        let trace = self.traces.get(trace_id)?;
        let named = span_id.filter(|id| trace.get(id).is_some_and(|span| span.service == service));
        let anchor = match named {
            Some(id) => trace.get_key_value(id).map(|(id, _)| *id)?,
            None => trace
                .iter()
                .filter(|(_, span)| span.service == service && span.start <= at && at <= span.end)
                .max_by(|left, right| left.1.start.cmp(&right.1.start).then_with(|| left.0.cmp(right.0)))
                .map(|(id, _)| *id)?,
        };
        let entry = entry_of(trace, anchor);
        trace
            .values()
            .filter(|span| span.service != service)
            .filter_map(|span| {
                let parent_id = span.parent?;
                let parent = trace.get(parent_id)?;
                (parent.service == service && parent.start <= at && entry_of(trace, parent_id) == entry).then_some((
                    parent.start,
                    span.start,
                    span.service,
                ))
            })
            .max()
            .map(|(_, _, callee)| callee)
    }
}

/// The span where the request entered the service of `id`: walk up while the parent is a
/// span of the same service.
fn entry_of<'a>(trace: &HashMap<&'a str, Recorded<'a>>, id: &'a str) -> &'a str {
    let mut current = id;
    // A malformed trace can hold a cycle; no real invocation is deeper than the trace.
    for _ in 0..trace.len() {
        let Some(span) = trace.get(current) else { break };
        match span.parent.and_then(|parent| trace.get_key_value(parent)) {
            Some((parent_id, parent)) if parent.service == span.service => current = parent_id,
            _ => break,
        }
    }
    current
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(id: &str, parent: Option<&str>, service: &str, start: Millis, duration_ms: f64) -> Span {
        Span {
            trace_id: "t1".into(),
            span_id: id.into(),
            parent_id: parent.map(str::to_string),
            service: service.into(),
            start,
            duration_ms,
        }
    }

    /// gateway → orders; orders' controller calls contacts (client span at 110, answered by
    /// 130), then prices (client span at 150, answered by 170), and returns at 200.
    fn trace() -> Vec<Span> {
        vec![
            span("g", None, "gateway", 100, 110.0),
            span("o", Some("g"), "orders", 101, 100.0),
            span("oc", Some("o"), "orders", 102, 98.0),
            span("oc1", Some("oc"), "orders", 110, 20.0),
            span("c", Some("oc1"), "contacts", 111, 18.0),
            span("oc2", Some("oc"), "orders", 150, 20.0),
            span("p", Some("oc2"), "prices", 152, 17.0),
        ]
    }

    fn failure(service: &str, at: Millis, span: &str) -> LogLine {
        LogLine {
            trace_id: Some("t1".into()),
            span_id: Some(span.into()),
            ..LogLine::new(service, at, "ERROR something went wrong")
        }
    }

    /// contacts and prices each logged an error in the trace: both confirm.
    fn confirmations() -> Vec<LogLine> {
        vec![failure("contacts", 120, "c"), failure("prices", 160, "p")]
    }

    #[test]
    fn a_line_after_a_call_blames_the_callee_of_the_last_call_before_it() {
        let (spans, lines) = (trace(), confirmations());
        let index = TraceIndex::new(&spans, &lines);
        assert_eq!(index.blamed_callee("orders", 175, "t1", Some("oc")), Some("prices"));
        assert_eq!(index.blamed_callee("orders", 140, "t1", Some("oc")), Some("contacts"));
        // Without a span id the line's invocation is found by its time.
        assert_eq!(index.blamed_callee("orders", 175, "t1", None), Some("prices"));
    }

    #[test]
    fn a_callee_that_logged_no_error_in_the_trace_does_not_confirm() {
        let spans = trace();
        let lines =
            vec![failure("contacts", 120, "c"), LogLine { text: "INFO price computed".into(), ..failure("prices", 160, "p") }];
        let index = TraceIndex::new(&spans, &lines);
        assert_eq!(index.blamed_callee("orders", 175, "t1", Some("oc")), None, "prices only logged INFO");
        assert_eq!(TraceIndex::new(&spans, &[]).blamed_callee("orders", 175, "t1", Some("oc")), None);
    }

    #[test]
    fn the_walk_goes_down_to_the_deepest_service_that_confirms() {
        // prices called rates before its own error, and rates logged one too: rates is blamed.
        let mut spans = trace();
        spans.push(span("p1", Some("p"), "prices", 153, 10.0));
        spans.push(span("r", Some("p1"), "rates", 154, 5.0));
        let mut lines = confirmations();
        lines.push(failure("rates", 156, "r"));
        let index = TraceIndex::new(&spans, &lines);
        assert_eq!(index.blamed_callee("orders", 175, "t1", Some("oc")), Some("rates"));
        assert_eq!(index.blamed_callee("prices", 160, "t1", Some("p")), Some("rates"));
    }

    #[test]
    fn a_line_with_no_trace_or_an_unknown_trace_stays_with_its_service() {
        let (spans, lines) = (trace(), confirmations());
        let index = TraceIndex::new(&spans, &lines);
        assert_eq!(index.blamed_callee("orders", 175, "t2", Some("oc")), None);
        assert_eq!(TraceIndex::new(&[], &lines).blamed_callee("orders", 175, "t1", None), None);
    }

    #[test]
    fn a_line_before_any_call_stays_with_its_service() {
        let (spans, lines) = (trace(), confirmations());
        let index = TraceIndex::new(&spans, &lines);
        assert_eq!(index.blamed_callee("orders", 105, "t1", Some("oc")), None, "the calls came after the line");
        assert_eq!(index.blamed_callee("prices", 160, "t1", Some("p")), None, "a leaf calls nobody");
        assert_eq!(index.blamed_callee("orders", 500, "t1", None), None, "no span of orders holds the line");
    }

    #[test]
    fn calls_of_another_invocation_of_the_service_are_not_this_lines() {
        // prices is called twice in the trace; its second invocation logs before calling anyone,
        // while its first called rates: the first invocation's call is not the second's.
        let mut spans = trace();
        spans.push(span("p1", Some("p"), "prices", 153, 10.0));
        spans.push(span("r", Some("p1"), "rates", 154, 5.0));
        spans.push(span("oc3", Some("oc"), "orders", 180, 15.0));
        spans.push(span("p2", Some("oc3"), "prices", 181, 12.0));
        let mut lines = confirmations();
        lines.push(failure("rates", 156, "r"));
        let index = TraceIndex::new(&spans, &lines);
        assert_eq!(index.blamed_callee("prices", 165, "t1", Some("p1")), Some("rates"));
        assert_eq!(index.blamed_callee("prices", 185, "t1", Some("p2")), None);
    }
}
