//! Deciding, tick by tick, whether an SLO pages, opens a ticket, is fine, or cannot be told.
//!
//! The evaluator keeps two rings: per-minute buckets for the alert windows (5m up to 3d by
//! default) and per-hour buckets for the whole period (the budget view). Each rule of the
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
    minutes: BucketRing,
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
        let lengths: Vec<u64> = windows.iter().map(|window| window.as_millis()).collect();
        let minutes = BucketRing::new(MINUTE_MS, &lengths);
        let hours = BucketRing::new(HOUR_MS, &[config.windows.period.as_millis()]);
        Evaluator {
            rules: config.windows.rules(),
            config,
            windows,
            minutes,
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
        self.hours.record(at_ms, bad, total);
        self.last_good_read = Some(self.last_good_read.map_or(at, |last| last.max(at)));
        self.last_read_failed = false;
    }

    /// The source could not be read (Prometheus down, malformed answer).
    pub fn read_failed(&mut self) {
        self.last_read_failed = true;
    }

    fn window_counts(&self, window: HumanDuration) -> Counts {
        self.windows.iter().position(|candidate| *candidate == window).map(|index| self.minutes.window(index)).unwrap_or_default()
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
        self.minutes.bucket_bytes() + self.hours.bucket_bytes()
    }
}
