//! The definition of an SLO's target: the objective (a percentage strictly between 0 and
//! 100) and the rolling period it is measured over (30 days by default, 28 or 7 days, or a
//! custom span). Both are parsed once into types that cannot hold a bad value.

use crate::duration::HumanDuration;

/// An objective in percent, e.g. 99.9 for "99.9% of events are good".
///
/// Exactly 100 is refused: it leaves no error budget, so every burn rate would be infinite.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Objective(f64);

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ObjectiveError {
    #[error("objective must be a number strictly between 0 and 100, got {0}")]
    OutOfRange(f64),
}

impl Objective {
    pub fn from_percent(percent: f64) -> Result<Objective, ObjectiveError> {
        if !percent.is_finite() || percent <= 0.0 || percent >= 100.0 {
            return Err(ObjectiveError::OutOfRange(percent));
        }
        Ok(Objective(percent))
    }

    pub fn percent(self) -> f64 {
        self.0
    }

    /// The objective as a ratio, e.g. 0.999.
    pub fn ratio(self) -> f64 {
        self.0 / 100.0
    }

    /// The share of events allowed to be bad over the period, e.g. 0.001 for 99.9%.
    ///
    /// Computed as `(100 - objective) / 100`, the way Sloth does, so thresholds compare equal
    /// to the ones written into generated Prometheus rules.
    pub fn error_budget_ratio(self) -> f64 {
        (100.0 - self.0) / 100.0
    }
}

/// The rolling window an SLO is measured over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SloPeriod {
    #[default]
    Days30,
    Days28,
    Days7,
    Custom(HumanDuration),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SloPeriodError {
    #[error("invalid slo period {text:?}: expected a duration such as 30d, 28d or 7d")]
    Unparsable { text: String },
    #[error("invalid slo period {text:?}: must be at least one hour")]
    TooShort { text: String },
}

impl SloPeriod {
    pub fn parse(text: &str) -> Result<SloPeriod, SloPeriodError> {
        let duration = HumanDuration::parse(text).map_err(|_| SloPeriodError::Unparsable { text: text.to_string() })?;
        Self::from_duration(duration).map_err(|_| SloPeriodError::TooShort { text: text.to_string() })
    }

    pub fn from_duration(duration: HumanDuration) -> Result<SloPeriod, SloPeriodError> {
        const DAY_MS: u64 = 86_400_000;
        if duration.as_millis() < 3_600_000 {
            return Err(SloPeriodError::TooShort { text: duration.to_string() });
        }
        Ok(match duration.as_millis() {
            millis if millis == 30 * DAY_MS => SloPeriod::Days30,
            millis if millis == 28 * DAY_MS => SloPeriod::Days28,
            millis if millis == 7 * DAY_MS => SloPeriod::Days7,
            _ => SloPeriod::Custom(duration),
        })
    }

    pub fn duration(self) -> HumanDuration {
        const DAY_SECS: u64 = 86_400;
        match self {
            SloPeriod::Days30 => HumanDuration::from_secs(30 * DAY_SECS),
            SloPeriod::Days28 => HumanDuration::from_secs(28 * DAY_SECS),
            SloPeriod::Days7 => HumanDuration::from_secs(7 * DAY_SECS),
            SloPeriod::Custom(duration) => duration,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objectives_outside_the_open_interval_are_refused() {
        for bad in [0.0, -1.0, 100.0, 100.5, f64::NAN, f64::INFINITY] {
            assert!(Objective::from_percent(bad).is_err(), "{bad}");
        }
        let objective = Objective::from_percent(99.9).unwrap();
        assert!((objective.error_budget_ratio() - 0.001).abs() < 1e-12);
        assert_eq!(objective.error_budget_ratio(), 0.0009999999999999432, "same float Sloth prints");
    }

    #[test]
    fn periods_parse_to_the_named_variants() {
        assert_eq!(SloPeriod::parse("30d").unwrap(), SloPeriod::Days30);
        assert_eq!(SloPeriod::parse("4w").unwrap(), SloPeriod::Days28);
        assert_eq!(SloPeriod::parse("7d").unwrap(), SloPeriod::Days7);
        assert_eq!(SloPeriod::parse("14d").unwrap(), SloPeriod::Custom(HumanDuration::from_secs(14 * 86_400)));
        assert!(matches!(SloPeriod::parse("soon"), Err(SloPeriodError::Unparsable { .. })));
        assert!(matches!(SloPeriod::parse("5m"), Err(SloPeriodError::TooShort { .. })));
    }
}
