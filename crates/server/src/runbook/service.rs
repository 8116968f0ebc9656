//! Everything that changes a run from outside the executor: start (or dry-run), approve, tick
//! a manual step, ask for an undo. Each is one transaction holding the change, its timeline
//! event (with the actor) and, for API callers, the audit entry; the executor is woken after
//! the commit. `start` is the one call the API, the CLI and automatic triggers (a rollback
//! after a deploy) all make.

use std::sync::Arc;

use serde_json::json;
use staunch_config::Config;
use staunch_domain::runbook::render::{describe, dry_run};
use staunch_domain::runbook::{RunProgress, RunState, Runbook, StepStatus, can_undo};
use staunch_store::{
    Actor, NewAuditEntry, NewRunbookRun, NewTimelineEntry, OrgId, RollbackSettlement, RollbackState, RunbookRun, Store,
    StoreError, StoreTx,
};
use tokio::sync::Notify;

use super::candidates::{self, Candidates};
use super::context::{IncidentView, stored_runbook};
use crate::clock::Clock;
use crate::engine::Audit;
use crate::slo::SloBoard;

#[derive(Debug, thiserror::Error)]
pub enum RunbookError {
    /// `field` names what was not found (`id`, `runbook`, `run`).
    #[error("{message}")]
    NotFound { field: &'static str, message: String },
    /// The request does not fit the run's state.
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn not_found(field: &'static str, message: impl Into<String>) -> RunbookError {
    RunbookError::NotFound { field, message: message.into() }
}

/// A request to run a runbook on an incident.
#[derive(Debug, Clone)]
pub struct StartRequest {
    pub org: OrgId,
    pub incident_id: i64,
    pub runbook: String,
    pub dry_run: bool,
    /// Wait for a person's approval before the first step even if the runbook does not ask
    /// for it (an automatic start configured as "after approval").
    pub require_approval: bool,
    /// Who started it: a person, a token, or `system:staunch` for an automatic start.
    pub actor: Actor,
    /// The audit entry to write with the run, for requests made through the API.
    pub audit: Option<Audit>,
    /// The run is the rollback a deploy link calls for: the same transaction settles the
    /// link's pending rollback, and the start is refused if it is no longer pending, so a
    /// rollback starts once however many processes try.
    pub deploy_rollback: bool,
}

pub(crate) struct Inner {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) config: Arc<Config>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) board: SloBoard,
    pub(crate) client: reqwest::Client,
    /// Woken after every change that gives the executor something to do.
    pub(crate) wake: Notify,
}

/// Starts and steers runbook runs; cheap to clone.
#[derive(Clone)]
pub struct RunbookService {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) fn timeline_entry(run: &RunbookRun, actor: &Actor, kind: &str, mut data: serde_json::Value) -> NewTimelineEntry {
    data["run"] = json!(run.id);
    data["runbook"] = json!(run.runbook);
    NewTimelineEntry {
        org: run.org,
        incident_id: run.incident_id,
        at: run.updated_at,
        actor: actor.clone(),
        kind: kind.to_string(),
        data,
    }
}

fn audit_entry(audit: &Audit, at: jiff::Timestamp, target: String) -> NewAuditEntry {
    NewAuditEntry {
        org: audit.org,
        at,
        actor: audit.actor.clone(),
        origin: audit.origin.clone(),
        action: audit.action.clone(),
        target,
        details: audit.details.clone(),
    }
}

impl RunbookService {
    pub fn new(store: Arc<dyn Store>, config: Arc<Config>, clock: Arc<dyn Clock>, board: SloBoard) -> RunbookService {
        let client = super::actions::http_client();
        RunbookService { inner: Arc::new(Inner { store, config, clock, board, client, wake: Notify::new() }) }
    }

    /// The organisation's runbooks, in file order.
    pub fn runbooks(&self, org: OrgId) -> &[Runbook] {
        self.inner.config.organisation_by_id(org).map_or(&[], |organisation| organisation.runbooks.as_slice())
    }

    async fn incident_view(&self, org: OrgId, incident_id: i64) -> Result<IncidentView, RunbookError> {
        let incident = self.inner.store.incident(org, incident_id).await?.ok_or_else(|| not_found("id", "no such incident"))?;
        Ok(IncidentView::load(self.inner.store.as_ref(), org, incident).await?)
    }

    /// The incident's symptom and the runbooks that apply to it, best first.
    pub async fn candidates(&self, org: OrgId, incident_id: i64) -> Result<Candidates, RunbookError> {
        let view = self.incident_view(org, incident_id).await?;
        Ok(candidates::for_incident(self.inner.store.as_ref(), &self.inner.config, &view).await?)
    }

