//! Deploys inside the engine's transaction: an incident opened by an alert that names a
//! `service` is linked to that service's most recent deploy within the link window (and its
//! rollback marked pending, for the shell to start after the commit), and a recorded change
//! that is a pipeline result may trigger or resolve the service's pipeline alert. The
//! decisions are `staunch_domain::deploy`.

use super::commands::ApplyContext;
use super::intake::{self, IngestRequest};
use super::timeline::append;
use serde_json::json;
use staunch_config::deploys::RollbackMode;
use staunch_domain::alert::{AlertAction, AlertEvent, DedupKey, SourceFormat};
use staunch_domain::deploy::{link, pipeline};
use staunch_domain::labels::Labels;
use staunch_domain::severity::Severity;
use staunch_store::{Actor, ChangeEvent, NewChangeEvent, NewDeployLink, OrgId, RollbackState, StoreResult, StoreTx};

/// How many of a service's latest change events the decisions read: enough to see the
/// deploys of any sensible window and a pipeline's recent runs, bounded per incident.
const RECENT_CHANGES: u32 = 200;

/// The timeline entry that links an incident to a deploy.
pub const LINKED_TO_DEPLOY: &str = "incident.linked_to_deploy";

/// The deploy as templates and the API see it.
pub fn deploy_value(change: &ChangeEvent) -> serde_json::Value {
    json!({
        "id": change.id, "summary": change.summary, "source": change.source,
        "at": change.at.to_string(), "details": change.details,
    })
}

/// Links the incident just opened to a recent deploy of the service its alert names. Only an
/// incident that pages calls for the rollback: a ticket (a slow burn) is linked, and a person
/// decides.
pub(crate) async fn link_on_open(
    tx: &mut dyn StoreTx,
    context: &mut ApplyContext<'_>,
    org: OrgId,
    incident_id: i64,
    labels: &Labels,
    pages: bool,
) -> StoreResult<()> {
    let Some(service_id) = labels.get("service") else { return Ok(()) };
    let Some(organisation) = context.config.organisation_by_id(org) else { return Ok(()) };
    let settings = &organisation.deploys;
    let changes = tx.recent_change_events(org, service_id, RECENT_CHANGES).await?;
    let facts = crate::facts::changes(&changes);
    let Some(index) = link::deploy_to_link(&facts, service_id, context.now, settings.link_window(service_id)) else {
        return Ok(());
    };
    let change = &changes[index];
    let rollback = settings.rollback(service_id).filter(|_| pages);
    let new = NewDeployLink {
        org,
        incident_id,
        service_id: service_id.clone(),
        change_id: change.id,
        deploy: deploy_value(change),
        linked_at: context.now,
        rollback_runbook: rollback.map(|rollback| rollback.runbook.clone()),
        rollback_approval: rollback.is_some_and(|rollback| rollback.mode == RollbackMode::Approval),
        rollback_state: if rollback.is_some() { RollbackState::Pending } else { RollbackState::None },
    };
    if !tx.insert_deploy_link(&new).await? {
        return Ok(());
    }
    let data = json!({
        "change_id": change.id, "summary": change.summary, "source": change.source, "at": change.at,
        "service": service_id, "link_window_seconds": settings.link_window(service_id).as_secs(),
        "rollback": rollback.map(|rollback| json!({
            "runbook": rollback.runbook,
            "mode": if rollback.mode == RollbackMode::Automatic { "automatic" } else { "approval" },
        })),
    });
    append(context, org, incident_id, &Actor::system(), LINKED_TO_DEPLOY, data);
    Ok(())
}

/// The dedup key of a service's pipeline alert.
pub fn pipeline_dedup_key(service_id: &str) -> String {
    format!("pipeline:{service_id}")
}

/// After a change is recorded: when it is a pipeline result and the service pages on
/// pipeline failures, triggers the pipeline alert at N failures in a row, or resolves it on a
/// success. The alert goes through intake like any other, in this same transaction.
pub(crate) async fn pipeline_after_change(
    tx: &mut dyn StoreTx,
    context: &mut ApplyContext<'_>,
    event: &NewChangeEvent,
) -> StoreResult<()> {
    let Some(organisation) = context.config.organisation_by_id(event.org) else { return Ok(()) };
    let Some(threshold) = organisation.deploys.pipeline_failures(&event.service_id) else { return Ok(()) };
    let mut changes = tx.recent_change_events(event.org, &event.service_id, RECENT_CHANGES).await?;
    changes.reverse();
    let facts = crate::facts::changes(&changes);
    let (action, failures) = match pipeline::decide(&facts, threshold) {
        pipeline::PipelineAlert::Trigger { failures } => (AlertAction::Trigger, failures),
        pipeline::PipelineAlert::Resolve => (AlertAction::Resolve, 0),
        pipeline::PipelineAlert::Nothing => return Ok(()),
    };
    let Ok(dedup_key) = DedupKey::parse(pipeline_dedup_key(&event.service_id)) else { return Ok(()) };
    let mut labels = Labels::new();
    labels.insert("alertname".into(), "ReleasePipelineFailing".into());
    labels.insert("pipeline".into(), event.service_id.clone());
    let alert = AlertEvent {
        action,
        dedup_key,
        summary: format!("release pipeline of {} failed {failures} times in a row: {}", event.service_id, event.summary),
        severity: Severity::Sev2,
        labels,
        annotations: Default::default(),
        details: json!({ "failures_in_a_row": failures, "threshold": threshold, "latest": event.summary, "source": event.source }),
        links: event.links.clone(),
        images: Vec::new(),
        starts_at: None,
        ends_at: None,
        format: SourceFormat::Api,
    };
    let events = [alert];
    let request = IngestRequest {
        org: event.org,
        service_id: &event.service_id,
        format: SourceFormat::Api,
        events: &events,
        truncated_alerts: 0,
    };
    intake::ingest_run(tx, context, std::slice::from_ref(&request)).await?;
    Ok(())
}
