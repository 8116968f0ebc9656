//! The telemetry endpoints under `/api/v1/telemetry`: services push log lines, spans and
//! metric points as JSON batches (an API token with the responder role; the token decides the
//! organisation), and viewers read them back or investigate a window around an onset. A push
//! is answered 202 only once its batch is committed; a bad batch stores nothing and is
//! answered 422 naming every bad field (`lines[3].at`); an organisation over
//! `telemetry.rate_limit` (items per second) is answered 429 with `Retry-After`.

use super::AppState;
use super::auth::Caller;
use super::errors::{ApiError, parse_query};
use super::ingest::with_retry_after;
use super::reply::Named;
use crate::signals::investigate_window;
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use staunch_domain::ingest::IngestError;
use staunch_domain::ingest::telemetry::{AcceptedTimes, BatchLimits, parse_log_batch, parse_metric_batch, parse_span_batch};
use staunch_store::{Role, TelemetryQuery};

/// How far ahead of this server's clock a pushed time may be: senders' clocks drift.
const MAX_AHEAD: SignedDuration = SignedDuration::from_mins(5);
/// Rows one read returns at most.
const MAX_READ_ROWS: u32 = 10_000;

/// What a push may carry, and what its times must fall in (the retention behind, a little
/// skew ahead), for the caller.
fn accepted(state: &AppState) -> (BatchLimits, AcceptedTimes) {
    let now = state.clock.now();
    let not_before = now.checked_sub(state.config.telemetry.retention.as_span()).unwrap_or(Timestamp::MIN);
    let not_after = now.checked_add(MAX_AHEAD).unwrap_or(Timestamp::MAX);
    (BatchLimits::default(), AcceptedTimes { not_before, not_after })
}

