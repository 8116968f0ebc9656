//! Prometheus Alertmanager webhook payloads (version 4): parsing a `webhook_configs` POST body
//! into normalized [`AlertEvent`]s plus the group context Alertmanager sends with them.
//!
//! Which fields are required: everything Alertmanager has sent since payload version "4" was
//! introduced. Fields added later without a version bump are optional, so that older and newer
//! Alertmanagers both parse: `truncatedAlerts` (0.21, `max_alerts`), per-alert `fingerprint`,
//! `notification_reason` (0.32) and `routeLabels` (0.34). Any other key is an error, so a
//! misdirected payload (say, a Grafana or custom-templated body) fails loudly instead of being
//! half understood.

use crate::alert::{AlertAction, AlertEvent, AlertLink, DedupKey, DedupKeyError, SourceFormat};
use crate::ingest::error::{FieldError, IngestError};
use crate::ingest::walk::{Field, JsonObject, ProblemKind, Problems, index_path, quoted_excerpt};
use crate::labels::{Labels, alertmanager_fingerprint};
use crate::severity::Severity;
use jiff::Timestamp;
use serde_json::Value;

/// The only payload version this parser understands (Alertmanager's `webhook.Message`).
pub const SUPPORTED_VERSION: &str = "4";

/// Whether the group (or one alert) is firing or resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlertmanagerStatus {
    Firing,
    Resolved,
}

impl AlertmanagerStatus {
    pub fn parse(text: &str) -> Option<AlertmanagerStatus> {
        match text {
            "firing" => Some(AlertmanagerStatus::Firing),
            "resolved" => Some(AlertmanagerStatus::Resolved),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AlertmanagerStatus::Firing => "firing",
            AlertmanagerStatus::Resolved => "resolved",
        }
    }

    pub fn to_action(self) -> AlertAction {
        match self {
            AlertmanagerStatus::Firing => AlertAction::Trigger,
            AlertmanagerStatus::Resolved => AlertAction::Resolve,
        }
    }
}

/// One webhook POST: a notification for one alert group.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertmanagerWebhook {
    pub receiver: String,
    pub status: AlertmanagerStatus,
    /// Identifies the alert group within the sending Alertmanager (route path plus group labels).
    pub group_key: String,
    /// How many alerts of the group were left out because of the receiver's `max_alerts`.
    pub truncated_alerts: u64,
    pub group_labels: Labels,
    pub common_labels: Labels,
    pub common_annotations: Labels,
    /// Labels attached by the matching route (Alertmanager 0.34+); empty when not sent.
    pub route_labels: Labels,
    /// Why Alertmanager notified (Alertmanager 0.32+), when it says.
    pub notification_reason: Option<String>,
    pub external_url: String,
    pub alerts: Vec<AlertEvent>,
}

/// Parses an Alertmanager webhook body. Every bad field is reported, by JSON path.
pub fn parse_webhook(body: &[u8]) -> Result<AlertmanagerWebhook, IngestError> {
    let document: Value = match serde_json::from_slice(body) {
        Ok(document) => document,
        Err(error) => {
            return Err(IngestError::single("body", format!("invalid json: {error}")));
        }
    };
    let mut problems = Problems::default();
    let webhook = read_webhook(document, &mut problems);
    match webhook {
        Some(webhook) if problems.is_empty() => Ok(webhook),
        _ => Err(to_ingest_error(problems)),
    }
}

fn read_webhook(document: Value, problems: &mut Problems) -> Option<AlertmanagerWebhook> {
    let mut root = JsonObject::from_value(document, String::new(), problems)?;

    let version = root.string("version", problems).required("version", problems);
    if let Some(version) = &version
        && version != SUPPORTED_VERSION
    {
        problems.invalid(
            "version",
            format!("unsupported version {}, only \"{SUPPORTED_VERSION}\" is supported", quoted_excerpt(version)),
        );
    }
    let receiver = root.string("receiver", problems).required("receiver", problems);
    let status = read_status(&mut root, problems);
    let group_key = root.string("groupKey", problems).required("groupKey", problems);
    let truncated_alerts = root.unsigned_integer("truncatedAlerts", problems).optional().unwrap_or(0);
    let group_labels = root.string_map("groupLabels", problems).required("groupLabels", problems);
    let common_labels = root.string_map("commonLabels", problems).required("commonLabels", problems);
    let common_annotations = root.string_map("commonAnnotations", problems).required("commonAnnotations", problems);
    let route_labels = root.string_map("routeLabels", problems).optional().unwrap_or_default();
    let notification_reason = root.string("notification_reason", problems).optional();
    let external_url = root.string("externalURL", problems).required("externalURL", problems);
    let alert_values = root.array("alerts", problems).required("alerts", problems);
    root.finish(problems);

    let mut alerts = Vec::new();
    for (index, value) in alert_values.unwrap_or_default().into_iter().enumerate() {
        if let Some(alert) = read_alert(value, index_path("alerts", index), problems) {
            alerts.push(alert);
        }
    }

    Some(AlertmanagerWebhook {
        receiver: receiver?,
        status: status?,
        group_key: group_key?,
        truncated_alerts,
        group_labels: group_labels?,
        common_labels: common_labels?,
        common_annotations: common_annotations?,
        route_labels,
        notification_reason,
        external_url: external_url?,
        alerts,
    })
}

