//! SLO evaluation on simulated traffic, minute by minute, with an injected clock.
//!
//! Each scenario runs a month of healthy traffic first (so every window, up to the 30-day
//! period, is full), then the event under test, and records every alert transition.

use staunch_domain::Timestamp;
use staunch_domain::slo::{
    AlertTransition, AlertWindows, Evaluator, EvaluatorConfig, FiringLevel, Objective, SloPeriod, SloState,
};

const MINUTES_PER_DAY: u64 = 1_440;
const REQUESTS_PER_MINUTE: u64 = 1_000;
const WARM_UP_MINUTES: u64 = 30 * MINUTES_PER_DAY;

fn at_minute(minute: u64) -> Timestamp {
    // 2026-01-01T00:00:00Z plus the minute; any fixed origin works.
    Timestamp::from_second(1_767_225_600 + (minute * 60) as i64).unwrap()
}

fn evaluator(objective: f64) -> Evaluator {
    let objective = Objective::from_percent(objective).unwrap();
    Evaluator::new(EvaluatorConfig::new(objective, AlertWindows::defaults_for(SloPeriod::Days30)))
}

/// Bad events in minute `minute` for a steady error ratio, spread without rounding drift.
fn steady_bad(minute: u64, ratio: f64) -> u64 {
    let before = (minute as f64 * REQUESTS_PER_MINUTE as f64 * ratio).floor() as u64;
    let after = ((minute + 1) as f64 * REQUESTS_PER_MINUTE as f64 * ratio).floor() as u64;
    after - before
}

/// Healthy traffic: 0.05% errors, half of a 99.9% budget.
fn healthy(minute: u64) -> u64 {
    steady_bad(minute, 0.0005)
}

/// Runs `minutes` of traffic after the warm-up; `bad_after_onset(m)` gives the bad events
/// `m` minutes after onset. Returns every transition with its minute after onset.
fn run(evaluator: &mut Evaluator, minutes: u64, mut bad_after_onset: impl FnMut(u64) -> u64) -> Vec<(u64, AlertTransition)> {
    for minute in 0..WARM_UP_MINUTES {
        evaluator.record(at_minute(minute), healthy(minute), REQUESTS_PER_MINUTE);
        let evaluation = evaluator.evaluate(at_minute(minute));
        for transition in evaluation.transitions {
            assert_eq!(transition, AlertTransition::BecameKnown, "healthy traffic at minute {minute} caused {transition:?}");
        }
    }
    let mut transitions = Vec::new();
    for offset in 0..minutes {
        let minute = WARM_UP_MINUTES + offset;
        evaluator.record(at_minute(minute), bad_after_onset(offset), REQUESTS_PER_MINUTE);
        // Rules are evaluated at the end of each minute, as a Prometheus on a 1m interval would.
        let evaluation = evaluator.evaluate(at_minute(minute));
        transitions.extend(evaluation.transitions.into_iter().map(|transition| (offset, transition)));
    }
    transitions
}

#[test]
fn two_percent_of_the_budget_burnt_fast_pages_sev1_within_five_minutes_and_resolves() {
    let mut evaluator = evaluator(99.9);
    // The month's budget is 43,200 bad requests; the incident serves 20% errors until it has
    // spent 2% of it (864 bad requests beyond the healthy ones), then recovers.
    let incident_budget = 864;
    let mut spent = 0;
    let transitions = run(&mut evaluator, 6 * 60, |offset| {
        if spent >= incident_budget {
            return healthy(WARM_UP_MINUTES + offset);
        }
        let bad = (REQUESTS_PER_MINUTE / 5).min(incident_budget - spent);
        spent += bad;
        bad
    });
    let opened: Vec<_> = transitions.iter().filter(|(_, transition)| matches!(transition, AlertTransition::Opened(_))).collect();
    assert_eq!(opened.len(), 1, "exactly one alert: {transitions:?}");
    let (minute, transition) = opened[0];
    assert_eq!(*transition, AlertTransition::Opened(FiringLevel::Sev1Page));
    assert!(*minute < 5, "paged {minute} minutes after onset");
    let resolved = transitions.iter().find(|(_, transition)| *transition == AlertTransition::Resolved(FiringLevel::Sev1Page));
    let (resolved_minute, _) = resolved.expect("the page resolves once the burn stops");
    // The burn stops after 5 minutes (864 / 200 per minute); the 5-minute window clears it.
    assert!(*resolved_minute <= 5 + 6, "resolved {resolved_minute} minutes after onset");
}

#[test]
fn a_one_minute_total_outage_pages_nobody_at_99_5() {
    let mut evaluator = evaluator(99.5);
    let transitions = run(&mut evaluator, 3 * MINUTES_PER_DAY, |offset| {
        if offset == 0 { REQUESTS_PER_MINUTE } else { healthy(WARM_UP_MINUTES + offset) / 10 }
    });
    assert!(transitions.is_empty(), "{transitions:?}");
}

