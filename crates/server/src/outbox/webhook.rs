//! Outbound webhooks: the delivery's payload as JSON, signed, with its idempotency key.

use super::{SendError, classify_status, signature};
use jiff::Timestamp;
use staunch_store::Delivery;

pub(crate) async fn send(
    client: &reqwest::Client,
    url: &str,
    secret: Option<&str>,
    delivery: &Delivery,
    now: Timestamp,
) -> Result<(), SendError> {
    let mut body = delivery.payload.clone();
    body["idempotency_key"] = serde_json::json!(delivery.idempotency_key);
    body["delivery_id"] = serde_json::json!(delivery.id);
    let body = serde_json::to_vec(&body).map_err(|error| SendError::permanent(format!("cannot encode payload: {error}")))?;
    let mut request = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("Idempotency-Key", &delivery.idempotency_key)
        .header("X-Staunch-Event", delivery.payload["event"].as_str().unwrap_or("incident.updated"));
    if let Some(secret) = secret {
        request = request.header(signature::HEADER, signature::sign(secret, now.as_second(), &body));
    }
    let response = request.body(body).send().await.map_err(|error| SendError::transient(describe(&error)))?;
    let status = response.status();
    let excerpt = response.text().await.unwrap_or_default();
    classify_status(status, excerpt.get(..200).unwrap_or(&excerpt))
}

/// reqwest's errors hide the cause behind a generic message; name it (timeout, refused...).
pub(crate) fn describe(error: &reqwest::Error) -> String {
    let mut message = if error.is_timeout() {
        "timed out".to_string()
    } else if error.is_connect() {
        "cannot connect".to_string()
    } else {
        "request failed".to_string()
    };
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}
