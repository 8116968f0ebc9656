//! Simulated weeks of a business event with an injected clock: a daily and weekly pattern
//! (busy office hours, calm evenings, a near-silent hour on Sunday night), fed minute by
//! minute with some noise, and the monitor evaluated every minute. Each case says what the
//! stream does and what must (and must not) be paged.

use jiff::Timestamp;
use jiff::civil::{DateTime, Weekday};
use jiff::tz::TimeZone;

use super::*;

/// Events per minute a healthy service sees at a local wall-clock time.
fn usual_rate(local: DateTime) -> f64 {
    let weekend = matches!(local.weekday(), Weekday::Saturday | Weekday::Sunday);
    match (local.weekday(), local.hour()) {
        (Weekday::Sunday, 3) => 1.0,
        (_, 0..=5) => 10.0,
        (_, 6..=8) if !weekend => 40.0,
        (_, 9..=17) if !weekend => 100.0,
        (_, 6..=17) => 30.0,
        _ => 20.0,
    }
}

/// A small deterministic generator (xorshift) for noise of ±20% per minute.
struct Noise(u64);

impl Noise {
    fn factor(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        0.8 + 0.4 * (self.0 % 10_000) as f64 / 10_000.0
    }
}

struct Run {
    /// (when, transition) in order.
    transitions: Vec<(Timestamp, HeartbeatTransition)>,
    states: Vec<(Timestamp, HeartbeatState)>,
    monitor: HeartbeatMonitor,
}

/// Feeds `from..until` minute by minute: each minute's events are the usual rate times
/// `shape(local time)` (1.0 for a healthy minute) with noise, then the monitor decides.
fn simulate(config: HeartbeatConfig, from: &str, until: &str, shape: impl Fn(DateTime) -> f64) -> Run {
    let zone = config.zone.clone();
    let mut monitor = HeartbeatMonitor::new(config);
    let mut noise = Noise(0x9E37_79B9_7F4A_7C15);
    let (from, until) = (minute_of(from.parse().unwrap()), minute_of(until.parse().unwrap()));
    let mut run =
        Run { transitions: Vec::new(), states: Vec::new(), monitor: HeartbeatMonitor::new(HeartbeatConfig::new(TimeZone::UTC)) };
    for minute in from..until {
        let at = minute_start(minute);
        let local = zone.to_datetime(at);
        let count = (usual_rate(local) * shape(local) * noise.factor()).round() as u64;
        if count > 0 {
            assert_eq!(monitor.record(at, count), Recorded::Added);
        }
        // The tick just after the minute ends.
        let evaluation = monitor.evaluate(minute_start(minute + 1));
        if let Some(transition) = evaluation.transition {
            run.transitions.push((evaluation.window_end, transition));
        }
        run.states.push((evaluation.window_end, evaluation.state));
    }
    run.monitor = monitor;
    run
}

fn berlin() -> HeartbeatConfig {
    HeartbeatConfig::new(TimeZone::get("Europe/Berlin").unwrap())
}

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn healthy(_: DateTime) -> f64 {
    1.0
}

/// Whether `local` lies in `[from, until)` local time on `date` (yyyy-mm-dd).
fn between(local: DateTime, date: &str, from: (i8, i8), until: (i8, i8)) -> bool {
    let date: jiff::civil::Date = date.parse().unwrap();
    let time = (local.hour(), local.minute());
    local.date() == date && time >= from && time < until
}

#[test]
fn a_drop_at_a_busy_hour_pages_and_recovery_resolves() {
    // Four weeks from Monday 2025-05-05, then Tuesday 2025-06-03 10:00–11:00 local the event
    // rate falls to a fifth of normal.
    let run = simulate(berlin(), "2025-05-04T22:00:00Z", "2025-06-03T14:00:00Z", |local| {
        if between(local, "2025-06-03", (10, 0), (11, 0)) { 0.2 } else { 1.0 }
    });
    let onset = at("2025-06-03T08:00:00Z");
    let recovery = at("2025-06-03T09:00:00Z");
    assert_eq!(run.transitions.len(), 2, "{:?}", run.transitions);
    let (opened, HeartbeatTransition::Dropped) = run.transitions[0] else { panic!("{:?}", run.transitions) };
    let (resolved, HeartbeatTransition::Recovered) = run.transitions[1] else { panic!("{:?}", run.transitions) };
    assert!(opened > onset && opened <= onset + jiff::SignedDuration::from_mins(15), "paged at {opened}");
    assert!(resolved > recovery && resolved <= recovery + jiff::SignedDuration::from_mins(15), "resolved at {resolved}");
    let (_, last) = run.states.last().unwrap();
    assert_eq!(*last, HeartbeatState::Ok);
}

