//! Ingest endpoints for senders configured for other incident tools, answered the way those
//! senders expect, so that moving to Staunch means changing only a base URL:
//!
//! - Opsgenie's Alert API v2 (`/v2/alerts`, `Authorization: GenieKey <key>`, the key being a
//!   Staunch integration key of type `opsgenie`): create, close, acknowledge, and the message
//!   and description updates Alertmanager sends with `update_alerts: true`. Answers are
//!   Opsgenie's: `202 {"result": "Request will be processed", "took", "requestId"}`, errors
//!   `{"message", "took", "requestId"}` with 400 (not JSON), 401 (unknown key), 403 (a Staunch
//!   key of another integration type), 422 (invalid request, plus `errors` by field).
//! - Grafana Alerting's webhook (the webhook and Grafana OnCall contact points), at Staunch's
//!   own `/integrations/grafana/{key}` and at Grafana OnCall's integration URLs
//!   (`/integrations/v1/grafana_alerting/{key}/`, `/integrations/v1/grafana/{key}/`), with a key
//!   of type `grafana`. Grafana's webhook may be set to PUT, so PUT is accepted too.
//!
//! Grafana OnCall's Alertmanager URL (`/integrations/v1/alertmanager/{key}/`) is routed straight
//! to the Alertmanager handler in `ingest.rs`. Like every ingest handler, these reply 2xx only
//! after the engine has committed the events.

use super::AppState;
use super::errors::ApiError;
use super::ingest::{
    IngestTarget, engine_failure_message, find_integration, ingest_alert_group, invalid_payload, parse_and_release,
    resolve_integration_key, throttle_message, with_retry_after,
};
use crate::engine::{Command, Reply};
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use staunch_domain::alert::{AlertEvent, DedupKey, SourceFormat};
use staunch_domain::ingest::grafana;
use staunch_domain::ingest::opsgenie::{self, OpsgenieAction, OpsgenieError, UpdatedField};
use std::time::Instant;

/// Opsgenie's `result` for every accepted request.
const OPSGENIE_ACCEPTED: &str = "Request will be processed";

/// Opsgenie's 401 message for an unknown key (its answer quoted in streaak/keyhacks#124).
const OPSGENIE_UNAUTHENTICATED: &str = "Could not authenticate";

/// Opsgenie's internal code for "apiKey is valid but the apiKey cannot do this operation"
/// (403, Opsgenie docs, Response).
const OPSGENIE_FORBIDDEN_CODE: u32 = 40301;

// Opsgenie: create, close, acknowledge, update.

/// Everything an Opsgenie answer carries besides its body: the time the request has taken so
/// far (`took`, seconds) and a request id (`requestId`, also in `X-Request-ID`).
struct OpsgenieExchange {
    started: Instant,
    request_id: String,
}

impl OpsgenieExchange {
    fn begin() -> OpsgenieExchange {
        OpsgenieExchange { started: Instant::now(), request_id: random_uuid() }
    }

    fn reply(&self, status: StatusCode, mut body: Map<String, Value>) -> Response {
        let took_seconds = self.started.elapsed().as_secs_f64();
        // Opsgenie reports milliseconds as a decimal number of seconds, 0.002 and the like.
        let took = (took_seconds * 1000.0).round() / 1000.0;
        body.insert("took".to_string(), json!(took));
        body.insert("requestId".to_string(), json!(self.request_id));
        let mut response = (status, Json(Value::Object(body))).into_response();
        let headers = response.headers_mut();
        if let Ok(value) = HeaderValue::from_str(&self.request_id) {
            headers.insert("X-Request-ID", value);
        }
        if let Ok(value) = HeaderValue::from_str(&format!("{took}")) {
            headers.insert("X-Response-Time", value);
        }
        response
    }

    fn accepted(&self, data: Option<Value>) -> Response {
        let mut body = Map::new();
        body.insert("result".to_string(), json!(OPSGENIE_ACCEPTED));
        if let Some(data) = data {
            body.insert("data".to_string(), data);
        }
        self.reply(StatusCode::ACCEPTED, body)
    }

    fn error(&self, status: StatusCode, message: impl Into<String>) -> Response {
        let mut body = Map::new();
        body.insert("message".to_string(), json!(message.into()));
        self.reply(status, body)
    }

