//! PagerDuty Events API v2: alert events (`POST /v2/enqueue`) and change events
//! (`POST /v2/change/enqueue`), accepted exactly as PagerDuty accepts them so that existing
//! senders (Alertmanager's `pagerduty_configs`, Grafana, go-pagerduty, pdpyras, ...) work by
//! changing only the base URL. Rejections mirror PagerDuty's 400 body
//! `{"status":"invalid event","message":"Event object is invalid","errors":[...]}`, reusing
//! PagerDuty's own error wording where it is known (each message says where it comes from).
//!
//! Where Staunch is stricter than PagerDuty: keys the API does not define are rejected
//! (PagerDuty ignores them), so a typo such as `dedupkey` cannot silently open a new alert.

use crate::alert::{AlertAction, AlertEvent, AlertImage, AlertLink, DedupKey, DedupKeyError, SourceFormat};
use crate::ingest::walk::{Field, JsonObject, Problem, ProblemKind, Problems, index_path};
use crate::labels::Labels;
use crate::severity::Severity;
use jiff::Timestamp;
use serde_json::Value;

/// PagerDuty integration keys are 32 characters ("This is the 32 character Integration Key",
/// developer docs, Send an Alert Event).
pub const ROUTING_KEY_LENGTH: usize = 32;

/// "The maximum permitted length of this property is 1024 characters" (developer docs,
/// `payload.summary`). PagerDuty truncates longer summaries rather than rejecting them, and so
/// does Staunch. Characters are Unicode scalar values, as in Alertmanager's rune-based truncation
/// before it sends to PagerDuty.
pub const SUMMARY_MAX_CHARACTERS: usize = 1024;

/// "The maximum permitted length of this property is 255 characters" (developer docs, `dedup_key`).
pub const DEDUP_KEY_MAX_CHARACTERS: usize = DedupKey::MAX_LEN;

/// A rejected event, shaped like PagerDuty's 400 response body. `status` is derived from
/// `message` (see [`InvalidEvent::status`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid pagerduty event: {}", .errors.join("; "))]
pub struct InvalidEvent {
    pub message: String,
    pub errors: Vec<String>,
}

impl InvalidEvent {
    /// PagerDuty's `message` for a well-formed JSON object that fails validation (docs' 400
    /// example, repeated in go-pagerduty's and Alertmanager's tests).
    pub const INVALID_MESSAGE: &'static str = "Event object is invalid";
    pub const INVALID_STATUS: &'static str = "invalid event";
    /// PagerDuty's response to a body that is not a JSON object (the error example in
    /// PagerDuty/api-schema `reference/events-v2/openapiv3.json`).
    pub const UNRECOGNIZED_MESSAGE: &'static str = "Event object format is unrecognized";
    pub const UNRECOGNIZED_STATUS: &'static str = "Unrecognized object";

    /// The `status` field of the 400 body that goes with this error.
    pub fn status(&self) -> &'static str {
        if self.message == Self::UNRECOGNIZED_MESSAGE {
            return Self::UNRECOGNIZED_STATUS;
        }
        Self::INVALID_STATUS
    }

    fn unrecognized(error: impl Into<String>) -> InvalidEvent {
        InvalidEvent { message: Self::UNRECOGNIZED_MESSAGE.to_string(), errors: vec![error.into()] }
    }

    fn invalid(problems: Problems) -> InvalidEvent {
        let mut errors: Vec<String> = problems.list.into_iter().map(pagerduty_wording).collect();
        if errors.is_empty() {
            // Only reachable through a parser bug; an empty list would tell the sender nothing.
            errors.push("event could not be read".to_string());
        }
        InvalidEvent { message: Self::INVALID_MESSAGE.to_string(), errors }
    }
}

/// The fields describing what happened; required for `trigger`.
#[derive(Debug, Clone, PartialEq)]
pub struct EventPayload {
    /// Trimmed, non-empty, at most [`SUMMARY_MAX_CHARACTERS`] characters.
    pub summary: String,
    pub source: String,
    /// PagerDuty's `critical`/`error`/`warning`/`info`, mapped by [`Severity::from_pagerduty`].
    pub severity: Severity,
    pub timestamp: Option<Timestamp>,
    pub component: Option<String>,
    pub group: Option<String>,
    pub class: Option<String>,
    /// Any JSON; `Null` when absent.
    pub custom_details: Value,
}

