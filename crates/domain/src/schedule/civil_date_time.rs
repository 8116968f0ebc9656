//! Layer `start` and `end` as written: a civil date-time, refusing anything that looks like an
//! instant.
//!
//! jiff's own civil parser accepts `2026-01-05T09:00+01:00` and quietly drops the offset, so an
//! instant pasted from an override would be read as a wall-clock time in the schedule's zone,
//! possibly hours away from what was meant.

use jiff::civil::DateTime;
use serde::{Deserialize, Deserializer};

pub(crate) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime, D::Error> {
    let text = String::deserialize(deserializer)?;
    parse(&text).map_err(serde::de::Error::custom)
}

pub(crate) fn deserialize_optional<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<DateTime>, D::Error> {
    let Some(text) = Option::<String>::deserialize(deserializer)? else {
        return Ok(None);
    };
    parse(&text).map(Some).map_err(serde::de::Error::custom)
}

fn parse(text: &str) -> Result<DateTime, String> {
    // The date itself contains '-', so only look for offset and zone markers after it.
    let time_part = text.find(['T', 't', ' ']).and_then(|separator| text.get(separator..)).unwrap_or("");
    if time_part.contains(['+', '-', '\u{2212}', 'Z', 'z', '[']) {
        return Err(format!(
            "{text:?} has an offset or time zone, but layer times are wall-clock times in the schedule's time_zone (write e.g. 2026-01-05T09:00)"
        ));
    }
    text.parse().map_err(|error| format!("{text:?} is not a civil date-time like 2026-01-05T09:00: {error}"))
}
