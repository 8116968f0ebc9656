//! Property tests of the schedule time arithmetic across DST: zones with hour and half-hour
//! changes, midnight gaps (Sao Paulo before 2019) and none at all, over instants spanning decades.

use super::rotation::Handoffs;
use super::*;
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, ToSpan};
use proptest::prelude::*;
use std::collections::BTreeMap;

const ZONES: &[&str] = &["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "America/Sao_Paulo"];
const USER_POOL: &[&str] = &["alice", "bob", "carol", "dave", "erin"];
const DAY_SECONDS: i64 = 86_400;

fn zone(name: &str) -> TimeZone {
    ScheduleTimeZone::new(name).zone().cloned().unwrap_or_else(|| panic!("{name} is in the bundled database"))
}

fn zone_name() -> impl Strategy<Value = &'static str> {
    proptest::sample::select(ZONES)
}

/// Any minute of the day, but half the time one that is in a gap or a fold in some of `ZONES`.
fn time_of_day() -> impl Strategy<Value = Time> {
    let awkward = vec![(0, 0), (0, 30), (1, 0), (1, 30), (1, 45), (2, 0), (2, 15), (2, 30), (2, 59), (3, 0)];
    prop_oneof![
        (0..24i8, 0..60i8).prop_map(|(hour, minute)| Time::new(hour, minute, 0, 0).unwrap_or_default()),
        proptest::sample::select(awkward).prop_map(|(hour, minute)| Time::new(hour, minute, 0, 0).unwrap_or_default()),
    ]
}

/// A day from 2010 through 2034.
fn date() -> impl Strategy<Value = Date> {
    (0..25 * 365i64).prop_map(|days| jiff::civil::date(2010, 1, 1).checked_add(days.days()).unwrap_or_default())
}

fn civil_rotation() -> impl Strategy<Value = Rotation> {
    prop_oneof![
        Just(Rotation::Daily),
        Just(Rotation::Weekly),
        (1..=10u32).prop_map(Rotation::Days),
        (1..=4u32).prop_map(Rotation::Weeks),
    ]
}

fn any_rotation() -> impl Strategy<Value = Rotation> {
    prop_oneof![3 => civil_rotation(), 1 => (1..=72u32).prop_map(Rotation::Hours)]
}

fn rotation_days(rotation: Rotation) -> i64 {
    match rotation {
        Rotation::Daily => 1,
        Rotation::Weekly => 7,
        Rotation::Days(days) => i64::from(days),
        Rotation::Weeks(weeks) => 7 * i64::from(weeks),
        Rotation::Hours(_) => 0,
    }
}

fn distinct_users(count: usize) -> Vec<String> {
    (0..count).map(|index| format!("user-{index}")).collect()
}

fn layer(start: DateTime, rotation: Rotation, users: Vec<String>) -> Layer {
    Layer { name: "layer".to_string(), start, rotation, users, end: None, restrictions: None }
}

fn schedule_of(zone_name: &str, layers: Vec<Layer>, overrides: Vec<Override>) -> Schedule {
    Schedule { id: "property".to_string(), name: None, time_zone: ScheduleTimeZone::new(zone_name), layers, overrides }
}

