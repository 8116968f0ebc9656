//! `telemetry:`: how long pushed log lines, spans and metric points are kept, and how fast one
//! organisation may push them. One setting for the whole server (every organisation's
//! telemetry ages out alike), checked at load.

use serde::Deserialize;
use staunch_domain::duration::HumanDuration;
use staunch_domain::rate_limit::RateLimit;

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetrySettings {
    /// Telemetry older than this is deleted by the leader, and refused when pushed.
    pub retention: HumanDuration,
    /// Items (lines, spans, points) per second one organisation may push; unlimited when
    /// absent. Beyond it pushes are answered 429 with `Retry-After`.
    pub rate_limit: Option<RateLimit>,
}

impl Default for TelemetrySettings {
    fn default() -> Self {
        TelemetrySettings { retention: HumanDuration::from_secs(7 * 86_400), rate_limit: None }
    }
}

/// Shorter and an incident's "before" window could already be gone when it is investigated;
/// longer and the tables grow past what a window read needs.
const MIN_RETENTION_MS: u64 = 3_600_000;
const MAX_RETENTION_MS: u64 = 90 * 86_400_000;

impl TelemetrySettings {
    pub(crate) fn check(&self, problems: &mut Vec<String>) {
        if !(MIN_RETENTION_MS..=MAX_RETENTION_MS).contains(&self.retention.as_millis()) {
            problems.push(format!("telemetry.retention: {} must be between 1h and 90d", self.retention));
        }
        if let Some(limit) = &self.rate_limit
            && let Err(error) = limit.check()
        {
            problems.push(format!("telemetry.rate_limit: {error}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::parse_config;

    #[test]
    fn retention_defaults_to_a_week_and_is_checked() {
        let config = parse_config("{}", "test").unwrap();
        assert_eq!(config.telemetry.retention.to_string(), "1w");
        let cases = [
            ("telemetry: {retention: 2d}", Ok("2d")),
            ("telemetry: {retention: 1h}", Ok("1h")),
            ("telemetry: {retention: 90d}", Ok("12w6d")),
            ("telemetry: {retention: 59m}", Err("test: telemetry.retention: 59m must be between 1h and 90d")),
            ("telemetry: {retention: 91d}", Err("test: telemetry.retention: 13w must be between 1h and 90d")),
        ];
        for (text, expected) in cases {
            let got = parse_config(text, "test")
                .map(|config| config.telemetry.retention.to_string())
                .map_err(|error| error.to_string());
            assert_eq!(got.as_deref().map_err(String::as_str), expected, "{text}");
        }
        let limited = parse_config("telemetry: {rate_limit: {per_second: 100, burst: 1000}}", "test").unwrap();
        assert_eq!(limited.telemetry.rate_limit.map(|limit| (limit.per_second, limit.burst)), Some((100.0, 1000.0)));
        let bad_limit = parse_config("telemetry: {rate_limit: {per_second: 0, burst: 10}}", "test").unwrap_err().to_string();
        assert_eq!(bad_limit, "test: telemetry.rate_limit: per_second must be a positive number, not 0");
        let unknown = parse_config("telemetry: {keep: 2d}", "test").unwrap_err().to_string();
        assert!(unknown.contains("keep"), "{unknown}");
    }
}
