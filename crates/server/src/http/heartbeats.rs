//! The heartbeat endpoints under `/api/v1/heartbeats`: the status of every outcome monitor of
//! the caller's organisation, one monitor, and pushing its business events. A push is
//! answered 2xx only once its count is committed. Events may be dated back over the whole
//! history the monitor learns from, so history can be loaded after the fact.

use super::AppState;
use super::auth::Caller;
use super::errors::{ApiError, parse_json};
use crate::heartbeat::{HeartbeatStatus, PUSH_MAX_AHEAD, RECENT_LOOKBACK};
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::Deserialize;
use staunch_config::heartbeats::HeartbeatDefinition;
use staunch_store::{Role, SloBucket};

/// The largest count one push may carry, so a typo cannot swamp a baseline.
const MAX_EVENTS_PER_PUSH: u64 = 1_000_000_000;

fn organisation_heartbeats(state: &AppState, caller: &Caller) -> Vec<HeartbeatDefinition> {
    state.config.organisation_by_id(caller.org()).map(|organisation| organisation.heartbeats.clone()).unwrap_or_default()
}

fn find_heartbeat(state: &AppState, caller: &Caller, id: &str) -> Result<HeartbeatDefinition, ApiError> {
    organisation_heartbeats(state, caller)
        .into_iter()
        .find(|heartbeat| heartbeat.id == id)
        .ok_or_else(|| ApiError::field(StatusCode::NOT_FOUND, "id", format!("no heartbeat {id:?}")))
}

pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<HeartbeatStatus>>, ApiError> {
    caller.require(Role::Viewer)?;
    let statuses = organisation_heartbeats(&state, &caller)
        .iter()
        .map(|heartbeat| state.heartbeats.status(caller.org(), heartbeat))
        .collect();
    Ok(Json(statuses))
}

pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<HeartbeatStatus>, ApiError> {
    caller.require(Role::Viewer)?;
    let heartbeat = find_heartbeat(&state, &caller, &id)?;
    Ok(Json(state.heartbeats.status(caller.org(), &heartbeat)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PushBody {
    count: Option<u64>,
    /// When the events happened; now when absent.
    at: Option<Timestamp>,
}

pub async fn push_events(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    caller.require(Role::Responder)?;
    let heartbeat = find_heartbeat(&state, &caller, &id)?;
    let body: PushBody = parse_json(&body?)?;
    let invalid = |field: &str, message: String| ApiError::field(StatusCode::UNPROCESSABLE_ENTITY, field, message);
    let Some(count) = body.count else {
        return Err(invalid("count", "missing: the number of events".into()));
    };
    if count > MAX_EVENTS_PER_PUSH {
        return Err(invalid("count", format!("at most {MAX_EVENTS_PER_PUSH} events per push")));
    }
    let now = state.clock.now();
    let at = body.at.unwrap_or(now);
    let oldest = now - heartbeat.history_span();
    if at < oldest {
        return Err(invalid("at", format!("{at} is older than the monitor's history (from {oldest})")));
    }
    if at > now + PUSH_MAX_AHEAD {
        return Err(invalid("at", format!("{at} is in the future")));
    }
    caller.store.add_slo_events(&heartbeat.bucket_key(), &[SloBucket { minute: at, good: count, total: count }]).await?;
    // The worker re-reads recent minutes each tick; half that span leaves room for its tick.
    if at < now - RECENT_LOOKBACK / 2 {
        state.heartbeats.history_changed(caller.org(), &heartbeat.id);
    }
    Ok((StatusCode::ACCEPTED, Json(serde_json::json!({ "heartbeat": heartbeat.id, "count": count, "at": at }))).into_response())
}
