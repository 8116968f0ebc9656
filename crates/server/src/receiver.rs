//! `staunch webhook-receiver`: a tiny endpoint that prints every page it receives, checking
//! the signature when given the secret. For trying Staunch out and for checking a setup.

use crate::outbox::signature;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::routing::post;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

/// Signatures older or newer than this are refused, as replays.
const TOLERANCE_SECONDS: i64 = 300;

pub async fn run_receiver(
    listen: SocketAddr,
    secret: Option<String>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let listener =
        tokio::net::TcpListener::bind(listen).await.map_err(|error| anyhow::anyhow!("cannot listen on {listen}: {error}"))?;
    println!("webhook receiver listening on http://{}", listener.local_addr()?);
    let app = Router::new().route("/{*path}", post(receive)).route("/", post(receive)).with_state(Arc::new(secret));
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await?;
    Ok(())
}

async fn receive(State(secret): State<Arc<Option<String>>>, uri: Uri, headers: HeaderMap, body: Bytes) -> StatusCode {
    let verdict = match (secret.as_deref(), headers.get(signature::HEADER).and_then(|value| value.to_str().ok())) {
        (None, _) => "unchecked".to_string(),
        (Some(_), None) => "MISSING".to_string(),
        (Some(secret), Some(header)) => {
            match signature::verify(secret, header, &body, jiff::Timestamp::now().as_second(), TOLERANCE_SECONDS) {
                Ok(()) => "valid".to_string(),
                Err(error) => format!("INVALID ({error})"),
            }
        }
    };
    let payload: serde_json::Value = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    let incident = &payload["incident"];
    println!(
        "{} {} #{} [{}] {} -> {} (signature {verdict}, key {})",
        uri.path(),
        payload["event"].as_str().unwrap_or("?"),
        incident["id"],
        incident["severity"].as_str().unwrap_or("?"),
        incident["title"].as_str().unwrap_or("?"),
        payload["recipient"]["id"].as_str().unwrap_or("?"),
        headers.get("Idempotency-Key").and_then(|value| value.to_str().ok()).unwrap_or("-"),
    );
    if verdict.starts_with("INVALID") || verdict == "MISSING" { StatusCode::UNAUTHORIZED } else { StatusCode::OK }
}
