//! The executor: on the leader only, advances every active run (`running`, `undoing`) one
//! action at a time, each run in a task of its own so a long wait never holds up another run.
//!
//! Each action follows the same order: record "step k started" and commit, then act, then
//! record the result and commit. A process killed in between leaves the step `started`; the
//! next leader asks the state machine, which re-runs it only if it is idempotent and otherwise
//! stops the run as interrupted for a person to check. After every step the SLI is checked
//! again, and the run stops as soon as it has recovered.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use staunch_domain::runbook::render::{RenderedAction, describe, render_action};
use staunch_domain::runbook::{Action, NextAction, RunState, Runbook, Step, StepStatus, decide};
use staunch_store::{Actor, OrgId, RunbookRun, StoreResult};
use tokio::sync::broadcast;
use tokio::task::JoinSet;

use super::actions::{self, StepResult};
use super::context::{IncidentView, stored_runbook};
use super::recovery;
use super::service::{Inner, RunbookService, timeline_entry};
use crate::leader::LeaderWatch;

/// How often active runs are looked for even when nothing woke the executor (runs started by
/// another replica, a leadership change).
const POLL_EVERY: Duration = Duration::from_secs(1);

pub struct RunbookExecutor {
    pub service: RunbookService,
    pub leader: LeaderWatch,
}

impl RunbookExecutor {
    pub async fn run(self, mut shutdown: broadcast::Receiver<()>) {
        let in_flight: Arc<Mutex<HashSet<i64>>> = Arc::default();
        let mut tasks = JoinSet::new();
        loop {
            tokio::select! {
                _ = shutdown.recv() => break,
                _ = self.service.inner.wake.notified() => {}
                _ = tokio::time::sleep(POLL_EVERY) => {}
            }
            while tasks.try_join_next().is_some() {}
            if !self.leader.is_leader() {
                continue;
            }
            let active = match self.service.inner.store.active_runbook_runs().await {
                Ok(active) => active,
                Err(error) => {
                    tracing::warn!(%error, "cannot read active runbook runs; retrying");
                    continue;
                }
            };
            for run in active {
                if !in_flight.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).insert(run.id) {
                    continue;
                }
                let inner = self.service.inner.clone();
                let leader = self.leader.clone();
                let in_flight = in_flight.clone();
                tasks.spawn(async move {
                    let run_id = run.id;
                    if let Err(error) = advance(&inner, &leader, run.org, run_id).await {
                        tracing::warn!(run = run_id, %error, "runbook run could not advance; retrying");
                    }
                    in_flight.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(&run_id);
                    // What it left behind (an approval given meanwhile, a failed write) gets another look.
                    inner.wake.notify_one();
                });
            }
        }
        // A step cut short here stays `started`: the next start decides whether it runs again.
        tasks.shutdown().await;
    }
}

/// Advances one run until it waits for a person, stops, or this process stops leading.
async fn advance(inner: &Inner, leader: &LeaderWatch, org: OrgId, run_id: i64) -> StoreResult<()> {
    loop {
        if !leader.is_leader() {
            return Ok(());
        }
        let Some(run) = inner.store.runbook_run(org, run_id).await? else { return Ok(()) };
        if !run.state().is_active() {
            return Ok(());
        }
        let runbook = match stored_runbook(&inner.config, org, &run.definition) {
            Ok(runbook) => runbook,
            Err(reason) => {
                return stop(inner, run_id, org, RunState::Failed, json!({ "reason": reason })).await;
            }
        };
        let Some(incident) = inner.store.incident(org, run.incident_id).await? else {
            return stop(inner, run_id, org, RunState::Failed, json!({ "reason": "the incident is gone" })).await;
        };
        let view = IncidentView::load(inner.store.as_ref(), org, incident).await?;
        let context = view.template_context(run.symptom.clone(), &run.runbook, run.id);
        let (recovered, recovery_seen) = if !run.progress.undo_requested && run.progress.any_step_succeeded() {
            recovery::recovered(&inner.config, &inner.board, &inner.client, &runbook, &view, &context).await
        } else {
            (None, String::new())
        };
        match decide(&runbook, &run.progress, recovered) {
            NextAction::Run(index) => {
                let step = &runbook.steps[index];
                execute(inner, &run, index, step, &context, false).await?;
            }
            NextAction::Undo(index) => {
                let Some(undo) = runbook.steps[index].undo.as_deref() else { return Ok(()) };
                execute(inner, &run, index, undo, &context, true).await?;
            }
            NextAction::AwaitApproval(step) => {
                return wait_for_person(inner, org, run_id, RunState::AwaitingApproval, step, &runbook).await;
            }
            NextAction::AwaitTick(step) => {
                return wait_for_person(inner, org, run_id, RunState::AwaitingTick, Some(step), &runbook).await;
            }
            NextAction::Interrupted { step, undo } => {
                let what = if undo { "its undo" } else { "it" };
                let reason = format!(
                    "step {} ({}) was started and {what} never reported a result (the process stopped); it is not \
                     idempotent, so it is not run again: check by hand what it did",
                    step + 1,
                    runbook.steps[step].name
                );
                return stop(inner, run_id, org, RunState::Interrupted, json!({ "step": step, "undo": undo, "reason": reason }))
                    .await;
            }
            NextAction::Stop(state) => {
                let data = if state == RunState::Recovered { json!({ "seen": recovery_seen }) } else { json!({}) };
                return stop(inner, run_id, org, state, data).await;
            }
        }
    }
}

