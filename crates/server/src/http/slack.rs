//! `POST /integrations/slack/{key}`: Slack slash commands (`/staunch ack 42`), so responders
//! can acknowledge and resolve from the channel where they were paged.
//!
//! Slack signs each request with the app's signing secret: `X-Slack-Signature` is
//! `v0=` + hex HMAC-SHA256 of `v0:{X-Slack-Request-Timestamp}:{body}`. It is checked in
//! constant time before the body is read, and a timestamp more than five minutes from the
//! server's clock is refused, so a captured request cannot be replayed later. Only Slack users
//! the integration maps to a user here (`slack_users`) may act, as that user, with a
//! responder's rights; the audit log records the action with its origin.
//!
//! Answers to Slack are 200 with a message (Slack shows anything else as a bare failure):
//! `ephemeral` for mistakes only the sender needs to see, `in_channel` for changes everyone in
//! the channel should know about.

use super::AppState;
use super::api::act_on_incident;
use super::auth::Caller;
use super::errors::ApiError;
use super::ingest::{find_integration, throttle_message, with_retry_after};
use crate::engine::IncidentAction;
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use staunch_domain::alert::SourceFormat;
use staunch_domain::incident::StateChange;
use staunch_domain::ingest::slack::{SlackCommand, parse_command};
use staunch_store::{Actor, Role, Scoped};

pub const SIGNATURE_HEADER: &str = "x-slack-signature";
pub const TIMESTAMP_HEADER: &str = "x-slack-request-timestamp";
/// Slack's documented tolerance for the request timestamp.
const MAX_CLOCK_SKEW_SECONDS: i64 = 5 * 60;

/// Whether `signature` (`v0=<hex>`) signs `body` sent at `timestamp` under `secret`.
pub fn signature_matches(secret: &str, timestamp: &str, signature: &str, body: &[u8]) -> bool {
    let Some(signature) = signature.strip_prefix("v0=").and_then(|hex_text| hex::decode(hex_text).ok()) else {
        return false;
    };
    crate::outbox::signature::hmac_sha256_matches(secret, &[b"v0:", timestamp.as_bytes(), b":", body], &signature)
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

fn reply(visibility: &str, text: String) -> Response {
    (StatusCode::OK, Json(serde_json::json!({ "response_type": visibility, "text": text }))).into_response()
}

pub async fn slack(
    State(state): State<AppState>,
    Path(key): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Some(target) = find_integration(&state, &key, SourceFormat::Slack) else {
        return ApiError::field(StatusCode::NOT_FOUND, "integration_key", "unknown slack integration key").into_response();
    };
    let body = match body {
        Ok(body) => body,
        Err(rejection) => return ApiError::from(rejection).into_response(),
    };
    let now = state.clock.now();
    let (Some(timestamp), Some(signature)) = (header(&headers, TIMESTAMP_HEADER), header(&headers, SIGNATURE_HEADER)) else {
        let message = "missing X-Slack-Request-Timestamp or X-Slack-Signature";
        return ApiError::field(StatusCode::UNAUTHORIZED, "X-Slack-Signature", message).into_response();
    };
    let fresh = timestamp.parse::<i64>().is_ok_and(|sent| (now.as_second() - sent).abs() <= MAX_CLOCK_SKEW_SECONDS);
    if !fresh {
        let message = "request timestamp is not within five minutes of the server's clock";
        return ApiError::field(StatusCode::UNAUTHORIZED, "X-Slack-Request-Timestamp", message).into_response();
    }
    let signed = target
        .integration
        .signing_secret
        .as_ref()
        .is_some_and(|secret| signature_matches(&secret.0, timestamp, signature, &body));
    if !signed {
        let message = "wrong signature: sign with the Slack app's signing secret";
        return ApiError::field(StatusCode::UNAUTHORIZED, "X-Slack-Signature", message).into_response();
    }
    if let Err(over) = state.rate_limits.admit(&target, 1, now) {
        return with_retry_after(ApiError::new(StatusCode::TOO_MANY_REQUESTS, throttle_message(&over)).into_response(), &over);
    }
    let field = |name: &str| {
        form_urlencoded::parse(&body).find(|(key, _)| key == name).map(|(_, value)| value.into_owned()).unwrap_or_default()
    };
    let slack_user = field("user_id");
    let Some(user_id) = target.integration.slack_users.get(&slack_user) else {
        let text = format!(
            "Your Slack account ({slack_user}) is not linked to anyone in Staunch; an admin can add it under this integration's slack_users."
        );
        return reply("ephemeral", text);
    };
    let command = match parse_command(&field("text")) {
        Ok(command) => command,
        Err(error) => return reply("ephemeral", format!("{error}. Try `{} help`.", field("command"))),
    };
    let caller = Caller {
        role: Role::Responder,
        actor: Actor { kind: "user".into(), id: user_id.clone() },
        store: Scoped::new(state.store.clone(), target.org),
        origin: format!("slack {slack_user}"),
    };
    let name = state.config.directory(target.org).users.get(user_id).map_or(user_id.as_str(), |user| user.name.as_str());
    let (incident_id, change, done) = match command {
        SlackCommand::Help => {
            return reply("ephemeral", "`ack 42` acknowledges incident 42, `resolve 42` resolves it, `show 42` shows it.".into());
        }
        SlackCommand::Show { incident_id } => {
            return match caller.store.incident(incident_id).await {
                Ok(Some(incident)) => reply(
                    "ephemeral",
                    format!(
                        "#{} [{}] {} — {} on {}",
                        incident.id,
                        incident.severity.as_str(),
                        incident.title,
                        incident.state.as_str(),
                        incident.service_id
                    ),
                ),
                Ok(None) => reply("ephemeral", format!("There is no incident #{incident_id}.")),
                Err(error) => ApiError::from(error).into_response(),
            };
        }
        SlackCommand::Acknowledge { incident_id } => (incident_id, StateChange::Acknowledge, "acknowledged"),
        SlackCommand::Resolve { incident_id } => (incident_id, StateChange::Resolve, "resolved"),
    };
    match act_on_incident(&state, &caller, incident_id, IncidentAction::Change(change)).await {
        Ok(incident) => reply("in_channel", format!("{name} {done} incident #{}: {}", incident.id, incident.title)),
        Err(error) if error.status.is_client_error() => reply("ephemeral", format!("Incident #{incident_id}: {}", error.message)),
        Err(error) => error.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example in Slack's "Verifying requests from Slack".
    #[test]
    fn slack_signatures_are_checked() {
        let secret = "8f742231b10e8888abcd99yyyzzz85a5";
        let timestamp = "1531420618";
        let body = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
        let signature = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
        assert!(signature_matches(secret, timestamp, signature, body.as_bytes()));
        assert!(!signature_matches(secret, "1531420619", signature, body.as_bytes()));
        assert!(!signature_matches(secret, timestamp, signature, format!("{body}&text=ack+1").as_bytes()));
        assert!(!signature_matches("another secret", timestamp, signature, body.as_bytes()));
        assert!(!signature_matches(
            secret,
            timestamp,
            "a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
            body.as_bytes()
        ));
        assert!(!signature_matches(secret, timestamp, "v0=zz", body.as_bytes()));
    }
}
