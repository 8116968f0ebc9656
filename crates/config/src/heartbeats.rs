//! The `heartbeats:` section of `staunch.yaml`: outcome monitors, each watching the rate of
//! one business event (messages sent, checkouts completed) pushed to the API, against what the
//! same weekday and local hour usually bring. Each organisation has its own list; every
//! problem names its field.

use std::collections::BTreeSet;

use serde::Deserialize;
use staunch_domain::duration::HumanDuration;
use staunch_domain::heartbeat::HeartbeatConfig;
use staunch_domain::schedule::ScheduleTimeZone;
use staunch_domain::severity::Severity;

use crate::slos::{LabelMap, valid_id};

/// One checked heartbeat monitor.
#[derive(Debug, Clone, PartialEq)]
pub struct HeartbeatDefinition {
    pub id: String,
    pub name: String,
    /// The service whose escalation policy a drop pages.
    pub service_id: String,
    /// The business event counted, e.g. `message.sent`.
    pub event: String,
    /// The IANA name of `monitor.zone`.
    pub time_zone: String,
    pub monitor: HeartbeatConfig,
    pub severity: Severity,
    pub labels: LabelMap,
}

impl HeartbeatDefinition {
    /// The key its per-minute counts are stored under, beside SLO buckets. SLO ids cannot
    /// contain ':', so the two never meet.
    pub fn bucket_key(&self) -> String {
        format!("heartbeat:{}", self.id)
    }

    /// How far back history reaches: the weeks looked back over, plus a day for the hours
    /// the window and its neighbours touch.
    pub fn history_span(&self) -> jiff::SignedDuration {
        jiff::SignedDuration::from_hours(24 * (7 * i64::from(self.monitor.history_weeks) + 1))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawHeartbeat {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    service: Option<String>,
    #[serde(default)]
    event: Option<String>,
    #[serde(default)]
    time_zone: Option<String>,
    #[serde(default)]
    window: Option<HumanDuration>,
    #[serde(default)]
    threshold: Option<f64>,
    #[serde(default)]
    resolve_threshold: Option<f64>,
    #[serde(default)]
    history_weeks: Option<u32>,
    #[serde(default)]
    min_history_weeks: Option<u32>,
    #[serde(default)]
    min_expected: Option<f64>,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default)]
    labels: LabelMap,
}

/// Checks `raw` heartbeats against the organisation's services; pushes every problem.
pub(crate) fn build_heartbeats(
    raw: Vec<RawHeartbeat>,
    service_ids: &BTreeSet<String>,
    problems: &mut Vec<String>,
) -> Vec<HeartbeatDefinition> {
    let mut heartbeats = Vec::new();
    let mut seen = BTreeSet::new();
    for (index, raw_heartbeat) in raw.into_iter().enumerate() {
        if !valid_id(&raw_heartbeat.id) {
            problems.push(format!(
                "heartbeats[{index}].id: {:?} must be letters, digits, '-', '_' or '.', starting with a letter or digit",
                raw_heartbeat.id
            ));
            continue;
        }
        if !seen.insert(raw_heartbeat.id.clone()) {
            problems.push(format!("heartbeats[{index}].id: duplicate heartbeat id {:?}", raw_heartbeat.id));
            continue;
        }
        if let Some(heartbeat) = build_heartbeat(raw_heartbeat, service_ids, problems) {
            heartbeats.push(heartbeat);
        }
    }
    heartbeats
}

