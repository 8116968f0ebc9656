//! Human durations as written in configuration files (`30s`, `5m`, `1h30m`, `2d`, `1w`).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A non-negative span of absolute time with millisecond resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct HumanDuration {
    milliseconds: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {text:?}: expected a number followed by ms, s, m, h, d or w, e.g. 5m or 1h30m")]
pub struct DurationParseError {
    pub text: String,
}

impl HumanDuration {
    pub const fn from_millis(milliseconds: u64) -> HumanDuration {
        HumanDuration { milliseconds }
    }

    pub const fn from_secs(seconds: u64) -> HumanDuration {
        HumanDuration { milliseconds: seconds * 1000 }
    }

    pub fn as_millis(self) -> u64 {
        self.milliseconds
    }

    pub fn as_std(self) -> std::time::Duration {
        std::time::Duration::from_millis(self.milliseconds)
    }

    pub fn as_span(self) -> jiff::SignedDuration {
        jiff::SignedDuration::from_millis(self.milliseconds as i64)
    }

    /// Exponential backoff: the wait before the next try after `failures` failed ones,
    /// `initial × 2^(failures−1)` and at most `max`; nothing before any failure.
    pub fn backoff(initial: HumanDuration, max: HumanDuration, failures: u32) -> HumanDuration {
        if failures == 0 {
            return HumanDuration::default();
        }
        let exponent = (failures - 1).min(30);
        HumanDuration::from_millis(initial.milliseconds.saturating_mul(1 << exponent).min(max.milliseconds))
    }

    pub fn parse(text: &str) -> Result<HumanDuration, DurationParseError> {
        let error = || DurationParseError { text: text.to_string() };
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(error());
        }
        let mut total: u64 = 0;
        let mut rest = trimmed;
        while !rest.is_empty() {
            let digits_end = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(error)?;
            if digits_end == 0 {
                return Err(error());
            }
            let number: u64 = rest[..digits_end].parse().map_err(|_| error())?;
            rest = &rest[digits_end..];
            let unit_end = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
            let unit_millis: u64 = match &rest[..unit_end] {
                "ms" => 1,
                "s" => 1_000,
                "m" => 60_000,
                "h" => 3_600_000,
                "d" => 86_400_000,
                "w" => 604_800_000,
                _ => return Err(error()),
            };
            rest = &rest[unit_end..];
            let part = number.checked_mul(unit_millis).ok_or_else(error)?;
            total = total.checked_add(part).ok_or_else(error)?;
        }
        Ok(HumanDuration { milliseconds: total })
    }
}

impl std::fmt::Display for HumanDuration {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut remaining = self.milliseconds;
        if remaining == 0 {
            return formatter.write_str("0s");
        }
        for (unit, size) in [("w", 604_800_000), ("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1_000), ("ms", 1)] {
            if remaining >= size {
                write!(formatter, "{}{unit}", remaining / size)?;
                remaining %= size;
            }
        }
        Ok(())
    }
}

impl Serialize for HumanDuration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        HumanDuration::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_compound_durations_and_renders_them_back() {
        for (text, millis, rendered) in [
            ("5m", 300_000, "5m"),
            ("1h30m", 5_400_000, "1h30m"),
            ("90s", 90_000, "1m30s"),
            ("250ms", 250, "250ms"),
            ("1w", 604_800_000, "1w"),
        ] {
            let duration = HumanDuration::parse(text).unwrap();
            assert_eq!(duration.as_millis(), millis, "{text}");
            assert_eq!(duration.to_string(), rendered, "{text}");
        }
    }

    #[test]
    fn rejects_garbage() {
        for text in ["", "m", "5", "5x", "-5m", "5m-", "99999999999999999999w"] {
            assert!(HumanDuration::parse(text).is_err(), "{text}");
        }
    }

    #[test]
    fn backoff_doubles_from_the_first_failure_and_caps() {
        let (initial, max) = (HumanDuration::from_secs(1), HumanDuration::from_secs(10));
        let seconds: Vec<u64> =
            (0..=6).map(|failures| HumanDuration::backoff(initial, max, failures).as_millis() / 1000).collect();
        assert_eq!(seconds, vec![0, 1, 2, 4, 8, 10, 10]);
        assert_eq!(
            HumanDuration::backoff(max, HumanDuration::from_secs(u64::MAX / 1000), u32::MAX),
            HumanDuration::from_secs(10 << 30)
        );
    }
}
