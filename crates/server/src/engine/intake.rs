//! Carries out alert intake: routing, silences, deduplication, grouping and auto-resolve,
//! inside the engine's transaction. The decisions themselves are `staunch_domain::intake`.
//!
//! Intake works on a run of ingest commands at once: it reads every alert and open incident
//! the run names in a few bulk queries, decides event by event against that snapshot (kept
//! current as it goes), and inserts new alerts in bulk. Per event it costs no round trip to
//! the database in the common cases (a new alert joining an incident, a duplicate).

use super::commands::{ApplyContext, IngestReceipt};
use super::timeline::append;
use super::{escalate, state_change};
use jiff::Timestamp;
use staunch_config::noise::NoiseAction;
use staunch_domain::alert::{AlertAction, AlertEvent, SourceFormat};
use staunch_domain::directory::Service;
use staunch_domain::escalation::EscalationPosition;
use staunch_domain::incident::{IncidentState, StateChange};
use staunch_domain::intake::{self, IntakeDecision, KnownAlert};
use staunch_domain::matcher::{Matcher, parse_matchers};
use staunch_domain::noise::{NoiseVerdict, ThresholdChoice};
use staunch_store::{Actor, Alert, Incident, NewAlert, NewIncident, OrgId, StoreResult, StoreTx};
use std::collections::{BTreeSet, HashMap};

/// One ingest command of a run.
pub(crate) struct IngestRequest<'a> {
    pub org: OrgId,
    pub service_id: &'a str,
    pub format: SourceFormat,
    pub events: &'a [AlertEvent],
    pub truncated_alerts: u64,
}

type AlertKey = (OrgId, String, String);
type GroupKey = (OrgId, String, String);

enum AlertSlot {
    Stored(Box<Alert>),
    /// Waiting in `pending_inserts`; it has no id yet.
    Pending,
}

/// What the run knows of the store, kept current as events are applied.
#[derive(Default)]
struct Snapshot {
    alerts: HashMap<AlertKey, AlertSlot>,
    incident_states: HashMap<(OrgId, i64), IncidentState>,
    /// `None`: known to have no open incident.
    open_incidents: HashMap<GroupKey, Option<Incident>>,
    pending_inserts: Vec<NewAlert>,
    /// Alerts that joined an incident in this run, not yet on its timeline: one
    /// `alerts.added` entry per incident and run instead of a row per alert.
    joined: Vec<JoinedAlerts>,
}

struct JoinedAlerts {
    org: OrgId,
    incident_id: i64,
    actor: Actor,
    alerts: Vec<serde_json::Value>,
}

/// Puts the alerts that joined `incident_id` so far on its timeline, so that whatever is
/// appended for it next comes after them.
fn flush_joined(context: &mut ApplyContext<'_>, snapshot: &mut Snapshot, org: OrgId, incident_id: i64) {
    let Some(index) = snapshot.joined.iter().position(|joined| joined.org == org && joined.incident_id == incident_id) else {
        return;
    };
    let joined = snapshot.joined.remove(index);
    append_joined(context, joined);
}

/// Names the new incident's symptom from its first alert (the organisation's `symptoms:`
/// rules), on the timeline, so runbook selection, the postmortem and regression cases agree
/// on what it was.
fn triage(
    context: &mut ApplyContext<'_>,
    org: OrgId,
    incident_id: i64,
    service_id: &str,
    labels: &staunch_domain::labels::Labels,
) {
    let Some(organisation) = context.config.organisation_by_id(org) else { return };
    let Some(symptom) = staunch_domain::triage::classify(&organisation.symptoms, service_id, std::slice::from_ref(labels)) else {
        return;
    };
    let data = serde_json::json!({ "symptom": symptom });
    append(context, org, incident_id, &Actor::system(), staunch_domain::runbook::timeline::TRIAGED, data);
}

fn append_joined(context: &mut ApplyContext<'_>, joined: JoinedAlerts) {
    let data = serde_json::json!({ "count": joined.alerts.len(), "alerts": joined.alerts });
    append(context, joined.org, joined.incident_id, &joined.actor, "alerts.added", data);
}

impl Snapshot {
    async fn flush_inserts(&mut self, tx: &mut dyn StoreTx) -> StoreResult<()> {
        if self.pending_inserts.is_empty() {
            return Ok(());
        }
        let inserts = std::mem::take(&mut self.pending_inserts);
        let ids = tx.insert_alerts(&inserts).await?;
        for (new_alert, id) in inserts.into_iter().zip(ids) {
            let key = (new_alert.org, new_alert.service_id.clone(), new_alert.dedup_key.clone());
            self.alerts.insert(key, AlertSlot::Stored(Box::new(stored_from(new_alert, id))));
        }
        Ok(())
    }