/// 400 for a body that is not JSON, 422 for bad fields: the first in `field`/`error` as every
/// API error has them, all of them in `errors`.
fn invalid_batch(error: IngestError) -> Response {
    let first = error.errors.first();
    let status = match first {
        Some(first) if first.field == "body" && first.message.starts_with("invalid json") => StatusCode::BAD_REQUEST,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    let errors: Vec<serde_json::Value> =
        error.errors.iter().map(|problem| serde_json::json!({ "field": problem.field, "message": problem.message })).collect();
    let body = serde_json::json!({
        "error": first.map(|first| first.message.clone()).unwrap_or_default(),
        "field": first.map(|first| first.field.clone()).unwrap_or_default(),
        "errors": errors,
    });
    (status, Json(body)).into_response()
}

/// Pushes from one organisation are parsed and stored a few at a time, so one tenant's flood
/// cannot take every core.
fn in_flight_key(caller: &Caller) -> String {
    format!("telemetry:org:{}", caller.org().0)
}

/// Charges `items` to the organisation's telemetry bucket, when a limit is configured: the
/// 429 to answer when it is over.
fn over_rate_limit(state: &AppState, caller: &Caller, items: usize) -> Option<Response> {
    let limit = state.config.telemetry.rate_limit?;
    let over = state.rate_limits.admit_key(&in_flight_key(caller), limit, items, state.clock.now()).err()?;
    let message = format!("too many telemetry items for this organisation: retry after {} s", over.retry_after_seconds);
    let response = (StatusCode::TOO_MANY_REQUESTS, Json(Named("error", &message))).into_response();
    Some(with_retry_after(response, &over))
}

fn accepted_response(kind: &'static str, count: usize) -> Response {
    metrics::counter!("staunch_telemetry_accepted_total", "kind" => kind).increment(count as u64);
    (StatusCode::ACCEPTED, Json(Named("accepted", &count))).into_response()
}

type BatchParser<T> = fn(&[u8], &BatchLimits, &AcceptedTimes) -> Result<Vec<T>, IngestError>;

/// What every push shares: the role, one of the organisation's in-flight slots (held until
/// the batch is stored), the parse and the rate limit. `Err` is the answer to give instead.
async fn admit_batch<T>(
    state: &AppState,
    caller: &Caller,
    body: Result<Bytes, BytesRejection>,
    parse: BatchParser<T>,
) -> Result<(Vec<T>, Option<tokio::sync::OwnedSemaphorePermit>), Response> {
    caller.require(Role::Responder).map_err(IntoResponse::into_response)?;
    let slot = state.rate_limits.in_flight_slot(&in_flight_key(caller)).await;
    let body = body.map_err(|rejection| ApiError::from(rejection).into_response())?;
    let (limits, times) = accepted(state);
    let items = parse(&body, &limits, &times).map_err(invalid_batch)?;
    if let Some(throttled) = over_rate_limit(state, caller, items.len()) {
        return Err(throttled);
    }
    Ok((items, slot))
}

pub async fn push_logs(State(state): State<AppState>, caller: Caller, body: Result<Bytes, BytesRejection>) -> Response {
    let (lines, _slot) = match admit_batch(&state, &caller, body, parse_log_batch).await {
        Ok(admitted) => admitted,
        Err(answer) => return answer,
    };
    match caller.store.add_log_lines(&lines).await {
        Ok(()) => accepted_response("logs", lines.len()),
        Err(error) => ApiError::from(error).into_response(),
    }
}

pub async fn push_spans(State(state): State<AppState>, caller: Caller, body: Result<Bytes, BytesRejection>) -> Response {
    let (spans, _slot) = match admit_batch(&state, &caller, body, parse_span_batch).await {
        Ok(admitted) => admitted,
        Err(answer) => return answer,
    };
    match caller.store.add_spans(&spans).await {
        Ok(()) => accepted_response("spans", spans.len()),
        Err(error) => ApiError::from(error).into_response(),
    }
}

pub async fn push_metrics(State(state): State<AppState>, caller: Caller, body: Result<Bytes, BytesRejection>) -> Response {
    let (points, _slot) = match admit_batch(&state, &caller, body, parse_metric_batch).await {
        Ok(admitted) => admitted,
        Err(answer) => return answer,
    };
    match caller.store.add_metric_points(&points).await {
        Ok(()) => accepted_response("metrics", points.len()),
        Err(error) => ApiError::from(error).into_response(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReadQuery {
    from: Timestamp,
    /// Exclusive; now when absent.
    to: Option<Timestamp>,
    /// One service, or every service when absent.
    service: Option<String>,
    limit: Option<u32>,
}

fn telemetry_query(state: &AppState, query: Option<&str>) -> Result<TelemetryQuery, ApiError> {
    let query: ReadQuery = parse_query(query)?;
    let limit = query.limit.unwrap_or(1_000);
    if limit == 0 || limit > MAX_READ_ROWS {
        return Err(ApiError::field(StatusCode::BAD_REQUEST, "limit", format!("{limit} must be between 1 and {MAX_READ_ROWS}")));
    }
    let to = query.to.unwrap_or_else(|| state.clock.now());
    if to <= query.from {
        return Err(ApiError::field(StatusCode::BAD_REQUEST, "to", format!("{to} must be after from ({})", query.from)));
    }
    Ok(TelemetryQuery { from: query.from, to, services: query.service.into_iter().collect(), limit })
}

pub async fn read_logs(State(state): State<AppState>, caller: Caller, RawQuery(query): RawQuery) -> Result<Response, ApiError> {
    caller.require(Role::Viewer)?;
    let query = telemetry_query(&state, query.as_deref())?;
    let lines: Vec<serde_json::Value> = caller
        .store
        .telemetry_logs(&query)
        .await?
        .into_iter()
        .map(|line| {
            serde_json::json!({
                "service": line.service, "at": line.at, "level": line.level, "message": line.message,
                "pod": line.pod, "attributes": line.attributes,
            })
        })
        .collect();
    Ok(Json(Named("lines", &lines)).into_response())
}

pub async fn read_spans(State(state): State<AppState>, caller: Caller, RawQuery(query): RawQuery) -> Result<Response, ApiError> {
    caller.require(Role::Viewer)?;
    let query = telemetry_query(&state, query.as_deref())?;
    let spans: Vec<serde_json::Value> = caller
        .store
        .telemetry_spans(&query)
        .await?
        .into_iter()
        .map(|span| {
            serde_json::json!({
                "trace_id": span.trace_id, "span_id": span.span_id, "parent_span_id": span.parent_span_id,
                "service": span.service, "operation": span.operation, "start": span.start,
                "duration_ms": span.duration_ms, "status": span.status.as_str(),
            })
        })
        .collect();
    Ok(Json(Named("spans", &spans)).into_response())
}

pub async fn read_metrics(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    caller.require(Role::Viewer)?;
    let query = telemetry_query(&state, query.as_deref())?;
    let points: Vec<serde_json::Value> = caller
        .store
        .telemetry_metrics(&query)
        .await?
        .into_iter()
        .map(|point| {
            serde_json::json!({ "service": point.service, "name": point.name, "at": point.at, "value": point.value, "pod": point.pod })
        })
        .collect();
    Ok(Json(Named("points", &points)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InvestigationQuery {
    onset: Timestamp,
    /// What the investigation may see: nothing at or after it. Now when absent.
    as_of: Option<Timestamp>,
}

/// The services the telemetry around `onset` points at, as the engine ranks them; `null`
/// when nothing was pushed (or pulled) around it. `warnings` says what could not be pulled.
pub async fn investigation(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    caller.require(Role::Viewer)?;
    let query: InvestigationQuery = parse_query(query.as_deref())?;
    let now = state.clock.now();
    let as_of = query.as_of.unwrap_or(now).min(now);
    let window = investigate_window(&caller.store, query.onset, as_of, None, state.prometheus.as_ref()).await?;
    let body = serde_json::json!({
        "onset": query.onset, "as_of": as_of, "investigation": window.investigation, "warnings": window.warnings,
    });
    Ok(Json(body).into_response())
}
