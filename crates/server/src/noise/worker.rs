//! The loop that keeps every organisation's noise model fresh.

use std::sync::Arc;

use staunch_config::Config;
use staunch_domain::noise::NoiseState;
use staunch_store::Store;
use tokio::sync::broadcast;

use super::NoiseModels;
use crate::clock::Clock;

pub struct NoiseWorker {
    pub store: Arc<dyn Store>,
    pub config: Arc<Config>,
    pub clock: Arc<dyn Clock>,
    pub models: NoiseModels,
}

impl NoiseWorker {
    pub async fn run(self, mut shutdown: broadcast::Receiver<()>) {
        let every = self.config.settings.noise_retrain.as_std();
        loop {
            self.rebuild_all().await;
            tokio::select! {
                _ = shutdown.recv() => return,
                _ = tokio::time::sleep(every) => {}
            }
        }
    }

    async fn rebuild_all(&self) {
        for (org, _) in self.config.bound_organisations() {
            let now = self.clock.now();
            match self.models.rebuild(self.store.as_ref(), org, now).await {
                Ok(triage) => {
                    let (actionable, noise) = triage.model.totals();
                    let threshold = match triage.state {
                        NoiseState::Ready { threshold } => Some(threshold),
                        NoiseState::Learning { .. } => None,
                    };
                    tracing::debug!(org = org.0, actionable, noise, ?threshold, "noise model rebuilt");
                }
                // The previous model stays in use; the next round tries again.
                Err(error) => tracing::warn!(org = org.0, %error, "cannot rebuild the noise model"),
            }
        }
    }
}
