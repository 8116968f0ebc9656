//! Slack incoming webhooks: one line of text with the incident's headline.

use super::webhook::describe;
use super::{SendError, classify_status, headline};
use staunch_store::Delivery;

pub(crate) async fn send(client: &reqwest::Client, webhook_url: &str, delivery: &Delivery) -> Result<(), SendError> {
    let emoji = match delivery.event.as_str() {
        "acknowledged" => ":eyes:",
        "resolved" => ":white_check_mark:",
        _ => ":rotating_light:",
    };
    let text = format!("{emoji} {}", headline(&delivery.payload));
    let response = client
        .post(webhook_url)
        .json(&serde_json::json!({ "text": text }))
        .send()
        .await
        .map_err(|error| SendError::transient(describe(&error)))?;
    let status = response.status();
    let excerpt = response.text().await.unwrap_or_default();
    classify_status(status, excerpt.get(..200).unwrap_or(&excerpt))
}
