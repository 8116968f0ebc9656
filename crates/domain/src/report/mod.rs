//! `staunch report`: response figures (MTTA, MTTR, incidents per service and severity) and
//! the four DORA metrics, computed from stored incidents and change events.
//!
//! Deploys are read from change events:
//! - a GitHub `deployment_status` record (`details.kind = "deployment"`) is a deploy when its
//!   state is `success`; its lead time is the time from the commit (the `push` record whose
//!   `after` is the deployment's sha, timed by its head commit) to the deployment;
//! - a GitHub `push` record counts as a deploy only for services that have no deployment
//!   records (push-to-deploy); its lead time is from the head commit to the push's arrival;
//! - merged pull requests are not deploys; every other change event (PagerDuty's
//!   `/v2/change/enqueue`) is a deploy without a lead time, unless it reports a failed
//!   pipeline run (see `crate::deploy::pipeline`): a release that failed deployed nothing.
//!
//! The same list decides which deploy an incident is linked to (`crate::deploy::link`).
//!
//! A deploy *failed* when an incident of the same service opened within `failure_window`
//! after it. Time to restore is measured on those incidents (DORA's failed-deployment
//! recovery time): from the incident's start to its resolution.

use crate::postmortem::{ChangeFact, IncidentFacts};
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Median and mean of a set of durations, in seconds; `None` when the set is empty.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stat {
    pub count: usize,
    pub median_seconds: Option<f64>,
    pub mean_seconds: Option<f64>,
}

