//! The latest evaluation of every heartbeat monitor, as the views show it, and the monitors
//! whose history a backfill changed (the worker rebuilds those on its next tick). Only the
//! leader evaluates: on another replica a monitor shows as not evaluated, and a backfill
//! pushed there is seen by the leader at its next rebuild.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use staunch_config::heartbeats::HeartbeatDefinition;
use staunch_domain::heartbeat::HeartbeatEvaluation;
use staunch_store::OrgId;

/// One monitor as `GET /api/v1/heartbeats` and `staunch heartbeat status` show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeartbeatStatus {
    pub id: String,
    pub name: String,
    pub service: String,
    pub event: String,
    pub time_zone: String,
    pub window: String,
    pub threshold: f64,
    pub resolve_threshold: f64,
    /// `learning`, `quiet`, `ok`, `dropped`, or `unknown` before the first evaluation.
    pub state: String,
    pub firing: bool,
    /// Events over the window.
    pub observed: Option<u64>,
    /// Events expected over the window; `None` while learning.
    pub expected: Option<f64>,
    pub ratio: Option<f64>,
    pub window_start: Option<Timestamp>,
    pub window_end: Option<Timestamp>,
    /// The first event the monitor learned from.
    pub history_since: Option<Timestamp>,
    pub evaluated_at: Option<Timestamp>,
}

impl HeartbeatStatus {
    pub fn unevaluated(heartbeat: &HeartbeatDefinition) -> HeartbeatStatus {
        HeartbeatStatus {
            id: heartbeat.id.clone(),
            name: heartbeat.name.clone(),
            service: heartbeat.service_id.clone(),
            event: heartbeat.event.clone(),
            time_zone: heartbeat.time_zone.clone(),
            window: format!("{}m", heartbeat.monitor.window_minutes),
            threshold: heartbeat.monitor.threshold,
            resolve_threshold: heartbeat.monitor.resolve_threshold,
            state: "unknown".to_string(),
            firing: false,
            observed: None,
            expected: None,
            ratio: None,
            window_start: None,
            window_end: None,
            history_since: None,
            evaluated_at: None,
        }
    }

    pub fn from_evaluation(
        heartbeat: &HeartbeatDefinition,
        evaluation: &HeartbeatEvaluation,
        history_since: Option<Timestamp>,
        at: Timestamp,
    ) -> HeartbeatStatus {
        HeartbeatStatus {
            state: evaluation.state.as_str().to_string(),
            firing: evaluation.firing,
            observed: Some(evaluation.observed),
            expected: evaluation.expected,
            ratio: evaluation.ratio(),
            window_start: Some(evaluation.window_start),
            window_end: Some(evaluation.window_end),
            history_since,
            evaluated_at: Some(at),
            ..HeartbeatStatus::unevaluated(heartbeat)
        }
    }
}

#[derive(Clone, Default)]
pub struct HeartbeatBoard {
    statuses: Arc<RwLock<HashMap<(OrgId, String), HeartbeatStatus>>>,
    backfilled: Arc<Mutex<HashSet<(OrgId, String)>>>,
}

impl HeartbeatBoard {
    pub fn publish(&self, org: OrgId, status: HeartbeatStatus) {
        let mut statuses = self.statuses.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        statuses.insert((org, status.id.clone()), status);
    }

    /// The latest status of `heartbeat`, or its unevaluated view.
    pub fn status(&self, org: OrgId, heartbeat: &HeartbeatDefinition) -> HeartbeatStatus {
        let statuses = self.statuses.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        statuses.get(&(org, heartbeat.id.clone())).cloned().unwrap_or_else(|| HeartbeatStatus::unevaluated(heartbeat))
    }

    /// Events older than the worker's re-read were stored: rebuild the monitor.
    pub fn history_changed(&self, org: OrgId, id: &str) {
        let mut backfilled = self.backfilled.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        backfilled.insert((org, id.to_string()));
    }

    /// Whether `id`'s history changed since the last call (and forgets it).
    pub fn take_history_changed(&self, org: OrgId, id: &str) -> bool {
        let mut backfilled = self.backfilled.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        backfilled.remove(&(org, id.to_string()))
    }
}
