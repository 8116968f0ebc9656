//! The outbox sender: leases due deliveries, sends them, records each attempt.
//!
//! Delivery is at least once with a stable idempotency key. A delivery whose sender died in
//! the middle of a send is leased again when its lease runs out and sent again with the same
//! key (per channel: webhooks carry the key so receivers can drop the repeat; email and Slack
//! have no such field, and we still prefer a duplicate page to a lost one). A failing channel is
//! retried with exponential backoff and, once out of attempts, marked failed on the incident's
//! timeline, never dropped silently.

mod email;
pub mod signature;
mod slack;
mod webhook;

use crate::clock::Clock;
use jiff::SignedDuration;
use staunch_config::{Config, NotificationSettings};
use staunch_domain::directory::Channel;
use staunch_domain::duration::HumanDuration;
use staunch_store::{Actor, Delivery, DeliveryOutcome, NewTimelineEntry, Store};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Semaphore, broadcast, mpsc};

/// How many sends may be in flight at once.
const MAX_IN_FLIGHT: usize = 64;
/// How often the outbox looks for retries that came due when nothing woke it.
const POLL: Duration = Duration::from_millis(500);

/// How the engine hands freshly committed deliveries, already leased to this process, to
/// the outbox: in memory, so a page goes out right after the commit that created it.
#[derive(Clone)]
pub struct OutboxHandle {
    sender: mpsc::UnboundedSender<Delivery>,
}

impl OutboxHandle {
    pub fn hand_over(&self, deliveries: Vec<Delivery>) {
        for delivery in deliveries {
            // A closed outbox (shutting down) leaves the delivery leased; it is sent after restart.
            let _ = self.sender.send(delivery);
        }
    }
}

pub struct OutboxInbox {
    receiver: mpsc::UnboundedReceiver<Delivery>,
}

pub fn channel() -> (OutboxHandle, OutboxInbox) {
    let (sender, receiver) = mpsc::unbounded_channel();
    (OutboxHandle { sender }, OutboxInbox { receiver })
}

/// How long a sender holds a delivery: longer than a send can take, so only a dead sender's
/// deliveries are leased again.
pub fn lease_span(settings: &NotificationSettings) -> SignedDuration {
    settings.timeout.as_span() + SignedDuration::from_secs(30)
}

/// Why one attempt failed.
#[derive(Debug)]
pub(crate) struct SendError {
    pub message: String,
    /// Retrying cannot help (the receiver refused the request itself).
    pub permanent: bool,
}

impl SendError {
    pub fn transient(message: impl Into<String>) -> SendError {
        SendError { message: message.into(), permanent: false }
    }
    pub fn permanent(message: impl Into<String>) -> SendError {
        SendError { message: message.into(), permanent: true }
    }
}

pub struct Outbox {
    store: Arc<dyn Store>,
    config: Arc<Config>,
    clock: Arc<dyn Clock>,
    http: reqwest::Client,
    mailer: Option<email::Mailer>,
}

