//! `POST /integrations/github/{key}`: GitHub webhooks recorded as changes to the integration's
//! service (pushes, deployment statuses, merged pull requests), for correlating incidents with
//! what changed. Every delivery must carry `X-Hub-Signature-256`, an HMAC-SHA256 of the body
//! with the integration's secret, checked in constant time before the body is even parsed.

use super::AppState;
use super::errors::ApiError;
use super::ingest::{find_integration, throttle_message, with_retry_after};
use crate::engine::{Command, Reply};
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use staunch_domain::alert::SourceFormat;
use staunch_domain::ingest::github::{GitHubDelivery, parse_delivery};
use staunch_store::NewChangeEvent;

pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";

/// Whether `header` (`sha256=<hex>`) is the HMAC-SHA256 of `body` under `secret`.
pub fn signature_matches(secret: &str, header: &str, body: &[u8]) -> bool {
    let Some(signature) = header.strip_prefix("sha256=").and_then(|hex_text| hex::decode(hex_text).ok()) else {
        return false;
    };
    crate::outbox::signature::hmac_sha256_matches(secret, &[body], &signature)
}

pub async fn github(
    State(state): State<AppState>,
    Path(key): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Some(target) = find_integration(&state, &key, SourceFormat::GitHub) else {
        return ApiError::field(StatusCode::NOT_FOUND, "integration_key", "unknown github integration key").into_response();
    };
    let body = match body {
        Ok(body) => body,
        Err(rejection) => return ApiError::from(rejection).into_response(),
    };
    let signed = match (&target.integration.signing_secret, headers.get(SIGNATURE_HEADER).and_then(|value| value.to_str().ok())) {
        (Some(secret), Some(header)) => signature_matches(&secret.0, header, &body),
        _ => false,
    };
    if !signed {
        let message = "missing or wrong signature: sign the body with the integration's secret (HMAC-SHA256)";
        return ApiError::field(StatusCode::UNAUTHORIZED, "X-Hub-Signature-256", message).into_response();
    }
    let Some(event) = headers.get("x-github-event").and_then(|value| value.to_str().ok()) else {
        return ApiError::field(StatusCode::BAD_REQUEST, "X-GitHub-Event", "missing header naming the event").into_response();
    };
    let change = match parse_delivery(event, &body) {
        Ok(GitHubDelivery::Change(change)) => change,
        Ok(GitHubDelivery::Ignored(reason)) => {
            return (StatusCode::OK, Json(serde_json::json!({ "status": "ignored", "reason": reason }))).into_response();
        }
        Err(error) => return super::ingest::invalid_payload(error),
    };
    let now = state.clock.now();
    if let Err(over) = state.rate_limits.admit(&target, 1, now) {
        return with_retry_after(ApiError::new(StatusCode::TOO_MANY_REQUESTS, throttle_message(&over)).into_response(), &over);
    }
    let event = NewChangeEvent {
        org: target.org,
        service_id: target.integration.service_id.clone(),
        summary: change.summary,
        source: Some(change.source),
        at: change.at.unwrap_or(now),
        received_at: now,
        details: change.details,
        links: change.links,
    };
    match state.engine.submit(Command::RecordChange { event }).await {
        Ok(Reply::ChangeRecorded { id }) => {
            (StatusCode::ACCEPTED, Json(serde_json::json!({ "status": "recorded", "id": id }))).into_response()
        }
        Ok(_) => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response(),
        Err(error) => ApiError::unavailable(format!("change not recorded: {error}")).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_signatures_are_checked() {
        // GitHub's documented example: secret "It's a Secret to Everybody", body "Hello, World!".
        let header = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert!(signature_matches("It's a Secret to Everybody", header, b"Hello, World!"));
        assert!(!signature_matches("It's a Secret to Everybody", header, b"Hello, World?"));
        assert!(!signature_matches("another secret", header, b"Hello, World!"));
        assert!(!signature_matches("It's a Secret to Everybody", "sha1=757107ea", b"Hello, World!"));
        assert!(!signature_matches("It's a Secret to Everybody", "sha256=zz", b"Hello, World!"));
    }
}
