//! The in-process webhook receiver both servers notify: `/staunch` for Staunch pages,
//! `/alertmanager` for Alertmanager's webhook notifications. It answers 200 at once, counts
//! requests, and tells a waiting latency probe the instant its notification arrived.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::oneshot;

#[derive(Default)]
pub struct Received {
    waiters: Mutex<HashMap<String, oneshot::Sender<Instant>>>,
    pub staunch_requests: AtomicU64,
    pub alertmanager_requests: AtomicU64,
}

impl Received {
    /// Registers interest in the first notification naming `sample`; call before sending it.
    pub fn expect(&self, sample: &str) -> oneshot::Receiver<Instant> {
        let (sender, receiver) = oneshot::channel();
        self.lock().insert(sample.to_string(), sender);
        receiver
    }

    pub fn forget(&self, sample: &str) {
        self.lock().remove(sample);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, oneshot::Sender<Instant>>> {
        self.waiters.lock().unwrap_or_else(|poison| poison.into_inner())
    }

    fn arrived(&self, sample: &str, at: Instant) {
        if let Some(sender) = self.lock().remove(sample) {
            let _ = sender.send(at);
        }
    }
}

pub struct Receiver {
    pub port: u16,
    pub received: Arc<Received>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub async fn start() -> anyhow::Result<Receiver> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let received = Arc::new(Received::default());
    let app = Router::new()
        .route("/staunch", post(staunch_page))
        .route("/alertmanager", post(alertmanager_notification))
        .with_state(received.clone());
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(Receiver { port, received, task })
}

async fn staunch_page(State(received): State<Arc<Received>>, body: Bytes) -> StatusCode {
    let at = Instant::now();
    received.staunch_requests.fetch_add(1, Ordering::Relaxed);
    if let Ok(payload) = serde_json::from_slice::<serde_json::Value>(&body)
        && let Some(title) = payload["incident"]["title"].as_str()
        && let Some(sample) = title.strip_prefix("latency-probe ")
    {
        received.arrived(sample, at);
    }
    StatusCode::OK
}

async fn alertmanager_notification(State(received): State<Arc<Received>>, body: Bytes) -> StatusCode {
    let at = Instant::now();
    received.alertmanager_requests.fetch_add(1, Ordering::Relaxed);
    if let Ok(payload) = serde_json::from_slice::<serde_json::Value>(&body)
        && let Some(alerts) = payload["alerts"].as_array()
    {
        for alert in alerts {
            if let Some(sample) = alert["labels"]["sample"].as_str() {
                received.arrived(sample, at);
            }
        }
    }
    StatusCode::OK
}
