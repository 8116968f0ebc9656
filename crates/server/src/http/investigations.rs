//! The investigation API: an incident's hypotheses (`GET /incidents/{id}/investigation`, the
//! latest stored, or computed "as of" a time) and the service catalog (`GET`/`PUT /catalog`).

use super::reply::Named;
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::Deserialize;
use staunch_domain::catalog::{CatalogEntity, check_catalog};
use staunch_store::Role;

use super::AppState;
use super::auth::Caller;
use super::errors::{ApiError, parse_json, parse_query};
use crate::engine::{Command, Reply};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InvestigationQuery {
    as_of: Option<Timestamp>,
}

/// The latest investigation (computed now if none is stored yet), or one computed from what
/// was timestamped before `as_of`. Read-only either way: nothing is stored for `as_of`.
pub async fn get_investigation(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let query: InvestigationQuery = parse_query(query.as_deref())?;
    let incident = super::api::existing_incident(&caller, &id).await?;
    let id = incident.id;
    if query.as_of.is_none()
        && let Some(stored) = caller.store.investigation(id).await?
    {
        let body = serde_json::json!({ "computed_at": stored.computed_at, "stored": true, "investigation": stored.result });
        return Ok(Json(body).into_response());
    }
    let now = state.clock.now();
    let as_of = query.as_of.unwrap_or(now);
    if as_of > now {
        return Err(ApiError::field(StatusCode::UNPROCESSABLE_ENTITY, "as_of", "is in the future"));
    }
    if as_of <= incident.created_at {
        let message = format!("is not after the incident opened ({})", incident.created_at);
        return Err(ApiError::field(StatusCode::UNPROCESSABLE_ENTITY, "as_of", message));
    }
    let investigation = crate::investigation::compute(&caller.store, &incident, as_of, state.prometheus.as_ref()).await?;
    Ok(Json(serde_json::json!({ "computed_at": now, "stored": false, "investigation": investigation })).into_response())
}

pub async fn get_catalog(caller: Caller) -> Result<Response, ApiError> {
    let entities = caller.store.catalog().await?;
    Ok(Json(Named("entities", &entities)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogBody {
    entities: Vec<CatalogEntity>,
}

/// At most this many entities per organisation: one request replaces them all.
const MAX_CATALOG_ENTITIES: usize = 10_000;

/// Replaces the organisation's whole catalog (admins: it is configuration) and says what was
/// added, updated and removed.
pub async fn put_catalog(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    caller.require(Role::Admin)?;
    let body: CatalogBody = parse_json(&body?)?;
    if body.entities.len() > MAX_CATALOG_ENTITIES {
        let message = format!("at most {MAX_CATALOG_ENTITIES} entities, got {}", body.entities.len());
        return Err(ApiError::field(StatusCode::UNPROCESSABLE_ENTITY, "entities", message));
    }
    check_catalog(&body.entities).map_err(|error| ApiError::field(StatusCode::UNPROCESSABLE_ENTITY, error.at, error.problem))?;
    let details = serde_json::json!({ "entities": body.entities.len() });
    let audit = caller.audit("catalog.replace", "catalog".to_string(), details);
    match state.engine.submit_audited(Command::ReplaceCatalog { org: caller.org(), entities: body.entities }, audit).await {
        Ok(Reply::CatalogReplaced(sync)) => Ok(Json(Named("sync", &sync)).into_response()),
        Ok(_) => Err(ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")),
        Err(error) => Err(ApiError::unavailable(error.to_string())),
    }
}
