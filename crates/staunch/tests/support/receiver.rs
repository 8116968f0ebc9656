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
    /// When set, every request meets a fault drawn from this generator (see `Chaos`).
    chaos: Option<Chaos>,
    /// Per path: the next request is recorded, then held this long before the answer.
    stall_next: HashMap<String, Duration>,
    /// Requests being held right now.
    stalled_now: u32,
}

/// Faults a real endpoint shows, drawn per request from a fixed seed: 15% answer 500 without
/// recording; 10% are recorded and then held past any sender's timeout (the sender cannot know
/// it arrived); 10% are recorded and answered slowly; the rest are recorded and answered.
struct Chaos {
    state: u64,
}

enum Fault {
    ServerError,
    AcceptThenHang,
    Slow,
    None,
}

impl Chaos {
    fn next(&mut self) -> Fault {
        self.state = self.state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        match (self.state >> 33) % 100 {
            0..15 => Fault::ServerError,
            15..25 => Fault::AcceptThenHang,
            25..35 => Fault::Slow,
            _ => Fault::None,
        }
    }
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

    /// Every later request meets a fault (see `Chaos`), drawn from `seed`.
    pub fn inject_faults(&self, seed: u64) {
        self.shared.lock().unwrap().chaos = Some(Chaos { state: seed });
    }

    pub fn stop_injecting_faults(&self) {
        self.shared.lock().unwrap().chaos = None;
    }

    /// The next request to `path` is recorded, then held for `hold` before it is answered.
    pub fn stall_next(&self, path: &str, hold: Duration) {
        self.shared.lock().unwrap().stall_next.insert(path.to_string(), hold);
    }

    /// How many requests are being held right now.
    pub fn stalled_now(&self) -> u32 {
        self.shared.lock().unwrap().stalled_now
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
    let now = jiff::Timestamp::now().as_second();
    let (status, hold) = {
        let mut guard = shared.lock().unwrap();
        record(&mut guard, secret, path, &headers, &body, now)
    };
    if let Some(hold) = hold {
        tokio::time::sleep(hold).await;
        shared.lock().unwrap().stalled_now -= 1;
    }
    status
}

/// Records the request (or not) and says what to answer, and how long to hold it first.
fn record(
    shared: &mut Shared,
    secret: &str,
    path: String,
    headers: &HeaderMap,
    body: &[u8],
    now: i64,
) -> (StatusCode, Option<Duration>) {
    // Slack's incoming webhooks are unsigned; they carry `{"text": ...}` only.
    if path.starts_with("/slack") {
        let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        shared.pages.push(Page { recipient_path: path, event: "slack".into(), idempotency_key: String::new(), body });
        return (StatusCode::OK, None);
    }
    let signature = headers.get("X-Staunch-Signature").and_then(|value| value.to_str().ok()).unwrap_or("");
    if staunch_server::outbox::signature::verify(secret, signature, body, now, 300).is_err() {
        shared.bad_signatures += 1;
        return (StatusCode::UNAUTHORIZED, None);
    }
    if let Some(status) = shared.always.get(&path) {
        return (StatusCode::from_u16(*status).unwrap(), None);
    }
    if let Some(remaining) = shared.failures.get_mut(&path)
        && *remaining > 0
    {
        *remaining -= 1;
        return (StatusCode::INTERNAL_SERVER_ERROR, None);
    }
    let mut hold = shared.stall_next.remove(&path);
    if hold.is_none()
        && let Some(chaos) = shared.chaos.as_mut()
    {
        match chaos.next() {
            Fault::ServerError => return (StatusCode::INTERNAL_SERVER_ERROR, None),
            Fault::AcceptThenHang => hold = Some(Duration::from_secs(30)),
            Fault::Slow => hold = Some(Duration::from_millis(300)),
            Fault::None => {}
        }
    }
    let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let idempotency_key = headers.get("Idempotency-Key").and_then(|value| value.to_str().ok()).unwrap_or("").to_string();
    assert_eq!(body["idempotency_key"].as_str(), Some(idempotency_key.as_str()), "key in body and header agree");
    shared.pages.push(Page {
        recipient_path: path,
        event: body["event"].as_str().unwrap_or("").to_string(),
        idempotency_key,
        body,
    });
    if hold.is_some() {
        shared.stalled_now += 1;
    }
    (StatusCode::OK, hold)
}
