//! Ingest endpoints: Alertmanager's webhook and the PagerDuty Events API v2, answered the way
//! each sender expects. A 2xx is sent only after the engine has committed the events.

use super::AppState;
use super::errors::ApiError;
use super::rate_limit::Throttled;
use crate::engine::{Command, EngineError, Reply};
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use staunch_domain::alert::{DedupKey, SourceFormat};
use staunch_domain::directory::Integration;
use staunch_domain::ingest::{IngestError, alertmanager, pagerduty};
use staunch_store::{NewChangeEvent, OrgId};

/// An integration key, resolved to the tenant and the integration it ingests for. The key
/// alone decides the organisation: nothing a sender puts in the body can change it.
pub(super) struct IngestTarget<'a> {
    pub org: OrgId,
    pub integration: &'a Integration,
    /// Names the key's rate-limit bucket without keeping the key.
    pub key_sha256: String,
}

/// The integration with this key, whatever its type.
pub(super) fn resolve_integration_key<'a>(state: &'a AppState, key: &str) -> Option<IngestTarget<'a>> {
    let key_sha256 = staunch_config::secret_digest(key);
    let (org, integration) = state.config.integration(&key_sha256)?;
    Some(IngestTarget { org, integration, key_sha256 })
}

/// The answer to a sender over its integration's rate limit: 429 with `Retry-After`, and a
/// JSON body in the sender's dialect (`body` gets the message).
pub(super) fn throttled(over: Throttled, body: impl FnOnce(String) -> serde_json::Value) -> Response {
    with_retry_after((StatusCode::TOO_MANY_REQUESTS, Json(body(throttle_message(&over)))).into_response(), &over)
}

pub(super) fn throttle_message(over: &Throttled) -> String {
    format!("too many alert events for this integration key: retry after {} s", over.retry_after_seconds)
}

pub(super) fn with_retry_after(mut response: Response, over: &Throttled) -> Response {
    response.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(over.retry_after_seconds));
    response
}

pub(super) fn find_integration<'a>(state: &'a AppState, key: &str, format: SourceFormat) -> Option<IngestTarget<'a>> {
    resolve_integration_key(state, key).filter(|target| target.integration.format == format)
}

pub(super) fn engine_failure_message(error: &EngineError) -> String {
    format!("alert not accepted: {error}")
}

fn engine_failure(error: EngineError) -> ApiError {
    ApiError::unavailable(engine_failure_message(&error))
}

pub async fn alertmanager(
    State(state): State<AppState>,
    Path(key): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Some(target) = find_integration(&state, &key, SourceFormat::Alertmanager) else {
        return ApiError::field(StatusCode::NOT_FOUND, "integration_key", "unknown alertmanager integration key").into_response();
    };
    let slot = state.rate_limits.in_flight_slot(&target.key_sha256).await;
    let body = match body {
        Ok(body) => body,
        Err(rejection) => return ApiError::from(rejection).into_response(),
    };
    let parsed = parse_and_release(body, alertmanager::parse_webhook);
    drop(slot);
    match parsed {
        Ok(webhook) => ingest_alert_group(&state, &target, webhook.truncated_alerts, webhook.alerts).await,
        Err(error) => invalid_payload(error),
    }
}

/// Parses a request's body and frees it before the request waits for the engine. A body still
/// in scope would live across that wait, and with it the connection's read buffer it was cut
/// from: 16 connections sending 100 alerts each held 2 MiB of such buffers.
pub(super) fn parse_and_release<T>(body: Bytes, parse: impl FnOnce(&[u8]) -> T) -> T {
    parse(&body)
}

/// Alertmanager-shaped senders (Alertmanager, Grafana) get their alerts' field errors listed.
pub(super) fn invalid_payload(error: IngestError) -> Response {
    let errors: Vec<serde_json::Value> =
        error.errors.iter().map(|problem| serde_json::json!({ "field": problem.field, "message": problem.message })).collect();
    let body = serde_json::json!({ "status": "invalid payload", "error": error.to_string(), "errors": errors });
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}

