//! The leader's pruner: every tick, for every organisation, telemetry older than the
//! retention is deleted in bounded batches, each its own short transaction, so ingest and
//! the engine never wait long behind it. Followers prune nothing; leadership is checked again
//! before every batch.

use crate::clock::Clock;
use crate::leader::LeaderWatch;
use staunch_config::Config;
use staunch_store::{PRUNE_BATCH_ROWS, Store};
use std::sync::Arc;
use tokio::sync::broadcast;

/// Batches one organisation gets per tick at most; what is left waits for the next tick, so a
/// large backlog in one organisation cannot hold up another's.
const MAX_BATCHES_PER_TICK: usize = 20;

pub struct TelemetryPruner {
    pub store: Arc<dyn Store>,
    pub config: Arc<Config>,
    pub clock: Arc<dyn Clock>,
    pub leader: LeaderWatch,
}

impl TelemetryPruner {
    /// Prunes on the leader's tick (`settings.slo_tick`) until `shutdown`.
    pub async fn run(self, mut shutdown: broadcast::Receiver<()>) {
        let mut interval = tokio::time::interval(self.config.settings.slo_tick.as_std());
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.recv() => break,
                _ = interval.tick() => {}
            }
            self.prune_once().await;
        }
    }

    /// One pass over every organisation; returns the rows deleted.
    pub async fn prune_once(&self) -> u64 {
        let before = self.clock.now() - self.config.telemetry.retention.as_span();
        let mut total = 0;
        for (org, _) in self.config.bound_organisations() {
            for _ in 0..MAX_BATCHES_PER_TICK {
                if !self.leader.is_leader() {
                    return total;
                }
                match self.store.prune_telemetry(org, before, PRUNE_BATCH_ROWS).await {
                    Ok(0) => break,
                    Ok(deleted) => {
                        total += deleted;
                        metrics::counter!("staunch_telemetry_pruned_rows_total").increment(deleted);
                    }
                    Err(error) => {
                        tracing::warn!(%error, org = org.0, "cannot prune telemetry; will retry next tick");
                        break;
                    }
                }
            }
        }
        total
    }
}