/// One parsed `POST /v2/enqueue` body.
#[derive(Debug, Clone, PartialEq)]
pub struct EventsV2Event {
    pub routing_key: String,
    pub action: AlertAction,
    /// `None` only for a trigger sent without one; the shell then generates one (the domain
    /// has no randomness) and returns it to the sender, as PagerDuty does.
    pub dedup_key: Option<DedupKey>,
    /// Always present for `trigger`. For `acknowledge`/`resolve` PagerDuty needs only the
    /// dedup key; a complete payload sent along (Alertmanager does) is kept, an incomplete one
    /// is dropped.
    pub payload: Option<EventPayload>,
    pub images: Vec<AlertImage>,
    pub links: Vec<AlertLink>,
    pub client: Option<String>,
    pub client_url: Option<String>,
}

impl EventsV2Event {
    /// The normalized event. `generated_dedup_key` is used only when the sender gave no
    /// `dedup_key`.
    pub fn into_alert_event(self, generated_dedup_key: DedupKey) -> AlertEvent {
        let dedup_key = self.dedup_key.unwrap_or(generated_dedup_key);
        let mut links = self.links;
        // PagerDuty shows client_url as a "View in <client>" link; Staunch has only links.
        if let Some(href) = self.client_url {
            links.push(AlertLink { href, text: self.client });
        }
        let Some(payload) = self.payload else {
            // Acknowledge/resolve without a payload: the incident keeps what the trigger said.
            return AlertEvent {
                action: self.action,
                dedup_key,
                summary: String::new(),
                severity: Severity::Sev2,
                labels: Labels::new(),
                annotations: Labels::new(),
                details: Value::Null,
                links,
                images: self.images,
                starts_at: None,
                ends_at: None,
                format: SourceFormat::EventsV2,
            };
        };
        let mut labels = Labels::new();
        labels.insert("source".to_string(), payload.source);
        let optional_labels = [("component", payload.component), ("group", payload.group), ("class", payload.class)];
        for (name, value) in optional_labels {
            if let Some(value) = value {
                labels.insert(name.to_string(), value);
            }
        }
        // The timestamp is when the sender observed this event: the start for a trigger, the
        // end for a resolve; an acknowledgement's time says nothing about the condition.
        let (starts_at, ends_at) = match self.action {
            AlertAction::Trigger => (payload.timestamp, None),
            AlertAction::Resolve => (None, payload.timestamp),
            AlertAction::Acknowledge => (None, None),
        };
        AlertEvent {
            action: self.action,
            dedup_key,
            summary: payload.summary,
            severity: payload.severity,
            labels,
            annotations: Labels::new(),
            details: payload.custom_details,
            links,
            images: self.images,
            starts_at,
            ends_at,
            format: SourceFormat::EventsV2,
        }
    }
}

/// The `payload` of a change event.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangePayload {
    /// Trimmed, non-empty, at most [`SUMMARY_MAX_CHARACTERS`] characters.
    pub summary: String,
    pub source: Option<String>,
    pub timestamp: Option<Timestamp>,
    /// Any JSON; `Null` when absent.
    pub custom_details: Value,
}

/// One parsed `POST /v2/change/enqueue` body: something changed (a deploy, a config push);
/// informational, never pages.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeEvent {
    pub routing_key: String,
    pub payload: ChangePayload,
    pub links: Vec<AlertLink>,
    /// Not in the developer guide ("only supports links"), but in PagerDuty's OpenAPI schema
    /// for change events, so senders generated from it may send images.
    pub images: Vec<AlertImage>,
}

