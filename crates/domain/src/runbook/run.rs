//! A runbook run as a state machine: given the run's progress (every step's status, the
//! approvals, whether an undo was asked for) and whether the SLI has recovered, [`decide`]
//! names the one thing to do next. The executor does it, records the result, and asks again.
//!
//! The rules that keep a run safe live here: nothing runs before a required approval; a step
//! found `started` without a result (the process died while it ran) runs again only when it is
//! idempotent, otherwise the run stops as interrupted for a person to look at; a run stops as
//! soon as the SLI has recovered after a step; undo walks the applied reversible steps
//! backwards.

use serde::{Deserialize, Serialize};

use super::model::Runbook;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Pending,
    AwaitingApproval,
    /// A manual step waiting for a person to tick it.
    AwaitingTick,
    Started,
    Succeeded,
    Failed,
    /// Not run: the run stopped before it (recovered, failed, interrupted).
    Skipped,
    /// Its undo started and has no result yet.
    Undoing,
    Undone,
    UndoFailed,
}

impl StepStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Pending => "pending",
            StepStatus::AwaitingApproval => "awaiting_approval",
            StepStatus::AwaitingTick => "awaiting_tick",
            StepStatus::Started => "started",
            StepStatus::Succeeded => "succeeded",
            StepStatus::Failed => "failed",
            StepStatus::Skipped => "skipped",
            StepStatus::Undoing => "undoing",
            StepStatus::Undone => "undone",
            StepStatus::UndoFailed => "undo_failed",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    /// Waiting for a person: an approval (of the run or of a step) or a manual step's tick.
    AwaitingApproval,
    AwaitingTick,
    Running,
    /// Stopped because the SLI recovered.
    Recovered,
    /// Every step ran.
    Finished,
    Failed,
    /// A step that is not idempotent was started and its result is unknown.
    Interrupted,
    /// Undoing applied steps, newest first.
    Undoing,
    Undone,
    /// Rendered every step and ran nothing.
    DryRun,
}

impl RunState {
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::AwaitingApproval => "awaiting_approval",
            RunState::AwaitingTick => "awaiting_tick",
            RunState::Running => "running",
            RunState::Recovered => "recovered",
            RunState::Finished => "finished",
            RunState::Failed => "failed",
            RunState::Interrupted => "interrupted",
            RunState::Undoing => "undoing",
            RunState::Undone => "undone",
            RunState::DryRun => "dry_run",
        }
    }

    pub fn parse(text: &str) -> Option<RunState> {
        [
            RunState::AwaitingApproval,
            RunState::AwaitingTick,
            RunState::Running,
            RunState::Recovered,
            RunState::Finished,
            RunState::Failed,
            RunState::Interrupted,
            RunState::Undoing,
            RunState::Undone,
            RunState::DryRun,
        ]
        .into_iter()
        .find(|state| state.as_str() == text)
    }

    /// States the executor advances on its own.
    pub fn is_active(self) -> bool {
        matches!(self, RunState::Running | RunState::Undoing)
    }

    /// States nothing follows (except an undo asked for by a person).
    pub fn is_stopped(self) -> bool {
        matches!(
            self,
            RunState::Recovered
                | RunState::Finished
                | RunState::Failed
                | RunState::Interrupted
                | RunState::Undone
                | RunState::DryRun
        )
    }
}

/// One step of a run as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepProgress {
    pub status: StepStatus,
    /// How many times the step was started.
    pub attempts: u32,
    pub started_at: Option<jiff::Timestamp>,
    pub finished_at: Option<jiff::Timestamp>,
    /// What it printed or answered, truncated.
    pub output: String,
    pub error: Option<String>,
    /// Who approved (`user:alice`) or ticked it.
    pub approved_by: Option<String>,
}