    /// The stored alert for `key`, flushing pending inserts first if it is one of them.
    async fn alert(&mut self, tx: &mut dyn StoreTx, key: &AlertKey) -> StoreResult<Option<Alert>> {
        if matches!(self.alerts.get(key), Some(AlertSlot::Pending)) {
            self.flush_inserts(tx).await?;
        }
        match self.alerts.get(key) {
            Some(AlertSlot::Stored(alert)) => Ok(Some(alert.as_ref().clone())),
            _ => Ok(None),
        }
    }

    async fn incident_state(&mut self, tx: &mut dyn StoreTx, org: OrgId, incident_id: i64) -> StoreResult<Option<IncidentState>> {
        if let Some(state) = self.incident_states.get(&(org, incident_id)) {
            return Ok(Some(*state));
        }
        let state = tx.incident(org, incident_id).await?.map(|incident| incident.state);
        if let Some(state) = state {
            self.incident_states.insert((org, incident_id), state);
        }
        Ok(state)
    }

    async fn open_incident(&mut self, tx: &mut dyn StoreTx, key: &GroupKey) -> StoreResult<Option<Incident>> {
        if let Some(known) = self.open_incidents.get(key) {
            return Ok(known.clone());
        }
        let incident = tx.open_incident_for_group(key.0, &key.1, &key.2).await?;
        self.open_incidents.insert(key.clone(), incident.clone());
        Ok(incident)
    }

    /// Records a change of an incident made through `state_change`.
    fn incident_changed(&mut self, incident: &Incident) {
        self.incident_states.insert((incident.org, incident.id), incident.state);
        let group = (incident.org, incident.service_id.clone(), incident.group_key.clone());
        if incident.state.is_open() {
            self.open_incidents.insert(group, Some(incident.clone()));
        } else if self.open_incidents.get(&group).is_some_and(|open| open.as_ref().is_some_and(|open| open.id == incident.id)) {
            self.open_incidents.insert(group, None);
        }
    }
}

fn stored_from(new_alert: NewAlert, id: i64) -> Alert {
    Alert {
        id,
        org: new_alert.org,
        service_id: new_alert.service_id,
        dedup_key: new_alert.dedup_key,
        firing: new_alert.firing,
        summary: new_alert.summary,
        severity: new_alert.severity,
        labels: new_alert.labels,
        annotations: new_alert.annotations,
        details: new_alert.details,
        links: new_alert.links,
        images: new_alert.images,
        format: new_alert.format,
        incident_id: new_alert.incident_id,
        silenced_by: new_alert.silenced_by,
        first_seen: new_alert.received_at,
        last_seen: new_alert.received_at,
        starts_at: new_alert.starts_at,
        resolved_at: None,
        event_count: 1,
    }
}

/// One event bound for one service.
struct WorkItem<'a> {
    request: usize,
    service: &'a Service,
    event: &'a AlertEvent,
    group: GroupKey,
    /// Whether an incident it opens pages: not for a ticket (`staunch_page="false"`), nor for
    /// an alert the noise model judged likely noise on a service that asked for tickets.
    pages: bool,
    /// The noise model's verdict, when the service asked for tickets (scored up front, since
    /// it decides the group).
    noise: Option<NoiseVerdict>,
}

/// The noise verdict of a trigger bound for a service whose `noise.action` is `ticket`.
fn noise_verdict_for_routing(
    context: &ApplyContext<'_>,
    org: OrgId,
    service: &Service,
    event: &AlertEvent,
) -> Option<NoiseVerdict> {
    if event.action != AlertAction::Trigger || !event.pages() {
        return None;
    }
    let setting = context.config.organisation_by_id(org)?.noise.for_service(&service.id);
    if setting.action != NoiseAction::Ticket {
        return None;
    }
    let triage = context.noise.get(org)?;
    let features = crate::noise::features_of(&service.id, event, context.now);
    Some(triage.verdict(&features, setting.threshold, context.noise.policy()))
}