/// Parses a `POST /v2/enqueue` body.
pub fn parse_event(body: &[u8]) -> Result<EventsV2Event, InvalidEvent> {
    let mut root = read_root(body)?;
    let mut problems = Problems::default();

    let routing_key = read_routing_key(&mut root, &mut problems);
    let action = read_event_action(&mut root, &mut problems);
    let dedup_key = read_dedup_key(&mut root, action, &mut problems);
    let payload = read_event_payload(&mut root, action, &mut problems);
    let images = read_images(&mut root, &mut problems);
    let links = read_links(&mut root, &mut problems);
    let client = root.non_blank_string("client", &mut problems).optional();
    let client_url = root.non_blank_string("client_url", &mut problems).optional();
    root.finish(&mut problems);

    if !problems.is_empty() {
        return Err(InvalidEvent::invalid(problems));
    }
    match (routing_key, action, dedup_key) {
        (Some(routing_key), Some(action), Some(dedup_key)) => {
            Ok(EventsV2Event { routing_key, action, dedup_key, payload, images, links, client, client_url })
        }
        // Unreachable in practice: every None above recorded a problem.
        _ => Err(InvalidEvent::invalid(problems)),
    }
}

/// Parses a `POST /v2/change/enqueue` body.
pub fn parse_change_event(body: &[u8]) -> Result<ChangeEvent, InvalidEvent> {
    let mut root = read_root(body)?;
    let mut problems = Problems::default();

    let routing_key = read_routing_key(&mut root, &mut problems);
    let payload = read_change_payload(&mut root, &mut problems);
    let links = read_links(&mut root, &mut problems);
    let images = read_images(&mut root, &mut problems);
    root.finish(&mut problems);

    if !problems.is_empty() {
        return Err(InvalidEvent::invalid(problems));
    }
    match (routing_key, payload) {
        (Some(routing_key), Some(payload)) => Ok(ChangeEvent { routing_key, payload, links, images }),
        _ => Err(InvalidEvent::invalid(problems)),
    }
}

fn read_root(body: &[u8]) -> Result<JsonObject, InvalidEvent> {
    // "JSON parse error": PagerDuty/api-schema's error example.
    let Ok(document) = serde_json::from_slice::<Value>(body) else {
        return Err(InvalidEvent::unrecognized("JSON parse error"));
    };
    let mut ignored = Problems::default();
    match JsonObject::from_value(document, String::new(), &mut ignored) {
        Some(root) => Ok(root),
        // Invented wording: PagerDuty's answer to valid JSON that is not an object is unknown.
        None => Err(InvalidEvent::unrecognized("Event object must be a JSON object")),
    }
}

/// Renders a problem the way PagerDuty words it. Sources:
/// - "'payload.source' is missing or blank" (PagerDuty 400 quoted in
///   solana-foundation/solana-developer-platform#576 and louislam/uptime-kuma#7319),
///   "'payload.severity' is missing or blank" (SigNoz/signoz#9536),
///   "'event_action' is missing or blank" (go-pagerduty `event_v2_test.go`): the pattern for
///   every missing field.
/// - Wrong types and unknown keys: invented, after PagerDuty's
///   "'payload.severity' is invalid (must be one of the following: ...)".
fn pagerduty_wording(problem: Problem) -> String {
    let path = problem.path;
    match problem.kind {
        ProblemKind::Missing => format!("'{path}' is missing or blank"),
        ProblemKind::WrongType { expected } => format!("'{path}' is invalid (must be {expected})"),
        ProblemKind::UnknownField => format!("'{path}' is not a recognized field"),
        ProblemKind::Invalid { message } => message,
    }
}

fn read_routing_key(root: &mut JsonObject, problems: &mut Problems) -> Option<String> {
    let routing_key = match root.string("routing_key", problems) {
        Field::Present(text) if !text.trim().is_empty() => text,
        Field::Bad => return None,
        Field::Present(_) | Field::Absent => {
            // What events.pagerduty.com answers to `{}` (recorded live probe quoted in a public
            // repository's test fixtures).
            problems.invalid("routing_key", "'routing_key' cannot be blank");
            return None;
        }
    };
    if routing_key.chars().count() != ROUTING_KEY_LENGTH {
        // PagerDuty's documented 400 example, verbatim.
        problems.invalid("routing_key", "Length of 'routing_key' is incorrect (should be 32 characters)");
        return None;
    }
    Some(routing_key)
}

