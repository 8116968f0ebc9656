//! The decision, tick by tick: did the last few minutes bring as many events as the same
//! wall-clock hours usually do?
//!
//! Expected events over the window are the sum, minute by minute, of the baseline rate at
//! that minute's wall-clock time: its hour slot's rate, lowered towards a quieter neighbour
//! near the edge between them (linear between slot centres, never above the slot's own rate),
//! so the end of a busy evening winds down and a quiet hour beside a busy one stays quiet.
//! The window is the last `window_minutes` complete minutes; the minute in progress is left out.
//!
//! - No baseline yet (fewer than `min_history_weeks` samples of a slot the window touches):
//!   `Learning`. Nothing opens, ever, while learning.
//! - Expected fewer than `min_expected` events: `Quiet`. A handful of events missing at 3am is
//!   noise, not an outage.
//! - Otherwise a drop opens when observed < `threshold` × expected, and resolves only once
//!   observed ≥ `resolve_threshold` × expected (hysteresis: a rate hovering at the threshold
//!   does not open and resolve every tick). While learning or quiet an open drop stays open.

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::history::SlotHistory;
use super::slots::{HourSlot, minute_of, minute_start, wall_clock};

/// Minutes of counts kept before the window, for late events.
const RECENT_SLACK_MINUTES: i64 = 120;

#[derive(Debug, Clone, PartialEq)]
pub struct HeartbeatConfig {
    pub zone: TimeZone,
    pub window_minutes: u32,
    pub threshold: f64,
    pub resolve_threshold: f64,
    /// Weeks of the same slot the baseline looks back over.
    pub history_weeks: u32,
    /// Samples of a slot needed before it is trusted.
    pub min_history_weeks: u32,
    pub min_expected: f64,
}

