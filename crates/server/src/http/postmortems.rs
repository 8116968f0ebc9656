//! Learning from incidents over the API: action items (`/incidents/{id}/action-items`,
//! `/action-items/{id}`), the blameless postmortem (`/incidents/{id}/postmortem`), the
//! regression case (`/incidents/{id}/case`) and the response and DORA report (`/report`).

use super::AppState;
use super::api::existing_incident;
use super::auth::Caller;
use super::errors::{ApiError, parse_json, parse_query, positive_id};
use super::reply::Named;
use crate::engine::{ActionItemAction, ActionItemPatch, Command, Reply};
use crate::facts;
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Deserializer};
use staunch_domain::action_item::ActionItemStatus;
use staunch_domain::duration::HumanDuration;
use staunch_domain::postmortem::{PostmortemInput, build, render_html, render_markdown};
use staunch_store::Role;

/// How long before an incident a change of its service counts as a contributing factor.
const CHANGE_WINDOW: SignedDuration = SignedDuration::from_hours(24);

fn engine_reply(result: Result<Reply, crate::engine::EngineError>, created: bool) -> Result<Response, ApiError> {
    match result {
        Ok(Reply::ActionItem(item)) => {
            let status = if created { StatusCode::CREATED } else { StatusCode::OK };
            Ok((status, Json(Named("action_item", &item))).into_response())
        }
        Ok(Reply::IncidentNotFound) => Err(ApiError::field(StatusCode::NOT_FOUND, "id", "no such incident")),
        Ok(Reply::ActionItemNotFound) => Err(ApiError::field(StatusCode::NOT_FOUND, "id", "no such action item")),
        Ok(Reply::Rejected { message }) => match message.split_once(": ") {
            Some((field, message)) if matches!(field, "text" | "owner") => {
                Err(ApiError::field(StatusCode::UNPROCESSABLE_ENTITY, field, message))
            }
            _ => Err(ApiError::new(StatusCode::CONFLICT, message)),
        },
        Ok(_) => Err(ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")),
        Err(error) => Err(ApiError::unavailable(error.to_string())),
    }
}

pub async fn list_action_items(caller: Caller, Path(id): Path<String>) -> Result<Response, ApiError> {
    let incident = existing_incident(&caller, &id).await?;
    let items = caller.store.action_items(incident.id).await?;
    Ok(Json(Named("action_items", &items)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewActionItemBody {
    text: String,
    owner: Option<String>,
    due: Option<Date>,
}

pub async fn add_action_item(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    caller.require(Role::Responder)?;
    let incident = existing_incident(&caller, &id).await?;
    let body: NewActionItemBody = parse_json(&body?)?;
    let details = serde_json::json!({ "text": body.text, "owner": body.owner, "due": body.due });
    let audit = caller.audit("action_item.add", format!("incident/{}", incident.id), details);
    let action = ActionItemAction::Add { incident_id: incident.id, text: body.text, owner: body.owner, due: body.due };
    let command = Command::ActionItem { org: caller.org(), actor: caller.actor.clone(), action };
    engine_reply(state.engine.submit_audited(command, audit).await, true)
}

/// A field that may be given as a value, given as `null` (clear it), or left out (keep it).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(deserializer: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchBody {
    text: Option<String>,
    #[serde(default, deserialize_with = "present")]
    owner: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    due: Option<Option<Date>>,
    status: Option<ActionItemStatus>,
}

pub async fn update_action_item(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    caller.require(Role::Responder)?;
    let action_item_id = positive_id(&id, "id", "an action item id")?;
    let body: PatchBody = parse_json(&body?)?;
    let details = serde_json::json!({ "text": body.text, "owner": body.owner, "due": body.due, "status": body.status });
    let audit = caller.audit("action_item.update", format!("action-item/{action_item_id}"), details);
    let patch = ActionItemPatch { text: body.text, owner: body.owner, due: body.due, status: body.status };
    let action = ActionItemAction::Update { action_item_id, patch };
    let command = Command::ActionItem { org: caller.org(), actor: caller.actor.clone(), action };
    engine_reply(state.engine.submit_audited(command, audit).await, false)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PostmortemQuery {
    /// `md` (default), `html` or `json`.
    format: Option<String>,
}

pub async fn postmortem(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let query: PostmortemQuery = parse_query(query.as_deref())?;
    let format = query.format.as_deref().unwrap_or("md");
    if !matches!(format, "md" | "html" | "json") {
        return Err(ApiError::field(
            StatusCode::BAD_REQUEST,
            "format",
            format!("unknown format {format:?}: expected md, html or json"),
        ));
    }
    let incident = existing_incident(&caller, &id).await?;
    let now = state.clock.now();
    let record = facts::load_incident(&caller.store, &state.config, incident, now).await?;
    let incident = facts::incident(&record.incident);
    let (timeline, alerts) = (facts::timeline(&record.timeline), facts::alerts(&record.alerts));
    let (changes, action_items) = (facts::changes(&record.changes), facts::action_items(&record.action_items));
    let people = facts::people(&state.config, caller.org());
    let input = PostmortemInput {
        incident: &incident,
        timeline: &timeline,
        alerts: &alerts,
        changes: &changes,
        change_window: CHANGE_WINDOW,
        action_items: &action_items,
        budget: record.budget.as_ref(),
        people: &people,
    };
    let postmortem = build(&input, now);
    Ok(match format {
        "html" => ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], render_html(&postmortem)).into_response(),
        "json" => Json(Named("postmortem", &postmortem)).into_response(),
        _ => ([(header::CONTENT_TYPE, "text/markdown; charset=utf-8")], render_markdown(&postmortem)).into_response(),
    })
}

/// The incident as a regression case (`staunch incident export-case`).
pub async fn regression_case(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let incident = existing_incident(&caller, &id).await?;
    let timeline = facts::timeline(&caller.store.timeline(incident.id).await?);
    let filter = staunch_store::AlertFilter { incident_id: Some(incident.id), limit: 1000, ..Default::default() };
    let alerts = facts::alerts(&caller.store.alerts(&filter).await?);
    let case = staunch_domain::regression_case::from_incident(
        &facts::incident(&incident),
        &incident.group_key,
        &timeline,
        &alerts,
        state.clock.now(),
    )
    .map_err(|error| ApiError::new(StatusCode::CONFLICT, error.to_string()))?;
    Ok(Json(case).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportQuery {
    /// RFC 3339 instants; default: the 30 days before now.
    since: Option<Timestamp>,
    until: Option<Timestamp>,
    /// How soon after a deploy an incident of its service counts the deploy as failed.
    failure_window: Option<HumanDuration>,
}

pub async fn report(State(state): State<AppState>, caller: Caller, RawQuery(query): RawQuery) -> Result<Response, ApiError> {
    let query: ReportQuery = parse_query(query.as_deref())?;
    let until = query.until.unwrap_or_else(|| state.clock.now());
    let since = query.since.unwrap_or(until - SignedDuration::from_hours(24 * 30));
    if since >= until {
        return Err(ApiError::field(StatusCode::BAD_REQUEST, "since", "must be before until"));
    }
    let failure_window = query.failure_window.map(|window| window.as_span()).unwrap_or(SignedDuration::from_hours(1));
    let incidents: Vec<_> = facts::incidents_since(&caller.store, since).await?.iter().map(facts::incident).collect();
    let changes = facts::changes(&facts::all_changes(&caller.store).await?);
    let report = staunch_domain::report::compute(&incidents, &changes, since, until, failure_window);
    Ok(Json(Named("report", &report)).into_response())
}
