//! Carries out alert intake: routing, silences, deduplication, grouping and auto-resolve,
//! inside the engine's transaction. The decisions themselves are `staunch_domain::intake`.

use super::commands::{ApplyContext, IngestReceipt};
use super::{escalate, state_change};
use staunch_domain::alert::{AlertAction, AlertEvent, SourceFormat};
use staunch_domain::directory::Service;
use staunch_domain::incident::StateChange;
use staunch_domain::intake::{self, IntakeDecision, KnownAlert};
use staunch_domain::labels::group_key;
use staunch_domain::matcher::{Matcher, parse_matchers};
use staunch_store::{Actor, Alert, NewAlert, NewIncident, NewTimelineEntry, OrgId, StoreResult, StoreTx};

pub(crate) async fn ingest(
    tx: &mut dyn StoreTx,
    context: &mut ApplyContext<'_>,
    org: OrgId,
    source_service_id: &str,
    format: SourceFormat,
    events: &[AlertEvent],
    truncated_alerts: u64,
) -> StoreResult<IngestReceipt> {
    let mut receipt = IngestReceipt::default();
    let actor = Actor::integration(source_service_id, format);
    for event in events {
        for service_id in target_services(context, source_service_id, event) {
            let Some(service) = context.config.directory.services.get(&service_id) else {
                continue;
            };
            apply_event(tx, context, org, service, event, &actor, &mut receipt).await?;
        }
    }
    if truncated_alerts > 0 {
        // The sender dropped alerts it could not fit; say so on every incident this payload touched.
        tracing::warn!(truncated_alerts, service = source_service_id, "alertmanager truncated alerts in its payload");
        for incident_id in receipt.incidents_opened.clone() {
            append(
                tx,
                org,
                incident_id,
                context.now,
                &actor,
                "alerts.truncated",
                serde_json::json!({ "truncated_alerts": truncated_alerts }),
            )
            .await?;
        }
    }
    metrics::counter!("staunch_alert_events_total", "format" => format.as_str()).increment(events.len() as u64);
    Ok(receipt)
}

/// The services an event belongs to. Triggers are routed by their labels; a resolve or
/// acknowledge that carries no labels (PagerDuty's) goes to every service the source routes to,
/// where the dedup key finds the alert it names.
fn target_services(context: &ApplyContext<'_>, source_service_id: &str, event: &AlertEvent) -> Vec<String> {
    let directory = &context.config.directory;
    if event.action != AlertAction::Trigger && event.labels.is_empty() {
        return directory.services.get(source_service_id).map(|service| service.route_receivers.clone()).unwrap_or_default();
    }
    directory.route(source_service_id, &event.labels)
}

