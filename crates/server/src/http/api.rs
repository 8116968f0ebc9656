//! The JSON API under `/api/v1`: incidents and their alerts, timeline and deliveries; the
//! actions a responder takes; on-call lookups; silences.

use super::AppState;
use super::auth::Caller;
use super::errors::{ApiError, parse_json, parse_query};
use super::reply::{Named, StreamedList};
use crate::engine::{Command, IncidentAction, Reply};
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::Deserialize;
use staunch_domain::duration::HumanDuration;
use staunch_domain::incident::{IncidentState, StateChange};
use staunch_domain::matcher::parse_matchers;
use staunch_domain::severity::Severity;
use staunch_store::{AlertFilter, AuditFilter, Incident, IncidentFilter, NewSilence, Role};

const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 1000;

pub(super) fn incident_id(raw: &str) -> Result<i64, ApiError> {
    super::errors::positive_id(raw, "id", "an incident id")
}

fn page_limit(limit: Option<u32>) -> Result<u32, ApiError> {
    match limit {
        None => Ok(DEFAULT_PAGE),
        Some(limit) if (1..=MAX_PAGE).contains(&limit) => Ok(limit),
        Some(_) => Err(ApiError::field(StatusCode::BAD_REQUEST, "limit", format!("must be between 1 and {MAX_PAGE}"))),
    }
}

pub async fn healthz(State(state): State<AppState>) -> Response {
    match state.store.next_job_due().await {
        Ok(_) => Json(serde_json::json!({ "status": "ok", "leader": state.leader.is_leader() })).into_response(),
        Err(error) => ApiError::unavailable(format!("storage: {error}")).into_response(),
    }
}

pub async fn metrics(State(state): State<AppState>) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render()).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IncidentQuery {
    /// Comma-separated states.
    state: Option<String>,
    service: Option<String>,
    limit: Option<u32>,
    before: Option<i64>,
}

pub async fn list_incidents(caller: Caller, RawQuery(query): RawQuery) -> Result<Response, ApiError> {
    let query: IncidentQuery = parse_query(query.as_deref())?;
    let mut states = Vec::new();
    for name in query.state.as_deref().unwrap_or("").split(',').filter(|name| !name.is_empty()) {
        let Some(parsed) = IncidentState::parse(name) else {
            return Err(ApiError::field(
                StatusCode::BAD_REQUEST,
                "state",
                format!("unknown state {name:?}: expected triggered, acknowledged, mitigated or resolved"),
            ));
        };
        states.push(parsed);
    }
    let filter = IncidentFilter { states, service_id: query.service, before_id: query.before, limit: page_limit(query.limit)? };
    let incidents = caller.store.incidents(&filter).await?;
    Ok(StreamedList { name: "incidents", rows: incidents }.into_response())
}

pub async fn get_incident(caller: Caller, Path(id): Path<String>) -> Result<Response, ApiError> {
    let incident = existing_incident(&caller, &id).await?;
    let id = incident.id;
    // The deploy it opened soon after, and where the rollback stands (`null`: not linked).
    let deploy = caller.store.deploy_link(id).await?.map(|link| crate::deploys::link_view(&link));
    Ok(Json(serde_json::json!({ "incident": incident, "deploy": deploy })).into_response())
}

fn incident_not_found() -> ApiError {
    ApiError::field(StatusCode::NOT_FOUND, "id", "no such incident")
}

/// The incident the path names, when it is one of the caller's org: 400 for what is no id,
/// 404 for an id of no incident.
pub(super) async fn existing_incident(caller: &Caller, raw: &str) -> Result<Incident, ApiError> {
    caller.store.incident(incident_id(raw)?).await?.ok_or_else(incident_not_found)
}

/// The incident id in the path, once it is known to name an incident of the caller's org.
pub(super) async fn existing_incident_id(caller: &Caller, raw: &str) -> Result<i64, ApiError> {
    Ok(existing_incident(caller, raw).await?.id)
}

pub async fn incident_alerts(caller: Caller, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id = existing_incident_id(&caller, &id).await?;
    let alerts = caller.store.alerts(&AlertFilter { incident_id: Some(id), limit: MAX_PAGE, ..Default::default() }).await?;
    Ok(StreamedList { name: "alerts", rows: alerts }.into_response())
}

