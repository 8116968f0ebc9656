//! The records of runbook runs: a run of one runbook against one incident, with a copy of the
//! runbook as it was when the run started, and its progress (every step's status, attempts,
//! times, truncated output and who approved it).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use staunch_domain::runbook::{RunProgress, RunState};

use crate::{Actor, OrgId};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewRunbookRun {
    pub org: OrgId,
    pub incident_id: i64,
    pub runbook: String,
    /// The runbook as written (`RawRunbook`) when the run started; the run follows this copy
    /// even if the configuration changes meanwhile.
    pub definition: serde_json::Value,
    pub symptom: Option<String>,
    pub dry_run: bool,
    pub started_by: Actor,
    pub progress: RunProgress,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunbookRun {
    pub id: i64,
    pub org: OrgId,
    pub incident_id: i64,
    pub runbook: String,
    pub definition: serde_json::Value,
    pub symptom: Option<String>,
    pub dry_run: bool,
    pub started_by: Actor,
    /// Also kept in its own column (`progress.state`) so active runs are found by index.
    pub progress: RunProgress,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub finished_at: Option<Timestamp>,
}

impl RunbookRun {
    pub fn state(&self) -> RunState {
        self.progress.state
    }
}

/// How often one runbook ran against incidents of one symptom, and how often it worked: it
/// stopped because the SLI recovered, or it finished and the incident is mitigated or resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunbookOutcomes {
    pub symptom: String,
    pub runbook: String,
    pub attempts: u64,
    pub successes: u64,
}