fn build_heartbeat(raw: RawHeartbeat, service_ids: &BTreeSet<String>, problems: &mut Vec<String>) -> Option<HeartbeatDefinition> {
    let field = format!("heartbeats.{}", raw.id);
    let before = problems.len();
    let service_id = match raw.service {
        None => {
            problems.push(format!("{field}.service: missing: a drop pages this service's escalation policy"));
            String::new()
        }
        Some(service) if !service_ids.contains(&service) => {
            problems.push(format!("{field}.service: unknown service {service:?}"));
            service
        }
        Some(service) => service,
    };
    let event = match raw.event {
        Some(event) if !event.trim().is_empty() => event,
        _ => {
            problems.push(format!("{field}.event: missing: the business event counted, e.g. message.sent"));
            String::new()
        }
    };
    let time_zone = raw.time_zone.unwrap_or_else(|| "UTC".to_string());
    let zone = ScheduleTimeZone::new(time_zone.clone()).zone().cloned();
    if zone.is_none() {
        problems.push(format!("{field}.time_zone: unknown time zone {time_zone:?}, expected an IANA name such as Europe/Berlin"));
    }
    let mut monitor = HeartbeatConfig::new(zone.clone().unwrap_or(jiff::tz::TimeZone::UTC));
    if let Some(window) = raw.window {
        let millis = window.as_millis();
        if millis % 60_000 != 0 || !(60_000..=6 * 3_600_000).contains(&millis) {
            problems.push(format!("{field}.window: {window} must be whole minutes from 1m to 6h"));
        }
        monitor.window_minutes = (millis / 60_000) as u32;
    }
    if let Some(threshold) = raw.threshold {
        if !(threshold > 0.0 && threshold < 1.0) {
            problems
                .push(format!("{field}.threshold: {threshold} must be a ratio above 0 and below 1, e.g. 0.5 for half of normal"));
        }
        monitor.threshold = threshold;
        // Resolve half way back to normal unless told otherwise.
        monitor.resolve_threshold = threshold + (1.0 - threshold) / 2.0;
    }
    if let Some(resolve_threshold) = raw.resolve_threshold {
        if !(resolve_threshold >= monitor.threshold && resolve_threshold <= 1.0) {
            problems.push(format!(
                "{field}.resolve_threshold: {resolve_threshold} must be at least threshold ({}) and at most 1",
                monitor.threshold
            ));
        }
        monitor.resolve_threshold = resolve_threshold;
    }
    if let Some(weeks) = raw.history_weeks {
        if !(1..=12).contains(&weeks) {
            problems.push(format!("{field}.history_weeks: {weeks} must be from 1 to 12"));
        }
        monitor.history_weeks = weeks;
        monitor.min_history_weeks = monitor.min_history_weeks.min(weeks);
    }
    if let Some(weeks) = raw.min_history_weeks {
        if weeks < 1 || weeks > monitor.history_weeks {
            problems
                .push(format!("{field}.min_history_weeks: {weeks} must be from 1 to history_weeks ({})", monitor.history_weeks));
        }
        monitor.min_history_weeks = weeks;
    }
    if let Some(min_expected) = raw.min_expected {
        if !(min_expected.is_finite() && min_expected >= 0.0) {
            problems.push(format!("{field}.min_expected: {min_expected} must be a number of events, 0 or more"));
        }
        monitor.min_expected = min_expected;
    }
    let severity = match raw.severity.as_deref() {
        None => Severity::Sev2,
        Some(text) => Severity::parse(text).unwrap_or_else(|| {
            problems.push(format!("{field}.severity: {text:?} must be sev1, sev2 or sev3"));
            Severity::Sev2
        }),
    };
    if problems.len() > before {
        return None;
    }
    Some(HeartbeatDefinition {
        name: raw.name.unwrap_or_else(|| raw.id.clone()),
        id: raw.id,
        service_id,
        event,
        time_zone,
        monitor,
        severity,
        labels: raw.labels,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(yaml: &str) -> Result<Vec<HeartbeatDefinition>, Vec<String>> {
        let raw: Vec<RawHeartbeat> = serde_saphyr::from_str(yaml).map_err(|error| vec![error.to_string()])?;
        let services: BTreeSet<String> = ["messaging".to_string()].into();
        let mut problems = Vec::new();
        let heartbeats = build_heartbeats(raw, &services, &mut problems);
        if problems.is_empty() { Ok(heartbeats) } else { Err(problems) }
    }

    #[test]
    fn defaults_and_overrides() {
        let heartbeat = check("- {id: messages-sent, service: messaging, event: message.sent}").unwrap().remove(0);
        let utc = ScheduleTimeZone::new("UTC").zone().cloned().unwrap();
        assert_eq!(heartbeat.monitor, HeartbeatConfig::new(utc));
        assert_eq!((heartbeat.severity, heartbeat.time_zone.as_str()), (Severity::Sev2, "UTC"));
        assert_eq!(heartbeat.bucket_key(), "heartbeat:messages-sent");
        let yaml = "- {id: checkouts, service: messaging, event: checkout.completed, time_zone: Europe/Berlin, window: 30m, \
                    threshold: 0.6, history_weeks: 6, min_history_weeks: 2, min_expected: 50, severity: sev1}";
        let heartbeat = check(yaml).unwrap().remove(0);
        assert_eq!(heartbeat.monitor.window_minutes, 30);
        assert!((heartbeat.monitor.resolve_threshold - 0.8).abs() < 1e-12, "half way back to normal");
        assert_eq!((heartbeat.monitor.history_weeks, heartbeat.monitor.min_history_weeks), (6, 2));
        assert_eq!(heartbeat.monitor.zone.iana_name(), Some("Europe/Berlin"));
        assert_eq!(heartbeat.severity, Severity::Sev1);
    }

    #[test]
    fn bad_heartbeats_name_the_field() {
        let cases = [
            ("- {id: a, service: messaging}", "heartbeats.a.event: missing"),
            ("- {id: a, event: e}", "heartbeats.a.service: missing"),
            ("- {id: a, service: nope, event: e}", "heartbeats.a.service: unknown service \"nope\""),
            ("- {id: a, service: messaging, event: e, time_zone: Mars/Olympus}", "heartbeats.a.time_zone: unknown time zone"),
            ("- {id: a, service: messaging, event: e, window: 90s}", "heartbeats.a.window: 1m30s must be whole minutes"),
            ("- {id: a, service: messaging, event: e, window: 1d}", "heartbeats.a.window: 1d must be whole minutes"),
            ("- {id: a, service: messaging, event: e, threshold: 1.5}", "heartbeats.a.threshold: 1.5 must be a ratio"),
            ("- {id: a, service: messaging, event: e, threshold: 0.5, resolve_threshold: 0.4}", "heartbeats.a.resolve_threshold"),
            ("- {id: a, service: messaging, event: e, history_weeks: 0}", "heartbeats.a.history_weeks: 0 must be from 1 to 12"),
            ("- {id: a, service: messaging, event: e, min_history_weeks: 5}", "heartbeats.a.min_history_weeks: 5 must be from 1"),
            ("- {id: a, service: messaging, event: e, min_expected: -1}", "heartbeats.a.min_expected"),
            ("- {id: a, service: messaging, event: e, severity: sev9}", "heartbeats.a.severity: \"sev9\" must be sev1"),
            ("- {id: 'a:b', service: messaging, event: e}", "heartbeats[0].id"),
            ("- {id: a, service: messaging, event: e}\n- {id: a, service: messaging, event: e}", "heartbeats[1].id: duplicate"),
        ];
        for (yaml, expected) in cases {
            let problems = check(yaml).unwrap_err();
            assert!(problems.iter().any(|problem| problem.starts_with(expected)), "{yaml}\n{problems:#?}");
        }
    }
}
