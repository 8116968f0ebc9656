//! The on-call person's phone: an in-process webhook receiver on loopback that checks each
//! page's signature against the demo's secret (and the demo clock) and keeps what arrived.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::routing::post;
use staunch_server::Clock;
use staunch_server::outbox::signature;
use std::sync::{Arc, Mutex};

/// Signatures further than this from the demo clock are refused, as replays.
const TOLERANCE_SECONDS: i64 = 300;

#[derive(Debug, Clone)]
pub struct Page {
    pub path: String,
    pub body: serde_json::Value,
    pub signature_valid: bool,
}

#[derive(Clone)]
pub struct Pager {
    secret: Arc<String>,
    clock: Arc<dyn Clock>,
    pages: Arc<Mutex<Vec<Page>>>,
}

impl Pager {
    pub fn new(secret: String, clock: Arc<dyn Clock>) -> Pager {
        Pager { secret: Arc::new(secret), clock, pages: Arc::default() }
    }

    /// Listens on a random loopback port; returns its base URL.
    pub async fn start(&self) -> anyhow::Result<String> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let app = Router::new().route("/{*path}", post(receive)).with_state(self.clone());
        tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                eprintln!("demo webhook receiver stopped: {error}");
            }
        });
        Ok(url)
    }

    pub fn pages(&self) -> Vec<Page> {
        self.pages.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }
}

async fn receive(State(pager): State<Pager>, uri: Uri, headers: HeaderMap, body: Bytes) -> StatusCode {
    let signature_valid = headers.get(signature::HEADER).and_then(|value| value.to_str().ok()).is_some_and(|header| {
        signature::verify(&pager.secret, header, &body, pager.clock.now().as_second(), TOLERANCE_SECONDS).is_ok()
    });
    let body = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    pager.pages.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(Page {
        path: uri.path().to_string(),
        body,
        signature_valid,
    });
    if signature_valid { StatusCode::OK } else { StatusCode::UNAUTHORIZED }
}