impl Outbox {
    pub fn new(store: Arc<dyn Store>, config: Arc<Config>, clock: Arc<dyn Clock>) -> anyhow::Result<Outbox> {
        let http = reqwest::Client::builder()
            .timeout(config.notifications.timeout.as_std())
            .user_agent(concat!("Staunch/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let mailer = match &config.smtp {
            Some(settings) => Some(email::Mailer::new(settings, config.notifications.timeout.as_std())?),
            None => None,
        };
        Ok(Outbox { store, config, clock, http, mailer })
    }

    /// Sends what the engine hands over at once, and every `POLL` leases what else is due
    /// from the store: retries, and deliveries whose sender died.
    ///
    /// The lease runs only when the poll timer fires, never right after a hand-over: it is a
    /// write transaction that runs on this worker thread, and the sends just spawned onto the
    /// same thread would wait behind it.
    pub async fn run(self, mut inbox: OutboxInbox, mut shutdown: broadcast::Receiver<()>) {
        let this = Arc::new(self);
        let permits = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
        let mut in_flight = tokio::task::JoinSet::new();
        let mut next_claim = tokio::time::Instant::now();
        loop {
            while in_flight.try_join_next().is_some() {}
            let mut batch: Vec<Delivery> = Vec::new();
            while let Ok(delivery) = inbox.receiver.try_recv() {
                batch.push(delivery);
            }
            let lease_now = if batch.is_empty() {
                tokio::select! {
                    _ = shutdown.recv() => break,
                    handed_over = inbox.receiver.recv() => match handed_over {
                        Some(delivery) => {
                            batch.push(delivery);
                            false
                        }
                        None => break,
                    },
                    _ = tokio::time::sleep_until(next_claim) => true,
                }
            } else {
                // Hand-overs without a pause between them: lease anyway, a poll late at most.
                tokio::time::Instant::now() >= next_claim + POLL
            };
            if lease_now {
                next_claim = tokio::time::Instant::now() + POLL;
                batch.extend(this.claim(permits.available_permits().saturating_sub(batch.len())).await);
            }
            for delivery in batch {
                let Ok(permit) = permits.clone().acquire_owned().await else {
                    break;
                };
                let this = this.clone();
                in_flight.spawn(async move {
                    this.deliver(delivery).await;
                    drop(permit);
                });
            }
        }
        // Sends already on the wire finish; anything not finished is leased again after restart.
        let drain = async { while in_flight.join_next().await.is_some() {} };
        if tokio::time::timeout(Duration::from_secs(10), drain).await.is_err() {
            tracing::warn!("outbox stopped with sends in flight; they will be retried after restart");
        }
        tracing::info!("outbox stopped");
    }

    /// Leases up to `room` due deliveries (none when there is no room).
    async fn claim(&self, room: usize) -> Vec<Delivery> {
        if room == 0 {
            return Vec::new();
        }
        let now = self.clock.now();
        let lease_until = now + lease_span(&self.config.notifications);
        match self.store.claim_deliveries(now, lease_until, room.min(256) as u32).await {
            Ok(claimed) => claimed,
            Err(error) => {
                tracing::error!(%error, "cannot lease deliveries");
                Vec::new()
            }
        }
    }

    async fn deliver(&self, delivery: Delivery) {
        let started = std::time::Instant::now();
        let result = self.send(&delivery).await;
        let now = self.clock.now();
        let settings = &self.config.notifications;
        let attempts = delivery.attempts + 1;
        let outcome = match &result {
            Ok(()) => DeliveryOutcome::Sent { at: now },
            Err(error) if error.permanent || attempts >= settings.max_attempts => {
                DeliveryOutcome::Failed { error: error.message.clone(), at: now }
            }
            Err(error) => {
                DeliveryOutcome::Retry { error: error.message.clone(), next_attempt_at: now + backoff(settings, attempts) }
            }
        };
        let (kind, label) = match &outcome {
            DeliveryOutcome::Sent { .. } => ("notification.sent", "sent"),
            DeliveryOutcome::Retry { .. } => ("notification.attempt_failed", "retry"),
            DeliveryOutcome::Failed { .. } => ("notification.failed", "failed"),
        };
        metrics::counter!("staunch_notifications_total", "channel" => delivery.channel.clone(), "outcome" => label).increment(1);
        metrics::histogram!("staunch_notification_send_seconds", "channel" => delivery.channel.clone())
            .record(started.elapsed().as_secs_f64());
        match &outcome {
            DeliveryOutcome::Sent { .. } => {
                tracing::info!(delivery = delivery.id, incident = delivery.incident_id, channel = %delivery.channel, user = %delivery.user_id, "notification sent")
            }
            DeliveryOutcome::Retry { error, .. } => {
                tracing::warn!(delivery = delivery.id, channel = %delivery.channel, attempts, %error, "notification attempt failed; will retry")
            }
            DeliveryOutcome::Failed { error, .. } => {
                tracing::error!(delivery = delivery.id, channel = %delivery.channel, attempts, %error, "notification failed")
            }
        }
        let mut data = serde_json::json!({
            "delivery_id": delivery.id, "user": delivery.user_id, "contact_method": delivery.contact_method_id,
            "channel": delivery.channel, "event": delivery.event, "attempt": attempts,
        });
        if let Err(error) = &result {
            data["error"] = serde_json::json!(error.message);
        }
        if let DeliveryOutcome::Retry { next_attempt_at, .. } = &outcome {
            data["next_attempt_at"] = serde_json::json!(next_attempt_at);
        }
        let recorded = async {
            let mut tx = self.store.begin().await?;
            tx.finish_delivery(delivery.org, delivery.id, &outcome).await?;
            tx.append_timeline(&NewTimelineEntry {
                org: delivery.org,
                incident_id: delivery.incident_id,
                at: now,
                actor: Actor::system(),
                kind: kind.to_string(),
                data,
            })
            .await?;
            tx.commit().await
        }
        .await;
        if let Err(error) = recorded {
            // The lease runs out and the delivery is sent again with the same idempotency key.
            tracing::error!(delivery = delivery.id, %error, "cannot record delivery outcome");
        }
    }

    async fn send(&self, delivery: &Delivery) -> Result<(), SendError> {
        let Some(method) = self.config.directory(delivery.org).contact_method(&delivery.user_id, &delivery.contact_method_id)
        else {
            return Err(SendError::permanent(format!(
                "contact method {} of user {} is no longer in the configuration",
                delivery.contact_method_id, delivery.user_id
            )));
        };
        match &method.channel {
            Channel::Webhook { url, secret } => {
                webhook::send(&self.http, url, secret.as_deref(), delivery, self.clock.now()).await
            }
            Channel::Slack { webhook_url } => slack::send(&self.http, webhook_url, delivery).await,
            Channel::Email { address } => match &self.mailer {
                Some(mailer) => mailer.send(address, delivery).await,
                None => Err(SendError::permanent("email is not configured (no smtp section)")),
            },
        }
    }
}

fn backoff(settings: &NotificationSettings, attempts: u32) -> SignedDuration {
    HumanDuration::backoff(settings.initial_backoff, settings.max_backoff, attempts).as_span()
}

/// Classifies an HTTP answer: 2xx is success; 408, 425, 429 and 5xx are worth retrying; any
/// other 4xx means the request itself is wrong and retrying cannot help.
pub(crate) fn classify_status(status: reqwest::StatusCode, body_excerpt: &str) -> Result<(), SendError> {
    if status.is_success() {
        return Ok(());
    }
    let message = format!("receiver answered {status}: {body_excerpt}");
    let retryable = status.is_server_error() || matches!(status.as_u16(), 408 | 425 | 429);
    if retryable { Err(SendError::transient(message)) } else { Err(SendError::permanent(message)) }
}

pub(crate) fn headline(payload: &serde_json::Value) -> String {
    let incident = &payload["incident"];
    let event = payload["event"].as_str().unwrap_or("incident.updated");
    let verb = event.strip_prefix("incident.").unwrap_or(event);
    format!(
        "[{}] #{} {}: {} ({})",
        incident["severity"].as_str().unwrap_or("sev?").to_uppercase(),
        incident["id"],
        verb,
        incident["title"].as_str().unwrap_or(""),
        incident["service"].as_str().unwrap_or(""),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_classes() {
        use reqwest::StatusCode;
        assert!(classify_status(StatusCode::ACCEPTED, "").is_ok());
        assert!(!classify_status(StatusCode::SERVICE_UNAVAILABLE, "").unwrap_err().permanent);
        assert!(!classify_status(StatusCode::TOO_MANY_REQUESTS, "").unwrap_err().permanent);
        assert!(classify_status(StatusCode::NOT_FOUND, "").unwrap_err().permanent);
    }
}
