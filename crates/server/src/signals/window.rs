//! Reading the telemetry around an onset from the store (and Prometheus, when configured) and
//! investigating it: the thin I/O layer over [`super::case`]. Reads are confined to the
//! caller's organisation (a [`Scoped`] store) and end before `as_of`, so a past incident can
//! be replayed without seeing what happened after.

use super::case::{Lookaround, case_input, windows};
use super::prometheus::{PrometheusSignals, Pulled, merge};
use jiff::Timestamp;
use staunch_investigate::{CallGraph, Investigation, Settings, investigate};
use staunch_store::{Scoped, StoreResult, TelemetryQuery};

/// Rows read per modality at most: a window of a busy system is sampled from its start
/// rather than read whole into memory.
pub const MAX_ROWS_PER_MODALITY: u32 = 200_000;

/// What the telemetry around an onset gave: the engine's ranking (`None` when there was
/// nothing to rank), and what could not be read (a Prometheus that was down, series left out).
#[derive(Debug, Clone, Default)]
pub struct WindowOutcome {
    pub investigation: Option<Investigation>,
    pub warnings: Vec<String>,
}

/// Investigates `[onset - 15m, min(onset + 5m, as_of))` (see [`Lookaround::default`]); `graph`
/// adds known dependencies to those the spans show; `prometheus` adds pulled metric series
/// when it serves the store's organisation.
pub async fn investigate_window(
    store: &Scoped,
    onset: Timestamp,
    as_of: Timestamp,
    graph: Option<CallGraph>,
    prometheus: Option<&PrometheusSignals>,
) -> StoreResult<WindowOutcome> {
    investigate_window_with(store, onset, as_of, graph, prometheus, Lookaround::default(), &Settings::default()).await
}

pub async fn investigate_window_with(
    store: &Scoped,
    onset: Timestamp,
    as_of: Timestamp,
    graph: Option<CallGraph>,
    prometheus: Option<&PrometheusSignals>,
    lookaround: Lookaround,
    settings: &Settings,
) -> StoreResult<WindowOutcome> {
    let Some((windows, from, to)) = windows(onset, as_of, lookaround) else {
        return Ok(WindowOutcome::default());
    };
    // `windows` already ends the range before `as_of`; the pull is cut again at `as_of` so
    // that no later change to it can let Prometheus answer about the future.
    let pull = async {
        match prometheus.filter(|prometheus| prometheus.serves(store.org())) {
            Some(prometheus) => prometheus.pull(from, to.min(as_of)).await,
            None => Pulled::default(),
        }
    };
    let query = TelemetryQuery { from, to, services: Vec::new(), limit: MAX_ROWS_PER_MODALITY };
    let read = async {
        let logs = store.telemetry_logs(&query).await?;
        let spans = store.telemetry_spans(&query).await?;
        let metrics = store.telemetry_metrics(&query).await?;
        StoreResult::Ok((logs, spans, metrics))
    };
    let (pulled, read) = tokio::join!(pull, read);
    let (logs, spans, pushed) = read?;
    for (kind, rows) in [("log lines", logs.len()), ("spans", spans.len()), ("metric points", pushed.len())] {
        if rows == MAX_ROWS_PER_MODALITY as usize {
            tracing::warn!(org = store.org().0, kind, rows, "telemetry window truncated to its oldest rows");
        }
    }
    let metrics = merge(pushed, pulled.points);
    let warnings = pulled.warnings;
    let Some(case) = case_input(windows, to, as_of, &logs, &spans, &metrics, graph.unwrap_or_default()) else {
        return Ok(WindowOutcome { investigation: None, warnings });
    };
    // The engine is CPU-bound (template mining, medians); keep it off the async workers.
    let settings = settings.clone();
    let investigation = tokio::task::spawn_blocking(move || investigate(&case, &settings))
        .await
        .map_err(|error| staunch_store::StoreError::Backend(format!("investigation task failed: {error}")))?;
    Ok(WindowOutcome { investigation: Some(investigation), warnings })
}
