//! Log signals: lines are mined into templates (see [`crate::drain`]), then each service's
//! template counts after the onset are compared with the rate before it. A template that
//! bursts, above all an error template never seen before the onset, is evidence against the
//! service that logged it, measured against how much the template already came in bursts
//! before the onset. A fall counts only for a template that stops while its service
//! goes on logging (a code path the fault skips): a service whose callers fail logs less
//! overall, which says nothing against it.

use crate::drain::{Drain, DrainSettings};
use crate::evidence::{Evidence, Modality, ServiceScores};
use crate::robust::count_shift;
use crate::traces::covered_seconds;
use crate::{Millis, Windows};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    pub service: String,
    pub at: Millis,
    pub text: String,
    /// The trace the line was written in, when the logger records it. The engine does not
    /// use it yet: linking a line to the callee its request called last was tried and not
    /// kept (variants O and P in docs/benchmarks.md); readers keep it for what comes next.
    pub trace_id: Option<String>,
    /// The span the line was written in (one of its service's spans), when recorded.
    pub span_id: Option<String>,
}

impl LogLine {
    /// A line with no trace context.
    pub fn new(service: &str, at: Millis, text: &str) -> Self {
        LogLine { service: service.to_string(), at, text: text.to_string(), trace_id: None, span_id: None }
    }
}

/// Log lines and the time ranges the recording covers (see [`crate::traces::SpanBatch`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogBatch {
    pub lines: Vec<LogLine>,
    pub covered: Vec<(Millis, Millis)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Other,
    Warning,
    Error,
}

impl Level {
    /// The first level keyword among a line's first tokens decides; a line with none is an
    /// error when it carries an exception or a stack frame.
    pub fn of(line: &str) -> Level {
        for token in line.split_whitespace().take(4) {
            match token.to_ascii_uppercase().as_str() {
                "ERROR" | "FATAL" | "SEVERE" | "CRITICAL" => return Level::Error,
                "WARN" | "WARNING" => return Level::Warning,
                "INFO" | "DEBUG" | "TRACE" => return Level::Other,
                _ => {}
            }
        }
        if line.contains("Exception") || line.trim_start().starts_with("at ") {
            return Level::Error;
        }
        Level::Other
    }

    /// How much a burst of this level counts. Errors are what a fault produces; a burst of
    /// ordinary lines is as often a burst of traffic.
    fn weight(self) -> f64 {
        match self {
            Level::Error => 1.0,
            Level::Warning => 0.5,
            Level::Other => 0.25,
        }
    }
}

pub fn score_logs(batch: &LogBatch, windows: &Windows) -> ServiceScores {
    let mut scores = ServiceScores::new(Modality::Logs);
    let before_seconds = covered_seconds(&batch.covered, windows.onset - windows.before_ms, windows.onset);
    let after_seconds = covered_seconds(&batch.covered, windows.onset, windows.onset + windows.after_ms + 1);
    let mut drain = Drain::new(DrainSettings::default());
    // (service, template) → (level, count before, count after)
    let mut counts: BTreeMap<(String, usize), (Level, f64, f64)> = BTreeMap::new();
    // (service, template) → its lines per burstiness bucket of the before window
    let mut before_buckets: BTreeMap<(String, usize), BTreeMap<i64, f64>> = BTreeMap::new();
    let baseline_start = windows.onset - windows.before_ms;
    let mut ordered: Vec<&LogLine> = batch.lines.iter().collect();
    // Mining in time order makes the templates independent of the order files were read in.
    ordered.sort_by_key(|line| line.at);
    for line in ordered {
        scores.observe(&line.service);
        let before = windows.is_before(line.at);
        if !before && !windows.is_after(line.at) {
            continue;
        }
        let template = drain.add(&line.text);
        let entry = counts.entry((line.service.clone(), template)).or_insert((Level::Other, 0.0, 0.0));
        entry.0 = entry.0.max(Level::of(&line.text));
        if before {
            entry.1 += 1.0;
            let bucket = (line.at - baseline_start) / BURST_BUCKET_MS;
            *before_buckets.entry((line.service.clone(), template)).or_default().entry(bucket).or_default() += 1.0;
        } else {
            entry.2 += 1.0;
        }
    }
    let mut lines_after: BTreeMap<&str, f64> = BTreeMap::new();
    for ((service, _), (_, _, after)) in &counts {
        *lines_after.entry(service.as_str()).or_default() += after;
    }
    let recorded_buckets = covered_buckets(&batch.covered, baseline_start, windows.onset);
    for ((service, template), (level, before, after)) in &counts {
        let (level, before, after) = (*level, *before, *after);
        let z = count_shift(before, before_seconds, after, after_seconds);
        let still_logging = lines_after.get(service.as_str()).copied().unwrap_or(0.0) > after;
        if z < 0.0 && still_logging {
            // A code path that logged steadily and stopped while its service goes on logging:
            // the event a fault skips (Nezha's expected-but-missing event). A service that
            // falls silent altogether is not blamed: its callers may simply have stopped.
            let text = drain.template(*template).map(|template| template.text()).unwrap_or_default();
            scores.add_own(Evidence {
                modality: Modality::Logs,
                service: service.clone(),
                signal: format!("silenced template #{template}"),
                detail: format!(
                    "{after} lines in {after_seconds:.0} s after the onset against {before} in {before_seconds:.0} s before ({z:.1} sd) while the service kept logging: {}",
                    shorten(&text, 160)
                ),
                z: -z,
            });
            continue;
        }
        if z <= 0.0 {
            continue;
        }
        // A template that already came in bursts before the onset bursts by habit: its rise is
        // measured against its own clumping (a quasi-Poisson z), not against a steady rate.
        let dispersion =
            before_buckets.get(&(service.clone(), *template)).map_or(1.0, |buckets| dispersion_index(buckets, &recorded_buckets));
        let z = z / dispersion.max(1.0).sqrt();
        let text = drain.template(*template).map(|template| template.text()).unwrap_or_default();
        let novelty = if before == 0.0 { "new " } else { "" };
        let evidence = Evidence {
            modality: Modality::Logs,
            service: service.clone(),
            signal: format!("{novelty}{level:?} template #{template}").to_lowercase(),
            detail: format!(
                "{after} lines in {after_seconds:.0} s after the onset against {before} in {before_seconds:.0} s before ({z:.1} sd): {}",
                shorten(&text, 160)
            ),
            z: z * level.weight(),
        };
        // An error or warning a service writes is about itself; a burst of ordinary lines is
        // as often a burst of traffic its callers sent.
        if level >= Level::Warning {
            scores.add_own(evidence);
        } else {
            scores.add(evidence);
        }
    }
    scores
}