fn read_event_action(root: &mut JsonObject, problems: &mut Problems) -> Option<AlertAction> {
    let text = root.string("event_action", problems).required("event_action", problems)?;
    match text.as_str() {
        "trigger" => Some(AlertAction::Trigger),
        "acknowledge" => Some(AlertAction::Acknowledge),
        "resolve" => Some(AlertAction::Resolve),
        _ if text.trim().is_empty() => {
            problems.missing("event_action");
            None
        }
        _ => {
            // Invented, after PagerDuty's wording for an invalid `payload.severity`.
            problems.invalid(
                "event_action",
                "'event_action' is invalid (must be one of the following: 'trigger', 'acknowledge' or 'resolve')",
            );
            None
        }
    }
}

/// `Some(None)`: a trigger without a key. `None`: a problem was recorded, or the action is
/// unknown so the rule cannot be applied.
fn read_dedup_key(root: &mut JsonObject, action: Option<AlertAction>, problems: &mut Problems) -> Option<Option<DedupKey>> {
    let text = match root.string("dedup_key", problems) {
        Field::Bad => return None,
        Field::Present(text) if !text.trim().is_empty() => Some(text),
        // Senders fill unset string fields with "" (Go zero values), which means no key.
        Field::Present(_) | Field::Absent => None,
    };
    let Some(text) = text else {
        return match action {
            Some(AlertAction::Trigger) => Some(None),
            Some(AlertAction::Acknowledge | AlertAction::Resolve) => {
                problems.missing("dedup_key");
                None
            }
            None => None,
        };
    };
    match DedupKey::parse(text) {
        Ok(key) => Some(Some(key)),
        Err(DedupKeyError::TooLong) => {
            // Invented, after PagerDuty's routing key length message.
            problems.invalid("dedup_key", "Length of 'dedup_key' is incorrect (should be at most 255 characters)");
            None
        }
        Err(DedupKeyError::Empty) => {
            problems.missing("dedup_key");
            None
        }
    }
}

fn read_event_payload(root: &mut JsonObject, action: Option<AlertAction>, problems: &mut Problems) -> Option<EventPayload> {
    let is_trigger = action == Some(AlertAction::Trigger);
    let mut payload_problems = Problems::default();
    let payload = match root.object("payload", &mut payload_problems) {
        Field::Present(payload) => read_event_payload_fields(payload, &mut payload_problems),
        Field::Bad => None,
        Field::Absent => {
            // A trigger without a payload lacks each required payload field; reporting them
            // one by one reuses PagerDuty's known wording.
            for key in ["summary", "source", "severity"] {
                payload_problems.missing(format!("payload.{key}"));
            }
            None
        }
    };
    if is_trigger {
        problems.append(payload_problems);
        return payload;
    }
    // PagerDuty requires nothing of a follow-up event's payload; only what is wrong in any
    // context is reported, and an incomplete payload is dropped.
    let is_complete = payload_problems.is_empty();
    for problem in payload_problems.list {
        if problem.is_structural() {
            problems.list.push(problem);
        }
    }
    if !is_complete {
        return None;
    }
    payload
}

fn read_event_payload_fields(mut payload: JsonObject, problems: &mut Problems) -> Option<EventPayload> {
    let summary = read_summary(&mut payload, problems);
    let source = payload.non_blank_string("source", problems).required("payload.source", problems);
    let severity = read_severity(&mut payload, problems);
    let timestamp = read_timestamp(&mut payload, problems);
    let component = payload.non_blank_string("component", problems).optional();
    let group = payload.non_blank_string("group", problems).optional();
    let class = payload.non_blank_string("class", problems).optional();
    let custom_details = payload.take("custom_details").unwrap_or(Value::Null);
    payload.finish(problems);
    Some(EventPayload {
        summary: summary?,
        source: source?,
        severity: severity?,
        timestamp: timestamp?,
        component,
        group,
        class,
        custom_details,
    })
}