/// Records that the step started, carries it out, records what happened.
async fn execute(
    inner: &Inner,
    run: &RunbookRun,
    index: usize,
    step: &Step,
    context: &staunch_domain::runbook::TemplateContext,
    undo: bool,
) -> StoreResult<()> {
    let (started, done, failed) = if undo {
        (StepStatus::Undoing, StepStatus::Undone, StepStatus::UndoFailed)
    } else {
        (StepStatus::Started, StepStatus::Succeeded, StepStatus::Failed)
    };
    let prefix = if undo { "runbook.undo" } else { "runbook.step" };
    let rendered = match render_action(&step.action, context) {
        Ok(rendered) => rendered,
        Err(error) => {
            // Nothing was done: the failure is recorded without a start.
            let result = StepResult { succeeded: false, output: String::new(), error: Some(format!("cannot render: {error}")) };
            return record_result(inner, run, index, step, failed, &result, &format!("{prefix}_failed"), undo).await;
        }
    };
    let description = describe(&rendered);
    // Durable before acting: a crash from here on leaves the step `started`.
    {
        let mut tx = inner.store.begin().await?;
        let Some(mut current) = tx.runbook_run_for_update(run.org, run.id).await? else { return Ok(()) };
        if current.progress.steps[index].status != run.progress.steps[index].status || !current.state().is_active() {
            return Ok(()); // Changed meanwhile (an undo was asked for): decide again.
        }
        let now = inner.clock.now();
        let progress = &mut current.progress.steps[index];
        progress.status = started;
        progress.attempts += 1;
        progress.started_at = Some(now);
        progress.finished_at = None;
        progress.error = None;
        let attempt = progress.attempts;
        current.updated_at = now;
        tx.update_runbook_run(&current).await?;
        tx.append_timeline(&timeline_entry(
            &current,
            &Actor::system(),
            &format!("{prefix}_started"),
            json!({ "step": index, "step_name": step.name, "kind": step.action.kind(), "action": description, "attempt": attempt }),
        ))
        .await?;
        tx.commit().await?;
    }
    tracing::info!(run = run.id, step = index, undo, action = %description, "runbook step started");
    let result = carry_out(inner, run.org, step, &rendered, context).await;
    let (status, kind) =
        if result.succeeded { (done, format!("{prefix}_succeeded")) } else { (failed, format!("{prefix}_failed")) };
    let kind = if undo && result.succeeded { "runbook.step_undone".to_string() } else { kind };
    metrics::counter!("staunch_runbook_steps_total", "kind" => step.action.kind(), "result" => if result.succeeded { "succeeded" } else { "failed" })
        .increment(1);
    record_result(inner, run, index, step, status, &result, &kind, undo).await
}