fn read_alert(value: Value, path: String, problems: &mut Problems) -> Option<AlertEvent> {
    let mut alert = JsonObject::from_value(value, path, problems)?;
    let status = read_status(&mut alert, problems);
    let labels = alert.string_map("labels", problems).required(&alert.field_path("labels"), problems);
    let annotations = alert.string_map("annotations", problems).required(&alert.field_path("annotations"), problems);
    let starts_at = read_time(&mut alert, "startsAt", TimeField::Required, problems);
    let ends_at = read_time(&mut alert, "endsAt", TimeField::Required, problems);
    let generator_url = alert.string("generatorURL", problems).required(&alert.field_path("generatorURL"), problems);
    let fingerprint = alert.non_blank_string("fingerprint", problems).optional();
    let fingerprint_path = alert.field_path("fingerprint");
    alert.finish(problems);

    let labels = labels?;
    let annotations = annotations?;
    let dedup_key = dedup_key_of(fingerprint, &labels, &fingerprint_path, problems)?;
    let summary = summary_of(&labels, &annotations, dedup_key.as_str());
    let severity = Severity::from_label(labels.get("severity").map(String::as_str));
    let links = match generator_url? {
        href if href.is_empty() => Vec::new(),
        href => vec![AlertLink { href, text: None }],
    };
    Some(AlertEvent {
        action: status?.to_action(),
        dedup_key,
        summary,
        severity,
        labels,
        annotations,
        details: Value::Null,
        links,
        images: Vec::new(),
        starts_at: starts_at?,
        ends_at: ends_at?,
        format: SourceFormat::Alertmanager,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimeField {
    Required,
    Optional,
}

/// `firing` or `resolved`, under `object`'s `status`.
pub(crate) fn read_status(object: &mut JsonObject, problems: &mut Problems) -> Option<AlertmanagerStatus> {
    let path = object.field_path("status");
    let text = object.string("status", problems).required(&path, problems)?;
    let status = AlertmanagerStatus::parse(&text);
    if status.is_none() {
        problems.invalid(path, format!("must be \"firing\" or \"resolved\", not {}", quoted_excerpt(&text)));
    }
    status
}

/// An RFC 3339 time. `Some(None)` for Go's zero time, which Alertmanager and Grafana send for
/// "no end yet", and for an optional time that is absent.
pub(crate) fn read_time(
    object: &mut JsonObject,
    key: &str,
    presence: TimeField,
    problems: &mut Problems,
) -> Option<Option<Timestamp>> {
    let path = object.field_path(key);
    let text = match (object.string(key, problems), presence) {
        (Field::Present(text), _) => text,
        (Field::Bad, _) => return None,
        (Field::Absent, TimeField::Optional) => return Some(None),
        (Field::Absent, TimeField::Required) => {
            problems.missing(path);
            return None;
        }
    };
    let Ok(timestamp) = text.parse::<Timestamp>() else {
        problems.invalid(path, format!("must be an rfc 3339 timestamp, not {}", quoted_excerpt(&text)));
        return None;
    };
    if timestamp == GO_ZERO_TIME {
        return Some(None);
    }
    Some(Some(timestamp))
}

/// `0001-01-01T00:00:00Z`, Go's `time.Time{}`.
const GO_ZERO_TIME: Timestamp = Timestamp::constant(-62_135_596_800, 0);

/// The sender's fingerprint, or the one Alertmanager computes from the labels when it sent none,
/// so deduplication agrees with the sender either way.
pub(crate) fn dedup_key_of(
    fingerprint: Option<String>,
    labels: &Labels,
    fingerprint_path: &str,
    problems: &mut Problems,
) -> Option<DedupKey> {
    let fingerprint = fingerprint.unwrap_or_else(|| alertmanager_fingerprint(labels));
    match DedupKey::parse(fingerprint) {
        Ok(key) => Some(key),
        Err(DedupKeyError::TooLong) => {
            problems.invalid(fingerprint_path, format!("must be at most {} characters", DedupKey::MAX_LEN));
            None
        }
        Err(DedupKeyError::Empty) => {
            problems.missing(fingerprint_path);
            None
        }
    }
}

/// The first non-blank of: annotation `summary`, annotation `description`, label `alertname`;
/// failing all, `alert <fingerprint>` so a trigger never has an empty summary.
pub(crate) fn summary_of(labels: &Labels, annotations: &Labels, fingerprint: &str) -> String {
    let candidates = [annotations.get("summary"), annotations.get("description"), labels.get("alertname")];
    for candidate in candidates.into_iter().flatten() {
        if !candidate.trim().is_empty() {
            return candidate.clone();
        }
    }
    format!("alert {fingerprint}")
}

fn to_ingest_error(problems: Problems) -> IngestError {
    ingest_error(problems, "is not a field of alertmanager webhook version 4")
}

/// Words collected problems as field errors; `unknown_field` is the format's wording for a key
/// it does not know.
pub(crate) fn ingest_error(problems: Problems, unknown_field: &str) -> IngestError {
    let mut errors: Vec<FieldError> = problems
        .list
        .into_iter()
        .map(|problem| {
            let field = if problem.path.is_empty() { "body".to_string() } else { problem.path };
            let message = match problem.kind {
                ProblemKind::Missing => "is required".to_string(),
                ProblemKind::WrongType { expected } => format!("must be {expected}"),
                ProblemKind::UnknownField => unknown_field.to_string(),
                ProblemKind::Invalid { message } => message,
            };
            FieldError { field, message }
        })
        .collect();
    if errors.is_empty() {
        // Only reachable through a parser bug; an empty list would tell the sender nothing.
        errors.push(FieldError { field: "body".to_string(), message: "could not be read".to_string() });
    }
    IngestError { errors }
}

#[cfg(test)]
mod tests;