fn seconds(count: i64) -> SignedDuration {
    SignedDuration::from_secs(count)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Property 1: handoff k is at the configured wall-clock time on the k-th rotation day; when
    /// that time is in a gap it is the compatible resolution (read with the pre-gap offset, so it
    /// lands later by the gap's length), and when it is in a fold it is the first occurrence.
    #[test]
    fn civil_handoffs_land_on_the_configured_wall_clock_time(
        zone_name in zone_name(),
        start_date in date(),
        time in time_of_day(),
        rotation in civil_rotation(),
        index in 0..2_000i64,
    ) {
        let zone = zone(zone_name);
        let handoffs = Handoffs::new(&zone, start_date.to_datetime(time), rotation).unwrap_or_else(|| panic!("valid rotation"));
        let expected_day = start_date.checked_add((index * rotation_days(rotation)).days()).unwrap_or_default();
        let expected_wall_clock = expected_day.to_datetime(time);
        let handoff = handoffs.nth(index).unwrap_or_else(|| panic!("handoff {index} exists"));
        let local = zone.to_datetime(handoff);
        match zone.to_ambiguous_timestamp(expected_wall_clock).offset() {
            AmbiguousOffset::Unambiguous { .. } => prop_assert_eq!(local, expected_wall_clock),
            AmbiguousOffset::Fold { before, .. } => {
                prop_assert_eq!(local, expected_wall_clock);
                prop_assert_eq!(Some(handoff), before.to_timestamp(expected_wall_clock).ok(), "first occurrence");
            }
            AmbiguousOffset::Gap { before, after } => {
                prop_assert_eq!(Some(handoff), before.to_timestamp(expected_wall_clock).ok(), "pre-gap offset");
                let pushed_by_gap = expected_wall_clock.checked_add(after.duration_since(before)).ok();
                prop_assert_eq!(Some(local), pushed_by_gap);
            }
        }
        let next = handoffs.nth(index + 1).unwrap_or_else(|| panic!("handoff {} exists", index + 1));
        prop_assert!(next > handoff);
        prop_assert_eq!(handoffs.index_at(handoff), Some(index));
        prop_assert_eq!(handoffs.index_at(next - SignedDuration::from_nanos(1)), Some(index));
        prop_assert_eq!(handoffs.next_after(handoff), Some(next));
    }

    /// Property 2: from its start on, a layer without restrictions has exactly one of its users on
    /// call; before its start, nobody.
    #[test]
    fn an_unrestricted_layer_has_exactly_one_user_after_its_start(
        zone_name in zone_name(),
        start_date in date(),
        time in time_of_day(),
        rotation in any_rotation(),
        user_count in 1..5usize,
        after_start_seconds in 0..6 * 366 * DAY_SECONDS,
        before_start_seconds in 1..366 * DAY_SECONDS,
    ) {
        let start = start_date.to_datetime(time);
        let users = distinct_users(user_count);
        let schedule = schedule_of(zone_name, vec![layer(start, rotation, users.clone())], vec![]);
        let first_handoff = zone(zone_name).to_ambiguous_timestamp(start).compatible().unwrap_or_else(|error| panic!("{error}"));

        let on_call = schedule.on_call_at(first_handoff + seconds(after_start_seconds));
        prop_assert_eq!(on_call.len(), 1);
        prop_assert!(on_call.iter().all(|user| users.contains(user)));
        prop_assert_eq!(schedule.on_call_at(first_handoff), vec![users.first().cloned().unwrap_or_default()]);
        prop_assert!(schedule.on_call_at(first_handoff - seconds(before_start_seconds)).is_empty());
    }

    /// Property 3: the rendered final schedule is sorted, non-overlapping, clipped, merged, has
    /// nobody on call in its holes, and agrees with `on_call_at` everywhere we look.
    #[test]
    fn final_shifts_are_a_faithful_rendering_of_on_call_at(
        case in rendering_case(false),
        probes in proptest::collection::vec(0.0..1.0f64, 24),
    ) {
        let RenderingCase { schedule, from, until } = case;
        let shifts = schedule.final_shifts(from, until);
        for shift in &shifts {
            prop_assert!(from <= shift.start && shift.start < shift.end && shift.end <= until, "clipped and non-empty: {shift:?}");
            prop_assert_eq!(schedule.on_call_at(shift.start), vec![shift.user_id.clone()]);
            prop_assert_eq!(schedule.on_call_at(shift.end - SignedDuration::from_nanos(1)), vec![shift.user_id.clone()]);
        }
        for pair in shifts.windows(2) {
            let [earlier, later] = pair else { continue };
            prop_assert!(earlier.end <= later.start, "sorted and non-overlapping: {earlier:?} {later:?}");
            prop_assert!(!(earlier.end == later.start && earlier.user_id == later.user_id), "merged: {earlier:?} {later:?}");
        }
        // Holes: where no shift is, nobody is on call (rendering never drops coverage).
        let mut hole_start = from;
        for shift in shifts.iter().chain(std::iter::once(&Shift { user_id: String::new(), start: until, end: until })) {
            if hole_start < shift.start {
                prop_assert!(schedule.on_call_at(hole_start).is_empty(), "nobody at the start of a hole at {hole_start}");
                let middle = hole_start + shift.start.duration_since(hole_start) / 2;
                prop_assert!(schedule.on_call_at(middle).is_empty(), "nobody inside a hole at {middle}");
            }
            hole_start = shift.end;
        }
        let span = until.duration_since(from);
        for probe in probes {
            let at = from + span.mul_f64(probe);
            let rendered: Vec<String> = shifts.iter().filter(|shift| shift.start <= at && at < shift.end).map(|shift| shift.user_id.clone()).collect();
            prop_assert_eq!(schedule.on_call_at(at), rendered, "at {}", at);
        }
    }

    /// Property 3, with overlapping overrides: at every probe the users of the shifts covering it
    /// are exactly the users on call, and no user's shifts overlap or touch.
    #[test]
    fn final_shifts_agree_with_on_call_at_under_overlapping_overrides(
        case in rendering_case(true),
        probes in proptest::collection::vec(0.0..1.0f64, 24),
    ) {
        let RenderingCase { schedule, from, until } = case;
        let shifts = schedule.final_shifts(from, until);
        prop_assert!(shifts.windows(2).all(|pair| matches!(pair, [earlier, later] if earlier.start <= later.start)));
        let mut by_user: BTreeMap<&str, Vec<&Shift>> = BTreeMap::new();
        for shift in &shifts {
            by_user.entry(&shift.user_id).or_default().push(shift);
        }
        for own in by_user.values() {
            prop_assert!(own.windows(2).all(|pair| matches!(pair, [earlier, later] if earlier.end < later.start)));
        }
        let span = until.duration_since(from);
        for probe in probes {
            let at = from + span.mul_f64(probe);
            let mut rendered: Vec<String> = shifts.iter().filter(|shift| shift.start <= at && at < shift.end).map(|shift| shift.user_id.clone()).collect();
            let mut on_call = schedule.on_call_at(at);
            rendered.sort();
            on_call.sort();
            prop_assert_eq!(on_call, rendered, "at {}", at);
        }
    }

    /// Property 4: rendered from a layer's start over N full cycles, each user has exactly N shifts.
    #[test]
    fn every_user_gets_one_shift_per_cycle(
        zone_name in zone_name(),
        start_date in date(),
        time in time_of_day(),
        rotation in any_rotation(),
        user_count in 2..6usize,
        cycles in 1..12i64,
    ) {
        let zone = zone(zone_name);
        let start = start_date.to_datetime(time);
        let users = distinct_users(user_count);
        let schedule = schedule_of(zone_name, vec![layer(start, rotation, users.clone())], vec![]);
        let handoffs = Handoffs::new(&zone, start, rotation).unwrap_or_else(|| panic!("valid rotation"));
        let shift_count = cycles * i64::try_from(user_count).unwrap_or_default();
        let until = handoffs.nth(shift_count).unwrap_or_else(|| panic!("handoff {shift_count} exists"));

        let shifts = schedule.final_shifts(handoffs.first(), until);
        prop_assert_eq!(i64::try_from(shifts.len()).ok(), Some(shift_count));
        for user in &users {
            let own = shifts.iter().filter(|shift| &shift.user_id == user).count();
            prop_assert_eq!(i64::try_from(own).ok(), Some(cycles), "{}", user);
        }
    }
}

