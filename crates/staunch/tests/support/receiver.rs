//! A webhook receiver standing in for a person's phone: records every page, checks its
//! signature in constant time, and can be told to fail or stall, like a real endpoint.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Page {
    pub recipient_path: String,
    pub event: String,
    pub idempotency_key: String,
    pub body: Value,
}

#[derive(Default)]
struct Shared {
    pages: Vec<Page>,
    /// Per path: how many of the next requests answer 500.
    failures: HashMap<String, u32>,
    /// Per path: always answer with this status.
    always: HashMap<String, u16>,
    bad_signatures: u32,
}

#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    shared: Arc<Mutex<Shared>>,
}

impl Receiver {
    pub async fn start(secret: &'static str) -> Receiver {
        let shared = Arc::new(Mutex::new(Shared::default()));
        let state = (shared.clone(), secret);
        let app = Router::new().route("/{who}", post(receive)).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver { url, shared }
    }

    pub fn fail_next(&self, path: &str, count: u32) {
        self.shared.lock().unwrap().failures.insert(path.to_string(), count);
    }

    pub fn always_answer(&self, path: &str, status: u16) {
        self.shared.lock().unwrap().always.insert(path.to_string(), status);
    }

    pub fn pages(&self) -> Vec<Page> {
        self.shared.lock().unwrap().pages.clone()
    }

    pub fn pages_for(&self, path: &str) -> Vec<Page> {
        self.pages().into_iter().filter(|page| page.recipient_path == path).collect()
    }

    pub fn bad_signatures(&self) -> u32 {
        self.shared.lock().unwrap().bad_signatures
    }

    pub async fn wait_for_pages(&self, path: &str, count: usize, timeout: Duration) -> Vec<Page> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let pages = self.pages_for(path);
            if pages.len() >= count {
                return pages;
            }
            if std::time::Instant::now() > deadline {
                panic!("expected {count} pages for {path}, got {}: {:#?}", pages.len(), self.pages());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

type ReceiverState = (Arc<Mutex<Shared>>, &'static str);

async fn receive(
    State((shared, secret)): State<ReceiverState>,
    Path(who): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let path = format!("/{who}");
    let signature = headers.get("X-Staunch-Signature").and_then(|value| value.to_str().ok()).unwrap_or("");
    let now = jiff::Timestamp::now().as_second();
    let mut shared = shared.lock().unwrap();
    // Slack's incoming webhooks are unsigned; they carry `{"text": ...}` only.
    if path.starts_with("/slack") {
        let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        shared.pages.push(Page { recipient_path: path, event: "slack".into(), idempotency_key: String::new(), body });
        return StatusCode::OK;
    }
    if staunch_server::outbox::signature::verify(secret, signature, &body, now, 300).is_err() {
        shared.bad_signatures += 1;
        return StatusCode::UNAUTHORIZED;
    }
    if let Some(status) = shared.always.get(&path) {
        return StatusCode::from_u16(*status).unwrap();
    }
    if let Some(remaining) = shared.failures.get_mut(&path)
        && *remaining > 0
    {
        *remaining -= 1;
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let idempotency_key = headers.get("Idempotency-Key").and_then(|value| value.to_str().ok()).unwrap_or("").to_string();
    assert_eq!(body["idempotency_key"].as_str(), Some(idempotency_key.as_str()), "key in body and header agree");
    shared.pages.push(Page {
        recipient_path: path,
        event: body["event"].as_str().unwrap_or("").to_string(),
        idempotency_key,
        body,
    });
    StatusCode::OK
}
