//! Wall-clock times of day as written in restrictions (`"09:00"`, `"17:30:15"`).

use jiff::civil::Time;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A time of day as configured, kept as text alongside its parsed value.
///
/// A malformed time does not fail deserialization: it parses to `None` and `Schedule::validate`
/// reports it with the schedule, layer and restriction it belongs to, which a serde error cannot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WallClockTime {
    text: String,
    time: Option<Time>,
}

impl WallClockTime {
    pub fn new(text: impl Into<String>) -> WallClockTime {
        let text = text.into();
        let time = parse_wall_clock(&text);
        WallClockTime { text, time }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// The parsed time, or `None` when the text is not `HH:MM` or `HH:MM:SS` within 00:00..=23:59:59.
    pub fn time(&self) -> Option<Time> {
        self.time
    }
}

impl Serialize for WallClockTime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for WallClockTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Ok(WallClockTime::new(text))
    }
}

fn parse_wall_clock(text: &str) -> Option<Time> {
    let mut parts = text.split(':');
    let hour = two_digits(parts.next()?)?;
    let minute = two_digits(parts.next()?)?;
    let second = match parts.next() {
        None => 0,
        Some(part) => two_digits(part)?,
    };
    if parts.next().is_some() {
        return None;
    }
    Time::new(hour, minute, second, 0).ok()
}

fn two_digits(part: &str) -> Option<i8> {
    // Exactly two digits: "9:00" and "+9:00" are more likely typos than intent.
    if part.len() != 2 || !part.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    part.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expected: Option<(i8, i8, i8)>) {
        let expected = expected.map(|(hour, minute, second)| Time::constant(hour, minute, second, 0));
        assert_eq!(WallClockTime::new(text).time(), expected, "{text:?}");
    }

    #[test]
    fn parses_hours_minutes_and_optional_seconds() {
        for (text, expected) in [
            ("09:00", Some((9, 0, 0))),
            ("00:00", Some((0, 0, 0))),
            ("23:59", Some((23, 59, 0))),
            ("17:30:15", Some((17, 30, 15))),
            ("24:00", None),
            ("12:60", None),
            ("12:00:60", None),
            ("9:00", None),
            ("09", None),
            ("09:00:00:00", None),
            ("+9:00", None),
            ("", None),
            ("noon", None),
        ] {
            check(text, expected);
        }
    }
}
