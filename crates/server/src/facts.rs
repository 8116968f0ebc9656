//! Stored records as the domain's facts, for postmortems, regression cases and reports: the
//! shell loads, the domain computes.

use jiff::{SignedDuration, Timestamp};
use staunch_config::Config;
use staunch_domain::postmortem::{ActionItemFact, AlertFact, BudgetFacts, ChangeFact, IncidentFacts, TimelineFact};
use staunch_store::{
    ActionItem, Alert, AlertFilter, ChangeEvent, Incident, IncidentFilter, OrgId, Scoped, SloBucket, StoreResult, TimelineEntry,
};

/// How many alerts of one incident a postmortem or case reads at most.
const MAX_ALERTS: u32 = 1000;
/// How many change events a postmortem or report reads at most.
const MAX_CHANGES: u32 = 10_000;

pub fn incident(incident: &Incident) -> IncidentFacts {
    IncidentFacts {
        id: incident.id,
        title: incident.title.clone(),
        service_id: incident.service_id.clone(),
        severity: incident.severity,
        state: incident.state,
        assignee: incident.assignee.clone(),
        created_at: incident.created_at,
        acknowledged_at: incident.acknowledged_at,
        mitigated_at: incident.mitigated_at,
        resolved_at: incident.resolved_at,
    }
}

pub fn timeline(entries: &[TimelineEntry]) -> Vec<TimelineFact> {
    entries
        .iter()
        .map(|entry| TimelineFact {
            at: entry.at,
            actor: entry.actor.to_string(),
            kind: entry.kind.clone(),
            data: entry.data.clone(),
        })
        .collect()
}

pub fn alerts(alerts: &[Alert]) -> Vec<AlertFact> {
    alerts
        .iter()
        .map(|alert| AlertFact {
            dedup_key: alert.dedup_key.clone(),
            summary: alert.summary.clone(),
            severity: alert.severity,
            labels: alert.labels.clone(),
            annotations: alert.annotations.clone(),
            first_seen: alert.first_seen,
            starts_at: alert.starts_at,
            resolved_at: alert.resolved_at,
        })
        .collect()
}

pub fn changes(events: &[ChangeEvent]) -> Vec<ChangeFact> {
    events
        .iter()
        .map(|event| ChangeFact {
            service_id: event.service_id.clone(),
            at: event.at,
            received_at: event.received_at,
            summary: event.summary.clone(),
            source: event.source.clone(),
            details: event.details.clone(),
        })
        .collect()
}

pub fn action_items(items: &[ActionItem]) -> Vec<ActionItemFact> {
    items
        .iter()
        .map(|item| ActionItemFact {
            id: item.id,
            text: item.text.clone(),
            owner: item.owner.clone(),
            due: item.due,
            status: item.status,
        })
        .collect()
}

/// `(user id, name)` of every user of the organisation.
pub fn people(config: &Config, org: OrgId) -> Vec<(String, String)> {
    config.directory(org).users.values().map(|user| (user.id.clone(), user.name.clone())).collect()
}

/// Everything a postmortem of one incident is drawn from, as read from the store.
pub struct IncidentRecord {
    pub incident: Incident,
    pub timeline: Vec<TimelineEntry>,
    pub alerts: Vec<Alert>,
    pub changes: Vec<ChangeEvent>,
    pub action_items: Vec<ActionItem>,
    pub budget: Option<BudgetFacts>,
}

pub async fn load_incident(store: &Scoped, config: &Config, incident: Incident, now: Timestamp) -> StoreResult<IncidentRecord> {
    let timeline = store.timeline(incident.id).await?;
    let alerts = store.alerts(&AlertFilter { incident_id: Some(incident.id), limit: MAX_ALERTS, ..Default::default() }).await?;
    let changes = store.change_events(Some(&incident.service_id), MAX_CHANGES).await?;
    let action_items = store.action_items(incident.id).await?;
    let budget = budget(store, config, &incident, &alerts, now).await?;
    Ok(IncidentRecord { incident, timeline, alerts, changes, action_items, budget })
}

/// The SLO's counts during the incident and over its period, when an alert names a
/// configured SLO; `None` otherwise (the postmortem then says the budget is unknown).
async fn budget(
    store: &Scoped,
    config: &Config,
    incident: &Incident,
    alerts: &[Alert],
    now: Timestamp,
) -> StoreResult<Option<BudgetFacts>> {
    let Some(slo_id) = alerts.iter().find_map(|alert| alert.labels.get("slo")) else {
        return Ok(None);
    };
    let definition =
        config.organisation_by_id(store.org()).and_then(|organisation| organisation.slos.iter().find(|slo| &slo.id == slo_id));
    let Some(definition) = definition else {
        return Ok(None);
    };
    let end = incident.resolved_at.unwrap_or(now);
    let period = definition.period.duration();
    let period_start = end - SignedDuration::from_secs(i64::try_from(period.as_millis() / 1000).unwrap_or(i64::MAX / 2));
    let buckets = store.slo_buckets(slo_id, period_start).await?;
    let incident_start = SloBucket::minute_start(incident.created_at);
    let (mut bad_during, mut total_during, mut total_in_period) = (0u64, 0u64, 0u64);
    for bucket in buckets.iter().filter(|bucket| bucket.minute <= end) {
        total_in_period += bucket.total;
        if bucket.minute >= incident_start {
            bad_during += bucket.total.saturating_sub(bucket.good);
            total_during += bucket.total;
        }
    }
    Ok(Some(BudgetFacts {
        slo_id: slo_id.clone(),
        objective_percent: definition.objective.percent(),
        period: period.to_string(),
        bad_during,
        total_during,
        total_in_period,
    }))
}

/// Every incident of the organisation opened at or after `since`, newest first, paging
/// through the store.
pub async fn incidents_since(store: &Scoped, since: Timestamp) -> StoreResult<Vec<Incident>> {
    let mut incidents = Vec::new();
    let mut before = None;
    loop {
        let page = store.incidents(&IncidentFilter { before_id: before, limit: 1000, ..Default::default() }).await?;
        let Some(last) = page.last() else { break };
        before = Some(last.id);
        let reached_start = page.iter().any(|incident| incident.created_at < since);
        incidents.extend(page.into_iter().filter(|incident| incident.created_at >= since));
        if reached_start {
            break;
        }
    }
    Ok(incidents)
}

/// Every change event of the organisation (newest first), up to the read limit.
pub async fn all_changes(store: &Scoped) -> StoreResult<Vec<ChangeEvent>> {
    store.change_events(None, MAX_CHANGES).await
}