pub async fn incident_timeline(caller: Caller, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id = existing_incident_id(&caller, &id).await?;
    let timeline = caller.store.timeline(id).await?;
    Ok(StreamedList { name: "timeline", rows: timeline }.into_response())
}

pub async fn incident_notifications(caller: Caller, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id = existing_incident_id(&caller, &id).await?;
    let deliveries = caller.store.deliveries(id).await?;
    Ok(Json(Named("notifications", &deliveries)).into_response())
}

async fn act(state: &AppState, caller: &Caller, id: &str, action: IncidentAction) -> Result<Response, ApiError> {
    let incident = act_on_incident(state, caller, incident_id(id)?, action).await?;
    Ok(Json(Named("incident", &incident)).into_response())
}

/// One responder action on one incident of the caller's organisation, audited, through the
/// engine; the incident as it is afterwards.
pub(super) async fn act_on_incident(
    state: &AppState,
    caller: &Caller,
    incident_id: i64,
    action: IncidentAction,
) -> Result<Incident, ApiError> {
    caller.require(Role::Responder)?;
    let (name, details) = match &action {
        IncidentAction::Change(change) => (format!("incident.{}", change.as_str()), serde_json::Value::Null),
        IncidentAction::Reassign { user_id } => ("incident.reassign".to_string(), serde_json::json!({ "user": user_id })),
        IncidentAction::SetSeverity { severity } => {
            ("incident.severity".to_string(), serde_json::json!({ "severity": severity }))
        }
        IncidentAction::AddNote { text } => ("incident.note".to_string(), serde_json::json!({ "text": text })),
    };
    let audit = caller.audit(&name, format!("incident/{incident_id}"), details);
    let command = Command::Incident { org: caller.org(), incident_id, actor: caller.actor.clone(), action };
    match state.engine.submit_audited(command, audit).await {
        Ok(Reply::Incident(incident)) => Ok(*incident),
        Ok(Reply::IncidentNotFound) => Err(incident_not_found()),
        Ok(Reply::Rejected { message }) => Err(ApiError::new(StatusCode::CONFLICT, message)),
        Ok(_) => Err(ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")),
        Err(error) => Err(ApiError::unavailable(error.to_string())),
    }
}

/// State changes take no body; an empty one, `{}` or nothing at all are all accepted.
fn empty_body(body: &Result<Bytes, BytesRejection>) -> Result<(), ApiError> {
    let Ok(bytes) = body else {
        return Err(ApiError::field(StatusCode::BAD_REQUEST, "body", "cannot read request body"));
    };
    let text = std::str::from_utf8(bytes).unwrap_or("?").trim();
    if text.is_empty() || text == "{}" {
        return Ok(());
    }
    Err(ApiError::field(StatusCode::UNPROCESSABLE_ENTITY, "body", "this action takes no body"))
}

/// Acknowledge, mitigate, resolve and escalate: one handler, told which change by its route.
pub async fn change_state(
    state: AppState,
    caller: Caller,
    id: String,
    body: Result<Bytes, BytesRejection>,
    change: StateChange,
) -> Result<Response, ApiError> {
    empty_body(&body)?;
    act(&state, &caller, &id, IncidentAction::Change(change)).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReassignBody {
    user: String,
}

pub async fn reassign(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    caller.require(Role::Responder)?;
    let body: ReassignBody = parse_json(&body?)?;
    if !state.config.directory(caller.org()).users.contains_key(&body.user) {
        return Err(ApiError::field(StatusCode::UNPROCESSABLE_ENTITY, "user", format!("unknown user {:?}", body.user)));
    }
    act(&state, &caller, &id, IncidentAction::Reassign { user_id: body.user }).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeverityBody {
    severity: Severity,
}

pub async fn set_severity(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body: SeverityBody = parse_json(&body?)?;
    act(&state, &caller, &id, IncidentAction::SetSeverity { severity: body.severity }).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoteBody {
    text: String,
}

const MAX_NOTE_CHARS: usize = 10_000;

pub async fn add_note(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body: NoteBody = parse_json(&body?)?;
    if body.text.trim().is_empty() {
        return Err(ApiError::field(StatusCode::UNPROCESSABLE_ENTITY, "text", "note is empty"));
    }
    if body.text.chars().count() > MAX_NOTE_CHARS {
        return Err(ApiError::field(
            StatusCode::UNPROCESSABLE_ENTITY,
            "text",
            format!("note is longer than {MAX_NOTE_CHARS} characters"),
        ));
    }
    act(&state, &caller, &id, IncidentAction::AddNote { text: body.text }).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AlertQuery {
    service: Option<String>,
    firing: Option<bool>,
    limit: Option<u32>,
    before: Option<i64>,
}

pub async fn list_alerts(caller: Caller, RawQuery(query): RawQuery) -> Result<Response, ApiError> {
    let query: AlertQuery = parse_query(query.as_deref())?;
    let filter = AlertFilter {
        service_id: query.service,
        firing: query.firing,
        incident_id: None,
        before_id: query.before,
        limit: page_limit(query.limit)?,
    };
    let alerts = caller.store.alerts(&filter).await?;
    Ok(StreamedList { name: "alerts", rows: alerts }.into_response())
}

pub async fn get_alert(caller: Caller, Path(id): Path<String>) -> Result<Response, ApiError> {
    let alert_id = id
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::field(StatusCode::BAD_REQUEST, "id", format!("{id:?} is not an alert id")))?;
    let alert =
        caller.store.alert(alert_id).await?.ok_or_else(|| ApiError::field(StatusCode::NOT_FOUND, "id", "no such alert"))?;
    Ok(Json(Named("alert", &alert)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangeQuery {
    service: Option<String>,
    limit: Option<u32>,
}

pub async fn list_changes(caller: Caller, RawQuery(query): RawQuery) -> Result<Response, ApiError> {
    let query: ChangeQuery = parse_query(query.as_deref())?;
    let changes = caller.store.change_events(query.service.as_deref(), page_limit(query.limit)?).await?;
    Ok(StreamedList { name: "changes", rows: changes }.into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OncallQuery {
    schedule: Option<String>,
    /// RFC 3339 instant; defaults to now.
    at: Option<String>,
}

pub async fn oncall(State(state): State<AppState>, caller: Caller, RawQuery(query): RawQuery) -> Result<Response, ApiError> {
    let query: OncallQuery = parse_query(query.as_deref())?;
    let at = match &query.at {
        Some(text) => text
            .parse::<Timestamp>()
            .map_err(|error| ApiError::field(StatusCode::BAD_REQUEST, "at", format!("not an RFC 3339 instant: {error}")))?,
        None => state.clock.now(),
    };
    let directory = state.config.directory(caller.org());
    let schedules: Vec<&staunch_domain::schedule::Schedule> = match &query.schedule {
        Some(id) => vec![
            directory
                .schedules
                .get(id)
                .ok_or_else(|| ApiError::field(StatusCode::NOT_FOUND, "schedule", format!("unknown schedule {id:?}")))?,
        ],
        None => directory.schedules.values().collect(),
    };
    let entries: Vec<serde_json::Value> = schedules
        .into_iter()
        .map(|schedule| {
            let users: Vec<serde_json::Value> = schedule
                .on_call_at(at)
                .into_iter()
                .map(|user_id| {
                    let name = directory.users.get(&user_id).map(|user| user.name.clone()).unwrap_or_else(|| user_id.clone());
                    serde_json::json!({ "id": user_id, "name": name })
                })
                .collect();
            let next = schedule.final_shifts(at, at + jiff::SignedDuration::from_hours(24 * 14));
            serde_json::json!({ "schedule": schedule.id, "at": at, "on_call": users, "upcoming_shifts": next })
        })
        .collect();
    Ok(Json(Named("oncall", &entries)).into_response())
}

pub async fn list_services(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    let services: Vec<serde_json::Value> = state
        .config
        .directory(caller.org())
        .services
        .values()
        .map(|service| {
            serde_json::json!({
                "id": service.id, "name": service.name, "team": service.team_id, "escalation_policy": service.escalation_policy_id,
                "group_by": service.group_by, "auto_resolve": service.auto_resolve,
            })
        })
        .collect();
    Ok(Json(Named("services", &services)).into_response())
}

pub async fn list_silences(caller: Caller) -> Result<Response, ApiError> {
    let silences = caller.store.silences().await?;
    Ok(Json(Named("silences", &silences)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SilenceBody {
    /// Alertmanager matcher syntax, e.g. `{env="staging", alertname=~"Disk.*"}`.
    matchers: String,
    starts_at: Option<Timestamp>,
    ends_at: Option<Timestamp>,
    /// Alternative to `ends_at`: how long from `starts_at`.
    duration: Option<HumanDuration>,
    comment: Option<String>,
}

pub async fn create_silence(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    caller.require(Role::Responder)?;
    let body: SilenceBody = parse_json(&body?)?;
    let unprocessable = |field: &str, message: String| ApiError::field(StatusCode::UNPROCESSABLE_ENTITY, field, message);
    let matchers = parse_matchers(&body.matchers).map_err(|error| unprocessable("matchers", error.to_string()))?;
    if matchers.is_empty() {
        return Err(unprocessable("matchers", "a silence needs at least one matcher".into()));
    }
    let starts_at = body.starts_at.unwrap_or_else(|| state.clock.now());
    let ends_at = match (body.ends_at, body.duration) {
        (Some(_), Some(_)) => {
            return Err(unprocessable("duration", "give ends_at or duration, not both".into()));
        }
        (Some(ends_at), None) => ends_at,
        (None, Some(duration)) => starts_at + duration.as_span(),
        (None, None) => return Err(unprocessable("ends_at", "give ends_at or duration".into())),
    };
    if ends_at <= starts_at {
        return Err(unprocessable("ends_at", "must be after starts_at".into()));
    }
    let silence = NewSilence {
        org: caller.org(),
        matchers: body.matchers,
        starts_at,
        ends_at,
        created_by: caller.actor.clone(),
        comment: body.comment.unwrap_or_default(),
    };
    let details = serde_json::json!({
        "matchers": silence.matchers, "starts_at": starts_at, "ends_at": ends_at, "comment": silence.comment,
    });
    let audit = caller.audit("silence.create", "silence".to_string(), details);
    match state.engine.submit_audited(Command::CreateSilence { silence }, audit).await {
        Ok(Reply::SilenceCreated { id }) => {
            Ok((StatusCode::CREATED, Json(serde_json::json!({ "id": id, "starts_at": starts_at, "ends_at": ends_at })))
                .into_response())
        }
        Ok(_) => Err(ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")),
        Err(error) => Err(ApiError::unavailable(error.to_string())),
    }
}

pub async fn expire_silence(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Result<Response, ApiError> {
    caller.require(Role::Responder)?;
    let silence_id =
        id.parse::<i64>().map_err(|_| ApiError::field(StatusCode::BAD_REQUEST, "id", format!("{id:?} is not a silence id")))?;
    let audit = caller.audit("silence.expire", format!("silence/{silence_id}"), serde_json::Value::Null);
    match state.engine.submit_audited(Command::ExpireSilence { org: caller.org(), silence_id }, audit).await {
        Ok(Reply::SilenceExpired { found: true }) => Ok(StatusCode::NO_CONTENT.into_response()),
        Ok(Reply::SilenceExpired { found: false }) => Err(ApiError::field(StatusCode::NOT_FOUND, "id", "no such active silence")),
        Ok(_) => Err(ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")),
        Err(error) => Err(ApiError::unavailable(error.to_string())),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    limit: Option<u32>,
    before: Option<i64>,
}

/// The organisation's audit log, newest first. Admins only: it names who did what from where.
pub async fn audit_log(caller: Caller, RawQuery(query): RawQuery) -> Result<Response, ApiError> {
    caller.require(Role::Admin)?;
    let query: AuditQuery = parse_query(query.as_deref())?;
    let entries = caller.store.audit_log(&AuditFilter { before_id: query.before, limit: page_limit(query.limit)? }).await?;
    Ok(StreamedList { name: "audit", rows: entries }.into_response())
}
