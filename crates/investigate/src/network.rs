//! The network signal, from spans: how long a call spent between its caller and its callee
//! (the caller's client span minus the callee's own span, [`Call::network_ms`]) after the
//! onset. A delay injected at a service's network shows nowhere in that service's own spans,
//! metrics or logs: its callers wait longer than it works.
//!
//! The delay lands on the calls *into* the service (its callers' requests reach it late, or
//! its answers leave late), not on the calls it makes, so a shift is blamed on the callee.
//! The service at fault is the one whose incoming calls slowed together: its evidence is the
//! lower median of the shifts of every edge into it, so a service with one slow caller among
//! several quiet ones gets nothing. This is evidence of the service's own behaviour, not a
//! symptom: a slow callee lengthens its own span, not the gap around it.
//!
//! Network time varies by factors between edges (a connection pool, a payload's size), but
//! in a healthy cluster every edge sits within a few times the same milliseconds. So each
//! edge is held to the level and spread of all edges before the onset, not to its own past:
//! recordings cut close to the onset leave most edges without a baseline of their own, and an
//! earlier fault in the same service leaves its delay in that baseline.

use crate::Windows;
use crate::evidence::{Evidence, Modality, ServiceScores};
use crate::robust::{log_scale, median};
use crate::traces::{Call, MIN_CALLS_FOR_LATENCY};
use std::collections::BTreeMap;

/// Network times below this are clock skew between two hosts, not a faster network.
const LEAST_NETWORK_MS: f64 = 0.1;

/// One edge's measured shift, kept to quote it.
#[derive(Debug)]
struct EdgeShift<'a> {
    caller: &'a str,
    /// Only a longer wait counts: a network that got faster is no fault.
    z: f64,
    observed_ms: f64,
}