    fn rejected(&self, error: OpsgenieError) -> Response {
        match error {
            OpsgenieError::NotJson(_) => self.error(StatusCode::BAD_REQUEST, error.to_string()),
            OpsgenieError::Invalid(invalid) => {
                let mut body = Map::new();
                body.insert("message".to_string(), json!(invalid.to_string()));
                // Opsgenie's clients read `errors` as a map of field to message.
                let mut by_field = Map::new();
                for problem in invalid.errors {
                    let message = match by_field.remove(&problem.field) {
                        Some(Value::String(earlier)) => format!("{earlier}; {}", problem.message),
                        _ => problem.message,
                    };
                    by_field.insert(problem.field, Value::String(message));
                }
                body.insert("errors".to_string(), Value::Object(by_field));
                self.reply(StatusCode::UNPROCESSABLE_ENTITY, body)
            }
        }
    }

    fn body_rejection(&self, rejection: BytesRejection) -> Response {
        let error = ApiError::from(rejection);
        self.error(error.status, error.message)
    }

    /// The opsgenie integration the request's `Authorization: GenieKey <key>` names.
    fn authenticate<'a>(&self, state: &'a AppState, headers: &HeaderMap) -> Result<IngestTarget<'a>, AuthFailure> {
        let key = genie_key(headers).ok_or(AuthFailure::Unauthenticated)?;
        let target = resolve_integration_key(state, key).ok_or(AuthFailure::Unauthenticated)?;
        if target.integration.format != SourceFormat::Opsgenie {
            return Err(AuthFailure::OtherIntegrationType(target.integration.format));
        }
        Ok(target)
    }

    /// What every `/v2/alerts/{identifier}/…` request starts with: the key checked, then the
    /// identifier, its type and the body read. `Err` is the answer to send instead.
    fn read_identified<'a>(
        &self,
        state: &'a AppState,
        headers: &HeaderMap,
        identifier: Result<Path<String>, PathRejection>,
        query: &Option<String>,
        body: Result<Bytes, BytesRejection>,
    ) -> Result<(IngestTarget<'a>, String, Option<String>, Bytes), Box<Response>> {
        let target = self.authenticate(state, headers).map_err(|failure| Box::new(self.refuse(failure)))?;
        let Ok(Path(identifier)) = identifier else {
            return Err(Box::new(unreadable_identifier(self)));
        };
        let body = body.map_err(|rejection| Box::new(self.body_rejection(rejection)))?;
        Ok((target, identifier, identifier_type(query), body))
    }

    fn refuse(&self, failure: AuthFailure) -> Response {
        match failure {
            AuthFailure::Unauthenticated => self.error(StatusCode::UNAUTHORIZED, OPSGENIE_UNAUTHENTICATED),
            AuthFailure::OtherIntegrationType(format) => {
                // Opsgenie's 403 for a valid key that may not do this; the sender holds the key,
                // so saying which kind it is leaks nothing and saves a confused operator time.
                let mut body = Map::new();
                body.insert("code".to_string(), json!(OPSGENIE_FORBIDDEN_CODE));
                let message = format!(
                    "this key belongs to an integration of type {}, use the key of an integration of type opsgenie",
                    format.as_str()
                );
                body.insert("message".to_string(), json!(message));
                self.reply(StatusCode::FORBIDDEN, body)
            }
        }
    }

    /// Submits `event` through `integration` and answers as Opsgenie does.
    async fn ingest(&self, state: &AppState, target: &IngestTarget<'_>, event: AlertEvent, data: Option<Value>) -> Response {
        if let Err(over) = state.rate_limits.admit(target, 1, state.clock.now()) {
            return with_retry_after(self.error(StatusCode::TOO_MANY_REQUESTS, throttle_message(&over)), &over);
        }
        let command = Command::Ingest {
            org: target.org,
            service_id: target.integration.service_id.clone(),
            format: SourceFormat::Opsgenie,
            events: vec![event],
            truncated_alerts: 0,
        };
        match state.engine.submit(command).await {
            Ok(Reply::Ingested(_)) => self.accepted(data),
            Ok(other) => {
                tracing::error!(reply = ?other, "engine answered an opsgenie request with an unexpected reply");
                self.error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
            }
            // 503: Alertmanager and Opsgenie's SDKs retry server errors.
            Err(error) => self.error(StatusCode::SERVICE_UNAVAILABLE, engine_failure_message(&error)),
        }
    }
}

