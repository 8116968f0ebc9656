//! Starting and stopping: binds the listener, runs the engine, the outbox and the HTTP server,
//! and shuts them down in order (stop accepting, finish requests, then stop the engine) so a
//! request that got a 2xx was committed.

use crate::clock::Clock;
use crate::engine;
use crate::http::{AppState, router};
use crate::outbox::{self, Outbox};
use staunch_config::Config;
use staunch_store::Store;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::broadcast;

pub struct ServerOptions {
    pub listen: SocketAddr,
    /// Serve HTTPS with this configuration instead of plain HTTP.
    pub tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
}

/// The client's address, as handlers see it (`ConnectInfo<PeerAddress>`), for either listener.
#[derive(Debug, Clone, Copy)]
pub struct PeerAddress(pub SocketAddr);

/// Runs until `shutdown` completes. `on_listening` is told the base URL it serves (useful
/// with port 0).
pub async fn serve(
    options: ServerOptions,
    store: Arc<dyn Store>,
    config: Arc<Config>,
    clock: Arc<dyn Clock>,
    on_listening: impl FnOnce(String),
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(|error| anyhow::anyhow!("cannot listen on {}: {error}", options.listen))?;
    let address = listener.local_addr()?;

    let (stop_workers, _) = broadcast::channel::<()>(1);
    // Replicas share the database's clock, so a timer one of them set comes due for all alike.
    let database_clock = Arc::new(crate::clock::DatabaseClock::new(clock));
    // An embedded database has no clock of its own to follow: nothing to keep measuring.
    let clock_task = database_clock
        .synchronise(store.as_ref())
        .await?
        .then(|| tokio::spawn(crate::clock::follow_database(database_clock.clone(), store.clone(), stop_workers.subscribe())));
    let clock: Arc<dyn Clock> = database_clock;
    let (leader_task, leader) = crate::leader::campaign(store.clone(), stop_workers.subscribe());
    let (outbox_handle, outbox_inbox) = outbox::channel();
    let outbox = Outbox::new(store.clone(), config.clone(), clock.clone())?;
    let llm = crate::llm::LanguageModel::from_config(&config.llm, store.clone(), clock.clone());
    let (engine, engine_handle) = engine::engine(store.clone(), config.clone(), clock.clone(), outbox_handle);
    let prometheus = crate::signals::PrometheusSignals::from_config(&config);
    let engine = engine.with_language_model(llm.clone()).with_prometheus(prometheus.clone());
    let noise_models = engine.noise_models();
    let engine_stopped = engine::start(engine, stop_workers.subscribe())
        .map_err(|error| anyhow::anyhow!("cannot start the engine's thread: {error}"))?;
    let noise_worker = crate::noise::NoiseWorker {
        store: store.clone(),
        config: config.clone(),
        clock: clock.clone(),
        models: noise_models.clone(),
    };
    let noise_task = tokio::spawn(noise_worker.run(stop_workers.subscribe()));
    let outbox_task = tokio::spawn(outbox.run(outbox_inbox, stop_workers.subscribe()));
    let slo_board = crate::slo::SloBoard::default();
    let slo_worker = crate::slo::SloWorker {
        store: store.clone(),
        config: config.clone(),
        clock: clock.clone(),
        engine: engine_handle.clone(),
        leader: leader.clone(),
        board: slo_board.clone(),
    };
    let slo_task = tokio::spawn(slo_worker.run(stop_workers.subscribe()));
    let runbooks = crate::runbook::RunbookService::new(store.clone(), config.clone(), clock.clone(), slo_board.clone());
    let runbook_executor = crate::runbook::RunbookExecutor { service: runbooks.clone(), leader: leader.clone() };
    let runbook_task = tokio::spawn(runbook_executor.run(stop_workers.subscribe()));
    let heartbeat_board = crate::heartbeat::HeartbeatBoard::default();
    let heartbeat_worker = crate::heartbeat::HeartbeatWorker {
        store: store.clone(),
        config: config.clone(),
        clock: clock.clone(),
        engine: engine_handle.clone(),
        leader: leader.clone(),
        board: heartbeat_board.clone(),
    };
    let heartbeat_task = tokio::spawn(heartbeat_worker.run(stop_workers.subscribe()));
    let rollback_starter = crate::deploys::RollbackStarter {
        store: store.clone(),
        clock: clock.clone(),
        runbooks: runbooks.clone(),
        leader: leader.clone(),
    };
    let rollback_task = tokio::spawn(rollback_starter.run(stop_workers.subscribe()));
    let telemetry_pruner = crate::signals::TelemetryPruner {
        store: store.clone(),
        config: config.clone(),
        clock: clock.clone(),
        leader: leader.clone(),
    };
    let telemetry_pruner_task = tokio::spawn(telemetry_pruner.run(stop_workers.subscribe()));

    let state = AppState {
        store,
        config,
        engine: engine_handle,
        clock,
        metrics: crate::telemetry::metrics_handle(),
        rate_limits: Default::default(),
        leader,
        slos: slo_board,
        runbooks,
        heartbeats: heartbeat_board,
        llm,
        prometheus,
        noise: noise_models,
    };
    let app = router(state);
    match options.tls {
        Some(tls) => {
            on_listening(format!("https://{address}"));
            let listener = crate::tls::TlsListener::new(listener, tls)?;
            crate::connections::serve(listener, app, shutdown).await;
        }
        None => {
            on_listening(format!("http://{address}"));
            let listener = axum::serve::ListenerExt::tap_io(listener, |tcp: &mut tokio::net::TcpStream| {
                crate::connections::send_without_delay(tcp)
            });
            crate::connections::serve(listener, app, shutdown).await;
        }
    }
    tracing::info!("http server stopped; stopping workers");
    let _ = stop_workers.send(());
    let _ = slo_task.await;
    let _ = runbook_task.await;
    let _ = noise_task.await;
    let _ = heartbeat_task.await;
    let _ = rollback_task.await;
    let _ = telemetry_pruner_task.await;
    let _ = engine_stopped.await;
    let _ = outbox_task.await;
    let _ = leader_task.await;
    if let Some(clock_task) = clock_task {
        let _ = clock_task.await;
    }
    Ok(())
}