pub fn score_network(calls: &[Call], windows: &Windows) -> ServiceScores {
    let mut scores = ServiceScores::new(Modality::Traces);
    let mut before: Vec<f64> = Vec::new();
    let mut after_by_edge: BTreeMap<(&str, &str), Vec<f64>> = BTreeMap::new();
    for call in calls {
        let Some(network_ms) = call.network_ms else { continue };
        let log_network_ms = network_ms.max(LEAST_NETWORK_MS).ln();
        if windows.is_before(call.start) {
            before.push(log_network_ms);
        } else if windows.is_after(call.start) {
            after_by_edge.entry((call.callee.as_str(), call.caller.as_str())).or_default().push(log_network_ms);
        }
    }
    if before.len() < MIN_CALLS_FOR_LATENCY {
        return scores;
    }
    let Some(level) = median(&before) else { return scores };
    let scale = log_scale(&before, level);
    let mut shifts_by_callee: BTreeMap<&str, Vec<EdgeShift>> = BTreeMap::new();
    for ((callee, caller), after) in &after_by_edge {
        if after.len() < MIN_CALLS_FOR_LATENCY {
            continue;
        }
        let Some(observed) = median(after) else { continue };
        shifts_by_callee.entry(callee).or_default().push(EdgeShift {
            caller,
            z: ((observed - level) / scale).max(0.0),
            observed_ms: observed.exp(),
        });
    }
    for (service, mut shifts) in shifts_by_callee {
        scores.observe(service);
        shifts.sort_by(|left, right| left.z.total_cmp(&right.z));
        // The lower median: at least half of the edges into the service reached it.
        let together = &shifts[(shifts.len() - 1) / 2];
        let slowest = shifts.last().expect("a service is listed only with an edge");
        scores.add_own(Evidence {
            modality: Modality::Traces,
            service: service.to_string(),
            signal: format!("network of {service}"),
            detail: format!(
                "after the onset, calls into it from at least half of its {} callers waited {:.1} ms or more beyond its own time (the most, from {}, {:.1} ms), against {:.1} ms for calls in this system before",
                shifts.len(),
                together.observed_ms,
                slowest.caller,
                slowest.observed_ms,
                level.exp()
            ),
            z: together.z,
        });
    }
    scores
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::traces::tests::span;
    use crate::traces::{Span, calls};

    /// One trace a second for two minutes: gateway → auth → verify, and auth → users, each
    /// call made from a client span of its own. After the onset at one minute, `delayed`'s
    /// network is `delay_ms` slower: every call into it waits that much more, while every
    /// server span keeps its length.
    fn traces(delayed: &str, delay_ms: f64) -> Vec<Span> {
        let mut spans = Vec::new();
        for second in 0..120_i64 {
            let trace = second as usize;
            let start = second * 1000;
            let jitter = (second % 5) as f64 * 0.2;
            let late = |callee: &str| if second >= 60 && callee == delayed { delay_ms } else { 0.0 };
            let (verify_ms, users_ms) = (4.0 + jitter, 6.0 + jitter);
            let verify_call = verify_ms + 2.0 + jitter + late("verify");
            let users_call = users_ms + 3.0 + late("users");
            let auth_ms = 10.0 + verify_call + users_call;
            let auth_call = auth_ms + 2.5 - jitter + late("auth");
            spans.push(span(trace, "g", None, "gateway", start, auth_call + 1.0));
            spans.push(span(trace, "g-client", Some("g"), "gateway", start, auth_call));
            spans.push(span(trace, "a", Some("g-client"), "auth", start + 1, auth_ms));
            spans.push(span(trace, "a-verify", Some("a"), "auth", start + 2, verify_call));
            spans.push(span(trace, "v", Some("a-verify"), "verify", start + 3, verify_ms));
            spans.push(span(trace, "a-users", Some("a"), "auth", start + 4, users_call));
            spans.push(span(trace, "u", Some("a-users"), "users", start + 5, users_ms));
        }
        spans
    }

    fn windows() -> Windows {
        Windows { onset: 60_000, before_ms: 60_000, after_ms: 60_000 }
    }

    #[test]
    fn a_delayed_leaf_is_blamed_and_its_caller_is_not() {
        let scores = score_network(&calls(&traces("verify", 1000.0)), &windows());
        assert!(scores.own_z_of("verify") > 10.0, "{scores:?}");
        // auth → verify waited longer, but gateway → auth and auth → users did not.
        assert_eq!(scores.own_z_of("auth"), 0.0, "{scores:?}");
        assert!(scores.own_z_of("users") < 3.0, "{scores:?}");
        assert_eq!(scores.symptom_z_of("verify"), 0.0, "the network is the service's own evidence");
    }

    #[test]
    fn a_delayed_service_in_the_middle_is_blamed_and_not_the_services_it_calls() {
        let scores = score_network(&calls(&traces("auth", 500.0)), &windows());
        assert!(scores.own_z_of("auth") > 10.0, "{scores:?}");
        for neighbour in ["gateway", "verify", "users"] {
            assert!(scores.own_z_of(neighbour) < 3.0, "{scores:?}");
        }
    }

    #[test]
    fn one_slow_caller_among_quiet_ones_does_not_blame_the_callee() {
        let mut spans = traces("nobody", 0.0);
        // Three callers of verify; after the onset only the calls from auth wait longer.
        for second in 0..120_i64 {
            for (index, caller) in ["billing", "signup"].iter().enumerate() {
                let trace = 1000 + second as usize * 2 + index;
                spans.push(span(trace, "c", None, caller, second * 1000, 8.0));
                spans.push(span(trace, "c-client", Some("c"), caller, second * 1000, 6.0 + (second % 3) as f64 * 0.3));
                spans.push(span(trace, "v", Some("c-client"), "verify", second * 1000 + 1, 4.0));
            }
        }
        for span in &mut spans {
            if span.start >= 60_000 && span.span_id == "a-verify" {
                span.duration_ms += 800.0;
            }
        }
        let scores = score_network(&calls(&spans), &windows());
        assert_eq!(scores.own_z_of("verify"), 0.0, "{scores:?}");
    }

    #[test]
    fn an_edge_never_called_before_the_onset_is_held_to_the_others_level() {
        let mut spans = traces("verify", 1000.0);
        // auth → verify is first called after the onset: it has no level of its own.
        let early_verify_traces: Vec<String> =
            spans.iter().filter(|span| span.span_id == "v" && span.start < 60_000).map(|span| span.trace_id.clone()).collect();
        spans.retain(|span| {
            !(early_verify_traces.contains(&span.trace_id) && (span.span_id == "v" || span.span_id == "a-verify"))
        });
        let scores = score_network(&calls(&spans), &windows());
        assert!(scores.own_z_of("verify") > 10.0, "{scores:?}");
        assert_eq!(scores.own_z_of("auth"), 0.0, "{scores:?}");
    }

    #[test]
    fn with_no_network_time_before_the_onset_nothing_is_scored() {
        let spans: Vec<Span> = traces("verify", 1000.0).into_iter().filter(|span| span.start >= 60_000).collect();
        assert!(score_network(&calls(&spans), &windows()).own.is_empty());
    }

    #[test]
    fn a_slow_callee_is_not_a_network_fault() {
        let mut spans = traces("nobody", 0.0);
        // After the onset verify takes 500 ms longer, and so does auth's client span around it.
        for span in &mut spans {
            if span.start >= 60_000 && (span.span_id == "v" || span.span_id == "a-verify") {
                span.duration_ms += 500.0;
            }
        }
        let scores = score_network(&calls(&spans), &windows());
        assert!(scores.own.values().all(|z| *z < 3.0), "{scores:?}");
    }

    #[test]
    fn a_parent_covering_several_calls_measures_no_network() {
        let spans = traces("verify", 1000.0);
        let all_calls = calls(&spans);
        let auth_calls: Vec<&Call> = all_calls.iter().filter(|call| call.callee == "auth").collect();
        assert!(auth_calls.iter().all(|call| call.network_ms.is_some()));
        let mut merged = spans.clone();
        // Drop auth's client spans: both calls now hang from auth's server span.
        merged.retain(|span| span.span_id != "a-verify" && span.span_id != "a-users");
        for span in &mut merged {
            if span.span_id == "v" || span.span_id == "u" {
                span.parent_id = Some("a".into());
            }
        }
        let merged_calls = calls(&merged);
        assert!(merged_calls.iter().filter(|call| call.caller == "auth").all(|call| call.network_ms.is_none()));
    }
}
