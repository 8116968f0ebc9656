//! The SLO endpoints under `/api/v1/slos`: the status of every SLO of the caller's
//! organisation, one SLO, its budget burn-down chart (SVG), and pushing events into a
//! push-sourced SLO. A push is answered 2xx only once its counts are committed.

use super::AppState;
use super::auth::Caller;
use super::errors::{ApiError, parse_json};
use crate::slo::{PUSH_MAX_AGE, PUSH_MAX_AHEAD, SloStatus, chart};
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::Deserialize;
use staunch_config::slos::{SliSource, SloDefinition};
use staunch_store::{Role, SloBucket};

/// The largest count one push may carry, so a typo cannot swamp a window.
const MAX_EVENTS_PER_PUSH: u64 = 1_000_000_000;

fn organisation_slos(state: &AppState, caller: &Caller) -> Vec<SloDefinition> {
    state.config.organisation_by_id(caller.org()).map(|organisation| organisation.slos.clone()).unwrap_or_default()
}

fn find_slo(state: &AppState, caller: &Caller, id: &str) -> Result<SloDefinition, ApiError> {
    organisation_slos(state, caller)
        .into_iter()
        .find(|slo| slo.id == id)
        .ok_or_else(|| ApiError::field(StatusCode::NOT_FOUND, "id", format!("no slo {id:?}")))
}

pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<SloStatus>>, ApiError> {
    caller.require(Role::Viewer)?;
    let statuses = organisation_slos(&state, &caller).iter().map(|slo| state.slos.status(caller.org(), slo)).collect();
    Ok(Json(statuses))
}

pub async fn get(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Json<SloStatus>, ApiError> {
    caller.require(Role::Viewer)?;
    let slo = find_slo(&state, &caller, &id)?;
    Ok(Json(state.slos.status(caller.org(), &slo)))
}

pub async fn burn_svg(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Response, ApiError> {
    caller.require(Role::Viewer)?;
    let slo = find_slo(&state, &caller, &id)?;
    let now = state.clock.now();
    let buckets = caller.store.slo_buckets(&slo.id, now - slo.period.duration().as_span()).await?;
    let svg = chart::render(&slo, &buckets, now);
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PushBody {
    /// Counts: `good` out of `total`.
    good: Option<u64>,
    total: Option<u64>,
    /// A single event: `"good"` or `"bad"`.
    event: Option<String>,
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
    let slo = find_slo(&state, &caller, &id)?;
    if slo.source != SliSource::Push {
        return Err(ApiError::field(StatusCode::CONFLICT, "id", format!("slo {id:?} is pulled from prometheus, not pushed")));
    }
    let body: PushBody = parse_json(&body?)?;
    let invalid = |field: &str, message: String| ApiError::field(StatusCode::UNPROCESSABLE_ENTITY, field, message);
    let (good, total) = match (body.event.as_deref(), body.good, body.total) {
        (Some("good"), None, None) => (1, 1),
        (Some("bad"), None, None) => (0, 1),
        (Some(other), None, None) => return Err(invalid("event", format!("{other:?} must be \"good\" or \"bad\""))),
        (Some(_), _, _) => return Err(invalid("event", "give either event or good and total, not both".into())),
        (None, Some(good), Some(total)) => (good, total),
        (None, None, _) => return Err(invalid("good", "missing: give good and total (or event)".into())),
        (None, _, None) => return Err(invalid("total", "missing: give good and total (or event)".into())),
    };
    if good > total {
        return Err(invalid("good", format!("{good} is more than total ({total})")));
    }
    if total > MAX_EVENTS_PER_PUSH {
        return Err(invalid("total", format!("at most {MAX_EVENTS_PER_PUSH} events per push")));
    }
    let now = state.clock.now();
    let at = body.at.unwrap_or(now);
    if at < now - PUSH_MAX_AGE {
        return Err(invalid("at", format!("{at} is more than an hour ago")));
    }
    if at > now + PUSH_MAX_AHEAD {
        return Err(invalid("at", format!("{at} is in the future")));
    }
    caller.store.add_slo_events(&slo.id, &[SloBucket { minute: at, good, total }]).await?;
    Ok((StatusCode::ACCEPTED, Json(serde_json::json!({ "slo": slo.id, "good": good, "total": total, "at": at }))).into_response())
}
