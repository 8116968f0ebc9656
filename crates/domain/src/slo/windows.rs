//! Multi-window multi-burn-rate alert windows.
//!
//! An alert rule fires when the error ratio over both a long and a short window exceeds
//! `factor × error budget`. The long window proves the burn is significant, the short one
//! that it is still happening (so the alert resolves soon after the burn stops). The factor
//! is derived from "this share of the period's budget spent within the long window", the
//! way the Google SRE Workbook (chapter "Alerting on SLOs") and Sloth define it.

use crate::duration::HumanDuration;

use super::objective::SloPeriod;

/// Who is bothered when a rule fires: a page wakes someone, a ticket waits for office hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    Page,
    Ticket,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Page => "page",
            Severity::Ticket => "ticket",
        }
    }
}

/// One pair of windows and the share of the period's error budget it stands for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BurnWindow {
    /// Percent of the whole period's error budget consumed within `long` (e.g. 2 for 2%).
    pub error_budget_percent: f64,
    pub short: HumanDuration,
    pub long: HumanDuration,
}

/// The four windows of an SLO: page quick and slow, ticket quick and slow.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AlertWindows {
    pub period: HumanDuration,
    pub page_quick: BurnWindow,
    pub page_slow: BurnWindow,
    pub ticket_quick: BurnWindow,
    pub ticket_slow: BurnWindow,
}

/// A rule ready to evaluate: fire when both windows burn faster than `factor`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BurnWindowRule {
    pub severity: Severity,
    pub short: HumanDuration,
    pub long: HumanDuration,
    pub factor: f64,
}

const fn minutes(count: u64) -> HumanDuration {
    HumanDuration::from_secs(count * 60)
}

const fn hours(count: u64) -> HumanDuration {
    HumanDuration::from_secs(count * 3_600)
}

const fn window(error_budget_percent: f64, short: HumanDuration, long: HumanDuration) -> BurnWindow {
    BurnWindow { error_budget_percent, short, long }
}

impl AlertWindows {
    /// The Google SRE Workbook's recommendation: page at 2% of the budget in 1h (5m short
    /// window) or 5% in 6h (30m); ticket at 10% in 1d (2h) or 10% in 3d (6h).
    pub fn google(period: HumanDuration) -> AlertWindows {
        AlertWindows {
            period,
            page_quick: window(2.0, minutes(5), hours(1)),
            page_slow: window(5.0, minutes(30), hours(6)),
            ticket_quick: window(10.0, hours(2), hours(24)),
            ticket_slow: window(10.0, hours(6), hours(72)),
        }
    }

    /// The windows Staunch uses for a period unless an SLO configures its own.
    ///
    /// 30 and 28 days take the Workbook's numbers. A 7-day period spends its budget four
    /// times faster, so the same shares would page on noise; it uses larger shares (8%,
    /// 12.5%, 20%, 42%) that keep the burn factors near the 30-day ones (13.44, 3.5, 1.4,
    /// 0.98), as Sloth's 7-day catalogue does. Custom periods use the Workbook's shares.
    pub fn defaults_for(period: SloPeriod) -> AlertWindows {
        match period {
            SloPeriod::Days7 => AlertWindows {
                period: period.duration(),
                page_quick: window(8.0, minutes(5), hours(1)),
                page_slow: window(12.5, minutes(30), hours(6)),
                ticket_quick: window(20.0, hours(2), hours(24)),
                ticket_slow: window(42.0, hours(6), hours(72)),
            },
            _ => AlertWindows::google(period.duration()),
        }
    }

    /// The burn rate that spends `error_budget_percent` of the period's budget within
    /// `long`, computed in the same order of float operations as Sloth so the printed
    /// factors match its rules digit for digit.
    pub fn burn_rate_factor(&self, window: &BurnWindow) -> f64 {
        let hours_required = window.error_budget_percent * go_hours(self.period) / 100.0;
        hours_required / go_hours(window.long)
    }

    pub fn rules(&self) -> [BurnWindowRule; 4] {
        let rule = |severity, window: &BurnWindow| BurnWindowRule {
            severity,
            short: window.short,
            long: window.long,
            factor: self.burn_rate_factor(window),
        };
        [
            rule(Severity::Page, &self.page_quick),
            rule(Severity::Page, &self.page_slow),
            rule(Severity::Ticket, &self.ticket_quick),
            rule(Severity::Ticket, &self.ticket_slow),
        ]
    }

    /// Every distinct window, shortest first.
    pub fn distinct_windows(&self) -> Vec<HumanDuration> {
        let mut all: Vec<HumanDuration> = [self.page_quick, self.page_slow, self.ticket_quick, self.ticket_slow]
            .iter()
            .flat_map(|window| [window.short, window.long])
            .collect();
        all.sort();
        all.dedup();
        all
    }

    /// The longest window any rule looks at.
    pub fn longest_window(&self) -> HumanDuration {
        self.distinct_windows().last().copied().unwrap_or(self.period)
    }
}

/// Hours as Go's `time.Duration.Hours` computes them (whole hours plus the remainder), so
/// the float results are bit-identical to Sloth's.
fn go_hours(duration: HumanDuration) -> f64 {
    const HOUR_MS: u64 = 3_600_000;
    let millis = duration.as_millis();
    (millis / HOUR_MS) as f64 + (millis % HOUR_MS) as f64 / HOUR_MS as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_workbook_burn_factors_for_thirty_days() {
        let factors: Vec<f64> = AlertWindows::defaults_for(SloPeriod::Days30).rules().iter().map(|rule| rule.factor).collect();
        assert_eq!(factors, vec![14.4, 6.0, 3.0, 1.0]);
    }

    #[test]
    fn distinct_windows_are_sorted_and_unique() {
        let windows = AlertWindows::defaults_for(SloPeriod::Days30).distinct_windows();
        let rendered: Vec<String> = windows.iter().map(|window| window.to_string()).collect();
        assert_eq!(rendered, ["5m", "30m", "1h", "2h", "6h", "1d", "3d"]);
    }
}