async fn apply_event(
    tx: &mut dyn StoreTx,
    context: &mut ApplyContext<'_>,
    org: OrgId,
    service: &Service,
    event: &AlertEvent,
    actor: &Actor,
    receipt: &mut IngestReceipt,
) -> StoreResult<()> {
    let now = context.now;
    let existing = tx.alert_by_dedup_key(org, &service.id, event.dedup_key.as_str()).await?;
    let known = match &existing {
        Some(alert) => {
            let incident_state = match alert.incident_id {
                Some(incident_id) => tx.incident(org, incident_id).await?.map(|incident| incident.state),
                None => None,
            };
            Some(KnownAlert { alert_id: alert.id, firing: alert.firing, incident_id: alert.incident_id, incident_state })
        }
        None => None,
    };
    let group = group_key(&event.labels, &service.group_by);
    let open_incident = match event.action {
        AlertAction::Trigger => tx.open_incident_for_group(org, &service.id, &group).await?,
        _ => None,
    };

    // A silenced alert is recorded but pages nobody and opens nothing. A silence never hides
    // an alert that already belongs to an open incident (that would be a silent dedup).
    if event.action == AlertAction::Trigger
        && !known.is_some_and(|alert| alert.firing && alert.incident_state.is_some_and(|state| state.is_open()))
    {
        if let Some(silence_id) = matching_silence(tx, context, org, event).await? {
            store_alert(tx, org, service, event, existing, None, Some(silence_id), now).await?;
            receipt.silenced += 1;
            return Ok(());
        }
    }

    match intake::decide(event.action, known, open_incident.as_ref().map(|incident| incident.id)) {
        IntakeDecision::OpenIncident { .. } => {
            let incident = tx
                .insert_incident(&NewIncident {
                    org,
                    title: event.summary.clone(),
                    service_id: service.id.clone(),
                    severity: event.severity,
                    group_key: group,
                    escalation_policy_id: service.escalation_policy_id.clone(),
                    auto_resolve: service.auto_resolve,
                    created_at: now,
                })
                .await?;
            let alert_id = store_alert(tx, org, service, event, existing, Some(incident.id), None, now).await?;
            append(
                tx,
                org,
                incident.id,
                now,
                actor,
                "incident.opened",
                serde_json::json!({
                    "title": incident.title, "service": service.id, "severity": incident.severity,
                    "alert_id": alert_id, "dedup_key": event.dedup_key, "labels": event.labels,
                }),
            )
            .await?;
            metrics::counter!("staunch_incidents_opened_total").increment(1);
            receipt.incidents_opened.push(incident.id);
            receipt.alerts_stored += 1;
            let mut incident = incident;
            escalate::page_position(tx, context, &mut incident, staunch_domain::escalation::EscalationPosition::START).await?;
            tx.update_incident(&incident).await?;
        }
        IntakeDecision::JoinIncident { incident_id, .. } => {
            let alert_id = store_alert(tx, org, service, event, existing, Some(incident_id), None, now).await?;
            append(
                tx,
                org,
                incident_id,
                now,
                actor,
                "alert.added",
                serde_json::json!({ "alert_id": alert_id, "summary": event.summary, "dedup_key": event.dedup_key, "severity": event.severity }),
            )
            .await?;
            if let Some(mut incident) = open_incident {
                // A worse alert makes the incident worse; a milder one never lowers it.
                if event.severity < incident.severity {
                    let previous = incident.severity;
                    incident.severity = event.severity;
                    incident.updated_at = now;
                    tx.update_incident(&incident).await?;
                    append(
                        tx,
                        org,
                        incident_id,
                        now,
                        actor,
                        "incident.severity_changed",
                        serde_json::json!({ "from": previous, "to": event.severity }),
                    )
                    .await?;
                }
            }
            receipt.alerts_stored += 1;
        }
        IntakeDecision::Deduplicated { .. } => {
            let incident_id = existing.as_ref().and_then(|alert| alert.incident_id);
            store_alert(tx, org, service, event, existing, incident_id, None, now).await?;
            receipt.deduplicated += 1;
        }
        IntakeDecision::ResolveAlert { alert_id, incident_id } => {
            if let Some(mut alert) = existing {
                alert.firing = false;
                alert.resolved_at = Some(event.ends_at.unwrap_or(now));
                alert.last_seen = now;
                alert.event_count += 1;
                tx.update_alert(&alert).await?;
            }
            receipt.resolved += 1;
            let Some(incident_id) = incident_id else {
                return Ok(());
            };
            append(
                tx,
                org,
                incident_id,
                now,
                actor,
                "alert.resolved",
                serde_json::json!({ "alert_id": alert_id, "dedup_key": event.dedup_key }),
            )
            .await?;
            let Some(incident) = tx.incident(org, incident_id).await? else {
                return Ok(());
            };
            let firing_left = tx.count_firing_alerts(org, incident_id).await?;
            if intake::auto_resolves(incident.auto_resolve, incident.state, firing_left) {
                let change = state_change::apply_change(tx, context, incident, actor, StateChange::Resolve).await?;
                if let Err(message) = change {
                    tracing::warn!(incident_id, %message, "auto-resolve refused");
                }
            }
        }
        IntakeDecision::AcknowledgeIncident { incident_id } => {
            if let Some(mut alert) = existing {
                alert.last_seen = now;
                alert.event_count += 1;
                tx.update_alert(&alert).await?;
            }
            if let Some(incident) = tx.incident(org, incident_id).await? {
                let change = state_change::apply_change(tx, context, incident, actor, StateChange::Acknowledge).await?;
                if let Err(message) = change {
                    tracing::debug!(incident_id, %message, "sender acknowledgement refused");
                }
            }
        }
        IntakeDecision::Ignore { reason } => {
            tracing::debug!(service = service.id, dedup_key = %event.dedup_key, reason, "alert event ignored");
            receipt.ignored += 1;
        }
    }
    Ok(())
}