/// Width of the buckets a template's clumping is measured in before the onset: short enough
/// that a minute of baseline gives several, long enough that a steady template fills each.
const BURST_BUCKET_MS: i64 = 10_000;

/// The buckets of `[start, end)` the recording covers in full (every one when nothing is listed).
fn covered_buckets(covered: &[(Millis, Millis)], start: Millis, end: Millis) -> Vec<i64> {
    (0..(end - start) / BURST_BUCKET_MS)
        .filter(|bucket| {
            let from = start + bucket * BURST_BUCKET_MS;
            covered.is_empty() || covered.iter().any(|(begin, until)| *begin <= from && from + BURST_BUCKET_MS <= *until)
        })
        .collect()
}

/// Variance over mean of a template's counts per recorded bucket (1 for a Poisson stream, more
/// when it clumps); 1 when there are too few buckets or lines to tell.
fn dispersion_index(counts: &BTreeMap<i64, f64>, buckets: &[i64]) -> f64 {
    if buckets.len() < 3 {
        return 1.0;
    }
    let values: Vec<f64> = buckets.iter().map(|bucket| counts.get(bucket).copied().unwrap_or(0.0)).collect();
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    if mean <= 0.0 {
        return 1.0;
    }
    let variance = values.iter().map(|value| (value - mean).powi(2)).sum::<f64>() / (values.len() - 1) as f64;
    variance / mean
}

