//! Rollbacks after deploys, started by the shell after the engine's commit: the leader looks
//! for deploy links whose rollback is `pending` (written by the engine with the incident's
//! opening, see `engine::deploys`) and starts each through [`RunbookService::start`], which
//! settles the link in the run's own transaction. So a rollback starts exactly once: a crash
//! before that commit leaves it pending for the next leader, a crash after leaves it settled,
//! and a second process racing for it is refused by the conditional settlement.
//! Also the API's view of a link.

use std::time::Duration;

use serde_json::json;
use staunch_store::{Actor, DeployLink, RollbackSettlement, RollbackState, Store};
use std::sync::Arc;
use tokio::sync::broadcast;

use crate::clock::Clock;
use crate::leader::LeaderWatch;
use crate::runbook::{RunbookError, RunbookService, StartRequest};

/// How often pending rollbacks are looked for. One indexed read of a table that is empty
/// almost always; a rollback starts within this of its incident opening.
const POLL_EVERY: Duration = Duration::from_millis(500);

/// A deploy link as the incident API shows it.
pub fn link_view(link: &DeployLink) -> serde_json::Value {
    json!({
        "change_id": link.change_id,
        "summary": link.deploy.get("summary"),
        "source": link.deploy.get("source"),
        "at": link.deploy.get("at"),
        "details": link.deploy.get("details"),
        "linked_at": link.linked_at,
        "rollback": {
            "runbook": link.rollback_runbook,
            "approval": link.rollback_approval,
            "state": link.rollback_state.as_str(),
            "run_id": link.rollback_run_id,
            "note": link.rollback_note,
        },
    })
}

pub struct RollbackStarter {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub runbooks: RunbookService,
    pub leader: LeaderWatch,
}

impl RollbackStarter {
    pub async fn run(self, mut shutdown: broadcast::Receiver<()>) {
        loop {
            tokio::select! {
                _ = shutdown.recv() => break,
                _ = tokio::time::sleep(POLL_EVERY) => {}
            }
            if !self.leader.is_leader() {
                continue;
            }
            let pending = match self.store.pending_rollbacks(64).await {
                Ok(pending) => pending,
                Err(error) => {
                    tracing::warn!(%error, "cannot read pending rollbacks; retrying");
                    continue;
                }
            };
            for link in pending {
                self.start(&link).await;
            }
        }
    }

    async fn start(&self, link: &DeployLink) {
        let Some(runbook) = link.rollback_runbook.clone() else { return };
        let request = StartRequest {
            org: link.org,
            incident_id: link.incident_id,
            runbook,
            dry_run: false,
            require_approval: link.rollback_approval,
            actor: Actor::system(),
            audit: None,
            deploy_rollback: true,
        };
        let reason = match self.runbooks.start(request).await {
            Ok(run) => {
                tracing::info!(incident = link.incident_id, run = run.id, deploy = link.change_id, "rollback started");
                return;
            }
            // Storage trouble: it stays pending and is tried again.
            Err(RunbookError::Store(error)) => {
                tracing::warn!(incident = link.incident_id, %error, "rollback not started; retrying");
                return;
            }
            Err(error) => error.to_string(),
        };
        // It cannot start (the incident closed first, the runbook is gone, another run of it is
        // going): say so on the link, once, instead of trying forever.
        tracing::warn!(incident = link.incident_id, %reason, "rollback skipped");
        let settlement =
            RollbackSettlement { state: RollbackState::Skipped, run_id: None, note: Some(reason.clone()), at: self.clock.now() };
        let outcome = async {
            let mut tx = self.store.begin().await?;
            if tx.settle_rollback(link.org, link.incident_id, &settlement).await? {
                tx.append_timeline(&staunch_store::NewTimelineEntry {
                    org: link.org,
                    incident_id: link.incident_id,
                    at: settlement.at,
                    actor: Actor::system(),
                    kind: "incident.rollback_skipped".into(),
                    data: json!({ "change_id": link.change_id, "runbook": link.rollback_runbook, "reason": reason }),
                })
                .await?;
            }
            tx.commit().await
        }
        .await;
        if let Err(error) = outcome {
            tracing::warn!(incident = link.incident_id, %error, "cannot record the skipped rollback; retrying");
        }
    }
}