fn read_change_payload(root: &mut JsonObject, problems: &mut Problems) -> Option<ChangePayload> {
    let mut payload = match root.object("payload", problems) {
        Field::Present(payload) => payload,
        Field::Bad => return None,
        Field::Absent => {
            problems.missing("payload.summary");
            return None;
        }
    };
    let summary = read_summary(&mut payload, problems);
    let source = payload.non_blank_string("source", problems).optional();
    let timestamp = read_timestamp(&mut payload, problems);
    let custom_details = payload.take("custom_details").unwrap_or(Value::Null);
    payload.finish(problems);
    Some(ChangePayload { summary: summary?, source, timestamp: timestamp?, custom_details })
}

fn read_summary(payload: &mut JsonObject, problems: &mut Problems) -> Option<String> {
    let summary = payload.non_blank_string("summary", problems).required("payload.summary", problems)?;
    Some(summary.trim().chars().take(SUMMARY_MAX_CHARACTERS).collect())
}

fn read_severity(payload: &mut JsonObject, problems: &mut Problems) -> Option<Severity> {
    let text = payload.non_blank_string("severity", problems).required("payload.severity", problems)?;
    let severity = Severity::from_pagerduty(&text);
    if severity.is_none() {
        // PagerDuty's wording, quoted in prometheus/alertmanager#3902,
        // prometheus-community/helm-charts#2309 and robusta-dev/robusta#1153.
        problems.invalid(
            "payload.severity",
            "'payload.severity' is invalid (must be one of the following: 'critical', 'warning', 'error' or 'info')",
        );
    }
    severity
}

/// `Some(None)` when absent or blank. ISO 8601 with an offset (`Z`, `+00:00` or PagerDuty's own
/// example's `+0000`); without one the time is taken as UTC, as servers commonly read naive
/// ISO 8601 and as senders like Python's `datetime.utcnow().isoformat()` produce it.
fn read_timestamp(payload: &mut JsonObject, problems: &mut Problems) -> Option<Option<Timestamp>> {
    let text = match payload.non_blank_string("timestamp", problems) {
        Field::Absent => return Some(None),
        Field::Bad => return None,
        Field::Present(text) => text,
    };
    if let Ok(timestamp) = text.parse::<Timestamp>() {
        return Some(Some(timestamp));
    }
    let as_utc = text
        .parse::<jiff::civil::DateTime>()
        .ok()
        .and_then(|datetime| datetime.to_zoned(jiff::tz::TimeZone::UTC).ok())
        .map(|zoned| zoned.timestamp());
    if let Some(timestamp) = as_utc {
        return Some(Some(timestamp));
    }
    // Invented: PagerDuty rejects malformed timestamps (polyverse/pagerduty-rs#2) but the
    // wording is not public.
    problems.invalid("payload.timestamp", "'payload.timestamp' is invalid (must be an ISO 8601 date and time)");
    None
}

fn read_images(root: &mut JsonObject, problems: &mut Problems) -> Vec<AlertImage> {
    let items = root.array("images", problems).optional().unwrap_or_default();
    let mut images = Vec::new();
    for (index, item) in items.into_iter().enumerate() {
        let path = index_path("images", index);
        let Some(mut image) = JsonObject::from_value(item, path, problems) else {
            continue;
        };
        let src = image.non_blank_string("src", problems).required(&image.field_path("src"), problems);
        let href = image.non_blank_string("href", problems).optional();
        let alt = image.non_blank_string("alt", problems).optional();
        image.finish(problems);
        if let Some(src) = src {
            images.push(AlertImage { src, href, alt });
        }
    }
    images
}

fn read_links(root: &mut JsonObject, problems: &mut Problems) -> Vec<AlertLink> {
    let items = root.array("links", problems).optional().unwrap_or_default();
    let mut links = Vec::new();
    for (index, item) in items.into_iter().enumerate() {
        let path = index_path("links", index);
        let Some(mut link) = JsonObject::from_value(item, path, problems) else {
            continue;
        };
        let href = link.non_blank_string("href", problems).required(&link.field_path("href"), problems);
        let text = link.non_blank_string("text", problems).optional();
        link.finish(problems);
        if let Some(href) = href {
            links.push(AlertLink { href, text });
        }
    }
    links
}

#[cfg(test)]
mod tests;