/// Inserts the alert, or refreshes the stored one with the event's content.
#[allow(clippy::too_many_arguments)]
async fn store_alert(
    tx: &mut dyn StoreTx,
    org: OrgId,
    service: &Service,
    event: &AlertEvent,
    existing: Option<Alert>,
    incident_id: Option<i64>,
    silenced_by: Option<i64>,
    now: jiff::Timestamp,
) -> StoreResult<i64> {
    let firing = event.action != AlertAction::Resolve;
    match existing {
        Some(mut alert) => {
            let refiring = firing && !alert.firing;
            alert.firing = firing;
            alert.summary = event.summary.clone();
            alert.severity = event.severity;
            alert.labels = event.labels.clone();
            alert.annotations = event.annotations.clone();
            alert.details = event.details.clone();
            alert.links = event.links.clone();
            alert.images = event.images.clone();
            alert.format = event.format;
            alert.incident_id = incident_id;
            alert.silenced_by = silenced_by;
            alert.last_seen = now;
            alert.event_count += 1;
            if refiring {
                alert.resolved_at = None;
                alert.starts_at = event.starts_at;
            }
            tx.update_alert(&alert).await?;
            Ok(alert.id)
        }
        None => {
            tx.insert_alert(&NewAlert {
                org,
                service_id: service.id.clone(),
                dedup_key: event.dedup_key.to_string(),
                firing,
                summary: event.summary.clone(),
                severity: event.severity,
                labels: event.labels.clone(),
                annotations: event.annotations.clone(),
                details: event.details.clone(),
                links: event.links.clone(),
                images: event.images.clone(),
                format: event.format,
                incident_id,
                silenced_by,
                received_at: now,
                starts_at: event.starts_at,
            })
            .await
        }
    }
}

async fn matching_silence(
    tx: &mut dyn StoreTx,
    context: &mut ApplyContext<'_>,
    org: OrgId,
    event: &AlertEvent,
) -> StoreResult<Option<i64>> {
    if !context.silences.contains_key(&org) {
        let silences = tx.active_silences(org, context.now).await?;
        let parsed = silences
            .into_iter()
            .filter_map(|silence| {
                let matchers: Vec<Matcher> = parse_matchers(&silence.matchers).ok()?;
                Some((silence, matchers))
            })
            .collect();
        context.silences.insert(org, parsed);
    }
    let silences = context.silences.get(&org).map(Vec::as_slice).unwrap_or_default();
    let matched = silences.iter().find(|(silence, matchers)| {
        silence.starts_at <= context.now
            && context.now < silence.ends_at
            && matchers.iter().all(|matcher| matcher.matches(&event.labels))
    });
    Ok(matched.map(|(silence, _)| silence.id))
}

pub(crate) async fn append(
    tx: &mut dyn StoreTx,
    org: OrgId,
    incident_id: i64,
    at: jiff::Timestamp,
    actor: &Actor,
    kind: &str,
    data: serde_json::Value,
) -> StoreResult<i64> {
    tx.append_timeline(&NewTimelineEntry { org, incident_id, at, actor: actor.clone(), kind: kind.to_string(), data }).await
}