fn shorten(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_string();
    }
    let cut: String = text.chars().take(limit).collect();
    format!("{cut}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(service: &str, at: Millis, text: &str) -> LogLine {
        LogLine::new(service, at, text)
    }

    fn steady_traffic() -> Vec<LogLine> {
        let mut lines = Vec::new();
        for second in 0..120 {
            let at = second * 1000;
            lines.push(line("orders", at, &format!("INFO OrderServiceImpl create order {second} for user u{second}")));
            lines.push(line("prices", at + 1, &format!("INFO PriceServiceImpl price of route {second} is 100")));
            if second % 20 == 0 {
                lines.push(line("orders", at + 2, "WARN OrderServiceImpl slow query on table orders 12 ms"));
            }
        }
        lines
    }

    fn windows() -> Windows {
        Windows { onset: 60_000, before_ms: 60_000, after_ms: 60_000 }
    }

    #[test]
    fn a_new_error_template_after_the_onset_points_at_its_service() {
        let mut lines = steady_traffic();
        for second in 70..100 {
            lines.push(line(
                "prices",
                second * 1000,
                &format!("ERROR PriceServiceImpl route {second} has no price: NullPointerException"),
            ));
        }
        let scores = score_logs(&LogBatch { lines, covered: vec![(0, 120_000)] }, &windows());
        assert!(scores.z_of("prices") > 5.0, "{scores:?}");
        assert!(scores.z_of("orders") < 1.0, "{scores:?}");
        let evidence = &scores.evidence["prices"][0];
        assert!(evidence.signal.starts_with("new error template"), "{evidence:?}");
        assert!(evidence.detail.contains("PriceServiceImpl"), "{evidence:?}");
    }

    #[test]
    fn steady_logs_give_no_evidence() {
        let scores = score_logs(&LogBatch { lines: steady_traffic(), covered: vec![] }, &windows());
        assert!(scores.z_of("orders") < 1.5 && scores.z_of("prices") < 1.5, "{scores:?}");
    }

    #[test]
    fn a_code_path_that_stops_logging_while_its_service_goes_on_is_evidence() {
        let mut lines = steady_traffic();
        for second in 0..120 {
            if second < 60 {
                lines.push(line(
                    "prices",
                    second * 1000 + 5,
                    &format!("INFO PriceServiceImpl discount for route {second} applied"),
                ));
            }
        }
        let scores = score_logs(&LogBatch { lines, covered: vec![(0, 120_000)] }, &windows());
        let evidence = &scores.evidence["prices"][0];
        assert!(evidence.signal.starts_with("silenced template"), "{evidence:?}");
        assert!(scores.own_z_of("prices") > 3.0, "{scores:?}");
        assert!(scores.z_of("orders") < 1.5, "{scores:?}");
    }

    #[test]
    fn errors_are_own_evidence_and_ordinary_bursts_are_symptoms() {
        let mut lines = steady_traffic();
        for second in 60..120 {
            lines.push(line("prices", second * 1000 + 7, "ERROR PriceServiceImpl no price for route: NullPointerException"));
            for copy in 0..3 {
                lines.push(line(
                    "orders",
                    second * 1000 + 8 + copy,
                    &format!("INFO OrderServiceImpl retry {copy} of order {second}"),
                ));
            }
        }
        let scores = score_logs(&LogBatch { lines, covered: vec![(0, 120_000)] }, &windows());
        assert!(scores.own_z_of("prices") > 5.0, "{scores:?}");
        assert!(scores.own_z_of("orders") < 1.0 && scores.symptom_z_of("orders") > 10.0, "{scores:?}");
    }

    #[test]
    fn a_template_that_already_came_in_bursts_is_not_new_evidence() {
        // Both services log one warning a second on average before the onset; `orders` in
        // bursts of thirty every thirty seconds, `prices` steadily. After the onset both log three a
        // second: a burst for the steady template, the habit of the bursty one.
        let mut lines = Vec::new();
        for second in 0..120 {
            let at = second * 1000;
            let before = second < 60;
            if !before || second % 30 == 0 {
                let copies = if before { 30 } else { 3 };
                for copy in 0..copies {
                    lines.push(line("orders", at + copy, "WARN OrderServiceImpl left ticket info is empty"));
                }
            }
            for copy in 0..(if before { 1 } else { 3 }) {
                lines.push(line("prices", at + copy, "WARN PriceServiceImpl no discount for route"));
            }
        }
        let scores = score_logs(&LogBatch { lines, covered: vec![(0, 120_000)] }, &windows());
        assert!(scores.own_z_of("prices") > 3.0, "{scores:?}");
        assert!(scores.own_z_of("orders") < scores.own_z_of("prices") / 2.0, "{scores:?}");
        assert!(scores.own_z_of("orders") < 3.0, "{scores:?}");
    }

    #[test]
    fn dispersion_of_steady_and_clumped_counts() {
        let steady: BTreeMap<i64, f64> = (0..6).map(|bucket| (bucket, 10.0)).collect();
        let clumped: BTreeMap<i64, f64> = [(0, 60.0)].into_iter().collect();
        let buckets: Vec<i64> = (0..6).collect();
        assert_eq!(dispersion_index(&steady, &buckets), 0.0);
        assert!(dispersion_index(&clumped, &buckets) > 50.0);
        assert_eq!(dispersion_index(&clumped, &buckets[..2]), 1.0, "too few buckets to tell");
        assert_eq!(covered_buckets(&[(0, 35_000)], 0, 60_000), [0, 1, 2]);
        assert_eq!(covered_buckets(&[], 0, 60_000).len(), 6);
    }

    #[test]
    fn a_service_that_falls_silent_is_not_blamed() {
        let mut lines = steady_traffic();
        lines.retain(|line| !(line.service == "prices" && line.at >= 60_000));
        let scores = score_logs(&LogBatch { lines, covered: vec![(0, 120_000)] }, &windows());
        assert_eq!(scores.z_of("prices"), 0.0);
    }

    #[test]
    fn levels_are_read_from_the_head_of_the_line() {
        assert_eq!(Level::of("16:42:22.382 ERROR t.s.TravelServiceImpl#532 failed"), Level::Error);
        assert_eq!(Level::of("16:42:22.382 WARN  o.OrderServiceImpl slow"), Level::Warning);
        assert_eq!(Level::of("16:42:22.382 INFO  t.s.TravelServiceImpl ok"), Level::Other);
        assert_eq!(Level::of("java.lang.IllegalStateException: boom"), Level::Error);
        assert_eq!(Level::of("INFO message mentions ERROR later on"), Level::Other);
    }
}
