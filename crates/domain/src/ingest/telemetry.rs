//! Staunch's own telemetry push format: batches of log lines, trace spans and metric points
//! that services send to `/api/v1/telemetry/…` so live incidents can be investigated with the
//! same signals as recorded ones.
//!
//! A batch is all or nothing: every bad field of every item is reported by JSON path
//! (`lines[3].at`), up to [`MAX_REPORTED_PROBLEMS`], and nothing is stored. Times are RFC 3339
//! strings or integer milliseconds since the Unix epoch, and must fall inside the range the
//! caller accepts (the retention behind, a little clock skew ahead): the range is a parameter,
//! so parsing stays pure.

use crate::ingest::alertmanager::ingest_error;
use crate::ingest::error::{FieldError, IngestError};
use crate::ingest::walk::{Field, JsonObject, Problems, index_path, quoted_excerpt};
use jiff::Timestamp;
use serde_json::{Map, Value};

/// What one push may hold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatchLimits {
    /// Items (lines, spans or points) in one batch.
    pub max_items: usize,
    /// Bytes of one log message.
    pub max_message_bytes: usize,
    /// Bytes of a service, pod, metric, operation or id.
    pub max_name_bytes: usize,
    /// Bytes of a log line's attributes, serialized as JSON.
    pub max_attributes_bytes: usize,
    /// Longest span duration accepted, in milliseconds.
    pub max_span_ms: f64,
}

impl Default for BatchLimits {
    fn default() -> Self {
        BatchLimits {
            max_items: 5_000,
            max_message_bytes: 8 * 1024,
            max_name_bytes: 256,
            max_attributes_bytes: 4 * 1024,
            max_span_ms: 86_400_000.0,
        }
    }
}

/// The times a batch may carry: `[not_before, not_after]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AcceptedTimes {
    pub not_before: Timestamp,
    pub not_after: Timestamp,
}

/// Problems listed in one error at most; a batch of thousands of bad lines is answered with
/// the first ones and a count of the rest.
pub const MAX_REPORTED_PROBLEMS: usize = 20;

#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    pub service: String,
    pub at: Timestamp,
    /// Lowercase, as sent (`error`, `warn`, `info`, …); `info` when absent.
    pub level: String,
    pub message: String,
    pub pod: Option<String>,
    /// Free-form context, kept as sent; `None` when absent.
    pub attributes: Option<Map<String, Value>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanStatus {
    Ok,
    Error,
}

