//! `/api/v1` runbook endpoints: the organisation's runbooks, an incident's candidates (symptom
//! and ranking) and runs, starting or dry-running a run, and what a person gives a run
//! (approval, a tick of a manual step, an undo). Changes need the responder role and go into
//! the audit log with the change.

use super::reply::Named;
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use staunch_store::{Role, RunbookRun};

use super::AppState;
use super::auth::Caller;
use super::errors::{ApiError, parse_json, positive_id};
use crate::runbook::{RunbookError, StartRequest};

impl From<RunbookError> for ApiError {
    fn from(error: RunbookError) -> ApiError {
        match error {
            RunbookError::NotFound { field, message } => ApiError::field(StatusCode::NOT_FOUND, field, message),
            RunbookError::Conflict(message) => ApiError::new(StatusCode::CONFLICT, message),
            RunbookError::Store(error) => error.into(),
        }
    }
}

/// A run with each step's name beside its progress, as the API and the CLI show it.
fn run_view(run: &RunbookRun) -> serde_json::Value {
    let names: Vec<serde_json::Value> =
        run.progress.steps.iter().enumerate().map(|(index, _)| run.definition["steps"][index]["name"].clone()).collect();
    let mut view = serde_json::to_value(run).unwrap_or_default();
    view["state"] = serde_json::json!(run.state().as_str());
    view["step_names"] = serde_json::json!(names);
    view
}

pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    let runbooks: Vec<serde_json::Value> = state
        .runbooks
        .runbooks(caller.org())
        .iter()
        .map(|runbook| {
            let steps: Vec<serde_json::Value> = runbook
                .steps
                .iter()
                .map(|step| {
                    serde_json::json!({
                        "name": step.name, "kind": step.action.kind(), "reversible": step.reversible,
                        "idempotent": step.idempotent, "needs_approval": step.needs_approval(),
                        "timeout_ms": step.timeout.as_millis(),
                    })
                })
                .collect();
            serde_json::json!({
                "name": runbook.name, "description": runbook.description, "approval_required": runbook.approval_required,
                "applies_to": runbook.raw.applies_to, "steps": steps,
            })
        })
        .collect();
    Ok(Json(Named("runbooks", &runbooks)).into_response())
}

pub async fn candidates(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Response, ApiError> {
    let incident_id = super::api::incident_id(&id)?;
    let candidates = state.runbooks.candidates(caller.org(), incident_id).await?;
    Ok(Json(serde_json::json!({ "symptom": candidates.symptom, "candidates": candidates.runbooks })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StartBody {
    runbook: String,
    #[serde(default)]
    dry_run: bool,
}

pub async fn start(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    caller.require(Role::Responder)?;
    let incident_id = super::api::incident_id(&id)?;
    let body: StartBody =
        parse_json(&body.map_err(|_| ApiError::field(StatusCode::BAD_REQUEST, "body", "cannot read request body"))?)?;
    let action = if body.dry_run { "runbook.dry_run" } else { "runbook.start" };
    let audit = caller.audit(
        action,
        format!("incident/{incident_id}"),
        serde_json::json!({ "runbook": body.runbook, "dry_run": body.dry_run }),
    );
    let run = state
        .runbooks
        .start(StartRequest {
            org: caller.org(),
            incident_id,
            runbook: body.runbook,
            dry_run: body.dry_run,
            require_approval: false,
            actor: caller.actor.clone(),
            audit: Some(audit),
            deploy_rollback: false,
        })
        .await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "run": run_view(&run) }))).into_response())
}

pub async fn incident_runs(caller: Caller, Path(id): Path<String>) -> Result<Response, ApiError> {
    let incident_id = super::api::existing_incident_id(&caller, &id).await?;
    let runs: Vec<serde_json::Value> = caller.store.runbook_runs(incident_id).await?.iter().map(run_view).collect();
    Ok(Json(Named("runs", &runs)).into_response())
}

pub async fn get_run(caller: Caller, Path(id): Path<String>) -> Result<Response, ApiError> {
    let run_id = positive_id(&id, "id", "a runbook run id")?;
    let run = caller
        .store
        .runbook_run(run_id)
        .await?
        .ok_or_else(|| ApiError::field(StatusCode::NOT_FOUND, "id", "no such runbook run"))?;
    Ok(Json(serde_json::json!({ "run": run_view(&run) })).into_response())
}

/// Approve, undo and tick take no body; an empty one or `{}` is accepted.
fn no_body(body: &Result<Bytes, BytesRejection>) -> Result<(), ApiError> {
    let text = body.as_ref().ok().map(|bytes| String::from_utf8_lossy(bytes).trim().to_string()).unwrap_or_default();
    if text.is_empty() || text == "{}" {
        return Ok(());
    }
    Err(ApiError::field(StatusCode::UNPROCESSABLE_ENTITY, "body", "this action takes no body"))
}

pub async fn approve(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    caller.require(Role::Responder)?;
    no_body(&body)?;
    let run_id = positive_id(&id, "id", "a runbook run id")?;
    let audit = caller.audit("runbook.approve", format!("runbook-run/{run_id}"), serde_json::Value::Null);
    let run = state.runbooks.approve(caller.org(), run_id, caller.actor.clone(), Some(audit)).await?;
    Ok(Json(serde_json::json!({ "run": run_view(&run) })).into_response())
}

pub async fn undo(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    caller.require(Role::Responder)?;
    no_body(&body)?;
    let run_id = positive_id(&id, "id", "a runbook run id")?;
    let audit = caller.audit("runbook.undo", format!("runbook-run/{run_id}"), serde_json::Value::Null);
    let run = state.runbooks.undo(caller.org(), run_id, caller.actor.clone(), Some(audit)).await?;
    Ok(Json(serde_json::json!({ "run": run_view(&run) })).into_response())
}

pub async fn tick(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, step)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    caller.require(Role::Responder)?;
    no_body(&body)?;
    let run_id = positive_id(&id, "id", "a runbook run id")?;
    let step: usize =
        step.parse().map_err(|_| ApiError::field(StatusCode::BAD_REQUEST, "step", format!("{step:?} is not a step index")))?;
    let audit = caller.audit("runbook.tick", format!("runbook-run/{run_id}"), serde_json::json!({ "step": step }));
    let run = state.runbooks.tick(caller.org(), run_id, step, caller.actor.clone(), Some(audit)).await?;
    Ok(Json(serde_json::json!({ "run": run_view(&run) })).into_response())
}
