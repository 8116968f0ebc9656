//! The records of deploy links: an incident linked to the deploy it opened soon after (a copy
//! of the change event), and the state of the rollback that link calls for.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::OrgId;

/// Where a deploy link's rollback stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RollbackState {
    /// The service has no rollback runbook.
    None,
    /// A rollback run is to be started; the leader's rollback task starts it.
    Pending,
    /// Its run was started (`rollback_run_id`), in the transaction that settled it.
    Started,
    /// It could not start (`rollback_note` says why: the incident closed first, ...).
    Skipped,
}

impl RollbackState {
    pub fn as_str(self) -> &'static str {
        match self {
            RollbackState::None => "none",
            RollbackState::Pending => "pending",
            RollbackState::Started => "started",
            RollbackState::Skipped => "skipped",
        }
    }

    pub fn parse(text: &str) -> Option<RollbackState> {
        Some(match text {
            "none" => RollbackState::None,
            "pending" => RollbackState::Pending,
            "started" => RollbackState::Started,
            "skipped" => RollbackState::Skipped,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewDeployLink {
    pub org: OrgId,
    pub incident_id: i64,
    pub service_id: String,
    pub change_id: i64,
    /// The change event as it was: `{id, summary, source, at, details}`.
    pub deploy: serde_json::Value,
    pub linked_at: Timestamp,
    pub rollback_runbook: Option<String>,
    /// Whether the rollback run waits for a person's approval before its first step.
    pub rollback_approval: bool,
    /// `Pending` when a rollback runbook is configured, else `None`.
    pub rollback_state: RollbackState,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeployLink {
    pub id: i64,
    pub org: OrgId,
    pub incident_id: i64,
    pub service_id: String,
    pub change_id: i64,
    pub deploy: serde_json::Value,
    pub linked_at: Timestamp,
    pub rollback_runbook: Option<String>,
    pub rollback_approval: bool,
    pub rollback_state: RollbackState,
    pub rollback_run_id: Option<i64>,
    pub rollback_note: Option<String>,
    pub updated_at: Timestamp,
}

/// How a pending rollback was settled (see `StoreTx::settle_rollback`).
#[derive(Debug, Clone, PartialEq)]
pub struct RollbackSettlement {
    pub state: RollbackState,
    pub run_id: Option<i64>,
    pub note: Option<String>,
    pub at: Timestamp,
}