#[derive(Debug, Clone)]
struct RenderingCase {
    schedule: Schedule,
    from: Timestamp,
    until: Timestamp,
}

/// A schedule of one to three layers (some bounded, some restricted, sharing users so merges
/// happen) and up to three overrides, with a range of up to 45 days somewhere in 2010-2034 that
/// may start before, during or after the layers.
fn rendering_case(overlapping_overrides: bool) -> impl Strategy<Value = RenderingCase> {
    let range_days = 45;
    (
        zone_name(),
        date(),
        0..DAY_SECONDS,
        3_600..range_days * DAY_SECONDS,
        proptest::collection::vec(layer_spec(), 1..=3),
        proptest::collection::vec(override_spec(), 0..=3),
    )
        .prop_map(move |(zone_name, base_date, from_seconds, span_seconds, layer_specs, override_specs)| {
            let zone = zone(zone_name);
            let from = zone.to_ambiguous_timestamp(base_date.to_datetime(Time::midnight())).compatible().unwrap_or_default()
                + seconds(from_seconds);
            let until = from + seconds(span_seconds);
            let layers = layer_specs.into_iter().map(|spec| spec.into_layer(base_date)).collect();
            let third = span_seconds / 3;
            let overrides = override_specs
                .into_iter()
                .enumerate()
                .map(|(slot, spec)| {
                    // Each override in its own third of the range, unless overlaps are wanted.
                    let slot_start = if overlapping_overrides { 0 } else { i64::try_from(slot).unwrap_or_default() * third };
                    let slot_length = if overlapping_overrides { span_seconds } else { third };
                    let start = slot_start + (spec.start_fraction * slot_length as f64) as i64;
                    let length = ((spec.length_fraction * slot_length as f64) as i64).max(1);
                    let end = if overlapping_overrides {
                        start + length
                    } else {
                        (start + length).min(slot_start + slot_length).max(start + 1)
                    };
                    Override { user: spec.user.to_string(), start: from + seconds(start), end: from + seconds(end) }
                })
                .collect();
            RenderingCase { schedule: schedule_of(zone_name, layers, overrides), from, until }
        })
}

