//! Pushed telemetry as the store keeps it: the domain's log lines, spans and metric points
//! (`staunch_domain::ingest::telemetry`), and the one query shape every read takes. Reads are
//! bounded by a time window `[from, to)` — nothing at or after `to` is returned, which is
//! what lets an investigation run "as of" a time — by a service set and by a row limit.

use crate::{StoreError, StoreResult};
use jiff::Timestamp;
pub use staunch_domain::ingest::telemetry::{LogLine, MetricPoint, Span, SpanStatus};

/// Which telemetry rows to read: those timestamped in `[from, to)` (spans by their start),
/// of `services` (every service when empty), oldest first, at most `limit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelemetryQuery {
    pub from: Timestamp,
    pub to: Timestamp,
    pub services: Vec<String>,
    pub limit: u32,
}

/// Rows deleted by one [`crate::StoreTx::prune_telemetry`] call, at most, per table: pruning
/// in bounded batches keeps each write transaction short, so ingest never waits long behind it.
pub const PRUNE_BATCH_ROWS: u32 = 5_000;

/// A stored span status.
pub fn span_status(text: &str) -> StoreResult<SpanStatus> {
    SpanStatus::parse(text).ok_or_else(|| StoreError::Corrupt(format!("unknown span status {text:?}")))
}

/// Stored attributes (JSON text or JSONB) as the map a line was pushed with.
pub fn attributes_from_json(value: Option<serde_json::Value>) -> StoreResult<Option<serde_json::Map<String, serde_json::Value>>> {
    match value {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::Object(map)) => Ok(Some(map)),
        Some(other) => Err(StoreError::Corrupt(format!("log attributes are not an object: {other}"))),
    }
}
