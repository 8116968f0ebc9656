//! The Google SRE Workbook's burn-rate table, and Sloth's 28- and 7-day variants, reproduced
//! from Staunch's window definitions: the same budget shares per window, and burn factors
//! equal to the floats Sloth prints (bit for bit). The table lives outside the repository
//! (`../shared/data/burn-rate-reference`); without it the test says so and passes.

use staunch_domain::duration::HumanDuration;
use staunch_domain::slo::{AlertWindows, BurnWindow, SloPeriod};

fn reference_table() -> Option<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/burn-rate-reference/burn_rate_windows.csv");
    match std::fs::read_to_string(path) {
        Ok(text) => Some(text),
        Err(_) => {
            println!("skipped: ../shared/data/burn-rate-reference absent");
            None
        }
    }
}

fn find<'a>(windows: &'a AlertWindows, severity: &str, long: HumanDuration, short: HumanDuration) -> Option<&'a BurnWindow> {
    let candidates = match severity {
        "page" => [&windows.page_quick, &windows.page_slow],
        _ => [&windows.ticket_quick, &windows.ticket_slow],
    };
    candidates.into_iter().find(|window| window.long == long && window.short == short)
}

#[test]
fn the_reference_table_is_reproduced() {
    let Some(table) = reference_table() else { return };
    let mut checked = 0;
    for line in table.lines().skip(1).filter(|line| !line.trim().is_empty()) {
        let columns: Vec<&str> = line.split(',').collect();
        let [source, period, severity, budget_percent, long, short, factor, _for, printed] = columns[..] else {
            panic!("unexpected row {line:?}");
        };
        // Pyrra scales its windows with the period instead; it is listed for comparison only.
        if source.starts_with("pyrra") {
            continue;
        }
        let period = SloPeriod::parse(period).unwrap();
        let windows = AlertWindows::defaults_for(period);
        let long = HumanDuration::parse(long).unwrap();
        let short = HumanDuration::parse(short).unwrap();
        let window =
            find(&windows, severity, long, short).unwrap_or_else(|| panic!("no {severity} window {long}/{short}: {line}"));
        assert_eq!(window.error_budget_percent, budget_percent.parse::<f64>().unwrap(), "{line}");
        let computed = windows.burn_rate_factor(window);
        let rounded: f64 = factor.parse().unwrap();
        assert!((computed - rounded).abs() < 1e-4, "{line}: computed {computed}");
        if !printed.is_empty() {
            assert_eq!(computed, printed.parse::<f64>().unwrap(), "{line}: Sloth prints {printed}, computed {computed:?}");
        }
        checked += 1;
    }
    assert_eq!(checked, 15, "every Workbook and Sloth row is checked");
}
