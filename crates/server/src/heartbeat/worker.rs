//! The heartbeat loop: every tick, on the leader only, read each monitor's recently pushed
//! counts, let the domain monitor decide, publish the result on the board, and tell the
//! engine when a drop opens or recovers.
//!
//! Monitors are rebuilt from the stored counts at start, when this process becomes leader,
//! after a backfill of history, and after a failed tick, so weeks of history are never lost
//! to a restart. As for SLOs, what was announced to the engine is tracked apart from what the
//! monitor decides: after a rebuild the state is re-announced (a trigger the engine
//! deduplicates, a resolve it ignores), and a failed submission is retried next tick.

use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use staunch_config::Config;
use staunch_config::heartbeats::HeartbeatDefinition;
use staunch_domain::alert::SourceFormat;
use staunch_domain::heartbeat::{HeartbeatEvaluation, HeartbeatMonitor, Recorded};
use staunch_store::{OrgId, Store, StoreResult};
use tokio::sync::broadcast;

use super::RECENT_LOOKBACK;
use super::alerts;
use super::board::{HeartbeatBoard, HeartbeatStatus};
use crate::clock::Clock;
use crate::engine::{Command, EngineHandle};
use crate::leader::LeaderWatch;

/// How often old buckets are deleted.
const PRUNE_EVERY: SignedDuration = SignedDuration::from_hours(1);

struct Tracked {
    org: OrgId,
    heartbeat: HeartbeatDefinition,
    key: String,
    monitor: Option<HeartbeatMonitor>,
    /// Counts already fed to the monitor, by minute, for the recent span re-read each tick.
    fed: BTreeMap<Timestamp, u64>,
    /// Whether the engine was last told the drop is open; `None` right after a (re)build.
    announced: Option<bool>,
    last_pruned: Option<Timestamp>,
}

pub struct HeartbeatWorker {
    pub store: Arc<dyn Store>,
    pub config: Arc<Config>,
    pub clock: Arc<dyn Clock>,
    pub engine: EngineHandle,
    pub leader: LeaderWatch,
    pub board: HeartbeatBoard,
}

impl HeartbeatWorker {
    pub async fn run(self, mut shutdown: broadcast::Receiver<()>) {
        let mut tracked: Vec<Tracked> = self
            .config
            .bound_organisations()
            .flat_map(|(org, organisation)| {
                organisation.heartbeats.iter().map(move |heartbeat| Tracked {
                    org,
                    key: heartbeat.bucket_key(),
                    heartbeat: heartbeat.clone(),
                    monitor: None,
                    fed: BTreeMap::new(),
                    announced: None,
                    last_pruned: None,
                })
            })
            .collect();
        if tracked.is_empty() {
            return;
        }
        let mut interval = tokio::time::interval(self.config.settings.slo_tick.as_std());
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.recv() => break,
                _ = interval.tick() => {}
            }
            if !self.leader.is_leader() {
                for heartbeat in &mut tracked {
                    heartbeat.monitor = None;
                    heartbeat.announced = None;
                }
                continue;
            }
            for heartbeat in &mut tracked {
                if let Err(error) = self.tick(heartbeat).await {
                    tracing::warn!(heartbeat = heartbeat.heartbeat.id, %error, "heartbeat evaluation failed; retrying next tick");
                    heartbeat.monitor = None;
                }
            }
        }
    }

    async fn tick(&self, tracked: &mut Tracked) -> StoreResult<()> {
        let now = self.clock.now();
        if self.board.take_history_changed(tracked.org, &tracked.heartbeat.id) {
            tracked.monitor = None;
        }
        if tracked.monitor.is_none() {
            tracked.monitor = Some(self.rebuild(tracked, now).await?);
        }
        if !self.read_recent(tracked, now).await? {
            // Something older than the monitor's first event arrived: learn again in order.
            tracked.monitor = Some(self.rebuild(tracked, now).await?);
        }
        let monitor = tracked.monitor.as_mut().expect("built above");
        let evaluation = monitor.evaluate(now);
        let history_since = monitor.history_start();
        self.announce(tracked, &evaluation).await;
        self.board.publish(tracked.org, HeartbeatStatus::from_evaluation(&tracked.heartbeat, &evaluation, history_since, now));
        if tracked.last_pruned.is_none_or(|last| now.duration_since(last) >= PRUNE_EVERY) {
            let before = now - tracked.heartbeat.history_span() - SignedDuration::from_hours(24);
            let mut tx = self.store.begin().await?;
            tx.prune_slo_buckets(tracked.org, &tracked.key, before).await?;
            tx.commit().await?;
            tracked.last_pruned = Some(now);
        }
        Ok(())
    }

    /// A monitor that has learned from every stored count of its history span, in time order.
    async fn rebuild(&self, tracked: &mut Tracked, now: Timestamp) -> StoreResult<HeartbeatMonitor> {
        let mut monitor = HeartbeatMonitor::new(tracked.heartbeat.monitor.clone());
        let buckets = self.store.slo_buckets(tracked.org, &tracked.key, now - tracked.heartbeat.history_span()).await?;
        let recent = now - RECENT_LOOKBACK;
        tracked.fed.clear();
        for bucket in &buckets {
            monitor.record(bucket.minute, bucket.total);
            if bucket.minute >= recent {
                tracked.fed.insert(bucket.minute, bucket.total);
            }
        }
        tracked.announced = None;
        tracing::info!(heartbeat = tracked.heartbeat.id, buckets = buckets.len(), "heartbeat monitor rebuilt from stored events");
        Ok(monitor)
    }

    /// Feeds what was pushed since the last tick. False when a count could not be placed.
    async fn read_recent(&self, tracked: &mut Tracked, now: Timestamp) -> StoreResult<bool> {
        let recent = now - RECENT_LOOKBACK;
        let buckets = self.store.slo_buckets(tracked.org, &tracked.key, recent).await?;
        let monitor = tracked.monitor.as_mut().expect("built before reading");
        for bucket in buckets {
            let fed = tracked.fed.get(&bucket.minute).copied().unwrap_or(0);
            let added = bucket.total.saturating_sub(fed);
            if added > 0 && monitor.record(bucket.minute, added) == Recorded::BeforeHistory {
                return Ok(false);
            }
            tracked.fed.insert(bucket.minute, bucket.total);
        }
        tracked.fed.retain(|minute, _| *minute >= recent);
        Ok(true)
    }

    async fn announce(&self, tracked: &mut Tracked, evaluation: &HeartbeatEvaluation) {
        if tracked.announced == Some(evaluation.firing) {
            return;
        }
        let Some(event) = alerts::event(&tracked.heartbeat, evaluation.firing, evaluation) else { return };
        tracing::info!(
            heartbeat = tracked.heartbeat.id,
            dedup_key = %event.dedup_key,
            action = event.action.as_str(),
            detail = alerts::detail(&tracked.heartbeat, evaluation),
            "heartbeat alert"
        );
        let command = Command::Ingest {
            org: tracked.org,
            service_id: tracked.heartbeat.service_id.clone(),
            format: SourceFormat::Api,
            events: vec![event],
            truncated_alerts: 0,
        };
        match self.engine.submit(command).await {
            Ok(_) => tracked.announced = Some(evaluation.firing),
            Err(error) => {
                tracing::warn!(heartbeat = tracked.heartbeat.id, %error, "cannot submit heartbeat alert; retrying next tick")
            }
        }
    }
}