/// Ingests a group of alerts (one Alertmanager or Grafana notification) and answers 200 with
/// the receipt once it is committed.
pub(super) async fn ingest_alert_group(
    state: &AppState,
    target: &IngestTarget<'_>,
    truncated_alerts: u64,
    events: Vec<staunch_domain::alert::AlertEvent>,
) -> Response {
    if let Err(over) = state.rate_limits.admit(target, events.len(), state.clock.now()) {
        return throttled(over, |message| serde_json::json!({ "status": "rate limited", "error": message }));
    }
    let command = Command::Ingest {
        org: target.org,
        service_id: target.integration.service_id.clone(),
        format: target.integration.format,
        truncated_alerts,
        events,
    };
    match state.engine.submit(command).await {
        Ok(Reply::Ingested(receipt)) => {
            (StatusCode::OK, Json(serde_json::json!({ "status": "success", "receipt": receipt }))).into_response()
        }
        Ok(other) => unexpected(other).into_response(),
        Err(error) => engine_failure(error).into_response(),
    }
}

/// PagerDuty's 400 body.
fn invalid_event(status: &str, message: &str, errors: Vec<String>) -> Response {
    let body = serde_json::json!({ "status": status, "message": message, "errors": errors });
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}

pub async fn events_v2(State(state): State<AppState>, body: Result<Bytes, BytesRejection>) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(rejection) => return ApiError::from(rejection).into_response(),
    };
    let event = match parse_and_release(body, pagerduty::parse_event) {
        Ok(event) => event,
        Err(invalid) => return invalid_event(invalid.status(), &invalid.message, invalid.errors),
    };
    let Some(target) = find_integration(&state, &event.routing_key, SourceFormat::EventsV2) else {
        return invalid_event(
            pagerduty::InvalidEvent::INVALID_STATUS,
            "Event object is invalid",
            vec!["Invalid routing key".to_string()],
        );
    };
    let dedup_key = match event.dedup_key.clone() {
        Some(key) => key,
        None => match DedupKey::parse(random_hex_key()) {
            Ok(key) => key,
            Err(_) => {
                return ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "cannot generate a dedup key").into_response();
            }
        },
    };
    if let Err(over) = state.rate_limits.admit(&target, 1, state.clock.now()) {
        return throttled(over, |message| serde_json::json!({ "status": "throttle event", "message": message }));
    }
    let alert = event.into_alert_event(dedup_key.clone());
    let command = Command::Ingest {
        org: target.org,
        service_id: target.integration.service_id.clone(),
        format: SourceFormat::EventsV2,
        events: vec![alert],
        truncated_alerts: 0,
    };
    match state.engine.submit(command).await {
        Ok(Reply::Ingested(_)) => {
            let body = serde_json::json!({ "status": "success", "message": "Event processed", "dedup_key": dedup_key });
            (StatusCode::ACCEPTED, Json(body)).into_response()
        }
        Ok(other) => unexpected(other).into_response(),
        Err(error) => engine_failure(error).into_response(),
    }
}

pub async fn change_event(State(state): State<AppState>, body: Result<Bytes, BytesRejection>) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(rejection) => return ApiError::from(rejection).into_response(),
    };
    let change = match parse_and_release(body, pagerduty::parse_change_event) {
        Ok(change) => change,
        Err(invalid) => return invalid_event(invalid.status(), &invalid.message, invalid.errors),
    };
    let Some(target) = find_integration(&state, &change.routing_key, SourceFormat::EventsV2) else {
        return invalid_event(
            pagerduty::InvalidEvent::INVALID_STATUS,
            "Event object is invalid",
            vec!["Invalid routing key".to_string()],
        );
    };
    let now = state.clock.now();
    if let Err(over) = state.rate_limits.admit(&target, 1, now) {
        return throttled(over, |message| serde_json::json!({ "status": "throttle event", "message": message }));
    }
    let event = NewChangeEvent {
        org: target.org,
        service_id: target.integration.service_id.clone(),
        summary: change.payload.summary,
        source: change.payload.source,
        at: change.payload.timestamp.unwrap_or(now),
        received_at: now,
        details: change.payload.custom_details,
        links: change.links,
    };
    match state.engine.submit(Command::RecordChange { event }).await {
        Ok(Reply::ChangeRecorded { .. }) => {
            (StatusCode::ACCEPTED, Json(serde_json::json!({ "status": "success", "message": "Change event processed" })))
                .into_response()
        }
        Ok(other) => unexpected(other).into_response(),
        Err(error) => engine_failure(error).into_response(),
    }
}

fn unexpected(reply: Reply) -> ApiError {
    tracing::error!(?reply, "engine answered with an unexpected reply");
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
}

/// 32 hex characters, the shape of PagerDuty's generated dedup keys.
fn random_hex_key() -> String {
    let bytes: [u8; 16] = rand::random();
    hex::encode(bytes)
}
