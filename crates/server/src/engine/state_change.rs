//! Carries out state changes and edits of an incident: acknowledge, mitigate, resolve,
//! escalate, reassign, severity and notes, each with its timeline event.

use super::commands::{ApplyContext, IncidentAction};
use super::escalate::{notify_user, page_position};
use super::timeline::append;
use staunch_domain::incident::{StateChange, transition};
use staunch_store::{Actor, Incident, JobKind, StoreResult, StoreTx};

/// `Ok(Err(message))` is a refusal (the request was wrong); `Err` is a storage failure.
pub(crate) type Outcome = StoreResult<Result<Incident, String>>;

pub(crate) async fn act(
    tx: &mut dyn StoreTx,
    context: &mut ApplyContext<'_>,
    mut incident: Incident,
    actor: &Actor,
    action: &IncidentAction,
) -> Outcome {
    let now = context.now;
    match action {
        IncidentAction::Change(change) => apply_change(tx, context, incident, actor, *change).await,
        IncidentAction::Reassign { user_id } => {
            if !context.config.directory(incident.org).users.contains_key(user_id) {
                return Ok(Err(format!("unknown user {user_id:?}")));
            }
            let previous = incident.assignee.replace(user_id.clone());
            incident.updated_at = now;
            append(
                context,
                incident.org,
                incident.id,
                actor,
                "incident.reassigned",
                serde_json::json!({ "from": previous, "to": user_id }),
            );
            if incident.state.is_open() {
                // One page per reassignment: the instant tells two reassignments apart.
                let key_prefix = format!("reassign:{}:{}", incident.id, now.as_microsecond());
                notify_user(tx, context, &incident, user_id, "page", "incident.reassigned", &key_prefix).await?;
            }
            tx.update_incident(&incident).await?;
            Ok(Ok(incident))
        }
        IncidentAction::SetSeverity { severity } => {
            if incident.severity == *severity {
                return Ok(Ok(incident));
            }
            let previous = incident.severity;
            incident.severity = *severity;
            incident.updated_at = now;
            append(
                context,
                incident.org,
                incident.id,
                actor,
                "incident.severity_changed",
                serde_json::json!({ "from": previous, "to": severity }),
            );
            tx.update_incident(&incident).await?;
            Ok(Ok(incident))
        }
        IncidentAction::AddNote { text } => {
            append(context, incident.org, incident.id, actor, "note.added", serde_json::json!({ "text": text }));
            Ok(Ok(incident))
        }
    }
}

pub(crate) async fn apply_change(
    tx: &mut dyn StoreTx,
    context: &mut ApplyContext<'_>,
    mut incident: Incident,
    actor: &Actor,
    change: StateChange,
) -> Outcome {
    let now = context.now;
    let next_state = match transition(incident.state, change) {
        Ok(state) => state,
        Err(error) => return Ok(Err(error.to_string())),
    };
    let escalate_to = if change == StateChange::Escalate {
        let current =
            staunch_domain::escalation::EscalationPosition { level: incident.escalation_level, cycle: incident.escalation_cycle };
        let policy = incident
            .escalation_policy_id
            .as_ref()
            .and_then(|id| context.config.directory(incident.org).escalation_policies.get(id));
        let Some(policy) = policy else {
            return Ok(Err("incident has no escalation policy".to_string()));
        };
        match policy.next_position(current) {
            Some(next) => Some(next),
            None => return Ok(Err("escalation policy has no further level".to_string())),
        }
    } else {
        None
    };

    let previous_state = incident.state;
    incident.state = next_state;
    incident.updated_at = now;
    match change {
        StateChange::Acknowledge => {
            incident.acknowledged_at = Some(now);
            if incident.assignee.is_none() && actor.kind == "user" {
                incident.assignee = Some(actor.id.clone());
            }
        }
        StateChange::Mitigate => incident.mitigated_at = Some(now),
        StateChange::Resolve => incident.resolved_at = Some(now),
        StateChange::Escalate => {}
    }
    // Only a triggered incident has a running escalation; every change stops the current timer
    // (escalate starts a new one).
    tx.delete_incident_jobs(incident.org, incident.id, JobKind::Escalate).await?;
    let kind = match change {
        StateChange::Acknowledge => "incident.acknowledged",
        StateChange::Mitigate => "incident.mitigated",
        StateChange::Resolve => "incident.resolved",
        StateChange::Escalate => "incident.escalated",
    };
    let mut data = serde_json::json!({ "from": previous_state, "to": next_state });
    if let Some(position) = escalate_to {
        data["to_level"] = serde_json::json!(position.level + 1);
        data["reason"] = serde_json::json!("escalated by hand");
    }
    append(context, incident.org, incident.id, actor, kind, data);
    if let Some(position) = escalate_to {
        page_position(tx, context, &mut incident, position).await?;
    }
    if matches!(change, StateChange::Acknowledge | StateChange::Resolve) {
        let delivery_kind = if change == StateChange::Acknowledge { "acknowledged" } else { "resolved" };
        let mut paged_users: Vec<String> = Vec::new();
        for (user_id, _) in tx.paged_contacts(incident.org, incident.id).await? {
            if !paged_users.contains(&user_id) {
                paged_users.push(user_id);
            }
        }
        for user_id in paged_users {
            let key_prefix = format!("{delivery_kind}:{}", incident.id);
            notify_user(tx, context, &incident, &user_id, delivery_kind, kind, &key_prefix).await?;
        }
    }
    tx.update_incident(&incident).await?;
    context.counts.incident_changed(change.as_str());
    Ok(Ok(incident))
}
