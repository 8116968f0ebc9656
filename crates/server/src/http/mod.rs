//! The HTTP surface: ingest endpoints for senders, the JSON API under `/api/v1`, health and
//! metrics. Handlers parse input into domain types, hand commands to the engine and map
//! replies to status codes; they hold no business logic and never panic on input.

mod api;
mod auth;
mod errors;
mod github;
mod heartbeats;
mod ingest;
mod ingest_compat;
mod investigations;
mod noise_llm;
mod postmortems;
mod rate_limit;
mod reply;
mod runbooks;
mod slack;
mod slos;
mod telemetry;

use crate::clock::Clock;
use crate::engine::EngineHandle;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::routing::{delete, get, patch, post};
use metrics_exporter_prometheus::PrometheusHandle;
use staunch_config::Config;
use staunch_domain::incident::StateChange;
use staunch_store::Store;
use std::sync::Arc;

pub use errors::ApiError;

/// The largest request body accepted anywhere. PagerDuty caps an event at 512 KiB; an
/// Alertmanager group of a few hundred alerts stays well under this.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub config: Arc<Config>,
    pub engine: EngineHandle,
    pub clock: Arc<dyn Clock>,
    pub metrics: PrometheusHandle,
    pub rate_limits: Arc<rate_limit::RateLimits>,
    pub leader: crate::leader::LeaderWatch,
    /// The latest SLO evaluations (see `crate::slo`).
    pub slos: crate::slo::SloBoard,
    /// Starts and steers runbook runs (see `crate::runbook`).
    pub runbooks: crate::runbook::RunbookService,
    /// The latest heartbeat evaluations (see `crate::heartbeat`).
    pub heartbeats: crate::heartbeat::HeartbeatBoard,
    /// The trained alert-noise models (see `crate::noise`).
    pub noise: crate::noise::NoiseModels,
    /// The language model, when `llm:` names a provider (see `crate::llm`).
    pub llm: Option<crate::llm::LanguageModel>,
    /// Metric series pulled for investigations, when `telemetry.prometheus` is set.
    pub prometheus: Option<crate::signals::PrometheusSignals>,
}

fn state_change_route(change: StateChange) -> axum::routing::MethodRouter<AppState> {
    post(
        move |State(state): State<AppState>,
              caller: auth::Caller,
              Path(id): Path<String>,
              body: Result<Bytes, BytesRejection>| { api::change_state(state, caller, id, body, change) },
    )
}

pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/incidents", get(api::list_incidents))
        .route("/incidents/{id}", get(api::get_incident))
        .route("/incidents/{id}/alerts", get(api::incident_alerts))
        .route("/incidents/{id}/timeline", get(api::incident_timeline))
        .route("/incidents/{id}/notifications", get(api::incident_notifications))
        .route("/incidents/{id}/acknowledge", state_change_route(StateChange::Acknowledge))
        .route("/incidents/{id}/mitigate", state_change_route(StateChange::Mitigate))
        .route("/incidents/{id}/resolve", state_change_route(StateChange::Resolve))
        .route("/incidents/{id}/escalate", state_change_route(StateChange::Escalate))
        .route("/incidents/{id}/reassign", post(api::reassign))
        .route("/incidents/{id}/severity", post(api::set_severity))
        .route("/incidents/{id}/notes", post(api::add_note))
        .route("/incidents/{id}/investigation", get(investigations::get_investigation))
        .route("/catalog", get(investigations::get_catalog).put(investigations::put_catalog))
        .route("/alerts", get(api::list_alerts))
        .route("/alerts/{id}", get(api::get_alert))
        .route("/changes", get(api::list_changes))
        .route("/oncall", get(api::oncall))
        .route("/services", get(api::list_services))
        .route("/silences", get(api::list_silences).post(api::create_silence))
        .route("/silences/{id}", delete(api::expire_silence))
        .route("/audit", get(api::audit_log))
        .route("/slos", get(slos::list))
        .route("/slos/{id}", get(slos::get))
        .route("/slos/{id}/events", post(slos::push_events))
        .route("/slos/{id}/burn.svg", get(slos::burn_svg))
        .route("/incidents/{id}/action-items", get(postmortems::list_action_items).post(postmortems::add_action_item))
        .route("/action-items/{id}", patch(postmortems::update_action_item))
        .route("/incidents/{id}/postmortem", get(postmortems::postmortem))
        .route("/incidents/{id}/case", get(postmortems::regression_case))
        .route("/report", get(postmortems::report))
        .route("/runbooks", get(runbooks::list))
        .route("/incidents/{id}/runbooks", get(runbooks::candidates).post(runbooks::start))
        .route("/incidents/{id}/runbook-runs", get(runbooks::incident_runs))
        .route("/runbook-runs/{id}", get(runbooks::get_run))
        .route("/runbook-runs/{id}/approve", post(runbooks::approve))
        .route("/runbook-runs/{id}/undo", post(runbooks::undo))
        .route("/runbook-runs/{id}/steps/{step}/tick", post(runbooks::tick))
        .route("/heartbeats", get(heartbeats::list))
        .route("/heartbeats/{id}", get(heartbeats::get))
        .route("/heartbeats/{id}/events", post(heartbeats::push_events))
        .route("/telemetry/logs", get(telemetry::read_logs).post(telemetry::push_logs))
        .route("/telemetry/spans", get(telemetry::read_spans).post(telemetry::push_spans))
        .route("/telemetry/metrics", get(telemetry::read_metrics).post(telemetry::push_metrics))
        .route("/telemetry/investigation", get(telemetry::investigation))
        .route("/noise", get(noise_llm::noise_model))
        .route("/incidents/{id}/llm-exchanges", get(noise_llm::llm_exchanges))
        .fallback(errors::not_found);
    Router::new()
        .route("/integrations/alertmanager/{key}", post(ingest::alertmanager))
        .route("/v2/enqueue", post(ingest::events_v2))
        .route("/v2/change/enqueue", post(ingest::change_event))
        .route("/v2/alerts", post(ingest_compat::opsgenie_create))
        .route("/v2/alerts/{identifier}/close", post(ingest_compat::opsgenie_close))
        .route("/v2/alerts/{identifier}/acknowledge", post(ingest_compat::opsgenie_acknowledge))
        .route("/v2/alerts/{identifier}/message", axum::routing::put(ingest_compat::opsgenie_update_message))
        .route("/v2/alerts/{identifier}/description", axum::routing::put(ingest_compat::opsgenie_update_description))
        .route("/integrations/grafana/{key}", post(ingest_compat::grafana).put(ingest_compat::grafana))
        .route("/integrations/github/{key}", post(github::github))
        .route("/integrations/slack/{key}", post(slack::slack))
        .route("/integrations/v1/grafana_alerting/{key}", post(ingest_compat::grafana).put(ingest_compat::grafana))
        .route("/integrations/v1/grafana_alerting/{key}/", post(ingest_compat::grafana).put(ingest_compat::grafana))
        .route("/integrations/v1/grafana/{key}", post(ingest_compat::grafana).put(ingest_compat::grafana))
        .route("/integrations/v1/grafana/{key}/", post(ingest_compat::grafana).put(ingest_compat::grafana))
        .route("/integrations/v1/alertmanager/{key}", post(ingest::alertmanager))
        .route("/integrations/v1/alertmanager/{key}/", post(ingest::alertmanager))
        .route("/healthz", get(api::healthz))
        .route("/metrics", get(api::metrics))
        .nest("/api/v1", api)
        .fallback(errors::not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(errors::panic_response))
        .with_state(state)
}