/// Why an Opsgenie request was not let in.
enum AuthFailure {
    /// No `GenieKey`, or one that is no Staunch integration key: 401.
    Unauthenticated,
    /// The key of a Staunch integration of another type: 403.
    OtherIntegrationType(SourceFormat),
}

/// The key of `Authorization: GenieKey <key>` (scheme matched without regard to case).
fn genie_key(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, key) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("GenieKey") {
        return None;
    }
    let key = key.trim();
    (!key.is_empty()).then_some(key)
}

/// `identifierType` from the query string, when given.
fn identifier_type(query: &Option<String>) -> Option<String> {
    let query = query.as_deref()?;
    form_urlencoded::parse(query.as_bytes()).find(|(name, _)| name == "identifierType").map(|(_, value)| value.into_owned())
}

/// `POST /v2/alerts`.
pub async fn opsgenie_create(State(state): State<AppState>, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Response {
    let exchange = OpsgenieExchange::begin();
    let target = match exchange.authenticate(&state, &headers) {
        Ok(target) => target,
        Err(failure) => return exchange.refuse(failure),
    };
    let slot = state.rate_limits.in_flight_slot(&target.key_sha256).await;
    let body = match body {
        Ok(body) => body,
        Err(rejection) => return exchange.body_rejection(rejection),
    };
    let request = match parse_and_release(body, opsgenie::parse_create_alert) {
        Ok(request) => request,
        Err(error) => return exchange.rejected(error),
    };
    drop(slot);
    // Opsgenie ids are UUIDs; a generated key looks like one, and is the alert's id here.
    let generated = match DedupKey::parse(random_uuid()) {
        Ok(key) => key,
        Err(_) => return exchange.error(StatusCode::INTERNAL_SERVER_ERROR, "cannot generate an alert id"),
    };
    let event = request.into_alert_event(generated);
    let data = json!({ "alertId": event.dedup_key, "alias": event.dedup_key });
    exchange.ingest(&state, &target, event, Some(data)).await
}

/// `POST /v2/alerts/{identifier}/close`.
pub async fn opsgenie_close(
    State(state): State<AppState>,
    identifier: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    opsgenie_alert_action(state, OpsgenieAction::Close, identifier, query, headers, body).await
}

/// `POST /v2/alerts/{identifier}/acknowledge`.
pub async fn opsgenie_acknowledge(
    State(state): State<AppState>,
    identifier: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    opsgenie_alert_action(state, OpsgenieAction::Acknowledge, identifier, query, headers, body).await
}

async fn opsgenie_alert_action(
    state: AppState,
    action: OpsgenieAction,
    identifier: Result<Path<String>, PathRejection>,
    query: Option<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let exchange = OpsgenieExchange::begin();
    let (target, identifier, identifier_type, body) = match exchange.read_identified(&state, &headers, identifier, &query, body) {
        Ok(parts) => parts,
        Err(response) => return *response,
    };
    let slot = state.rate_limits.in_flight_slot(&target.key_sha256).await;
    let parsed =
        parse_and_release(body, |body| opsgenie::parse_alert_action(action, &identifier, identifier_type.as_deref(), body));
    let request = match parsed {
        Ok(request) => request,
        Err(error) => return exchange.rejected(error),
    };
    drop(slot);
    // As in Opsgenie, an identifier naming no alert is still accepted (202): the request is
    // processed, and intake records that it found nothing to close or acknowledge.
    exchange.ingest(&state, &target, request.into_alert_event(), None).await
}

/// `PUT /v2/alerts/{identifier}/message`.
pub async fn opsgenie_update_message(
    State(state): State<AppState>,
    identifier: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    opsgenie_update(state, UpdatedField::Message, identifier, query, headers, body).await
}

/// `PUT /v2/alerts/{identifier}/description`.
pub async fn opsgenie_update_description(
    State(state): State<AppState>,
    identifier: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    opsgenie_update(state, UpdatedField::Description, identifier, query, headers, body).await
}

/// Checks an update and accepts it without changing anything. Alertmanager (the sender that
/// uses these, with `update_alerts: true`) sends them right after a create carrying the same
/// message and description, and that create already refreshed the stored alert; an update on
/// its own (another sender) is therefore not applied, which is logged. Opsgenie answers 202
/// to updates too, processing them later.
async fn opsgenie_update(
    state: AppState,
    field: UpdatedField,
    identifier: Result<Path<String>, PathRejection>,
    query: Option<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let exchange = OpsgenieExchange::begin();
    let (target, identifier, identifier_type, body) = match exchange.read_identified(&state, &headers, identifier, &query, body) {
        Ok(parts) => parts,
        Err(response) => return *response,
    };
    let _slot = state.rate_limits.in_flight_slot(&target.key_sha256).await;
    let request = match opsgenie::parse_update(field, &identifier, identifier_type.as_deref(), &body) {
        Ok(request) => request,
        Err(error) => return exchange.rejected(error),
    };
    tracing::info!(
        service = target.integration.service_id,
        dedup_key = %request.dedup_key,
        field = field.as_str(),
        "opsgenie alert update accepted but not applied: the alert keeps what its last create said"
    );
    exchange.accepted(None)
}

fn unreadable_identifier(exchange: &OpsgenieExchange) -> Response {
    let mut body = Map::new();
    body.insert("message".to_string(), json!("invalid payload: identifier: must be valid percent-encoded utf-8"));
    body.insert("errors".to_string(), json!({ "identifier": "must be valid percent-encoded utf-8" }));
    exchange.reply(StatusCode::UNPROCESSABLE_ENTITY, body)
}

// Grafana Alerting's webhook.

/// `POST` (or `PUT`) `/integrations/grafana/{key}`, and Grafana OnCall's
/// `/integrations/v1/grafana_alerting/{key}/` and `/integrations/v1/grafana/{key}/`. Answers
/// as the Alertmanager endpoint does; Grafana only looks at the status.
pub async fn grafana(State(state): State<AppState>, Path(key): Path<String>, body: Result<Bytes, BytesRejection>) -> Response {
    let Some(target) = find_integration(&state, &key, SourceFormat::Grafana) else {
        return ApiError::field(StatusCode::NOT_FOUND, "integration_key", "unknown grafana integration key").into_response();
    };
    let slot = state.rate_limits.in_flight_slot(&target.key_sha256).await;
    let body = match body {
        Ok(body) => body,
        Err(rejection) => return ApiError::from(rejection).into_response(),
    };
    let parsed = parse_and_release(body, grafana::parse_webhook);
    drop(slot);
    match parsed {
        Ok(webhook) => ingest_alert_group(&state, &target, webhook.truncated_alerts, webhook.alerts).await,
        Err(error) => invalid_payload(error),
    }
}

/// A random (version 4) UUID in its usual text form, the shape of Opsgenie's ids.
fn random_uuid() -> String {
    let mut bytes: [u8; 16] = rand::random();
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = hex::encode(bytes);
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_uuids_are_version_4_in_canonical_form() {
        for _ in 0..100 {
            let uuid = random_uuid();
            let groups: Vec<&str> = uuid.split('-').collect();
            let lengths: Vec<usize> = groups.iter().map(|group| group.len()).collect();
            assert_eq!(lengths, [8, 4, 4, 4, 12], "{uuid}");
            assert!(groups[2].starts_with('4'), "{uuid}");
            assert!(matches!(groups[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'), "{uuid}");
        }
    }

    #[test]
    fn genie_keys_are_read_from_the_authorization_header() {
        let cases = [
            (Some("GenieKey abc-123"), Some("abc-123")),
            (Some("geniekey  abc-123 "), Some("abc-123")),
            (Some("Bearer abc-123"), None),
            (Some("GenieKey"), None),
            (Some("GenieKey   "), None),
            (None, None),
        ];
        for (value, expected) in cases {
            let mut headers = HeaderMap::new();
            if let Some(value) = value {
                headers.insert(header::AUTHORIZATION, HeaderValue::from_static(value));
            }
            assert_eq!(genie_key(&headers), expected, "{value:?}");
        }
    }

    #[test]
    fn identifier_type_is_read_from_the_query() {
        let cases = [
            (None, None),
            (Some("identifierType=alias"), Some("alias")),
            (Some("foo=1&identifierType=id"), Some("id")),
            (Some("identifierType=ali%61s"), Some("alias")),
            (Some("identifiertype=alias"), None),
        ];
        for (query, expected) in cases {
            let query = query.map(str::to_string);
            assert_eq!(identifier_type(&query).as_deref(), expected, "{query:?}");
        }
    }
}
