//! The service the demo's on-call shift is about: a chat endpoint whose model provider can be
//! made to fail, with three mitigations the runbook switches on over HTTP, and the health
//! probe the runbook's recovery check reads. A real axum server on loopback.
//!
//! While the provider fails, half of its calls fail. The fallback provider answers 70% of
//! those (≈85% of replies succeed), the response cache two thirds of what is left (≈95%), and
//! shedding batch traffic leaves the fallback room for every interactive request (100%).
//! Outcomes are drawn at random per request; nothing reports a rate it did not count.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The response header naming the configuration that served a request, so the load
/// generator can attribute each outcome to it.
pub const SERVED_BY_HEADER: &str = "x-demo-served-by";
/// Replies the health probe wants to have seen since the last change before it judges.
pub const PROBE_SAMPLE: u64 = 250;
/// How long the probe waits for that sample before judging on what it has.
const PROBE_PATIENCE: Duration = Duration::from_secs(5);
/// The share of replies that must succeed for the probe to call the service healthy.
const HEALTHY_PERCENT: f64 = 99.0;

#[derive(Default, Clone, Copy)]
struct Mitigations {
    fallback: bool,
    cache: bool,
    shed: bool,
}

#[derive(Default)]
struct Counts {
    good: u64,
    total: u64,
}

#[derive(Default)]
struct Shared {
    provider_failing: AtomicBool,
    mitigations: Mutex<Mitigations>,
    /// Replies since the provider's state or a mitigation last changed.
    since_change: Mutex<Counts>,
}

#[derive(Clone, Default)]
pub struct ChatService {
    shared: Arc<Shared>,
}

impl ChatService {
    /// Serves on a random loopback port; returns its base URL.
    pub async fn start(self) -> anyhow::Result<String> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let app = Router::new()
            .route("/chat", post(chat))
            .route("/mitigations/{name}", post(enable).delete(disable))
            .route("/health", get(health))
            .with_state(self);
        tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                eprintln!("demo chat service stopped: {error}");
            }
        });
        Ok(url)
    }

    /// The model provider starts (or stops) failing half of its calls.
    pub fn set_provider_failing(&self, failing: bool) {
        self.shared.provider_failing.store(failing, Ordering::SeqCst);
        *lock(&self.shared.since_change) = Counts::default();
    }

    fn label(&self) -> String {
        if !self.shared.provider_failing.load(Ordering::SeqCst) {
            return "healthy".to_string();
        }
        let mitigations = *lock(&self.shared.mitigations);
        let mut label = "outage".to_string();
        for (on, name) in [(mitigations.fallback, "fallback"), (mitigations.cache, "cache"), (mitigations.shed, "shed")] {
            if on {
                label.push('+');
                label.push_str(name);
            }
        }
        label
    }

    /// Answers one chat request: the provider, then whatever mitigations are on.
    fn reply(&self) -> bool {
        if !self.shared.provider_failing.load(Ordering::SeqCst) || rand::random_bool(0.5) {
            return true;
        }
        let mitigations = *lock(&self.shared.mitigations);
        let fallback_answers = if mitigations.shed { 1.0 } else { 0.7 };
        if mitigations.fallback && rand::random_bool(fallback_answers) {
            return true;
        }
        mitigations.cache && rand::random_bool(2.0 / 3.0)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn chat(State(service): State<ChatService>) -> Response {
    let label = service.label();
    let succeeded = service.reply();
    {
        let mut counts = lock(&service.shared.since_change);
        counts.total += 1;
        counts.good += u64::from(succeeded);
    }
    let (status, text) =
        if succeeded { (StatusCode::OK, "here is your answer") } else { (StatusCode::BAD_GATEWAY, "the model provider failed") };
    (status, [(SERVED_BY_HEADER, label)], text).into_response()
}

async fn enable(State(service): State<ChatService>, Path(name): Path<String>) -> Response {
    switch(&service, &name, true)
}

async fn disable(State(service): State<ChatService>, Path(name): Path<String>) -> Response {
    switch(&service, &name, false)
}

fn switch(service: &ChatService, name: &str, on: bool) -> Response {
    {
        let mut mitigations = lock(&service.shared.mitigations);
        let flag = match name {
            "fallback" => &mut mitigations.fallback,
            "cache" => &mut mitigations.cache,
            "shed" => &mut mitigations.shed,
            _ => return (StatusCode::NOT_FOUND, format!("no mitigation named {name:?}")).into_response(),
        };
        *flag = on;
    }
    *lock(&service.shared.since_change) = Counts::default();
    let state = if on { "on" } else { "off" };
    (StatusCode::OK, format!("{name} {state}")).into_response()
}

/// 200 when at least 99% of the replies since the last change succeeded, else 503; it waits
/// (up to a few seconds) for enough replies to judge by.
async fn health(State(service): State<ChatService>) -> Response {
    let started = Instant::now();
    loop {
        let (good, total) = {
            let counts = lock(&service.shared.since_change);
            (counts.good, counts.total)
        };
        if total >= PROBE_SAMPLE || (started.elapsed() >= PROBE_PATIENCE && total > 0) {
            let percent = 100.0 * good as f64 / total as f64;
            let text = format!("{percent:.1}% of {total} replies succeeded since the last change");
            let status = if percent >= HEALTHY_PERCENT { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
            return (status, text).into_response();
        }
        if started.elapsed() >= PROBE_PATIENCE {
            return (StatusCode::SERVICE_UNAVAILABLE, "no replies served since the last change".to_string()).into_response();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