    /// Starts `request.runbook` on the incident, or with `dry_run` renders every step for it
    /// and runs nothing. Refused while another run of the same runbook on the incident is not
    /// stopped.
    pub async fn start(&self, request: StartRequest) -> Result<RunbookRun, RunbookError> {
        let StartRequest {
            org,
            incident_id,
            runbook: name,
            dry_run: is_dry_run,
            require_approval,
            actor,
            audit,
            deploy_rollback,
        } = request;
        let runbook = self
            .runbooks(org)
            .iter()
            .find(|runbook| runbook.name == name)
            .ok_or_else(|| not_found("runbook", format!("no runbook named {name:?}")))?
            .clone();
        let view = self.incident_view(org, incident_id).await?;
        if !is_dry_run && !view.incident.state.is_open() {
            return Err(RunbookError::Conflict(format!("incident {incident_id} is {}", view.incident.state.as_str())));
        }
        let symptom = view.symptom(&self.inner.config);
        let now = self.inner.clock.now();
        let mut tx = self.inner.store.begin().await?;
        if !is_dry_run {
            let running = self.inner.store.runbook_runs(org, incident_id).await?;
            if let Some(other) = running.iter().find(|run| run.runbook == name && !run.state().is_stopped()) {
                return Err(RunbookError::Conflict(format!(
                    "run {} of {name} on this incident is {}",
                    other.id,
                    other.state().as_str()
                )));
            }
        }
        let mut progress = RunProgress::new(runbook.steps.len());
        progress.approval_required = require_approval;
        if is_dry_run {
            progress.state = RunState::DryRun;
        }
        let definition = serde_json::to_value(&runbook.raw).map_err(|error| StoreError::Backend(error.to_string()))?;
        let new = NewRunbookRun {
            org,
            incident_id,
            runbook: name.clone(),
            definition,
            symptom: symptom.clone(),
            dry_run: is_dry_run,
            started_by: actor.clone(),
            progress,
            created_at: now,
        };
        let run_id = tx.insert_runbook_run(&new).await?;
        let deploy = if deploy_rollback && !is_dry_run {
            let settlement = RollbackSettlement { state: RollbackState::Started, run_id: Some(run_id), note: None, at: now };
            if !tx.settle_rollback(org, incident_id, &settlement).await? {
                return Err(RunbookError::Conflict(format!("incident {incident_id} has no rollback waiting to start")));
            }
            view.deploy.as_ref().map(|deploy| json!(deploy.id))
        } else {
            None
        };
        let mut run = RunbookRun {
            id: run_id,
            org,
            incident_id,
            runbook: name.clone(),
            definition: new.definition,
            symptom: symptom.clone(),
            dry_run: is_dry_run,
            started_by: actor.clone(),
            progress: new.progress,
            created_at: now,
            updated_at: now,
            finished_at: is_dry_run.then_some(now),
        };
        if is_dry_run {
            let context = view.template_context(symptom.clone(), &name, run_id);
            let rendered = dry_run(&runbook.steps, &context);
            for (step, rendering) in run.progress.steps.iter_mut().zip(&rendered) {
                step.status = StepStatus::Skipped;
                match &rendering.action {
                    Ok(action) => step.output = describe(action),
                    Err(error) => step.error = Some(error.clone()),
                }
            }
            tx.update_runbook_run(&run).await?;
            let steps = serde_json::to_value(&rendered).unwrap_or_default();
            tx.append_timeline(&timeline_entry(&run, &actor, "runbook.dry_run", json!({ "symptom": symptom, "steps": steps })))
                .await?;
        } else {
            tx.append_timeline(&timeline_entry(
                &run,
                &actor,
                "runbook.started",
                json!({
                    "symptom": symptom,
                    "approval_required": runbook.approval_required || require_approval,
                    "steps": runbook.steps.len(),
                    "rollback_of_deploy": deploy,
                }),
            ))
            .await?;
        }
        if let Some(audit) = &audit {
            tx.append_audit(&audit_entry(audit, now, format!("runbook-run/{run_id}"))).await?;
        }
        tx.commit().await?;
        metrics::counter!("staunch_runbook_runs_started_total", "dry_run" => if is_dry_run { "true" } else { "false" })
            .increment(1);
        self.inner.wake.notify_one();
        Ok(run)
    }

    /// Reads a run for a change in `tx`, with its runbook as stored.
    async fn run_for_change(&self, tx: &mut dyn StoreTx, org: OrgId, run_id: i64) -> Result<(RunbookRun, Runbook), RunbookError> {
        let run = tx.runbook_run_for_update(org, run_id).await?.ok_or_else(|| not_found("run", "no such runbook run"))?;
        let runbook = stored_runbook(&self.inner.config, org, &run.definition).map_err(RunbookError::Conflict)?;
        Ok((run, runbook))
    }

