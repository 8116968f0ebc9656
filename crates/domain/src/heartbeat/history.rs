//! What each wall-clock hour brought, learned from per-minute counts: events per slot, and how
//! many real minutes of the slot were watched. Time is walked forward minute by minute, so the
//! length of every slot is counted rather than assumed (60 minutes, none for an hour skipped
//! by a spring-forward change, 120 for an hour repeated in autumn, 30 or 90 in zones that
//! shift by half an hour).
//!
//! A slot is a sample only once it is complete and was watched from its start: the slot in
//! which history begins is not one (its first minutes were never seen). A slot watched
//! without a single event is a sample of zero: silence is what a heartbeat monitor is for.
//!
//! The baseline of a slot is the median rate of the same weekday and wall-clock hour over the
//! previous weeks: one odd week (a holiday, last month's outage) moves it little.

use std::collections::BTreeMap;

use jiff::tz::TimeZone;

use super::slots::{HourSlot, wall_clock};

#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct SlotCounts {
    events: u64,
    minutes: u32,
    /// Watched from its first minute to its last.
    complete: bool,
    /// History began inside this slot.
    partial: bool,
}

#[derive(Debug, Clone)]
pub struct SlotHistory {
    zone: TimeZone,
    /// First minute watched; nothing before it is known.
    start: Option<i64>,
    /// Every minute before this one has been walked.
    walked_until: i64,
    /// The slot of the last minute walked.
    walking: Option<HourSlot>,
    slots: BTreeMap<HourSlot, SlotCounts>,
}

impl SlotHistory {
    pub fn new(zone: TimeZone) -> SlotHistory {
        SlotHistory { zone, start: None, walked_until: 0, walking: None, slots: BTreeMap::new() }
    }

    pub fn zone(&self) -> &TimeZone {
        &self.zone
    }

    /// The first minute watched, once anything was recorded.
    pub fn start(&self) -> Option<i64> {
        self.start
    }

    /// Adds `count` events in `minute`. The first call starts history; events before that
    /// start are refused (returns false): the caller rebuilds from its stored counts instead.
    pub fn record(&mut self, minute: i64, count: u64) -> bool {
        match self.start {
            None => {
                self.start = Some(minute);
                self.walked_until = minute;
            }
            Some(start) if minute < start => return false,
            Some(_) => {}
        }
        let (slot, _) = wall_clock(&self.zone, minute);
        let counts = self.slots.entry(slot).or_default();
        counts.events = counts.events.saturating_add(count);
        true
    }

    /// Walks time forward to `until` (exclusive), counting each minute into its slot.
    pub fn walk_to(&mut self, until: i64) {
        let Some(start) = self.start else { return };
        while self.walked_until < until {
            let minute = self.walked_until;
            let (slot, position) = wall_clock(&self.zone, minute);
            if self.walking != Some(slot) {
                if let Some(previous) = self.walking
                    && let Some(counts) = self.slots.get_mut(&previous)
                {
                    counts.complete = !counts.partial;
                }
                self.walking = Some(slot);
            }
            let counts = self.slots.entry(slot).or_default();
            if minute == start && position >= 1.0 / 60.0 {
                counts.partial = true;
            }
            counts.minutes += 1;
            self.walked_until += 1;
        }
    }

    /// Events per minute in `slot`, if it is a complete sample.
    pub fn rate(&self, slot: HourSlot) -> Option<f64> {
        let counts = self.slots.get(&slot)?;
        (counts.complete && counts.minutes > 0).then(|| counts.events as f64 / f64::from(counts.minutes))
    }

    /// The median rate of `slot`'s weekday and hour over the `weeks` weeks before it, when at
    /// least `min_weeks` of them are samples.
    pub fn baseline(&self, slot: HourSlot, weeks: u32, min_weeks: u32) -> Option<f64> {
        let mut rates: Vec<f64> =
            (1..=weeks as i32).filter_map(|back| slot.weeks_before(back)).filter_map(|earlier| self.rate(earlier)).collect();
        if rates.is_empty() || rates.len() < min_weeks as usize {
            return None;
        }
        rates.sort_by(f64::total_cmp);
        let middle = rates.len() / 2;
        Some(if rates.len() % 2 == 1 { rates[middle] } else { (rates[middle - 1] + rates[middle]) / 2.0 })
    }

    /// Forgets slots dated before `date`.
    pub fn forget_before(&mut self, date: jiff::civil::Date) {
        self.slots = self.slots.split_off(&HourSlot { date, hour: 0 });
    }

    /// Slots held, for capacity planning.
    pub fn slots_held(&self) -> usize {
        self.slots.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::heartbeat::slots::minute_of;
    use jiff::civil::date;

    #[test]
    fn the_slot_history_starts_in_is_not_a_sample_and_silence_is() {
        let mut history = SlotHistory::new(TimeZone::UTC);
        let start = minute_of("2025-06-02T08:30:00Z".parse().unwrap());
        assert!(history.record(start, 5));
        assert!(!history.record(start - 1, 5), "before history");
        history.record(start + 60, 120);
        history.walk_to(start + 150);
        let slot = |hour| HourSlot { date: date(2025, 6, 2), hour };
        assert_eq!(history.rate(slot(8)), None, "history began at 08:30");
        assert_eq!(history.rate(slot(9)), Some(2.0));
        assert_eq!(history.rate(slot(10)), None, "still being walked");
        history.walk_to(start + 151);
        assert_eq!(history.rate(slot(10)), Some(0.0), "watched, and nothing happened");
    }

    #[test]
    fn the_baseline_is_the_median_of_the_same_hour_in_earlier_weeks() {
        let mut history = SlotHistory::new(TimeZone::UTC);
        let monday = minute_of("2025-06-02T00:00:00Z".parse().unwrap());
        let week = 7 * 24 * 60;
        // Four Mondays at 09:00: 60, 66, 600 (a one-off surge), 54 events per minute.
        for (index, rate) in [60u64, 66, 600, 54].into_iter().enumerate() {
            history.record(monday + index as i64 * week + 9 * 60, rate * 60);
        }
        history.walk_to(monday + 4 * week + 9 * 60);
        let now = HourSlot { date: date(2025, 6, 30), hour: 9 };
        assert_eq!(history.baseline(now, 4, 3), Some(63.0));
        assert_eq!(history.baseline(now, 2, 2), Some((600.0 + 54.0) / 2.0));
        assert_eq!(history.baseline(now, 4, 5), None, "only four weeks seen");
        history.forget_before(date(2025, 6, 10));
        assert_eq!(history.baseline(now, 4, 2), Some((600.0 + 54.0) / 2.0), "the first two weeks are forgotten");
        assert_eq!(history.baseline(now, 4, 3), None);
    }
}
