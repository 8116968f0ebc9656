//! Wall-clock hour slots. A slot is one local hour on one local date in the monitor's time
//! zone: on the day clocks spring forward the skipped hour has no instants at all, on the day
//! they fall back the repeated hour holds two real hours. Baselines are learned per slot and
//! compared per weekday and hour, so "Monday 09:00 in Berlin" means the same thing to people
//! in summer and in winter.
//!
//! Time is handled in whole minutes since the Unix epoch (the resolution events are counted
//! at); a minute is placed on the wall clock by its midpoint.

use jiff::Timestamp;
use jiff::civil::{Date, DateTime, Weekday};
use jiff::tz::TimeZone;

/// One local wall-clock hour on one local date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HourSlot {
    pub date: Date,
    /// 0 to 23.
    pub hour: i8,
}

impl HourSlot {
    pub fn of(wall_clock: DateTime) -> HourSlot {
        HourSlot { date: wall_clock.date(), hour: wall_clock.hour() }
    }

    pub fn weekday(self) -> Weekday {
        self.date.weekday()
    }

    /// The same wall-clock hour on the same weekday, `weeks` weeks earlier.
    pub fn weeks_before(self, weeks: i32) -> Option<HourSlot> {
        let date = self.date.checked_sub(jiff::Span::new().days(i64::from(weeks) * 7)).ok()?;
        Some(HourSlot { date, hour: self.hour })
    }

    /// The wall-clock hour before this one (the previous date's 23:00 after midnight).
    pub fn previous(self) -> Option<HourSlot> {
        if self.hour > 0 {
            return Some(HourSlot { hour: self.hour - 1, ..self });
        }
        Some(HourSlot { date: self.date.yesterday().ok()?, hour: 23 })
    }

    /// The wall-clock hour after this one.
    pub fn next(self) -> Option<HourSlot> {
        if self.hour < 23 {
            return Some(HourSlot { hour: self.hour + 1, ..self });
        }
        Some(HourSlot { date: self.date.tomorrow().ok()?, hour: 0 })
    }
}

/// Whole minutes since the Unix epoch of the minute containing `at`.
pub fn minute_of(at: Timestamp) -> i64 {
    at.as_second().div_euclid(60)
}

/// The first instant of `minute`.
pub fn minute_start(minute: i64) -> Timestamp {
    Timestamp::from_second(minute.saturating_mul(60)).unwrap_or(if minute < 0 { Timestamp::MIN } else { Timestamp::MAX })
}

/// The slot `minute` falls in, and where its midpoint lies within that wall-clock hour (0 at
/// the top of the hour, just under 1 at its end).
pub fn wall_clock(zone: &TimeZone, minute: i64) -> (HourSlot, f64) {
    let midpoint = Timestamp::from_second(minute.saturating_mul(60).saturating_add(30)).unwrap_or(Timestamp::MAX);
    let local = zone.to_datetime(midpoint);
    let position = (f64::from(local.minute()) * 60.0 + f64::from(local.second())) / 3600.0;
    (HourSlot::of(local), position)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use proptest::prelude::*;

    fn berlin() -> TimeZone {
        TimeZone::get("Europe/Berlin").unwrap()
    }

    fn minute_at(text: &str) -> i64 {
        minute_of(text.parse().unwrap())
    }

    /// Minutes per slot over `[from, to)`.
    fn minutes_per_slot(zone: &TimeZone, from: i64, to: i64) -> std::collections::BTreeMap<HourSlot, u32> {
        let mut counted = std::collections::BTreeMap::new();
        for minute in from..to {
            *counted.entry(wall_clock(zone, minute).0).or_insert(0) += 1;
        }
        counted
    }

    #[test]
    fn the_skipped_hour_has_no_minutes_and_the_repeated_hour_has_two_hours() {
        let zone = berlin();
        // 2025-03-30: 02:00 CET jumps to 03:00 CEST. 2025-10-26: 03:00 CEST falls back to 02:00 CET.
        let spring = minutes_per_slot(&zone, minute_at("2025-03-29T23:00:00Z"), minute_at("2025-03-30T22:00:00Z"));
        assert_eq!(spring.get(&HourSlot { date: date(2025, 3, 30), hour: 2 }), None);
        assert_eq!(spring.values().sum::<u32>(), 23 * 60);
        assert!(spring.values().all(|minutes| *minutes == 60));
        let autumn = minutes_per_slot(&zone, minute_at("2025-10-25T22:00:00Z"), minute_at("2025-10-26T23:00:00Z"));
        assert_eq!(autumn[&HourSlot { date: date(2025, 10, 26), hour: 2 }], 120);
        assert_eq!(autumn.values().sum::<u32>(), 25 * 60);
    }

    #[test]
    fn a_slot_a_week_earlier_keeps_its_wall_clock_hour_across_a_change() {
        let zone = berlin();
        // Monday 09:15 local, the day after the spring change, and the Monday before it.
        let (after, _) = wall_clock(&zone, minute_at("2025-03-31T07:15:00Z"));
        let (before, position) = wall_clock(&zone, minute_at("2025-03-24T08:15:00Z"));
        assert_eq!(after, HourSlot { date: date(2025, 3, 31), hour: 9 });
        assert_eq!(after.weeks_before(1), Some(before));
        assert!((position - 15.5 / 60.0).abs() < 1e-9);
    }

    #[test]
    fn neighbours_wrap_at_midnight() {
        let slot = HourSlot { date: date(2025, 1, 1), hour: 0 };
        assert_eq!(slot.previous(), Some(HourSlot { date: date(2024, 12, 31), hour: 23 }));
        assert_eq!(slot.previous().and_then(HourSlot::next), Some(slot));
    }

    proptest! {
        /// Across a year of any of these zones, every minute lands in exactly one slot, slots
        /// follow one another without going back (the repeated hour is one slot), every slot
        /// but the ones at a change holds 60 minutes, and the week-earlier slot has the same
        /// weekday and hour.
        #[test]
        fn slots_partition_time_exactly_across_changes(
            zone_index in 0usize..5,
            start_hour in 0i64..(24 * 365),
            hours in 1i64..(24 * 14),
        ) {
            let names = ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"];
            let zone = TimeZone::get(names[zone_index]).unwrap();
            let from = minute_at("2025-01-01T00:00:00Z") + start_hour * 60;
            let to = from + hours * 60;
            let mut previous: Option<HourSlot> = None;
            let mut counted = std::collections::BTreeMap::<HourSlot, u32>::new();
            for minute in from..to {
                let (slot, position) = wall_clock(&zone, minute);
                prop_assert!((0.0..1.0).contains(&position));
                if let Some(previous) = previous {
                    prop_assert!(slot >= previous, "{slot:?} after {previous:?}");
                }
                previous = Some(slot);
                *counted.entry(slot).or_insert(0) += 1;
                let earlier = slot.weeks_before(1).unwrap();
                prop_assert_eq!((earlier.weekday(), earlier.hour), (slot.weekday(), slot.hour));
            }
            prop_assert_eq!(counted.values().map(|minutes| i64::from(*minutes)).sum::<i64>(), to - from);
            let inner: Vec<u32> = counted.values().copied().collect();
            let transitions = zone.following(minute_start(from)).take_while(|transition| transition.timestamp() < minute_start(to)).count();
            if inner.len() > 2 {
                let odd = inner[1..inner.len() - 1].iter().filter(|minutes| **minutes != 60).count();
                prop_assert!(odd <= transitions, "{odd} odd slots with {transitions} changes: {counted:?}");
            }
        }
    }
}