impl SpanStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SpanStatus::Ok => "ok",
            SpanStatus::Error => "error",
        }
    }

    pub fn parse(text: &str) -> Option<SpanStatus> {
        match text {
            "ok" | "unset" => Some(SpanStatus::Ok),
            "error" => Some(SpanStatus::Error),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    pub trace_id: String,
    pub span_id: String,
    /// `None` for a root span.
    pub parent_span_id: Option<String>,
    pub service: String,
    pub operation: String,
    pub start: Timestamp,
    pub duration_ms: f64,
    pub status: SpanStatus,
}

impl Span {
    /// When the span ended: what a reader "as of" a time must check, since a span is only
    /// known once it has finished.
    pub fn end(&self) -> Timestamp {
        let micros = (self.duration_ms * 1_000.0).round() as i64;
        self.start.checked_add(jiff::SignedDuration::from_micros(micros)).unwrap_or(self.start)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct MetricPoint {
    pub service: String,
    pub name: String,
    pub at: Timestamp,
    pub value: f64,
    pub pod: Option<String>,
}

/// Parses `{"lines": [...]}`.
pub fn parse_log_batch(body: &[u8], limits: &BatchLimits, times: &AcceptedTimes) -> Result<Vec<LogLine>, IngestError> {
    parse_batch(body, "lines", limits, |item, problems| read_log_line(item, limits, times, problems))
}

/// Parses `{"spans": [...]}`.
pub fn parse_span_batch(body: &[u8], limits: &BatchLimits, times: &AcceptedTimes) -> Result<Vec<Span>, IngestError> {
    parse_batch(body, "spans", limits, |item, problems| read_span(item, limits, times, problems))
}

/// Parses `{"points": [...]}`.
pub fn parse_metric_batch(body: &[u8], limits: &BatchLimits, times: &AcceptedTimes) -> Result<Vec<MetricPoint>, IngestError> {
    parse_batch(body, "points", limits, |item, problems| read_metric_point(item, limits, times, problems))
}

fn parse_batch<T>(
    body: &[u8],
    key: &str,
    limits: &BatchLimits,
    mut read_item: impl FnMut(&mut JsonObject, &mut Problems) -> Option<T>,
) -> Result<Vec<T>, IngestError> {
    let document: Value = match serde_json::from_slice(body) {
        Ok(document) => document,
        Err(error) => return Err(IngestError::single("body", format!("invalid json: {error}"))),
    };
    let mut problems = Problems::default();
    let Some(mut root) = JsonObject::from_value(document, String::new(), &mut problems) else {
        return Err(to_error(problems));
    };
    let items = root.array(key, &mut problems).required(key, &mut problems);
    root.finish(&mut problems);
    let Some(items) = items else {
        return Err(to_error(problems));
    };
    if items.len() > limits.max_items {
        problems.invalid(key, format!("{} items, at most {} per batch", items.len(), limits.max_items));
        return Err(to_error(problems));
    }
    let mut parsed = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        let Some(mut object) = JsonObject::from_value(item, index_path(key, index), &mut problems) else {
            continue;
        };
        let read = read_item(&mut object, &mut problems);
        object.finish(&mut problems);
        parsed.extend(read);
        // Past this many problems the rest of a bad batch only costs time.
        if problems.list.len() > MAX_REPORTED_PROBLEMS {
            break;
        }
    }
    if !problems.is_empty() {
        return Err(to_error(problems));
    }
    Ok(parsed)
}

fn to_error(problems: Problems) -> IngestError {
    let total = problems.list.len();
    let mut error = ingest_error(problems, "is not a field of this batch");
    if total > MAX_REPORTED_PROBLEMS {
        error.errors.truncate(MAX_REPORTED_PROBLEMS);
        let more = FieldError { field: "body".into(), message: "more problems not listed: fix these first".into() };
        error.errors.push(more);
    }
    error
}

fn read_log_line(line: &mut JsonObject, limits: &BatchLimits, times: &AcceptedTimes, problems: &mut Problems) -> Option<LogLine> {
    let service = read_name(line, "service", limits, problems);
    let at = read_time(line, "at", times, problems);
    let level = read_level(line, limits, problems);
    let message = read_message(line, limits, problems);
    let pod = read_optional_name(line, "pod", limits, problems);
    let attributes = read_attributes(line, limits, problems);
    Some(LogLine { service: service?, at: at?, level: level?, message: message?, pod: pod?, attributes: attributes? })
}

fn read_span(span: &mut JsonObject, limits: &BatchLimits, times: &AcceptedTimes, problems: &mut Problems) -> Option<Span> {
    let trace_id = read_name(span, "trace_id", limits, problems);
    let span_id = read_name(span, "span_id", limits, problems);
    let parent_span_id = read_optional_name(span, "parent_span_id", limits, problems);
    let service = read_name(span, "service", limits, problems);
    let operation = read_name(span, "operation", limits, problems);
    let start = read_time(span, "start", times, problems);
    let duration_ms = read_number(span, "duration_ms", problems).and_then(|duration| {
        if (0.0..=limits.max_span_ms).contains(&duration) {
            return Some(duration);
        }
        problems.invalid(span.field_path("duration_ms"), format!("{duration} must be between 0 and {}", limits.max_span_ms));
        None
    });
    let status = read_status(span, problems);
    Some(Span {
        trace_id: trace_id?,
        span_id: span_id?,
        parent_span_id: parent_span_id?,
        service: service?,
        operation: operation?,
        start: start?,
        duration_ms: duration_ms?,
        status: status?,
    })
}

fn read_metric_point(
    point: &mut JsonObject,
    limits: &BatchLimits,
    times: &AcceptedTimes,
    problems: &mut Problems,
) -> Option<MetricPoint> {
    let service = read_name(point, "service", limits, problems);
    let name = read_name(point, "name", limits, problems);
    let at = read_time(point, "at", times, problems);
    let value = read_number(point, "value", problems);
    let pod = read_optional_name(point, "pod", limits, problems);
    Some(MetricPoint { service: service?, name: name?, at: at?, value: value?, pod: pod? })
}

/// A required, non-blank, bounded string without control characters.
fn read_name(object: &mut JsonObject, key: &str, limits: &BatchLimits, problems: &mut Problems) -> Option<String> {
    let path = object.field_path(key);
    let text = object.non_blank_string(key, problems).required(&path, problems)?;
    check_name(text, &path, limits, problems)
}

/// `Some(None)` when absent; `None` when bad (the problem recorded).
fn read_optional_name(
    object: &mut JsonObject,
    key: &str,
    limits: &BatchLimits,
    problems: &mut Problems,
) -> Option<Option<String>> {
    let path = object.field_path(key);
    match object.non_blank_string(key, problems) {
        Field::Absent => Some(None),
        Field::Bad => None,
        Field::Present(text) => check_name(text, &path, limits, problems).map(Some),
    }
}

fn check_name(text: String, path: &str, limits: &BatchLimits, problems: &mut Problems) -> Option<String> {
    if text.len() > limits.max_name_bytes {
        problems.invalid(path, format!("{} bytes, at most {}", text.len(), limits.max_name_bytes));
        return None;
    }
    if text.chars().any(char::is_control) {
        problems.invalid(path, format!("{} must not contain control characters", quoted_excerpt(&text)));
        return None;
    }
    Some(text)
}

fn read_message(line: &mut JsonObject, limits: &BatchLimits, problems: &mut Problems) -> Option<String> {
    let path = line.field_path("message");
    let message = line.string("message", problems).required(&path, problems)?;
    if message.len() > limits.max_message_bytes {
        problems.invalid(path, format!("{} bytes, at most {}", message.len(), limits.max_message_bytes));
        return None;
    }
    Some(message)
}

fn read_level(line: &mut JsonObject, limits: &BatchLimits, problems: &mut Problems) -> Option<String> {
    let path = line.field_path("level");
    match line.non_blank_string("level", problems) {
        Field::Absent => Some("info".to_string()),
        Field::Bad => None,
        Field::Present(level) => check_name(level.trim().to_ascii_lowercase(), &path, limits, problems),
    }
}

fn read_attributes(line: &mut JsonObject, limits: &BatchLimits, problems: &mut Problems) -> Option<Option<Map<String, Value>>> {
    let path = line.field_path("attributes");
    let Some(value) = line.take("attributes") else {
        return Some(None);
    };
    let Value::Object(attributes) = value else {
        problems.wrong_type(path, "an object");
        return None;
    };
    let size = serde_json::to_string(&attributes).map_or(usize::MAX, |text| text.len());
    if size > limits.max_attributes_bytes {
        problems.invalid(path, format!("{size} bytes as json, at most {}", limits.max_attributes_bytes));
        return None;
    }
    Some(Some(attributes))
}

fn read_status(span: &mut JsonObject, problems: &mut Problems) -> Option<SpanStatus> {
    let path = span.field_path("status");
    let text = match span.non_blank_string("status", problems) {
        Field::Absent => return Some(SpanStatus::Ok),
        Field::Bad => return None,
        Field::Present(text) => text,
    };
    let status = SpanStatus::parse(&text.to_ascii_lowercase());
    if status.is_none() {
        problems.invalid(path, format!("must be \"ok\" or \"error\", not {}", quoted_excerpt(&text)));
    }
    status
}

/// A finite JSON number.
fn read_number(object: &mut JsonObject, key: &str, problems: &mut Problems) -> Option<f64> {
    let path = object.field_path(key);
    let value = object.take(key);
    match value.as_ref().map(Value::as_f64) {
        None => {
            problems.missing(path);
            None
        }
        Some(Some(number)) if number.is_finite() => Some(number),
        Some(_) => {
            problems.wrong_type(path, "a number");
            None
        }
    }
}

/// An RFC 3339 string or integer milliseconds since the epoch, inside `times`.
fn read_time(object: &mut JsonObject, key: &str, times: &AcceptedTimes, problems: &mut Problems) -> Option<Timestamp> {
    let path = object.field_path(key);
    let Some(value) = object.take(key) else {
        problems.missing(path);
        return None;
    };
    let parsed = match &value {
        Value::String(text) => text.parse::<Timestamp>().ok(),
        Value::Number(number) => number.as_i64().and_then(|millis| Timestamp::from_millisecond(millis).ok()),
        _ => None,
    };
    let Some(at) = parsed else {
        let shown = match &value {
            Value::String(text) => quoted_excerpt(text),
            other => quoted_excerpt(&other.to_string()),
        };
        problems.invalid(path, format!("must be an rfc 3339 time or integer milliseconds since the epoch, not {shown}"));
        return None;
    };
    if at < times.not_before {
        problems.invalid(path, format!("{at} is before {}, older than the telemetry retention", times.not_before));
        return None;
    }
    if at > times.not_after {
        problems.invalid(path, format!("{at} is in the future (after {})", times.not_after));
        return None;
    }
    Some(at)
}

#[cfg(test)]
#[path = "telemetry_tests.rs"]
mod tests;
