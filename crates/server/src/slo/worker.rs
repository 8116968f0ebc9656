//! The evaluation loop: every tick, on the leader only, read each SLO's new events (pushed
//! buckets from the store, or a Prometheus pull that is stored as a bucket first), let the
//! domain evaluator decide, publish the result on the board, and send the alert changes
//! through the engine as alert events.
//!
//! Restarts and leadership changes rebuild each evaluator from the stored buckets, so the
//! windows are never forgotten. What was announced to the engine is tracked apart from what
//! the evaluator decides: after a (re)build every level is re-announced (a trigger the engine
//! deduplicates, a resolve it ignores when nothing fires), and a submission that failed is
//! retried on the next tick.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use staunch_config::Config;
use staunch_config::slos::{SliSource, SloDefinition};
use staunch_domain::alert::SourceFormat;
use staunch_domain::slo::{Evaluation, Evaluator, EvaluatorConfig, FiringLevel, SloState};
use staunch_store::{OrgId, SloBucket, Store, StoreResult};
use tokio::sync::broadcast;

use super::alerts::{self, LEVELS};
use super::board::{SloBoard, SloStatus};
use super::prometheus::PrometheusSource;
use crate::clock::Clock;
use crate::engine::{Command, EngineHandle};
use crate::leader::LeaderWatch;

/// How far back pushed buckets are re-read each tick to find late additions; the push API
/// refuses events older than [`super::PUSH_MAX_AGE`], which is shorter.
const PUSH_LOOKBACK: SignedDuration = SignedDuration::from_hours(2);
/// How often old buckets are deleted.
const PRUNE_EVERY: SignedDuration = SignedDuration::from_hours(1);

struct Tracked {
    org: OrgId,
    slo: SloDefinition,
    evaluator: Option<Evaluator>,
    /// Pushed counts already fed to the evaluator, by minute (push sources only).
    fed: BTreeMap<Timestamp, SloBucket>,
    /// Levels the engine was last told are firing; `None` right after a (re)build.
    announced: Option<BTreeSet<FiringLevel>>,
    /// The last read error, logged once when it starts and once when it clears.
    read_error: Option<String>,
    last_pruned: Option<Timestamp>,
}

pub struct SloWorker {
    pub store: Arc<dyn Store>,
    pub config: Arc<Config>,
    pub clock: Arc<dyn Clock>,
    pub engine: EngineHandle,
    pub leader: LeaderWatch,
    pub board: SloBoard,
}

