//! Deciding, tick by tick, whether an SLO pages, opens a ticket, is fine, or cannot be told.
//!
//! The evaluator keeps three rings: per-minute buckets for the alert windows up to 6h, per-5-
//! minute buckets for longer ones (the 1d and 3d ticket windows by default), and per-hour
//! buckets for the whole period (the budget view). Coarse buckets cut memory per SLO from
//! 40 KB to 15 KB (10,000 SLOs fit in well under 200 MB); the price is bounded: a coarse
//! window of length L always covers the last L minus at most 4 minutes (it leaves out only the
//! oldest minutes of the oldest bucket, never adds any), i.e. at most 0.28% of a day and
//! 0.09% of three days, on windows whose thresholds (3× and 1×) are far coarser than that. Each rule of the
//! multi-window multi-burn-rate set fires when the error ratio over both its long and its
//! short window is strictly above `factor × error budget` — the same comparison the
//! generated Prometheus rules make — and resolves as soon as that stops being true.
//!
//! Low traffic: a rule only fires when its long window saw at least `min_events` events, so
//! three failures out of five requests overnight do not page anyone. The trade-off is
//! documented in the README: an SLO with less traffic than that never pages on burn rate.
//!
//! Unknown: when the source has not been read successfully for `stale_after`, or its last
//! read failed, the state is `Unknown` — never `Ok` — and no alert opens or resolves until
//! readings return, so an outage of the metrics pipeline neither floods nor silences pages.

use std::collections::BTreeSet;

use jiff::Timestamp;

use crate::duration::HumanDuration;

use super::counters::{BucketRing, Counts, MINUTE_MS};
use super::objective::Objective;
use super::windows::{AlertWindows, BurnWindowRule, Severity};

const HOUR_MS: u64 = 3_600_000;
/// Windows longer than this are counted in coarse buckets.
pub const FINE_WINDOW_LIMIT_MS: u64 = 6 * HOUR_MS;
/// The width of the coarse buckets.
pub const COARSE_BUCKET_MS: u64 = 5 * MINUTE_MS;

#[derive(Debug, Clone, PartialEq)]
pub struct EvaluatorConfig {
    pub objective: Objective,
    pub windows: AlertWindows,
    /// Events a rule's long window must hold before the rule may fire.
    pub min_events: u64,
    /// How long without a successful read before the state becomes unknown.
    pub stale_after: HumanDuration,
}

impl EvaluatorConfig {
    pub fn new(objective: Objective, windows: AlertWindows) -> EvaluatorConfig {
        EvaluatorConfig { objective, windows, min_events: 100, stale_after: HumanDuration::from_secs(5 * 60) }
    }
}

/// Which rule fired. Sev1 is the fast page (page quick), sev2 the sustained one (page
/// slow); tickets page nobody.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FiringLevel {
    Sev1Page,
    Sev2Page,
    Ticket,
}