impl Stat {
    pub fn of(durations: &[SignedDuration]) -> Stat {
        let mut seconds: Vec<f64> = durations.iter().map(|duration| duration.as_secs_f64()).collect();
        seconds.sort_by(f64::total_cmp);
        let count = seconds.len();
        if count == 0 {
            return Stat { count, median_seconds: None, mean_seconds: None };
        }
        let median = if count % 2 == 1 { seconds[count / 2] } else { (seconds[count / 2 - 1] + seconds[count / 2]) / 2.0 };
        Stat { count, median_seconds: Some(median), mean_seconds: Some(seconds.iter().sum::<f64>() / count as f64) }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dora {
    pub deploys: usize,
    pub deploys_per_day: f64,
    pub lead_time: Stat,
    /// Deploys followed by an incident of their service within the failure window.
    pub failed_deploys: usize,
    /// `failed_deploys / deploys`; `None` without deploys.
    pub change_failure_rate: Option<f64>,
    pub time_to_restore: Stat,
    pub failure_window_seconds: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub since: Timestamp,
    pub until: Timestamp,
    pub incidents: usize,
    pub time_to_acknowledge: Stat,
    pub time_to_resolve: Stat,
    pub incidents_per_service: BTreeMap<String, usize>,
    pub incidents_per_severity: BTreeMap<String, usize>,
    pub dora: Dora,
}

/// One deploy found among the change events.
#[derive(Debug, Clone, PartialEq)]
pub struct Deploy {
    /// The change event's position in the list given to [`deploys`].
    pub index: usize,
    pub service_id: String,
    pub at: Timestamp,
    pub lead_time: Option<SignedDuration>,
}

fn kind(change: &ChangeFact) -> &str {
    change.details.get("kind").and_then(|kind| kind.as_str()).unwrap_or("")
}

fn is_github(change: &ChangeFact) -> bool {
    change.source.as_deref().is_some_and(|source| source.starts_with("github:"))
}

/// The deploys among `changes` (see the module documentation for the rules).
pub fn deploys(changes: &[ChangeFact]) -> Vec<Deploy> {
    let services_with_deployments: BTreeSet<&str> = changes
        .iter()
        .filter(|change| is_github(change) && kind(change) == "deployment")
        .map(|change| change.service_id.as_str())
        .collect();
    let commit_times: BTreeMap<&str, Timestamp> = changes
        .iter()
        .filter(|change| is_github(change) && kind(change) == "push")
        .filter_map(|change| Some((change.details.get("after")?.as_str()?, change.at)))
        .collect();
    let mut deploys = Vec::new();
    for (index, change) in changes.iter().enumerate() {
        let deploy = match (is_github(change), kind(change)) {
            (true, "deployment") => {
                if change.details.get("state").and_then(|state| state.as_str()) != Some("success") {
                    continue;
                }
                let sha = change.details.get("sha").and_then(|sha| sha.as_str()).unwrap_or("");
                let lead_time = commit_times.get(sha).map(|committed| change.at.duration_since(*committed));
                Deploy { index, service_id: change.service_id.clone(), at: change.at, lead_time }
            }
            (true, "push") => {
                if services_with_deployments.contains(change.service_id.as_str()) {
                    continue;
                }
                Deploy {
                    index,
                    service_id: change.service_id.clone(),
                    at: change.received_at,
                    lead_time: Some(change.received_at.duration_since(change.at)),
                }
            }
            (true, _) => continue,
            (false, _) => {
                if crate::deploy::pipeline::result_of(change) == Some(crate::deploy::pipeline::PipelineResult::Failure) {
                    continue;
                }
                Deploy { index, service_id: change.service_id.clone(), at: change.at, lead_time: None }
            }
        };
        deploys.push(deploy);
    }
    deploys.sort_by_key(|deploy| deploy.at);
    deploys
}

/// Whether something that happened at `at` follows a deploy made at `deployed_at` within
/// `window`: strictly after it, and at most `window` later. Reports count failed deploys with
/// it, and incidents are linked to deploys with it.
pub fn follows(deployed_at: Timestamp, at: Timestamp, window: SignedDuration) -> bool {
    at > deployed_at && at <= deployed_at + window
}

/// The report over incidents opened and deploys made in `[since, until)`.
pub fn compute(
    incidents: &[IncidentFacts],
    changes: &[ChangeFact],
    since: Timestamp,
    until: Timestamp,
    failure_window: SignedDuration,
) -> Report {
    let in_range = |at: Timestamp| at >= since && at < until;
    let incidents: Vec<&IncidentFacts> = incidents.iter().filter(|incident| in_range(incident.created_at)).collect();
    let acknowledge: Vec<SignedDuration> =
        incidents.iter().filter_map(|incident| Some(incident.acknowledged_at?.duration_since(incident.created_at))).collect();
    let resolve: Vec<SignedDuration> =
        incidents.iter().filter_map(|incident| Some(incident.resolved_at?.duration_since(incident.created_at))).collect();
    let mut per_service = BTreeMap::new();
    let mut per_severity = BTreeMap::new();
    for incident in &incidents {
        *per_service.entry(incident.service_id.clone()).or_insert(0) += 1;
        *per_severity.entry(incident.severity.as_str().to_string()).or_insert(0) += 1;
    }

    let deploys: Vec<Deploy> = deploys(changes).into_iter().filter(|deploy| in_range(deploy.at)).collect();
    let lead_times: Vec<SignedDuration> = deploys.iter().filter_map(|deploy| deploy.lead_time).collect();
    let mut failed_deploys = 0;
    let mut failure_incidents: BTreeSet<i64> = BTreeSet::new();
    for deploy in &deploys {
        let followed: Vec<&&IncidentFacts> = incidents
            .iter()
            .filter(|incident| {
                incident.service_id == deploy.service_id && follows(deploy.at, incident.created_at, failure_window)
            })
            .collect();
        if !followed.is_empty() {
            failed_deploys += 1;
            failure_incidents.extend(followed.iter().map(|incident| incident.id));
        }
    }
    let restore: Vec<SignedDuration> = incidents
        .iter()
        .filter(|incident| failure_incidents.contains(&incident.id))
        .filter_map(|incident| Some(incident.resolved_at?.duration_since(incident.created_at)))
        .collect();
    let days = until.duration_since(since).as_secs_f64() / 86_400.0;
    Report {
        since,
        until,
        incidents: incidents.len(),
        time_to_acknowledge: Stat::of(&acknowledge),
        time_to_resolve: Stat::of(&resolve),
        incidents_per_service: per_service,
        incidents_per_severity: per_severity,
        dora: Dora {
            deploys: deploys.len(),
            deploys_per_day: if days > 0.0 { deploys.len() as f64 / days } else { 0.0 },
            lead_time: Stat::of(&lead_times),
            failed_deploys,
            change_failure_rate: if deploys.is_empty() { None } else { Some(failed_deploys as f64 / deploys.len() as f64) },
            time_to_restore: Stat::of(&restore),
            failure_window_seconds: failure_window.as_secs(),
        },
    }
}

#[cfg(test)]
mod tests;