/// The verdict recorded on a new incident: the one routing used, or a score alone.
fn noise_verdict_for_record(context: &ApplyContext<'_>, org: OrgId, item: &WorkItem<'_>) -> Option<NoiseVerdict> {
    if item.noise.is_some() {
        return item.noise;
    }
    let triage = context.noise.get(org)?;
    let features = crate::noise::features_of(&item.service.id, item.event, context.now);
    let threshold =
        context.config.organisation_by_id(org).map(|organisation| organisation.noise.for_service(&item.service.id).threshold);
    Some(triage.verdict(&features, threshold.unwrap_or(ThresholdChoice::Auto), context.noise.policy()))
}

pub(crate) async fn ingest_run(
    tx: &mut dyn StoreTx,
    context: &mut ApplyContext<'_>,
    requests: &[IngestRequest<'_>],
) -> StoreResult<Vec<IngestReceipt>> {
    // Copy the reference out so `directory` does not borrow `context`, which `append` mutates.
    let config = context.config;
    let mut work = Vec::new();
    for (index, request) in requests.iter().enumerate() {
        let directory = config.directory(request.org);
        for event in request.events {
            for service_id in target_services(context, request.org, request.service_id, event) {
                let Some(service) = directory.services.get(&service_id) else { continue };
                let group = (
                    request.org,
                    service.id.clone(),
                    intake::incident_group_key(&event.labels, &service.group_by, &event.dedup_key),
                );
                let noise = noise_verdict_for_routing(context, request.org, service, event);
                let pages = event.pages() && !noise.is_some_and(|verdict| verdict.likely_noise);
                // Tickets group apart: a page must never join an incident that pages nobody.
                let group = if pages { group } else { (group.0, group.1, format!("ticket:{}", group.2)) };
                work.push(WorkItem { request: index, service, event, group, pages, noise });
            }
        }
    }

    let mut snapshot = prefetch(tx, requests, &work).await?;
    let mut receipts = vec![IngestReceipt::default(); requests.len()];
    for item in &work {
        let request = &requests[item.request];
        let actor = Actor::integration(request.service_id, request.format);
        apply_event(tx, context, &mut snapshot, request.org, item, &actor, &mut receipts[item.request]).await?;
    }
    snapshot.flush_inserts(tx).await?;
    for joined in std::mem::take(&mut snapshot.joined) {
        append_joined(context, joined);
    }

    for (request, receipt) in requests.iter().zip(&receipts) {
        context.counts.alert_events(request.format.as_str(), request.events.len() as u64);
        if request.truncated_alerts == 0 {
            continue;
        }
        // The sender dropped alerts it could not fit; say so on every incident the payload opened.
        tracing::warn!(
            truncated_alerts = request.truncated_alerts,
            service = request.service_id,
            "sender truncated alerts in its payload"
        );
        let actor = Actor::integration(request.service_id, request.format);
        for incident_id in &receipt.incidents_opened {
            let data = serde_json::json!({ "truncated_alerts": request.truncated_alerts });
            append(context, request.org, *incident_id, &actor, "alerts.truncated", data);
        }
    }
    Ok(receipts)
}

/// Reads, in bulk, every alert and open incident the run's events name.
async fn prefetch(tx: &mut dyn StoreTx, requests: &[IngestRequest<'_>], work: &[WorkItem<'_>]) -> StoreResult<Snapshot> {
    let mut snapshot = Snapshot::default();
    let orgs: BTreeSet<OrgId> = requests.iter().map(|request| request.org).collect();
    for org in orgs {
        let items = || work.iter().filter(|item| requests[item.request].org == org);
        let alert_keys: Vec<(String, String)> = items()
            .map(|item| (item.service.id.clone(), item.event.dedup_key.to_string()))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let groups: Vec<(String, String)> = items()
            .filter(|item| item.event.action == AlertAction::Trigger)
            .map(|item| (item.group.1.clone(), item.group.2.clone()))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let alerts = tx.alerts_by_dedup_keys(org, &alert_keys).await?;
        let incident_ids: Vec<i64> =
            alerts.iter().filter_map(|alert| alert.incident_id).collect::<BTreeSet<_>>().into_iter().collect();
        for incident in tx.incidents_by_ids(org, &incident_ids).await? {
            snapshot.incident_states.insert((org, incident.id), incident.state);
        }
        for alert in alerts {
            snapshot.alerts.insert((org, alert.service_id.clone(), alert.dedup_key.clone()), AlertSlot::Stored(Box::new(alert)));
        }
        for (service_id, group) in &groups {
            snapshot.open_incidents.insert((org, service_id.clone(), group.clone()), None);
        }
        for incident in tx.open_incidents_for_groups(org, &groups).await? {
            let key = (org, incident.service_id.clone(), incident.group_key.clone());
            snapshot.open_incidents.insert(key, Some(incident));
        }
    }
    Ok(snapshot)
}

/// The services an event belongs to. Triggers are routed by their labels; a resolve or
/// acknowledge that carries no labels (PagerDuty's) goes to every service the source routes to,
/// where the dedup key finds the alert it names.
fn target_services(context: &ApplyContext<'_>, org: OrgId, source_service_id: &str, event: &AlertEvent) -> Vec<String> {
    let directory = context.config.directory(org);
    if event.action != AlertAction::Trigger && event.labels.is_empty() {
        return directory.services.get(source_service_id).map(|service| service.route_receivers.clone()).unwrap_or_default();
    }
    directory.route(source_service_id, &event.labels)
}

async fn apply_event(
    tx: &mut dyn StoreTx,
    context: &mut ApplyContext<'_>,
    snapshot: &mut Snapshot,
    org: OrgId,
    item: &WorkItem<'_>,
    actor: &Actor,
    receipt: &mut IngestReceipt,
) -> StoreResult<()> {
    let (service, event) = (item.service, item.event);
    let alert_key: AlertKey = (org, service.id.clone(), event.dedup_key.to_string());
    let existing = snapshot.alert(tx, &alert_key).await?;
    let known = match &existing {
        Some(alert) => {
            let incident_state = match alert.incident_id {
                Some(incident_id) => snapshot.incident_state(tx, org, incident_id).await?,
                None => None,
            };
            Some(KnownAlert { alert_id: alert.id, firing: alert.firing, incident_id: alert.incident_id, incident_state })
        }
        None => None,
    };
    let open_incident = match event.action {
        AlertAction::Trigger => snapshot.open_incident(tx, &item.group).await?,
        _ => None,
    };

    // A silenced alert is recorded but pages nobody and opens nothing. A silence never hides
    // an alert that already belongs to an open incident (that would be a silent dedup).
    let in_open_incident = known.is_some_and(|alert| alert.firing && alert.incident_state.is_some_and(IncidentState::is_open));
    if event.action == AlertAction::Trigger
        && !in_open_incident
        && let Some(silence_id) = matching_silence(tx, context, org, event).await?
    {
        store_alert(tx, snapshot, alert_key, service, event, existing, None, Some(silence_id), context.now).await?;
        receipt.silenced += 1;
        return Ok(());
    }

    match intake::decide(event.action, known, open_incident.as_ref().map(|incident| incident.id)) {
        IntakeDecision::OpenIncident { .. } => {
            let noise = noise_verdict_for_record(context, org, item);
            let mut incident = tx
                .insert_incident(&NewIncident {
                    org,
                    title: event.summary.clone(),
                    service_id: service.id.clone(),
                    severity: event.severity,
                    group_key: item.group.2.clone(),
                    escalation_policy_id: if item.pages { service.escalation_policy_id.clone() } else { None },
                    auto_resolve: service.auto_resolve,
                    created_at: context.now,
                    noise_probability: noise.map(|verdict| verdict.probability),
                })
                .await?;
            store_alert(tx, snapshot, alert_key, service, event, existing, Some(incident.id), None, context.now).await?;
            let mut data = serde_json::json!({
                "title": incident.title, "service": service.id, "severity": incident.severity,
                "dedup_key": event.dedup_key, "labels": event.labels,
            });
            if let Some(verdict) = noise {
                // When the verdict turned a page into a ticket, the entry says so and why.
                let ticketed = event.pages() && !item.pages;
                data["noise"] = serde_json::json!({
                    "probability": verdict.probability, "threshold": verdict.threshold,
                    "likely_noise": verdict.likely_noise, "ticketed": ticketed,
                });
            }
            append(context, org, incident.id, actor, "incident.opened", data);
            triage(context, org, incident.id, &service.id, &event.labels);
            super::deploys::link_on_open(tx, context, org, incident.id, &event.labels, item.pages).await?;
            context.counts.incident_opened();
            receipt.incidents_opened.push(incident.id);
            receipt.alerts_stored += 1;
            escalate::page_position(tx, context, &mut incident, EscalationPosition::START).await?;
            tx.update_incident(&incident).await?;
            snapshot.incident_changed(&incident);
        }
        IntakeDecision::JoinIncident { incident_id, .. } => {
            store_alert(tx, snapshot, alert_key, service, event, existing, Some(incident_id), None, context.now).await?;
            let alert = serde_json::json!({ "summary": event.summary, "dedup_key": event.dedup_key, "severity": event.severity });
            match snapshot.joined.iter_mut().find(|joined| joined.org == org && joined.incident_id == incident_id) {
                Some(joined) => joined.alerts.push(alert),
                None => snapshot.joined.push(JoinedAlerts { org, incident_id, actor: actor.clone(), alerts: vec![alert] }),
            }
            receipt.alerts_stored += 1;
            if let Some(mut incident) = open_incident {
                // A worse alert makes the incident worse; a milder one never lowers it.
                if event.severity < incident.severity {
                    flush_joined(context, snapshot, org, incident_id);
                    let previous = incident.severity;
                    incident.severity = event.severity;
                    incident.updated_at = context.now;
                    tx.update_incident(&incident).await?;
                    let data = serde_json::json!({ "from": previous, "to": event.severity });
                    append(context, org, incident_id, actor, "incident.severity_changed", data);
                    snapshot.incident_changed(&incident);
                }
            }
        }
        IntakeDecision::Deduplicated { .. } => {
            let incident_id = existing.as_ref().and_then(|alert| alert.incident_id);
            store_alert(tx, snapshot, alert_key, service, event, existing, incident_id, None, context.now).await?;
            receipt.deduplicated += 1;
        }
        IntakeDecision::ResolveAlert { incident_id, .. } => {
            if let Some(mut alert) = existing {
                alert.firing = false;
                alert.resolved_at = Some(event.ends_at.unwrap_or(context.now));
                alert.last_seen = context.now;
                alert.event_count += 1;
                tx.update_alert(&alert).await?;
                snapshot.alerts.insert(alert_key, AlertSlot::Stored(Box::new(alert)));
            }
            receipt.resolved += 1;
            let Some(incident_id) = incident_id else { return Ok(()) };
            flush_joined(context, snapshot, org, incident_id);
            append(context, org, incident_id, actor, "alert.resolved", serde_json::json!({ "dedup_key": event.dedup_key }));
            let Some(incident) = tx.incident(org, incident_id).await? else { return Ok(()) };
            // The count must see alerts of this batch that are still waiting to be inserted.
            snapshot.flush_inserts(tx).await?;
            let firing_left = tx.count_firing_alerts(org, incident_id).await?;
            if intake::auto_resolves(incident.auto_resolve, incident.state, firing_left) {
                match state_change::apply_change(tx, context, incident, actor, StateChange::Resolve).await? {
                    Ok(incident) => snapshot.incident_changed(&incident),
                    Err(message) => tracing::warn!(incident_id, %message, "auto-resolve refused"),
                }
            }
        }
        IntakeDecision::AcknowledgeIncident { incident_id } => {
            if let Some(mut alert) = existing {
                alert.last_seen = context.now;
                alert.event_count += 1;
                tx.update_alert(&alert).await?;
                snapshot.alerts.insert(alert_key, AlertSlot::Stored(Box::new(alert)));
            }
            if let Some(incident) = tx.incident(org, incident_id).await? {
                flush_joined(context, snapshot, org, incident_id);
                match state_change::apply_change(tx, context, incident, actor, StateChange::Acknowledge).await? {
                    Ok(incident) => snapshot.incident_changed(&incident),
                    Err(message) => tracing::debug!(incident_id, %message, "sender acknowledgement refused"),
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

/// Refreshes the stored alert with the event's content, or queues a new one for the bulk insert.
#[allow(clippy::too_many_arguments)]
async fn store_alert(
    tx: &mut dyn StoreTx,
    snapshot: &mut Snapshot,
    key: AlertKey,
    service: &Service,
    event: &AlertEvent,
    existing: Option<Alert>,
    incident_id: Option<i64>,
    silenced_by: Option<i64>,
    now: Timestamp,
) -> StoreResult<()> {
    let firing = event.action != AlertAction::Resolve;
    let Some(mut alert) = existing else {
        snapshot.pending_inserts.push(NewAlert {
            org: key.0,
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
        });
        snapshot.alerts.insert(key, AlertSlot::Pending);
        return Ok(());
    };
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
    snapshot.alerts.insert(key, AlertSlot::Stored(Box::new(alert)));
    Ok(())
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
    let now = context.now;
    let silences = context.silences.get(&org).map(Vec::as_slice).unwrap_or_default();
    let matched = silences.iter().find(|(silence, matchers)| {
        silence.starts_at <= now && now < silence.ends_at && matchers.iter().all(|matcher| matcher.matches(&event.labels))
    });
    Ok(matched.map(|(silence, _)| silence.id))
}