async fn carry_out(
    inner: &Inner,
    org: OrgId,
    step: &Step,
    rendered: &RenderedAction,
    context: &staunch_domain::runbook::TemplateContext,
) -> StepResult {
    let timeout = step.timeout.as_std();
    match &step.action {
        Action::Check(check) => {
            let (healthy, seen) =
                recovery::evaluate(&inner.config, &inner.board, &inner.client, org, check, context, timeout).await;
            match healthy {
                Some(true) => StepResult { succeeded: true, output: seen, error: None },
                Some(false) => StepResult { succeeded: false, output: seen, error: Some("check failed".into()) },
                None => StepResult { succeeded: false, output: seen, error: Some("check could not tell".into()) },
            }
        }
        Action::Http(request) => actions::perform(&inner.client, rendered, timeout, |status| request.accepts(status)).await,
        _ => actions::perform(&inner.client, rendered, timeout, |status| (200..300).contains(&status)).await,
    }
}

#[allow(clippy::too_many_arguments)]
async fn record_result(
    inner: &Inner,
    run: &RunbookRun,
    index: usize,
    step: &Step,
    status: StepStatus,
    result: &StepResult,
    kind: &str,
    undo: bool,
) -> StoreResult<()> {
    let mut tx = inner.store.begin().await?;
    let Some(mut current) = tx.runbook_run_for_update(run.org, run.id).await? else { return Ok(()) };
    let now = inner.clock.now();
    let progress = &mut current.progress.steps[index];
    progress.status = status;
    progress.finished_at = Some(now);
    progress.output = result.output.clone();
    progress.error = result.error.clone();
    current.updated_at = now;
    tx.update_runbook_run(&current).await?;
    tx.append_timeline(&timeline_entry(
        &current,
        &Actor::system(),
        kind,
        json!({ "step": index, "step_name": step.name, "kind": step.action.kind(), "undo": undo, "output": result.output, "error": result.error }),
    ))
    .await?;
    tx.commit().await
}

async fn wait_for_person(
    inner: &Inner,
    org: OrgId,
    run_id: i64,
    state: RunState,
    step: Option<usize>,
    runbook: &Runbook,
) -> StoreResult<()> {
    let mut tx = inner.store.begin().await?;
    let Some(mut run) = tx.runbook_run_for_update(org, run_id).await? else { return Ok(()) };
    if !run.state().is_active() {
        return Ok(());
    }
    let step_status = if state == RunState::AwaitingTick { StepStatus::AwaitingTick } else { StepStatus::AwaitingApproval };
    if let Some(index) = step {
        run.progress.steps[index].status = step_status;
    }
    run.progress.state = state;
    run.updated_at = inner.clock.now();
    tx.update_runbook_run(&run).await?;
    let kind = if state == RunState::AwaitingTick { "runbook.awaiting_tick" } else { "runbook.awaiting_approval" };
    let step_name = step.map(|index| runbook.steps[index].name.clone());
    let instructions = step.and_then(|index| match &runbook.steps[index].action {
        Action::Manual(instructions) => Some(instructions.clone()),
        _ => None,
    });
    tx.append_timeline(&timeline_entry(
        &run,
        &Actor::system(),
        kind,
        json!({ "step": step, "step_name": step_name, "instructions": instructions }),
    ))
    .await?;
    tx.commit().await
}

/// Stops the run in `state`; steps that never ran are marked skipped.
async fn stop(inner: &Inner, run_id: i64, org: OrgId, state: RunState, data: serde_json::Value) -> StoreResult<()> {
    let mut tx = inner.store.begin().await?;
    let Some(mut run) = tx.runbook_run_for_update(org, run_id).await? else { return Ok(()) };
    if !run.state().is_active() {
        return Ok(());
    }
    for step in &mut run.progress.steps {
        if matches!(step.status, StepStatus::Pending | StepStatus::AwaitingApproval | StepStatus::AwaitingTick) {
            step.status = StepStatus::Skipped;
        }
    }
    let now = inner.clock.now();
    run.progress.state = state;
    run.updated_at = now;
    run.finished_at = Some(now);
    tx.update_runbook_run(&run).await?;
    tx.append_timeline(&timeline_entry(&run, &Actor::system(), &format!("runbook.{}", state.as_str()), data)).await?;
    tx.commit().await?;
    tracing::info!(run = run_id, state = state.as_str(), "runbook run stopped");
    metrics::counter!("staunch_runbook_runs_stopped_total", "state" => state.as_str()).increment(1);
    Ok(())
}
