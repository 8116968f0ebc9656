//! Serves HTTP/1.1 connections: what `axum::serve` does, with hyper's read buffer bounded.
//!
//! hyper reads into one buffer per connection and grows it, up to about 400 KiB, while reads
//! fill it; a request body is cut from that buffer. With 16 connections each sending 100
//! alerts per request, the buffers had grown to 128 KiB apiece: 2 MiB of the server's memory,
//! held for as long as the connections stay open. Bounded at [`READ_BUFFER_BYTES`], a large
//! body takes a few more reads instead.
//!
//! Shutdown: once `shutdown` completes, no connection is accepted, idle connections close,
//! and the call returns when every request already being handled has been answered.

use crate::server::PeerAddress;
use axum::Router;
use axum::extract::ConnectInfo;
use axum::serve::Listener;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::net::SocketAddr;
use tower::ServiceExt;

/// Also the longest request head (request line and headers) accepted: larger ones get 431.
/// The buffer bound alone would not say so, since one read may take in more than it.
pub(crate) const READ_BUFFER_BYTES: usize = 32 * 1024;

/// Turns off Nagle's algorithm. A listing is written as a series of chunks; with Nagle's
/// algorithm on, the last short segment waited for the client's delayed acknowledgement, about
/// 40 ms per answer.
pub(crate) fn send_without_delay(stream: &tokio::net::TcpStream) {
    if let Err(error) = stream.set_nodelay(true) {
        tracing::debug!(%error, "cannot set TCP_NODELAY");
    }
}

pub(crate) async fn serve<L>(mut listener: L, router: Router, shutdown: impl Future<Output = ()>)
where
    L: Listener<Addr = SocketAddr>,
{
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (io, peer) = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let service = router.clone().map_request(move |mut request: axum::extract::Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(ConnectInfo(PeerAddress(peer)));
            request.map(axum::body::Body::new)
        });
        let connection = hyper::server::conn::http1::Builder::new()
            .max_buf_size(READ_BUFFER_BYTES)
            .max_header_size(READ_BUFFER_BYTES)
            .serve_connection(TokioIo::new(io), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::trace!(%error, %peer, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}