impl StepProgress {
    pub fn pending() -> StepProgress {
        StepProgress {
            status: StepStatus::Pending,
            attempts: 0,
            started_at: None,
            finished_at: None,
            output: String::new(),
            error: None,
            approved_by: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunProgress {
    pub state: RunState,
    pub steps: Vec<StepProgress>,
    /// Who approved the whole run, when the runbook (or whoever started the run) requires it.
    pub approved_by: Option<String>,
    pub undo_requested: bool,
    /// Set when the run was started asking for approval even though the runbook does not (an
    /// automatic start configured to wait for a person).
    #[serde(default)]
    pub approval_required: bool,
}

impl RunProgress {
    pub fn new(step_count: usize) -> RunProgress {
        RunProgress {
            state: RunState::Running,
            steps: vec![StepProgress::pending(); step_count],
            approved_by: None,
            undo_requested: false,
            approval_required: false,
        }
    }

    /// Whether the whole run waits for a person's approval before its first step.
    pub fn needs_run_approval(&self, runbook: &Runbook) -> bool {
        (runbook.approval_required || self.approval_required) && self.approved_by.is_none()
    }

    /// Whether any step has taken effect (so the SLI is worth re-checking).
    pub fn any_step_succeeded(&self) -> bool {
        self.steps.iter().any(|step| step.status == StepStatus::Succeeded)
    }
}

/// What the executor does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextAction {
    /// Start step k (recording it as started first).
    Run(usize),
    /// Wait for approval of the run (`None`) or of step k.
    AwaitApproval(Option<usize>),
    /// Wait for a person to tick manual step k.
    AwaitTick(usize),
    /// Undo step k.
    Undo(usize),
    /// Step k (or its undo) was started and never finished, and is not idempotent: a person
    /// must check what it did.
    Interrupted {
        step: usize,
        undo: bool,
    },
    Stop(RunState),
}

/// The next thing to do. `recovered` is whether the SLI is healthy now (asked after a step
/// took effect; `None` when unknown or not asked).
pub fn decide(runbook: &Runbook, progress: &RunProgress, recovered: Option<bool>) -> NextAction {
    if progress.steps.len() != runbook.steps.len() {
        return NextAction::Stop(RunState::Failed);
    }
    if progress.undo_requested {
        return decide_undo(runbook, progress);
    }
    if let Some(index) = progress.steps.iter().position(|step| step.status == StepStatus::Started) {
        if runbook.steps[index].idempotent {
            return NextAction::Run(index);
        }
        return NextAction::Interrupted { step: index, undo: false };
    }
    if progress.steps.iter().any(|step| step.status == StepStatus::Failed) {
        return NextAction::Stop(RunState::Failed);
    }
    if recovered == Some(true) && progress.any_step_succeeded() {
        return NextAction::Stop(RunState::Recovered);
    }
    let next = progress
        .steps
        .iter()
        .position(|step| matches!(step.status, StepStatus::Pending | StepStatus::AwaitingApproval | StepStatus::AwaitingTick));
    let Some(index) = next else {
        return NextAction::Stop(RunState::Finished);
    };
    if progress.needs_run_approval(runbook) {
        return NextAction::AwaitApproval(None);
    }
    let step = &runbook.steps[index];
    let step_progress = &progress.steps[index];
    if step.needs_approval() && step_progress.approved_by.is_none() {
        return NextAction::AwaitApproval(Some(index));
    }
    if matches!(step.action, super::model::Action::Manual(_)) {
        return NextAction::AwaitTick(index);
    }
    NextAction::Run(index)
}

fn decide_undo(runbook: &Runbook, progress: &RunProgress) -> NextAction {
    if let Some(index) = progress.steps.iter().position(|step| step.status == StepStatus::Undoing) {
        let undo_idempotent = runbook.steps[index].undo.as_ref().is_some_and(|undo| undo.idempotent);
        if undo_idempotent {
            return NextAction::Undo(index);
        }
        return NextAction::Interrupted { step: index, undo: true };
    }
    if progress.steps.iter().any(|step| step.status == StepStatus::UndoFailed) {
        return NextAction::Stop(RunState::Failed);
    }
    let newest_applied = (0..progress.steps.len())
        .rev()
        .find(|index| progress.steps[*index].status == StepStatus::Succeeded && runbook.steps[*index].undo.is_some());
    match newest_applied {
        Some(index) => NextAction::Undo(index),
        None => NextAction::Stop(RunState::Undone),
    }
}

/// Which steps may be undone: the run is stopped or waiting, something it applied can be
/// undone, and no undo was asked for yet.
pub fn can_undo(runbook: &Runbook, progress: &RunProgress) -> Result<(), &'static str> {
    if progress.undo_requested {
        return Err("an undo was already asked for");
    }
    if progress.state == RunState::DryRun {
        return Err("a dry run applied nothing");
    }
    let applied = progress
        .steps
        .iter()
        .zip(&runbook.steps)
        .any(|(step_progress, step)| step_progress.status == StepStatus::Succeeded && step.undo.is_some());
    if !applied {
        return Err("no applied step of this run can be undone");
    }
    Ok(())
}