#[test]
fn at_99_9_a_one_minute_total_outage_spends_two_percent_and_pages_as_the_workbook_intends() {
    // One minute of 1,000 failures is 2.3% of a 43,200-request monthly budget, above the 2%
    // the fast page stands for. The Workbook's numbers page on it; so do Staunch's.
    let mut evaluator = evaluator(99.9);
    let transitions = run(&mut evaluator, 60, |offset| if offset == 0 { REQUESTS_PER_MINUTE } else { 0 });
    assert_eq!(transitions.first(), Some(&(0, AlertTransition::Opened(FiringLevel::Sev1Page))), "{transitions:?}");
}

#[test]
fn a_slow_leak_at_one_point_two_times_the_budget_opens_a_ticket_within_three_days() {
    let mut evaluator = evaluator(99.9);
    let leak_ratio = 1.2 * 0.001;
    let transitions = run(&mut evaluator, 4 * MINUTES_PER_DAY, |offset| steady_bad(offset, leak_ratio));
    let first = transitions.first().expect("the leak is noticed");
    assert_eq!(first.1, AlertTransition::Opened(FiringLevel::Ticket), "{transitions:?}");
    assert!(first.0 < 3 * MINUTES_PER_DAY, "ticket after {} minutes", first.0);
    assert!(
        transitions
            .iter()
            .all(|(_, transition)| !matches!(transition, AlertTransition::Opened(FiringLevel::Sev1Page | FiringLevel::Sev2Page))),
        "a slow leak pages nobody: {transitions:?}"
    );
}

#[test]
fn an_unreadable_source_is_unknown_never_ok_and_holds_open_alerts() {
    let mut evaluator = evaluator(99.9);
    let transitions = run(&mut evaluator, 3, |_| REQUESTS_PER_MINUTE);
    assert!(transitions.contains(&(0, AlertTransition::Opened(FiringLevel::Sev1Page))));
    let outage_start = WARM_UP_MINUTES + 3;
    evaluator.read_failed();
    let evaluation = evaluator.evaluate(at_minute(outage_start));
    assert_eq!(evaluation.state, SloState::Unknown);
    assert_eq!(evaluation.transitions, vec![AlertTransition::BecameUnknown]);
    // An hour without readings: still unknown, nothing resolves, nothing new opens.
    for minute in outage_start + 1..outage_start + 60 {
        let evaluation = evaluator.evaluate(at_minute(minute));
        assert_eq!(evaluation.state, SloState::Unknown);
        assert!(evaluation.transitions.is_empty(), "{:?}", evaluation.transitions);
    }
    // Readings return, healthy: known again, and the page resolves. (The three minutes of
    // outage still weigh on the 3-day window, so a ticket is fair.)
    let back = outage_start + 60;
    evaluator.record(at_minute(back), 0, REQUESTS_PER_MINUTE);
    let evaluation = evaluator.evaluate(at_minute(back));
    assert!(matches!(evaluation.state, SloState::Ok | SloState::Firing(FiringLevel::Ticket)), "{:?}", evaluation.state);
    assert!(evaluation.transitions.contains(&AlertTransition::BecameKnown));
    assert!(evaluation.transitions.contains(&AlertTransition::Resolved(FiringLevel::Sev1Page)));
}

#[test]
fn a_source_never_read_is_unknown() {
    let mut evaluator = evaluator(99.9);
    assert_eq!(evaluator.evaluate(at_minute(0)).state, SloState::Unknown);
    // Stale readings also make it unknown, after five minutes without one.
    evaluator.record(at_minute(1), 0, 10);
    assert_eq!(evaluator.evaluate(at_minute(2)).state, SloState::Ok);
    assert_eq!(evaluator.evaluate(at_minute(7)).state, SloState::Unknown);
}

#[test]
fn low_traffic_does_not_page_on_a_handful_of_failures() {
    let objective = Objective::from_percent(99.9).unwrap();
    let mut evaluator = Evaluator::new(EvaluatorConfig::new(objective, AlertWindows::defaults_for(SloPeriod::Days30)));
    // One request every ten minutes, three of the last six failing: 50% errors, 6 events.
    let mut opened = Vec::new();
    for minute in (0..WARM_UP_MINUTES + 60).step_by(10) {
        let bad = u64::from(minute >= WARM_UP_MINUTES && minute % 20 == 0);
        evaluator.record(at_minute(minute), bad, 1);
        for transition in evaluator.evaluate(at_minute(minute)).transitions {
            if let AlertTransition::Opened(level) = transition {
                opened.push((minute, level));
            }
        }
    }
    // A ticket may open (the day's error ratio is real), but nobody is woken: the page
    // rules' long windows (1h, 6h) hold 6 and 36 events, under the 100-event minimum.
    assert!(opened.iter().all(|(_, level)| level.severity() != staunch_domain::slo::Severity::Page), "{opened:?}");
}

#[test]
fn budget_remaining_and_burn_rates_are_reported() {
    let mut evaluator = evaluator(99.9);
    for minute in 0..120 {
        evaluator.record(at_minute(minute), 2, REQUESTS_PER_MINUTE);
    }
    let evaluation = evaluator.evaluate(at_minute(119));
    // 0.2% errors against a 0.1% budget: burning twice as fast as allowed.
    for (window, burn) in &evaluation.burn_rates {
        assert!((burn.unwrap() - 2.0).abs() < 1e-9, "{window}: {burn:?}");
    }
    assert!((evaluation.budget_remaining.unwrap() - (-1.0)).abs() < 1e-9);
}