    /// Gives the approval the run waits for: the whole run's, or that of the step it stopped
    /// at.
    pub async fn approve(&self, org: OrgId, run_id: i64, actor: Actor, audit: Option<Audit>) -> Result<RunbookRun, RunbookError> {
        let mut tx = self.inner.store.begin().await?;
        let (mut run, runbook) = self.run_for_change(tx.as_mut(), org, run_id).await?;
        if run.state() != RunState::AwaitingApproval {
            return Err(RunbookError::Conflict(format!("run {run_id} is {}, not awaiting approval", run.state().as_str())));
        }
        let approver = actor.to_string();
        let step = if run.progress.needs_run_approval(&runbook) {
            run.progress.approved_by = Some(approver.clone());
            None
        } else {
            let Some(index) = run.progress.steps.iter().position(|step| step.status == StepStatus::AwaitingApproval) else {
                return Err(RunbookError::Conflict(format!("run {run_id} has no step awaiting approval")));
            };
            run.progress.steps[index].approved_by = Some(approver.clone());
            run.progress.steps[index].status = StepStatus::Pending;
            Some(index)
        };
        run.progress.state = RunState::Running;
        run.updated_at = self.inner.clock.now();
        tx.update_runbook_run(&run).await?;
        let step_name = step.map(|index| runbook.steps[index].name.clone());
        tx.append_timeline(&timeline_entry(&run, &actor, "runbook.approved", json!({ "step": step, "step_name": step_name })))
            .await?;
        if let Some(audit) = &audit {
            tx.append_audit(&audit_entry(audit, run.updated_at, format!("runbook-run/{run_id}"))).await?;
        }
        tx.commit().await?;
        self.inner.wake.notify_one();
        Ok(run)
    }

    /// Marks the manual step the run waits at as done.
    pub async fn tick(
        &self,
        org: OrgId,
        run_id: i64,
        step: usize,
        actor: Actor,
        audit: Option<Audit>,
    ) -> Result<RunbookRun, RunbookError> {
        let mut tx = self.inner.store.begin().await?;
        let (mut run, runbook) = self.run_for_change(tx.as_mut(), org, run_id).await?;
        let waiting = run.progress.steps.get(step).is_some_and(|progress| progress.status == StepStatus::AwaitingTick);
        if run.state() != RunState::AwaitingTick || !waiting {
            return Err(RunbookError::Conflict(format!("step {step} of run {run_id} is not waiting to be ticked")));
        }
        let now = self.inner.clock.now();
        let progress = &mut run.progress.steps[step];
        progress.status = StepStatus::Succeeded;
        progress.approved_by = Some(actor.to_string());
        progress.started_at.get_or_insert(now);
        progress.finished_at = Some(now);
        progress.attempts += 1;
        run.progress.state = RunState::Running;
        run.updated_at = now;
        tx.update_runbook_run(&run).await?;
        tx.append_timeline(&timeline_entry(
            &run,
            &actor,
            "runbook.step_ticked",
            json!({ "step": step, "step_name": runbook.steps[step].name }),
        ))
        .await?;
        if let Some(audit) = &audit {
            tx.append_audit(&audit_entry(audit, now, format!("runbook-run/{run_id}"))).await?;
        }
        tx.commit().await?;
        self.inner.wake.notify_one();
        Ok(run)
    }

    /// Asks for the run's applied reversible steps to be undone, newest first. Steps not yet
    /// run are skipped.
    pub async fn undo(&self, org: OrgId, run_id: i64, actor: Actor, audit: Option<Audit>) -> Result<RunbookRun, RunbookError> {
        let mut tx = self.inner.store.begin().await?;
        let (mut run, runbook) = self.run_for_change(tx.as_mut(), org, run_id).await?;
        can_undo(&runbook, &run.progress).map_err(|reason| RunbookError::Conflict(format!("run {run_id}: {reason}")))?;
        for step in &mut run.progress.steps {
            if matches!(step.status, StepStatus::Pending | StepStatus::AwaitingApproval | StepStatus::AwaitingTick) {
                step.status = StepStatus::Skipped;
            }
        }
        run.progress.undo_requested = true;
        run.progress.state = RunState::Undoing;
        run.updated_at = self.inner.clock.now();
        run.finished_at = None;
        tx.update_runbook_run(&run).await?;
        tx.append_timeline(&timeline_entry(&run, &actor, "runbook.undo_requested", json!({}))).await?;
        if let Some(audit) = &audit {
            tx.append_audit(&audit_entry(audit, run.updated_at, format!("runbook-run/{run_id}"))).await?;
        }
        tx.commit().await?;
        self.inner.wake.notify_one();
        Ok(run)
    }
}