#[derive(Debug, Clone)]
struct LayerSpec {
    start_day_offset: i64,
    time: Time,
    rotation: Rotation,
    users: Vec<&'static str>,
    length_days: Option<i64>,
    restrictions: Option<Vec<Restriction>>,
}

impl LayerSpec {
    fn into_layer(self, base_date: Date) -> Layer {
        let start = base_date.checked_add(self.start_day_offset.days()).unwrap_or_default().to_datetime(self.time);
        let end = self.length_days.and_then(|days| start.checked_add(days.days()).ok());
        let users = self.users.into_iter().map(str::to_string).collect();
        Layer { name: "layer".to_string(), start, rotation: self.rotation, users, end, restrictions: self.restrictions }
    }
}

fn layer_spec() -> impl Strategy<Value = LayerSpec> {
    (
        -400..30i64,
        time_of_day(),
        any_rotation(),
        proptest::collection::vec(proptest::sample::select(USER_POOL), 1..=4),
        proptest::option::weighted(0.3, 1..400i64),
        proptest::option::weighted(0.4, proptest::collection::vec(restriction(), 1..=2)),
    )
        .prop_map(|(start_day_offset, time, rotation, users, length_days, restrictions)| LayerSpec {
            start_day_offset,
            time,
            rotation,
            users,
            length_days,
            restrictions,
        })
}

/// Windows of any length on any set of days, including ones crossing midnight and full days.
fn restriction() -> impl Strategy<Value = Restriction> {
    (proptest::sample::subsequence(DayOfWeek::every_day(), 1..=7), time_of_day(), time_of_day()).prop_map(|(days, start, end)| {
        Restriction {
            days,
            start: WallClockTime::new(start.strftime("%H:%M").to_string()),
            end: WallClockTime::new(end.strftime("%H:%M").to_string()),
        }
    })
}

#[derive(Debug, Clone)]
struct OverrideSpec {
    user: &'static str,
    start_fraction: f64,
    length_fraction: f64,
}

fn override_spec() -> impl Strategy<Value = OverrideSpec> {
    (proptest::sample::select(USER_POOL), 0.0..1.0f64, 0.0..0.5f64)
        .prop_map(|(user, start_fraction, length_fraction)| OverrideSpec { user, start_fraction, length_fraction })
}
