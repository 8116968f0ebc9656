//! Trace-linked log lines: which service a log line's failure belongs to, when the line carries
//! the id of the trace (and span) it was written in and that trace's spans were recorded.
//!
//! A service that logs an error or a warning while serving a request has often just called
//! another service and is reporting what came back ("call to X failed", an empty answer, a
//! null it cannot use): the failing request went wrong in the callee, and the caller's line is
//! evidence about the callee. This is the link Nezha's event graphs draw between a log event
//! and the spans around it. The rule, one hop per line:
//!
//! - The line's *invocation* of its service S is found in its trace: the span named by the
//!   line's span id when it is one of S's, otherwise S's innermost span of the trace whose
//!   time contains the line. An invocation is S's part of the request, from the span where the
//!   request entered S down through S's internal spans (controller, repository, client).
//! - Its *calls* are the spans of other services whose parent is a span of that invocation.
//!   The line blames the callee of the call that started last before the line: what S did
//!   just before it wrote the line. The start is read on S's own client span, timed by the
//!   same host as the line, not on the callee's span, whose clock may be skewed.
//! - Nothing else is walked: the callee's own calls are not followed, because without a span
//!   status nothing says that one of them failed, and every call a callee makes precedes its
//!   end, so walking further would always land on a leaf. If the callee's failure came from
//!   deeper down, the callee's own error lines carry it one more hop.
//! - With no trace id, a trace not in the spans, no span of S around the line or no call
//!   before it, the line stays with S (the engine then reads it as it did without traces).
//!
//! Known limit: a call that failed before it reached its callee (no instance to connect to)
//! leaves no callee span, so a line about it blames the callee of the last call that did
//! reach one. [`crate::logs`] moves a template's evidence only when most of its lines agree.

use crate::Millis;
use crate::traces::Span;
use std::collections::HashMap;

struct Recorded<'a> {
    service: &'a str,
    parent: Option<&'a str>,
    start: Millis,
    end: Millis,
}

/// The recorded spans, by trace, ready to link log lines to.
pub struct TraceIndex<'a> {
    traces: HashMap<&'a str, HashMap<&'a str, Recorded<'a>>>,
}

impl<'a> TraceIndex<'a> {
    pub fn new(spans: &'a [Span]) -> Self {
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
        TraceIndex { traces }
    }

    /// The service a line of `service` written at `at` in `trace_id` (and `span_id`, when
    /// known) blames: the callee of the invocation's last call before the line, or `None`
    /// when nothing links it (the line then stays with its own service).
    pub fn blamed_callee(&self, service: &str, at: Millis, trace_id: &str, span_id: Option<&str>) -> Option<&'a str> {
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

    #[test]
    fn a_line_after_a_call_blames_the_callee_of_the_last_call_before_it() {
        let spans = trace();
        let index = TraceIndex::new(&spans);
        assert_eq!(index.blamed_callee("orders", 175, "t1", Some("oc")), Some("prices"));
        assert_eq!(index.blamed_callee("orders", 140, "t1", Some("oc")), Some("contacts"));
        // Without a span id the line's invocation is found by its time.
        assert_eq!(index.blamed_callee("orders", 175, "t1", None), Some("prices"));
    }

    #[test]
    fn a_line_with_no_trace_or_an_unknown_trace_stays_with_its_service() {
        let spans = trace();
        let index = TraceIndex::new(&spans);
        assert_eq!(index.blamed_callee("orders", 175, "t2", Some("oc")), None);
        assert_eq!(TraceIndex::new(&[]).blamed_callee("orders", 175, "t1", None), None);
    }

    #[test]
    fn a_line_before_any_call_stays_with_its_service() {
        let spans = trace();
        let index = TraceIndex::new(&spans);
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
        let index = TraceIndex::new(&spans);
        assert_eq!(index.blamed_callee("prices", 165, "t1", Some("p1")), Some("rates"));
        assert_eq!(index.blamed_callee("prices", 185, "t1", Some("p2")), None);
    }
}
