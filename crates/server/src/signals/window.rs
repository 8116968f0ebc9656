//! Reading the telemetry around an onset from the store and investigating it: the thin I/O
//! layer over [`super::case`]. Reads are confined to the caller's organisation (a
//! [`Scoped`] store) and end before `as_of`, so a past incident can be replayed without
//! seeing what happened after.

use super::case::{Lookaround, case_input, windows};
use jiff::Timestamp;
use staunch_investigate::{CallGraph, Investigation, Settings, investigate};
use staunch_store::{Scoped, StoreResult, TelemetryQuery};

/// Rows read per modality at most: a window of a busy system is sampled from its start
/// rather than read whole into memory.
pub const MAX_ROWS_PER_MODALITY: u32 = 200_000;

/// Investigates `[onset - 15m, min(onset + 5m, as_of))` (see [`Lookaround::default`]); `graph`
/// adds known dependencies to those the spans show. `None` when nothing was pushed there.
pub async fn investigate_window(
    store: &Scoped,
    onset: Timestamp,
    as_of: Timestamp,
    graph: Option<CallGraph>,
) -> StoreResult<Option<Investigation>> {
    investigate_window_with(store, onset, as_of, graph, Lookaround::default(), &Settings::default()).await
}

pub async fn investigate_window_with(
    store: &Scoped,
    onset: Timestamp,
    as_of: Timestamp,
    graph: Option<CallGraph>,
    lookaround: Lookaround,
    settings: &Settings,
) -> StoreResult<Option<Investigation>> {
    let Some((windows, from, to)) = windows(onset, as_of, lookaround) else {
        return Ok(None);
    };
    let query = TelemetryQuery { from, to, services: Vec::new(), limit: MAX_ROWS_PER_MODALITY };
    let logs = store.telemetry_logs(&query).await?;
    let spans = store.telemetry_spans(&query).await?;
    let metrics = store.telemetry_metrics(&query).await?;
    for (kind, rows) in [("log lines", logs.len()), ("spans", spans.len()), ("metric points", metrics.len())] {
        if rows == MAX_ROWS_PER_MODALITY as usize {
            tracing::warn!(org = store.org().0, kind, rows, "telemetry window truncated to its oldest rows");
        }
    }
    let Some(case) = case_input(windows, to, as_of, &logs, &spans, &metrics, graph.unwrap_or_default()) else {
        return Ok(None);
    };
    // The engine is CPU-bound (template mining, medians); keep it off the async workers.
    let settings = settings.clone();
    let investigation = tokio::task::spawn_blocking(move || investigate(&case, &settings))
        .await
        .map_err(|error| staunch_store::StoreError::Backend(format!("investigation task failed: {error}")))?;
    Ok(Some(investigation))
}
