use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;

use super::backtest::backtest;
use super::threshold::recall_threshold;
use super::*;

/// (acted after minutes, resolved after minutes, labelled at minutes after opening, expected).
type LabelCase = (Option<i64>, Option<i64>, i64, Option<Outcome>);
/// (hour opened, kind, acted after minutes, resolved after minutes).
type RawAlert = (i64, u8, Option<i64>, Option<i64>);

fn at(hours: i64) -> Timestamp {
    Timestamp::from_second(1_700_000_000 + hours * 3600).unwrap()
}

fn features(service: &str, alertname: &str, hours: i64) -> AlertFeatures {
    AlertFeatures {
        service: service.into(),
        format: "alertmanager".into(),
        severity: "sev2".into(),
        labels: BTreeMap::from([("alertname".to_string(), alertname.to_string()), ("team".to_string(), "core".to_string())]),
        summary: format!("{alertname} on {service}"),
        at: at(hours),
    }
}

fn historical(id: i64, features: AlertFeatures, acted_after: Option<i64>, resolved_after: Option<i64>) -> HistoricalAlert {
    let opened_at = features.at;
    HistoricalAlert {
        incident_id: id,
        features,
        opened_at,
        first_human_action_at: acted_after.map(|minutes| opened_at + SignedDuration::from_mins(minutes)),
        resolved_at: resolved_after.map(|minutes| opened_at + SignedDuration::from_mins(minutes)),
    }
}

/// Every hour one alert: `DiskFlap` on `api` resolves untouched (one in `flap_matters_every`
/// gets acked), `ErrorBudgetBurn` on `checkout` is acked.
fn mixed_history(hours: i64, flap_matters_every: i64) -> Vec<HistoricalAlert> {
    (0..hours)
        .map(|hour| {
            if hour % 3 == 0 {
                historical(hour, features("checkout", "ErrorBudgetBurn", hour), Some(5), Some(60))
            } else if flap_matters_every > 0 && hour % flap_matters_every == 1 {
                historical(hour, features("api", "DiskFlap", hour), Some(10), Some(40))
            } else {
                historical(hour, features("api", "DiskFlap", hour), None, Some(4))
            }
        })
        .collect()
}

#[test]
fn labels_follow_the_facts_known_before_the_time_they_are_taken_at() {
    let cases: &[LabelCase] = &[
        (Some(5), Some(60), 120, Some(Outcome::Actionable)),
        (Some(5), None, 120, Some(Outcome::Actionable)),
        (None, Some(4), 120, Some(Outcome::Noise)),
        (None, None, 120, None),
        (Some(90), Some(4), 120, Some(Outcome::Actionable)),
        // Acted on after the label's time, resolved before: noise as far as was known then.
        (Some(90), Some(4), 60, Some(Outcome::Noise)),
        (Some(90), Some(100), 60, None),
        // Opened exactly at the label's time: not yet in history.
        (Some(5), Some(60), 0, None),
        (None, Some(60), 60, None),
    ];
    for (acted, resolved, label_at, expected) in cases {
        let alert = historical(1, features("api", "X", 0), *acted, *resolved);
        let as_of = alert.opened_at + SignedDuration::from_mins(*label_at);
        assert_eq!(label_as_of(&alert, as_of), *expected, "acted {acted:?} resolved {resolved:?} at {label_at}");
    }
}

#[test]
fn the_recall_threshold_leaves_at_most_the_allowed_share_above_it_with_margin() {
    let high: Vec<f64> = (0..12).map(|index| 0.99 - index as f64 * 0.001).collect();
    // (scores, target recall, expected threshold)
    let cases: &[(Vec<f64>, f64, f64)] = &[
        (vec![], 0.99, 1.0),
        (vec![0.2, 0.9, 0.4], 0.99, 0.9),
        (vec![0.1; 99], 0.99, 0.1),
        // 200 at 99%: two could be above at exactly 1%, but 3/200 is already over it.
        ([[0.95, 0.9].as_slice(), [0.3; 198].as_slice()].concat(), 0.99, 0.95),
        // 2,000 at 99%: ten may be above ((10 + 3·√11) / 2000 ≤ 1%), not eleven.
        ([high.as_slice(), vec![0.3; 1988].as_slice()].concat(), 0.99, high[10]),
        (vec![0.7, 0.6, 0.5, 0.4], 0.5, 0.7),
        // With a loose target the margin still leaves room.
        ([vec![0.9; 5].as_slice(), vec![0.2; 95].as_slice()].concat(), 0.8, 0.2),
    ];
    for (scores, target, expected) in cases {
        let mut scores = scores.clone();
        let threshold = recall_threshold(&mut scores, *target);
        assert_eq!(threshold, *expected, "target {target} scores {scores:?}");
        let above = scores.iter().filter(|score| **score > threshold).count();
        assert!(above as f64 <= (1.0 - target) * scores.len() as f64 + 1e-9);
    }
}