impl HeartbeatConfig {
    /// Fifteen-minute windows, page below half of normal, resolve at three quarters, four
    /// weeks of history of which three are needed, and at least 30 events expected.
    pub fn new(zone: TimeZone) -> HeartbeatConfig {
        HeartbeatConfig {
            zone,
            window_minutes: 15,
            threshold: 0.5,
            resolve_threshold: 0.75,
            history_weeks: 4,
            min_history_weeks: 3,
            min_expected: 30.0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeartbeatState {
    /// Not enough history for the hours the window covers.
    Learning,
    /// Too few events expected to judge.
    Quiet,
    Ok,
    /// Fewer events than `threshold` × expected (and not yet back above `resolve_threshold`).
    Dropped,
}

impl HeartbeatState {
    pub fn as_str(self) -> &'static str {
        match self {
            HeartbeatState::Learning => "learning",
            HeartbeatState::Quiet => "quiet",
            HeartbeatState::Ok => "ok",
            HeartbeatState::Dropped => "dropped",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeartbeatTransition {
    Dropped,
    Recovered,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    Added,
    /// Older than the first event this monitor saw: rebuild from the stored counts.
    BeforeHistory,
}

/// What one tick found.
#[derive(Debug, Clone, PartialEq)]
pub struct HeartbeatEvaluation {
    pub state: HeartbeatState,
    pub firing: bool,
    pub observed: u64,
    /// Events expected over the window; `None` while learning.
    pub expected: Option<f64>,
    pub window_start: Timestamp,
    pub window_end: Timestamp,
    pub transition: Option<HeartbeatTransition>,
}

impl HeartbeatEvaluation {
    /// Observed ÷ expected, when there is an expectation.
    pub fn ratio(&self) -> Option<f64> {
        self.expected.filter(|expected| *expected > 0.0).map(|expected| self.observed as f64 / expected)
    }
}

#[derive(Debug, Clone)]
pub struct HeartbeatMonitor {
    config: HeartbeatConfig,
    history: SlotHistory,
    /// Per-minute counts near the window.
    recent: BTreeMap<i64, u64>,
    firing: bool,
    evaluated_until: Option<i64>,
    forgotten_before: Option<jiff::civil::Date>,
}

impl HeartbeatMonitor {
    pub fn new(config: HeartbeatConfig) -> HeartbeatMonitor {
        let history = SlotHistory::new(config.zone.clone());
        HeartbeatMonitor {
            config,
            history,
            recent: BTreeMap::new(),
            firing: false,
            evaluated_until: None,
            forgotten_before: None,
        }
    }

    pub fn config(&self) -> &HeartbeatConfig {
        &self.config
    }

    pub fn is_firing(&self) -> bool {
        self.firing
    }

    /// The first instant of history, once any event was recorded.
    pub fn history_start(&self) -> Option<Timestamp> {
        self.history.start().map(minute_start)
    }

    /// `count` events that happened at `at`. Events before the monitor's first one cannot be
    /// placed in its walk: they are refused and the caller rebuilds in time order.
    pub fn record(&mut self, at: Timestamp, count: u64) -> Recorded {
        let minute = minute_of(at);
        if !self.history.record(minute, count) {
            return Recorded::BeforeHistory;
        }
        let oldest_kept =
            self.evaluated_until.map_or(i64::MIN, |until| until - i64::from(self.config.window_minutes) - RECENT_SLACK_MINUTES);
        if minute >= oldest_kept {
            let slot = self.recent.entry(minute).or_insert(0);
            *slot = slot.saturating_add(count);
        }
        Recorded::Added
    }

    /// Events expected in the minutes `[from, until)`, or `None` while any of them falls in a
    /// slot without a baseline.
    pub fn expected(&self, from: i64, until: i64) -> Option<f64> {
        let mut cache: Vec<(HourSlot, Option<f64>)> = Vec::with_capacity(4);
        let mut baseline = |slot: HourSlot| -> Option<f64> {
            if let Some((_, known)) = cache.iter().find(|(cached, _)| *cached == slot) {
                return *known;
            }
            let learned = self.history.baseline(slot, self.config.history_weeks, self.config.min_history_weeks);
            cache.push((slot, learned));
            learned
        };
        let mut expected = 0.0;
        for minute in from..until {
            let (slot, position) = wall_clock(&self.config.zone, minute);
            let own = baseline(slot)?;
            // Linear between slot centres (at the centre only this slot counts, at an edge the
            // neighbour across it counts half), but never above this slot's own rate: a quiet
            // hour next to a busy one must not raise what the quiet hour is expected to bring,
            // while a lower neighbour lowers it towards the edge. Traffic that steps at the top
            // of the hour is then never expected early, and a smooth ramp is followed.
            let (neighbour, weight) =
                if position < 0.5 { (slot.previous(), 0.5 - position) } else { (slot.next(), position - 0.5) };
            let rate = match neighbour.and_then(&mut baseline) {
                Some(other) => own.min(own * (1.0 - weight) + other * weight),
                None => own,
            };
            expected += rate;
        }
        Some(expected)
    }

    /// Moves time to `now` and decides over the window that ends at the start of `now`'s minute.
    pub fn evaluate(&mut self, now: Timestamp) -> HeartbeatEvaluation {
        let until = minute_of(now);
        let from = until - i64::from(self.config.window_minutes);
        self.history.walk_to(until);
        self.evaluated_until = Some(self.evaluated_until.map_or(until, |previous| previous.max(until)));
        self.recent = self.recent.split_off(&(from - RECENT_SLACK_MINUTES));
        self.forget_old_slots(until);

        let observed: u64 = self.recent.range(from..until).map(|(_, count)| *count).sum();
        let expected = if self.history.start().is_some() { self.expected(from, until) } else { None };
        let was_firing = self.firing;
        let judged = match expected {
            None => HeartbeatState::Learning,
            Some(expected) if expected < self.config.min_expected => HeartbeatState::Quiet,
            Some(expected) => {
                let observed = observed as f64;
                if !self.firing && observed < self.config.threshold * expected {
                    self.firing = true;
                } else if self.firing && observed >= self.config.resolve_threshold * expected {
                    self.firing = false;
                }
                if self.firing { HeartbeatState::Dropped } else { HeartbeatState::Ok }
            }
        };
        let transition = match (was_firing, self.firing) {
            (false, true) => Some(HeartbeatTransition::Dropped),
            (true, false) => Some(HeartbeatTransition::Recovered),
            _ => None,
        };
        HeartbeatEvaluation {
            state: if self.firing { HeartbeatState::Dropped } else { judged },
            firing: self.firing,
            observed,
            expected,
            window_start: minute_start(from),
            window_end: minute_start(until),
            transition,
        }
    }

    /// Drops slots older than any baseline can look back to, once a day.
    fn forget_old_slots(&mut self, until: i64) {
        let today = wall_clock(&self.config.zone, until).0.date;
        let keep_days = i64::from(self.config.history_weeks) * 7 + 2;
        let Ok(oldest) = today.checked_sub(jiff::Span::new().days(keep_days)) else { return };
        if self.forgotten_before.is_some_and(|before| before >= oldest) {
            return;
        }
        self.history.forget_before(oldest);
        self.forgotten_before = Some(oldest);
    }

    /// Rates learned per slot, for capacity planning and tests.
    pub fn history(&self) -> &SlotHistory {
        &self.history
    }
}