impl FiringLevel {
    pub fn severity(self) -> Severity {
        match self {
            FiringLevel::Sev1Page | FiringLevel::Sev2Page => Severity::Page,
            FiringLevel::Ticket => Severity::Ticket,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SloState {
    Ok,
    /// The most urgent level firing.
    Firing(FiringLevel),
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertTransition {
    Opened(FiringLevel),
    Resolved(FiringLevel),
    BecameUnknown,
    BecameKnown,
}

/// What one tick found.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub state: SloState,
    /// Every level whose rule holds now, most urgent first (empty when unknown).
    pub firing: Vec<FiringLevel>,
    /// Burn rate (error ratio ÷ error budget) per distinct window, shortest first; `None`
    /// for a window without events.
    pub burn_rates: Vec<(HumanDuration, Option<f64>)>,
    /// The share of the period's budget left (negative once overspent); `None` without events.
    pub budget_remaining: Option<f64>,
    pub transitions: Vec<AlertTransition>,
}

/// One SLO's incremental evaluator.
#[derive(Debug, Clone)]
pub struct Evaluator {
    config: EvaluatorConfig,
    rules: [BurnWindowRule; 4],
    windows: Vec<HumanDuration>,
    /// Per window (in `windows` order): whether it is coarse, and its index in that ring.
    window_slots: Vec<(bool, usize)>,
    minutes: BucketRing,
    coarse: BucketRing,
    hours: BucketRing,
    last_good_read: Option<Timestamp>,
    last_read_failed: bool,
    unknown: bool,
    open: BTreeSet<FiringLevel>,
}

fn millis(at: Timestamp) -> u64 {
    u64::try_from(at.as_millisecond()).unwrap_or(0)
}

impl Evaluator {
    pub fn new(config: EvaluatorConfig) -> Evaluator {
        let windows = config.windows.distinct_windows();
        let (mut fine_lengths, mut coarse_lengths) = (Vec::new(), Vec::new());
        let window_slots = windows
            .iter()
            .map(|window| {
                let length = window.as_millis();
                if length > FINE_WINDOW_LIMIT_MS {
                    coarse_lengths.push(length);
                    (true, coarse_lengths.len() - 1)
                } else {
                    fine_lengths.push(length);
                    (false, fine_lengths.len() - 1)
                }
            })
            .collect();
        let minutes = BucketRing::new(MINUTE_MS, &fine_lengths);
        let coarse = BucketRing::new(COARSE_BUCKET_MS, &coarse_lengths);
        let hours = BucketRing::new(HOUR_MS, &[config.windows.period.as_millis()]);
        Evaluator {
            rules: config.windows.rules(),
            config,
            windows,
            window_slots,
            minutes,
            coarse,
            hours,
            last_good_read: None,
            last_read_failed: false,
            unknown: true,
            open: BTreeSet::new(),
        }
    }

    /// Events read from the source for the minute containing `at` (a successful read).
    pub fn record(&mut self, at: Timestamp, bad: u64, total: u64) {
        let at_ms = millis(at);
        self.minutes.record(at_ms, bad, total);
        self.coarse.record(at_ms, bad, total);
        self.hours.record(at_ms, bad, total);
        self.last_good_read = Some(self.last_good_read.map_or(at, |last| last.max(at)));
        self.last_read_failed = false;
    }

    /// The source could not be read (Prometheus down, malformed answer).
    pub fn read_failed(&mut self) {
        self.last_read_failed = true;
    }

    /// Events over `window` ending now (a coarse window: see the module's bound).
    pub fn window_counts(&self, window: HumanDuration) -> Counts {
        let Some(position) = self.windows.iter().position(|candidate| *candidate == window) else {
            return Counts::default();
        };
        match self.window_slots[position] {
            (true, index) => self.coarse.window(index),
            (false, index) => self.minutes.window(index),
        }
    }

    fn rule_fires(&self, rule: &BurnWindowRule, threshold_budget: f64) -> bool {
        let long = self.window_counts(rule.long);
        let short = self.window_counts(rule.short);
        if long.total < self.config.min_events {
            return false;
        }
        let threshold = rule.factor * threshold_budget;
        matches!((long.error_ratio(), short.error_ratio()), (Some(long), Some(short)) if long > threshold && short > threshold)
    }

    fn level_of(rule_index: usize) -> FiringLevel {
        match rule_index {
            0 => FiringLevel::Sev1Page,
            1 => FiringLevel::Sev2Page,
            _ => FiringLevel::Ticket,
        }
    }

    /// Moves time to `now` and decides.
    pub fn evaluate(&mut self, now: Timestamp) -> Evaluation {
        let now_ms = millis(now);
        self.minutes.advance_to(now_ms);
        self.coarse.advance_to(now_ms);
        self.hours.advance_to(now_ms);
        let budget = self.config.objective.error_budget_ratio();
        let burn_rates = self
            .windows
            .iter()
            .map(|window| (*window, self.window_counts(*window).error_ratio().map(|ratio| ratio / budget)))
            .collect();
        let budget_remaining = self.hours.window(0).error_ratio().map(|ratio| 1.0 - ratio / budget);

        let stale = match self.last_good_read {
            None => true,
            Some(last) => now_ms.saturating_sub(millis(last)) > self.config.stale_after.as_millis(),
        };
        let unknown = stale || self.last_read_failed;
        let mut transitions = Vec::new();
        if unknown != self.unknown {
            transitions.push(if unknown { AlertTransition::BecameUnknown } else { AlertTransition::BecameKnown });
            self.unknown = unknown;
        }
        if unknown {
            // Open alerts stay open and nothing new opens until the source is readable again.
            return Evaluation { state: SloState::Unknown, firing: Vec::new(), burn_rates, budget_remaining, transitions };
        }

        let mut firing = BTreeSet::new();
        for (index, rule) in self.rules.iter().enumerate() {
            if self.rule_fires(rule, budget) {
                firing.insert(Self::level_of(index));
            }
        }
        for level in firing.difference(&self.open) {
            transitions.push(AlertTransition::Opened(*level));
        }
        for level in self.open.difference(&firing) {
            transitions.push(AlertTransition::Resolved(*level));
        }
        self.open = firing;
        let state = self.open.first().map_or(SloState::Ok, |level| SloState::Firing(*level));
        let firing = self.open.iter().copied().collect();
        Evaluation { state, firing, burn_rates, budget_remaining, transitions }
    }

    /// Bytes of bucket storage this SLO holds.
    pub fn bucket_bytes(&self) -> usize {
        self.minutes.bucket_bytes() + self.coarse.bucket_bytes() + self.hours.bucket_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::slo::SloPeriod;
    use proptest::prelude::*;

    fn evaluator() -> Evaluator {
        let objective = Objective::from_percent(99.9).unwrap();
        Evaluator::new(EvaluatorConfig::new(objective, AlertWindows::defaults_for(SloPeriod::Days30)))
    }

    proptest! {
        /// A coarse window is the exact window minus at most its oldest 4 minutes: its counts
        /// lie between those of exact per-minute windows of L - 4m and L.
        #[test]
        fn coarse_windows_are_bounded_by_exact_ones(
            steps in proptest::collection::vec((0u64..900_000, 0u64..30, 0u64..100), 1..300),
        ) {
            let mut evaluator = evaluator();
            let long_windows = [HumanDuration::from_secs(86_400), HumanDuration::from_secs(3 * 86_400)];
            let exact_lengths: Vec<u64> = long_windows
                .iter()
                .flat_map(|window| [window.as_millis() - (COARSE_BUCKET_MS - MINUTE_MS), window.as_millis()])
                .collect();
            let mut exact = BucketRing::new(MINUTE_MS, &exact_lengths);
            let mut now = 1_750_000_000_000u64;
            for (advance, bad, extra) in steps {
                // Up to 15 minutes at a time, so a run spans from minutes to days.
                now += advance * (1 + extra % 7);
                let at = Timestamp::from_millisecond(now as i64).unwrap();
                evaluator.record(at, bad, bad + extra);
                exact.record(now, bad, bad + extra);
                evaluator.evaluate(at);
                exact.advance_to(now);
                for (index, window) in long_windows.iter().enumerate() {
                    let coarse = evaluator.window_counts(*window);
                    let (shorter, longer) = (exact.window(2 * index), exact.window(2 * index + 1));
                    prop_assert!(shorter.total <= coarse.total && coarse.total <= longer.total, "{window}: {shorter:?} {coarse:?} {longer:?}");
                    prop_assert!(shorter.bad <= coarse.bad && coarse.bad <= longer.bad, "{window}: {shorter:?} {coarse:?} {longer:?}");
                }
            }
        }
    }

    #[test]
    fn short_windows_stay_per_minute_and_memory_stays_small() {
        let mut evaluator = evaluator();
        let start = Timestamp::from_second(1_750_000_000).unwrap();
        for minute in 0..400 {
            evaluator.record(start + jiff::SignedDuration::from_mins(minute), 1, 10);
        }
        let now = start + jiff::SignedDuration::from_mins(399);
        evaluator.evaluate(now);
        assert_eq!(evaluator.window_counts(HumanDuration::from_secs(300)).total, 50);
        assert_eq!(evaluator.window_counts(HumanDuration::from_secs(6 * 3600)).total, 3600);
        // 6h of minutes, 3d of 5-minute buckets, 30d of hours; two u32 per bucket.
        assert_eq!(evaluator.bucket_bytes(), (360 + 864 + 720) * 8);
    }
}
