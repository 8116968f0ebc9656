//! `/api/v1/noise` (the state of the organisation's alert-noise model and what each service
//! does with likely noise) and `/api/v1/incidents/{id}/llm-exchanges` (the language-model
//! prompts and answers kept for audit, for admins).

use super::reply::Named;
use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use staunch_domain::noise::{NoiseState, ThresholdChoice};

use super::AppState;
use super::api::existing_incident_id;
use super::auth::Caller;
use super::errors::ApiError;
use staunch_store::Role;

pub async fn noise_model(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    let org = caller.org();
    let model = state.noise.get(org).map(|triage| {
        let (actionable, noise) = triage.model.totals();
        let (status, threshold) = match triage.state {
            NoiseState::Learning { .. } => ("learning", None),
            NoiseState::Ready { threshold } => ("ready", Some(threshold)),
        };
        serde_json::json!({
            "state": status, "threshold": threshold, "actionable": actionable, "noise": noise,
            "trained_as_of": triage.trained_as_of,
            "needs": { "actionable": state.noise.policy().min_actionable, "noise": state.noise.policy().min_noise },
        })
    });
    let services: Vec<serde_json::Value> = state
        .config
        .organisation_by_id(org)
        .map(|organisation| {
            organisation
                .directory
                .services
                .keys()
                .map(|service_id| {
                    let setting = organisation.noise.for_service(service_id);
                    let threshold = match setting.threshold {
                        ThresholdChoice::Auto => serde_json::json!("auto"),
                        ThresholdChoice::Fixed(value) => serde_json::json!(value),
                    };
                    let action = match setting.action {
                        staunch_config::noise::NoiseAction::Page => "page",
                        staunch_config::noise::NoiseAction::Ticket => "ticket",
                    };
                    serde_json::json!({ "service": service_id, "action": action, "threshold": threshold })
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Json(serde_json::json!({ "model": model, "services": services })).into_response())
}

pub async fn llm_exchanges(caller: Caller, Path(id): Path<String>) -> Result<Response, ApiError> {
    caller.require(Role::Admin)?;
    let id = existing_incident_id(&caller, &id).await?;
    let exchanges = caller.store.llm_exchanges(id).await?;
    Ok(Json(Named("llm_exchanges", &exchanges)).into_response())
}
