//! Paging an escalation level and running the escalation timers.
//!
//! A page is a set of outbox rows, one per contact method of each user the level resolves to,
//! written in the same transaction as the state that caused it. The next level is a job row
//! due after the level's timeout; acknowledging deletes it.

use super::commands::ApplyContext;
use super::timeline::append;
use crate::payload;
use staunch_domain::escalation::EscalationPosition;
use staunch_store::{Actor, Incident, Job, JobKind, NewDelivery, NewJob, StoreResult, StoreTx};

/// Pages `position` of the incident's policy now and schedules the next position. Updates the
/// incident's position in memory; the caller persists the incident.
pub(crate) async fn page_position(
    tx: &mut dyn StoreTx,
    context: &mut ApplyContext<'_>,
    incident: &mut Incident,
    position: EscalationPosition,
) -> StoreResult<()> {
    let now = context.now;
    let org = incident.org;
    // Copy the reference out so `directory` does not borrow `context`, which `append` mutates.
    let config = context.config;
    let directory = config.directory(org);
    let system = Actor::system();
    let Some(policy_id) = incident.escalation_policy_id.clone() else {
        append(
            context,
            org,
            incident.id,
            &system,
            "escalation.skipped",
            serde_json::json!({ "reason": "the service has no escalation policy" }),
        );
        return Ok(());
    };
    let Some(policy) = directory.escalation_policies.get(&policy_id) else {
        let reason = format!("escalation policy {policy_id:?} is not in the configuration");
        append(context, org, incident.id, &system, "escalation.skipped", serde_json::json!({ "reason": reason }));
        return Ok(());
    };
    let Some(step) = policy.step(position, now, &|schedule_id| directory.on_call(schedule_id, now)) else {
        let reason = format!("escalation policy {policy_id:?} has no level {}", position.level + 1);
        append(context, org, incident.id, &system, "escalation.skipped", serde_json::json!({ "reason": reason }));
        return Ok(());
    };
    incident.escalation_level = position.level;
    incident.escalation_cycle = position.cycle;
    incident.updated_at = now;
    append(
        context,
        org,
        incident.id,
        &system,
        "escalation.paged",
        serde_json::json!({ "policy": policy_id, "level": position.level + 1, "cycle": position.cycle + 1, "users": step.users }),
    );
    if step.users.is_empty() {
        append(
            context,
            org,
            incident.id,
            &system,
            "escalation.nobody_on_call",
            serde_json::json!({ "level": position.level + 1 }),
        );
    }
    let event = if position == EscalationPosition::START { "incident.triggered" } else { "incident.escalated" };
    for user_id in &step.users {
        let key_prefix = format!("page:{}:{}:{}", incident.id, position.cycle, position.level);
        notify_user(tx, context, incident, user_id, "page", event, &key_prefix).await?;
    }
    match step.next {
        Some((next, due)) => {
            context.earliest_job = Some(context.earliest_job.map_or(due, |earliest| earliest.min(due)));
            tx.schedule_job(&NewJob {
                org,
                kind: JobKind::Escalate,
                incident_id: Some(incident.id),
                run_at: due,
                payload: serde_json::json!({ "level": next.level, "cycle": next.cycle }),
            })
            .await?;
        }
        None => {
            append(
                context,
                org,
                incident.id,
                &system,
                "escalation.last_level",
                serde_json::json!({ "level": position.level + 1 }),
            );
        }
    }
    Ok(())
}

/// Enqueues one delivery per contact method of `user_id`. The idempotency key is
/// `{key_prefix}:{user}:{contact method}`, so the same step can never page anyone twice.
pub(crate) async fn notify_user(
    tx: &mut dyn StoreTx,
    context: &mut ApplyContext<'_>,
    incident: &Incident,
    user_id: &str,
    delivery_kind: &str,
    event: &str,
    key_prefix: &str,
) -> StoreResult<()> {
    let Some(user) = context.config.directory(incident.org).users.get(user_id) else {
        let data = serde_json::json!({ "user": user_id, "reason": "user is not in the configuration" });
        append(context, incident.org, incident.id, &Actor::system(), "notification.skipped", data);
        return Ok(());
    };
    if user.contact_methods.is_empty() {
        let data = serde_json::json!({ "user": user_id, "reason": "user has no contact methods" });
        append(context, incident.org, incident.id, &Actor::system(), "notification.skipped", data);
        return Ok(());
    }
    let lease = crate::outbox::lease_span(&context.config.notifications);
    for method in &user.contact_methods {
        let delivery = NewDelivery {
            org: incident.org,
            incident_id: incident.id,
            idempotency_key: format!("{key_prefix}:{user_id}:{}", method.id),
            user_id: user_id.to_string(),
            contact_method_id: method.id.clone(),
            channel: method.channel.kind().to_string(),
            event: delivery_kind.to_string(),
            payload: payload::incident_event(event, incident, user, context.now),
            created_at: context.now,
            // This process sends it right after commit, without leasing it in a second commit.
            leased_until: Some(context.now + lease),
        };
        if let Some(id) = tx.enqueue_delivery(&delivery).await? {
            context.handed_over.push(delivery.into_delivery(id));
        }
    }
    Ok(())
}

/// Runs one due job. The caller deletes the job in the same transaction.
pub(crate) async fn run_job(tx: &mut dyn StoreTx, context: &mut ApplyContext<'_>, job: &Job) -> StoreResult<()> {
    match job.kind {
        JobKind::Escalate => {
            let Some(incident_id) = job.incident_id else {
                return Ok(());
            };
            let Some(mut incident) = tx.incident(job.org, incident_id).await? else {
                return Ok(());
            };
            // Acknowledging deletes the timer, but a timer that raced it must still do nothing.
            if !incident.state.is_paging() {
                return Ok(());
            }
            let position = EscalationPosition {
                level: job.payload["level"].as_u64().unwrap_or(0) as u32,
                cycle: job.payload["cycle"].as_u64().unwrap_or(0) as u32,
            };
            let data = serde_json::json!({
                "from_level": incident.escalation_level + 1, "to_level": position.level + 1, "cycle": position.cycle + 1,
                "reason": "not acknowledged in time",
            });
            append(context, job.org, incident.id, &Actor::system(), "incident.escalated", data);
            page_position(tx, context, &mut incident, position).await?;
            tx.update_incident(&incident).await?;
            Ok(())
        }
        // Run by the engine after the job batch commits (`crate::investigation::refresh`).
        JobKind::Investigate => Ok(()),
    }
}
