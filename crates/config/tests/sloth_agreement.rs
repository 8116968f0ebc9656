//! Staunch's own evaluator decides what the generated Prometheus alert rules would decide.
//!
//! The page and ticket expressions `staunch slo rules` writes are read back (window, burn
//! factor and error budget of each of their four conditions), evaluated over a synthetic
//! per-minute series with prefix sums (an independent oracle), and compared minute by minute
//! with `staunch_domain::slo::Evaluator` on the same series. The minimum-event guard is off
//! here because the Prometheus rules have none.

use staunch_config::sloth::{RulesOptions, generate_rules};
use staunch_domain::Timestamp;
use staunch_domain::duration::HumanDuration;
use staunch_domain::slo::{AlertWindows, Evaluator, EvaluatorConfig, FiringLevel, Objective, SloPeriod, SloState};

const SPEC: &str = r#"version: prometheus/v1
service: shop
slos:
  - name: checkout
    objective: 99.9
    sli:
      events:
        error_query: sum(rate(checkout_errors_total[{{.window}}]))
        total_query: sum(rate(checkout_total[{{.window}}]))
    alerting:
      name: CheckoutBurn
"#;

/// One `max(<sli window> > (factor * budget))` condition of an alert expression.
#[derive(Debug)]
struct Condition {
    window_minutes: usize,
    threshold: f64,
}

/// `(a and b) or (c and d)`, as the generated alert expresses it.
#[derive(Debug)]
struct AlertExpression {
    severity: String,
    pairs: Vec<(Condition, Condition)>,
}

fn parse_condition(line: &str) -> Condition {
    let after_metric = line.split("slo:sli_error:ratio_rate").nth(1).expect("an SLI recording");
    let window = &after_metric[..after_metric.find('{').unwrap()];
    let product = after_metric.split("> (").nth(1).unwrap();
    let product = &product[..product.find(')').unwrap()];
    let (factor, budget) = product.split_once(" * ").unwrap();
    Condition {
        window_minutes: (HumanDuration::parse(window).unwrap().as_millis() / 60_000) as usize,
        // Prometheus multiplies the two literals as float64, as Rust does.
        threshold: factor.parse::<f64>().unwrap() * budget.parse::<f64>().unwrap(),
    }
}

fn alert_expressions() -> Vec<AlertExpression> {
    let generated = generate_rules(SPEC, &RulesOptions::default()).unwrap();
    let documents: Vec<serde_json::Value> = serde_saphyr::from_multiple(&generated).unwrap();
    let mut expressions = Vec::new();
    for group in documents[0]["groups"].as_array().unwrap() {
        for rule in group["rules"].as_array().unwrap() {
            let Some(expr) = rule.get("expr").and_then(|expr| rule.get("alert").map(|_| expr.as_str().unwrap())) else {
                continue;
            };
            let conditions: Vec<Condition> = expr.lines().filter(|line| line.contains("max(")).map(parse_condition).collect();
            assert_eq!(conditions.len(), 4, "{expr}");
            let mut conditions = conditions.into_iter();
            let mut pair = || (conditions.next().unwrap(), conditions.next().unwrap());
            let pairs = vec![pair(), pair()];
            expressions.push(AlertExpression { severity: rule["labels"]["sloth_severity"].as_str().unwrap().to_string(), pairs });
        }
    }
    expressions
}

/// A deterministic series with quiet stretches, slow leaks and sharp incidents.
fn series(minutes: usize) -> Vec<(u64, u64)> {
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut ratio: f64 = 0.0005;
    (0..minutes)
        .map(|_| {
            // Every so often the regime changes: healthy, leaking, burning or down.
            if next() % 240 == 0 {
                ratio = [0.0002, 0.0003, 0.0005, 0.0008, 0.0015, 0.004, 0.02, 0.3][(next() % 8) as usize];
            }
            let total = 800 + next() % 400;
            let bad = ((total as f64) * ratio * (0.5 + (next() % 1000) as f64 / 1000.0)).round() as u64;
            (bad.min(total), total)
        })
        .collect()
}

#[test]
fn the_evaluator_agrees_with_the_generated_alert_rules() {
    let expressions = alert_expressions();
    assert_eq!(expressions.len(), 2, "a page and a ticket alert");
    let minutes = 6 * 1_440;
    let data = series(minutes);
    let mut bad_prefix = vec![0u64; minutes + 1];
    let mut total_prefix = vec![0u64; minutes + 1];
    for (index, (bad, total)) in data.iter().enumerate() {
        bad_prefix[index + 1] = bad_prefix[index] + bad;
        total_prefix[index + 1] = total_prefix[index] + total;
    }
    // The error ratio over the last `window` minutes ending with minute `end` (inclusive).
    let ratio = |end: usize, window: usize| {
        let start = (end + 1).saturating_sub(window);
        let bad = bad_prefix[end + 1] - bad_prefix[start];
        let total = total_prefix[end + 1] - total_prefix[start];
        bad as f64 / total as f64
    };
    let rule_fires = |expression: &AlertExpression, end: usize| {
        expression.pairs.iter().any(|(short_or_long, other)| {
            ratio(end, short_or_long.window_minutes) > short_or_long.threshold
                && ratio(end, other.window_minutes) > other.threshold
        })
    };

    let objective = Objective::from_percent(99.9).unwrap();
    let mut config = EvaluatorConfig::new(objective, AlertWindows::defaults_for(SloPeriod::Days30));
    config.min_events = 0;
    let mut evaluator = Evaluator::new(config);
    let origin = 1_767_225_600i64;
    let (mut page_minutes, mut ticket_minutes) = (0, 0);
    for (minute, (bad, total)) in data.iter().enumerate() {
        let now = Timestamp::from_second(origin + minute as i64 * 60).unwrap();
        evaluator.record(now, *bad, *total);
        let evaluation = evaluator.evaluate(now);
        assert_ne!(evaluation.state, SloState::Unknown, "readings every minute are never unknown");
        let staunch_page = evaluation.firing.iter().any(|level| matches!(level, FiringLevel::Sev1Page | FiringLevel::Sev2Page));
        let staunch_ticket = evaluation.firing.contains(&FiringLevel::Ticket);
        for expression in &expressions {
            let prometheus = rule_fires(expression, minute);
            match expression.severity.as_str() {
                "page" => {
                    assert_eq!(staunch_page, prometheus, "page at minute {minute}");
                    page_minutes += usize::from(prometheus);
                }
                _ => {
                    assert_eq!(staunch_ticket, prometheus, "ticket at minute {minute}");
                    ticket_minutes += usize::from(prometheus);
                }
            }
        }
    }
    println!("minutes paging: {page_minutes}, minutes with a ticket: {ticket_minutes} of {minutes}");
    assert!(page_minutes > 0 && ticket_minutes > 0, "the series exercises both rules");
    assert!(page_minutes < minutes && ticket_minutes < minutes, "and quiet stretches too");
}