#[test]
fn the_same_silence_at_a_quiet_hour_does_not_page() {
    // Forty-five minutes without a single event: on Sunday at 03:00 local (usually one event
    // a minute) the monitor expects too few events to judge; on a Tuesday at 10:00 it pages.
    let silent_sunday = simulate(berlin(), "2025-05-04T22:00:00Z", "2025-06-08T05:00:00Z", |local| {
        if between(local, "2025-06-08", (3, 0), (3, 45)) { 0.0 } else { 1.0 }
    });
    assert!(silent_sunday.transitions.is_empty(), "{:?}", silent_sunday.transitions);
    let state_at = |run: &Run, when: &str| run.states.iter().find(|(at, _)| *at == at_local(when)).map(|(_, state)| *state);
    assert_eq!(state_at(&silent_sunday, "2025-06-08T03:40"), Some(HeartbeatState::Quiet));
    assert_eq!(state_at(&silent_sunday, "2025-06-08T04:30"), Some(HeartbeatState::Ok));
    let silent_tuesday = simulate(berlin(), "2025-05-04T22:00:00Z", "2025-06-10T12:00:00Z", |local| {
        if between(local, "2025-06-10", (10, 0), (10, 45)) { 0.0 } else { 1.0 }
    });
    assert_eq!(silent_tuesday.transitions.len(), 2, "{:?}", silent_tuesday.transitions);
    assert_eq!(silent_tuesday.transitions[0].1, HeartbeatTransition::Dropped);
    assert!(silent_tuesday.transitions[0].0 <= at_local("2025-06-10T10:10"), "{:?}", silent_tuesday.transitions);
}

/// A Berlin wall-clock time.
fn at_local(text: &str) -> Timestamp {
    format!("{text}[Europe/Berlin]").parse::<jiff::Zoned>().unwrap().timestamp()
}

#[test]
fn learning_never_pages() {
    // Three weeks of history with a full day of silence in the middle: with three weeks
    // required nothing can be judged before the fourth week, so nothing pages.
    let run = simulate(berlin(), "2025-05-04T22:00:00Z", "2025-05-25T22:00:00Z", |local| {
        if local.date() == "2025-05-14".parse::<jiff::civil::Date>().unwrap() { 0.0 } else { 1.0 }
    });
    assert!(run.transitions.is_empty(), "{:?}", run.transitions);
    assert!(run.states.iter().all(|(_, state)| *state == HeartbeatState::Learning));
    // One more week and the monitor judges (and, the pattern being intact, finds all well).
    let mut monitor = run.monitor;
    let evaluation = monitor.evaluate(at("2025-05-26T08:00:00Z"));
    assert_eq!(evaluation.state, HeartbeatState::Dropped, "silence after three weeks of history is a drop");
    assert!(evaluation.expected.unwrap() > 1000.0, "{evaluation:?}");
}

#[test]
fn weeks_across_clock_changes_page_nobody_and_still_catch_a_drop() {
    // Berlin springs forward on Sunday 2025-03-30 and falls back on Sunday 2025-10-26. Four
    // weeks of history before each, then the week of the change: the pattern follows the
    // wall clock, so nothing may page; a drop on the Monday after still does.
    for (from, change_sunday, monday) in
        [("2025-03-02T23:00:00Z", "2025-03-30", "2025-03-31"), ("2025-09-28T22:00:00Z", "2025-10-26", "2025-10-27")]
    {
        let until = at_local(&format!("{monday}T16:00"));
        let run = simulate(
            berlin(),
            from,
            &until.to_string(),
            |local| {
                if between(local, monday, (14, 0), (15, 0)) { 0.1 } else { 1.0 }
            },
        );
        let drop_start = at_local(&format!("{monday}T14:00"));
        assert_eq!(run.transitions.len(), 2, "{change_sunday}: {:?}", run.transitions);
        let (opened, HeartbeatTransition::Dropped) = run.transitions[0] else { panic!("{:?}", run.transitions) };
        assert!(opened > drop_start && opened <= drop_start + jiff::SignedDuration::from_mins(15), "{opened}");
        let change_day = run.states.iter().filter(|(when, _)| {
            run.monitor.config().zone.to_datetime(*when).date() == change_sunday.parse::<jiff::civil::Date>().unwrap()
        });
        assert!(change_day.clone().all(|(_, state)| matches!(state, HeartbeatState::Ok | HeartbeatState::Quiet)));
        assert!(change_day.count() >= 23 * 60, "the change day was evaluated every minute");
    }
}

#[test]
fn the_repeated_autumn_hour_is_a_two_hour_slot_at_its_usual_rate() {
    let config = berlin();
    let zone = config.zone.clone();
    let run = simulate(config, "2025-10-25T22:00:00Z", "2025-10-26T05:00:00Z", healthy);
    let fold = HourSlot { date: "2025-10-26".parse().unwrap(), hour: 2 };
    let rate = run.monitor.history().rate(fold).unwrap();
    assert!((rate - usual_rate(zone.to_datetime(at("2025-10-26T01:30:00Z")))).abs() < 2.0, "{rate}");
}

#[test]
fn expected_events_lean_towards_a_quieter_neighbour_only() {
    let mut monitor =
        HeartbeatMonitor::new(HeartbeatConfig { min_history_weeks: 1, history_weeks: 1, ..HeartbeatConfig::new(TimeZone::UTC) });
    let start = minute_of(at("2025-06-02T07:00:00Z"));
    // Monday 08:00 brought 60 a minute and 09:00 brought 120 a minute.
    monitor.record(minute_start(start + 60), 60 * 60);
    monitor.record(minute_start(start + 120), 120 * 60);
    let week = 7 * 24 * 60;
    monitor.evaluate(minute_start(start + week));
    let centre_of_eight = start + week + 60 + 30;
    assert!((monitor.expected(centre_of_eight, centre_of_eight + 1).unwrap() - 60.0).abs() < 1.0);
    let top_of_nine = start + week + 120;
    let around_nine = monitor.expected(top_of_nine - 1, top_of_nine + 1).unwrap();
    // 08:59 keeps its own 60 (the busier 09:00 does not raise it); 09:00 is half way down to 08:00's.
    assert!((around_nine - (60.0 + 90.5)).abs() < 0.5, "{around_nine}");
}