impl SloWorker {
    pub async fn run(self, mut shutdown: broadcast::Receiver<()>) {
        let tick = self.config.settings.slo_tick;
        let mut tracked: Vec<Tracked> = self
            .config
            .bound_organisations()
            .flat_map(|(org, organisation)| {
                organisation.slos.iter().map(move |slo| Tracked {
                    org,
                    slo: slo.clone(),
                    evaluator: None,
                    fed: BTreeMap::new(),
                    announced: None,
                    read_error: None,
                    last_pruned: None,
                })
            })
            .collect();
        if tracked.is_empty() {
            return;
        }
        let prometheus = PrometheusSource::new(tick.as_std().max(std::time::Duration::from_secs(1)));
        let mut interval = tokio::time::interval(tick.as_std());
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.recv() => break,
                _ = interval.tick() => {}
            }
            if !self.leader.is_leader() {
                // Another process evaluates; rebuild from the store if this one leads again.
                for slo in &mut tracked {
                    slo.evaluator = None;
                    slo.announced = None;
                }
                continue;
            }
            for slo in &mut tracked {
                if let Err(error) = self.tick(slo, &prometheus, tick).await {
                    tracing::warn!(slo = slo.slo.id, %error, "slo evaluation failed; retrying next tick");
                    slo.evaluator = None;
                }
            }
        }
    }

    async fn tick(
        &self,
        tracked: &mut Tracked,
        prometheus: &PrometheusSource,
        tick: staunch_domain::duration::HumanDuration,
    ) -> StoreResult<()> {
        let now = self.clock.now();
        if tracked.evaluator.is_none() {
            tracked.evaluator = Some(self.rebuild(tracked, now).await?);
        }
        let read = match &tracked.slo.source {
            SliSource::Push => self.read_pushed(tracked, now).await.map_err(|error| error.to_string()),
            SliSource::Prometheus { url, auth, queries } => match prometheus.pull(url, auth, queries, tick, now).await {
                Ok(counts) => {
                    let good = counts.total - counts.bad;
                    let bucket = SloBucket { minute: now, good, total: counts.total };
                    self.store.add_slo_events(tracked.org, &tracked.slo.id, &[bucket]).await?;
                    if let Some(evaluator) = tracked.evaluator.as_mut() {
                        evaluator.record(now, counts.bad, counts.total);
                    }
                    Ok(())
                }
                Err(error) => Err(error.to_string()),
            },
        };
        let evaluator = tracked.evaluator.as_mut().expect("built above");
        match read {
            Ok(()) => {
                if let Some(error) = tracked.read_error.take() {
                    tracing::info!(slo = tracked.slo.id, previous_error = error, "slo source readable again");
                }
            }
            Err(error) => {
                evaluator.read_failed();
                if tracked.read_error.is_none() {
                    tracing::warn!(slo = tracked.slo.id, %error, "cannot read slo source: its state is unknown until it can");
                }
                tracked.read_error = Some(error);
            }
        }
        let evaluation = evaluator.evaluate(now);
        self.announce(tracked, &evaluation).await;
        self.board.publish(tracked.org, SloStatus::from_evaluation(&tracked.slo, &evaluation, tracked.read_error.clone(), now));
        if tracked.last_pruned.is_none_or(|last| now.duration_since(last) >= PRUNE_EVERY) {
            let before = now - tracked.slo.period.duration().as_span() - SignedDuration::from_hours(1);
            let mut tx = self.store.begin().await?;
            tx.prune_slo_buckets(tracked.org, &tracked.slo.id, before).await?;
            tx.commit().await?;
            tracked.last_pruned = Some(now);
        }
        Ok(())
    }

    /// An evaluator holding every stored bucket of the SLO's period.
    async fn rebuild(&self, tracked: &mut Tracked, now: Timestamp) -> StoreResult<Evaluator> {
        let slo = &tracked.slo;
        let mut config = EvaluatorConfig::new(slo.objective, slo.windows);
        config.min_events = slo.min_events;
        // Five ticks without a reading make the state unknown (five minutes at the default tick).
        let tick = self.config.settings.slo_tick;
        config.stale_after = staunch_domain::duration::HumanDuration::from_millis(tick.as_millis() * 5);
        let mut evaluator = Evaluator::new(config);
        let from = now - slo.period.duration().as_span();
        let buckets = self.store.slo_buckets(tracked.org, &slo.id, from).await?;
        let recent = now - PUSH_LOOKBACK;
        tracked.fed.clear();
        for bucket in &buckets {
            evaluator.record(bucket.minute, bucket.total - bucket.good.min(bucket.total), bucket.total);
            if slo.source == SliSource::Push && bucket.minute >= recent {
                tracked.fed.insert(bucket.minute, *bucket);
            }
        }
        tracked.announced = None;
        tracing::info!(slo = slo.id, buckets = buckets.len(), "slo evaluator rebuilt from stored events");
        Ok(evaluator)
    }

    /// Feeds what was pushed since the last tick: the difference between each recent stored
    /// bucket and what was already fed from it.
    async fn read_pushed(&self, tracked: &mut Tracked, now: Timestamp) -> StoreResult<()> {
        let recent = now - PUSH_LOOKBACK;
        let buckets = self.store.slo_buckets(tracked.org, &tracked.slo.id, recent).await?;
        let evaluator = tracked.evaluator.as_mut().expect("built before reading");
        for bucket in buckets {
            let fed = tracked.fed.get(&bucket.minute).copied().unwrap_or(SloBucket { minute: bucket.minute, good: 0, total: 0 });
            let good = bucket.good.saturating_sub(fed.good);
            let total = bucket.total.saturating_sub(fed.total);
            if total > 0 || good > 0 {
                evaluator.record(bucket.minute, total - good.min(total), total);
            }
            tracked.fed.insert(bucket.minute, bucket);
        }
        tracked.fed.retain(|minute, _| *minute >= recent);
        // The store answered: the source is readable even if nobody pushed this minute.
        evaluator.record(now, 0, 0);
        Ok(())
    }

    /// Tells the engine about every level whose firing differs from what it was last told.
    async fn announce(&self, tracked: &mut Tracked, evaluation: &Evaluation) {
        if evaluation.state == SloState::Unknown {
            return;
        }
        let firing: BTreeSet<FiringLevel> =
            evaluation.firing.iter().copied().filter(|level| alerts::enabled(&tracked.slo, *level)).collect();
        let detail = burn_detail(evaluation);
        let mut events = Vec::new();
        for level in LEVELS {
            let now_firing = firing.contains(&level);
            let was_firing = tracked.announced.as_ref().map(|announced| announced.contains(&level));
            if was_firing == Some(now_firing) {
                continue;
            }
            events.extend(alerts::event(&tracked.slo, level, now_firing, &detail));
        }
        if events.is_empty() {
            tracked.announced = Some(firing);
            return;
        }
        for event in &events {
            tracing::info!(slo = tracked.slo.id, dedup_key = %event.dedup_key, action = event.action.as_str(), "slo alert");
        }
        let command = Command::Ingest {
            org: tracked.org,
            service_id: tracked.slo.service_id.clone(),
            format: SourceFormat::Api,
            events,
            truncated_alerts: 0,
        };
        match self.engine.submit(command).await {
            Ok(_) => tracked.announced = Some(firing),
            Err(error) => tracing::warn!(slo = tracked.slo.id, %error, "cannot submit slo alerts; retrying next tick"),
        }
    }
}

/// The burn rates, shortest window first, for an alert's summary.
fn burn_detail(evaluation: &Evaluation) -> String {
    let parts: Vec<String> =
        evaluation.burn_rates.iter().filter_map(|(window, burn)| burn.map(|burn| format!("{window} {burn:.1}x"))).collect();
    if parts.is_empty() { "no events".to_string() } else { format!("burn rate {}", parts.join(", ")) }
}