#[test]
fn the_model_scores_a_kind_by_its_history_and_an_unseen_kind_near_the_overall_rate() {
    let history = mixed_history(300, 0);
    let model = NoiseModel::fit(history.iter().map(|alert| (&alert.features, label_as_of(alert, at(10_000)).unwrap())));
    let flappy = model.probability(&features("api", "DiskFlap", 400));
    let real = model.probability(&features("checkout", "ErrorBudgetBurn", 400));
    let unseen = model.probability(&features("billing", "QueueStuck", 400));
    assert!(flappy > 0.95, "flappy {flappy}");
    assert!(real < 0.05, "real {real}");
    assert!(unseen > real && unseen < flappy, "unseen {unseen}");
    for probability in [flappy, real, unseen] {
        assert!((0.0..=1.0).contains(&probability));
    }
}

#[test]
fn nothing_is_ticketed_while_learning() {
    let policy = NoisePolicy::default();
    // 40 hours: 14 actionable, 26 noise, under the 50 of each needed.
    let history = mixed_history(40, 0);
    let triage = train(&history, at(1000), &policy);
    assert_eq!(triage.state, NoiseState::Learning { actionable: 14, noise: 26 });
    let verdict = triage.verdict(&features("api", "DiskFlap", 1001), ThresholdChoice::Fixed(0.1), &policy);
    assert!(!verdict.likely_noise);
    assert!(verdict.probability > 0.5, "still scored: {}", verdict.probability);
    assert_eq!(verdict.threshold, None);
}

#[test]
fn a_ready_model_tickets_the_flappy_kind_and_pages_the_real_one() {
    let policy = NoisePolicy::default();
    let history = mixed_history(400, 0);
    let triage = train(&history, at(1000), &policy);
    let NoiseState::Ready { threshold } = triage.state else { panic!("still learning: {:?}", triage.state) };
    assert!((policy.minimum_threshold..1.0).contains(&threshold), "threshold {threshold}");
    assert!(triage.verdict(&features("api", "DiskFlap", 1001), ThresholdChoice::Auto, &policy).likely_noise);
    assert!(!triage.verdict(&features("checkout", "ErrorBudgetBurn", 1001), ThresholdChoice::Auto, &policy).likely_noise);
    // A kind seen fewer than three times pages, whatever it scores.
    assert!(!triage.verdict(&features("billing", "QueueStuck", 1001), ThresholdChoice::Fixed(0.0), &policy).likely_noise);
}

#[test]
fn a_kind_that_sometimes_matters_keeps_paging_under_the_automatic_threshold() {
    // One DiskFlap in eight is acted on: ticketing the kind would miss far more than 1%.
    let policy = NoisePolicy::default();
    let history = mixed_history(600, 8);
    let report = backtest(&history, at(400), at(10_000), ThresholdChoice::Auto, &policy);
    assert!(report.recall_floor_held, "{report:?}");
    assert_eq!(report.actionable_ticketed, 0, "{report:?}");
}

#[test]
fn the_backtest_avoids_pages_of_pure_noise_and_misses_nothing() {
    let policy = NoisePolicy::default();
    let history = mixed_history(600, 0);
    let report = backtest(&history, at(400), at(10_000), ThresholdChoice::Auto, &policy);
    assert_eq!(report.test_actionable + report.test_noise, 200);
    assert_eq!(report.recall, 1.0);
    assert!(report.pages_avoided > 0.6, "{report:?}");
    assert!(report.recall_floor_held);
}

fn arbitrary_history() -> impl Strategy<Value = Vec<RawAlert>> {
    prop::collection::vec((0i64..2000, 0u8..6, prop::option::of(0i64..600), prop::option::of(0i64..600)), 0..250)
}

proptest! {
    /// Whatever happens at or after the split — alerts opening, acks, resolutions — the model
    /// trained at the split is the same.
    #[test]
    fn training_reads_nothing_at_or_after_the_split(
        base in arbitrary_history(),
        later in arbitrary_history(),
        split_hour in 100i64..1900,
    ) {
        let split = at(split_hour);
        let build = |(index, (hour, kind, acted, resolved)): (usize, &RawAlert)| {
            let alertname = format!("Kind{kind}");
            historical(index as i64, features(if kind % 2 == 0 { "api" } else { "web" }, &alertname, *hour), *acted, *resolved)
        };
        let history: Vec<HistoricalAlert> = base.iter().enumerate().map(build).collect();
        // The same history with every fact at or after the split replaced by another story.
        let mut changed: Vec<HistoricalAlert> = history
            .iter()
            .enumerate()
            .map(|(index, alert)| {
                let (acted, resolved) = later.get(index).map(|(_, _, acted, resolved)| (*acted, *resolved)).unwrap_or_default();
                let mut alert = alert.clone();
                if alert.first_human_action_at.is_some_and(|time| time >= split) {
                    alert.first_human_action_at = acted.map(|minutes| split + SignedDuration::from_mins(minutes));
                }
                if alert.resolved_at.is_some_and(|time| time >= split) {
                    alert.resolved_at = resolved.map(|minutes| split + SignedDuration::from_mins(minutes));
                }
                alert
            })
            .collect();
        changed.extend(later.iter().enumerate().map(|(index, (hour, kind, acted, resolved))| {
            let hour = split_hour + hour.rem_euclid(500);
            build((10_000 + index, &(hour, *kind, *acted, *resolved)))
        }));
        let policy = NoisePolicy { min_actionable: 5, min_noise: 5, ..NoisePolicy::default() };
        prop_assert_eq!(train(&history, split, &policy), train(&changed, split, &policy));
    }
}
