//! The `deploys:` section of `staunch.yaml` (per organisation, like `slos:`): how long after
//! a deploy an incident of its service is linked to it, which runbook rolls a service back
//! (and whether it starts on its own or waits for approval), and after how many failed
//! release pipeline runs in a row a service pages.
//!
//! ```yaml
//! deploys:
//!   link_window: 30m          # default for every service
//!   pipeline_failures: 3      # default: off
//!   services:
//!     chat:
//!       link_window: 10m
//!       rollback_runbook: rollback-chat
//!       rollback: automatic   # or approval (the default)
//!       pipeline_failures: 2
//! ```

use std::collections::{BTreeMap, BTreeSet};

use jiff::SignedDuration;
use serde::Deserialize;
use staunch_domain::duration::HumanDuration;

/// How long after a deploy an incident is linked to it when nothing says otherwise.
pub const DEFAULT_LINK_WINDOW: HumanDuration = HumanDuration::from_secs(30 * 60);

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDeploys {
    #[serde(default)]
    link_window: Option<HumanDuration>,
    #[serde(default)]
    pipeline_failures: Option<u32>,
    #[serde(default)]
    services: BTreeMap<String, RawServiceDeploys>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServiceDeploys {
    #[serde(default)]
    link_window: Option<HumanDuration>,
    #[serde(default)]
    rollback_runbook: Option<String>,
    #[serde(default)]
    rollback: Option<RollbackMode>,
    #[serde(default)]
    pipeline_failures: Option<u32>,
}

/// Whether a rollback runbook starts on its own or waits for a person's approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RollbackMode {
    Automatic,
    Approval,
}

/// The checked `deploys:` section of one organisation.
#[derive(Debug, Clone, Default)]
pub struct DeploySettings {
    link_window: Option<HumanDuration>,
    pipeline_failures: Option<u32>,
    services: BTreeMap<String, ServiceDeploys>,
}

#[derive(Debug, Clone, Default)]
struct ServiceDeploys {
    link_window: Option<HumanDuration>,
    rollback: Option<Rollback>,
    pipeline_failures: Option<u32>,
}

/// The runbook that rolls a service back, and how it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rollback {
    pub runbook: String,
    pub mode: RollbackMode,
}

impl DeploySettings {
    /// How long after a deploy of `service_id` an incident of it is linked to the deploy.
    pub fn link_window(&self, service_id: &str) -> SignedDuration {
        let service = self.services.get(service_id).and_then(|service| service.link_window);
        service.or(self.link_window).unwrap_or(DEFAULT_LINK_WINDOW).as_span()
    }

    /// The rollback configured for `service_id`, if any.
    pub fn rollback(&self, service_id: &str) -> Option<&Rollback> {
        self.services.get(service_id)?.rollback.as_ref()
    }

    /// After how many failed pipeline runs in a row `service_id` pages; `None`: never.
    pub fn pipeline_failures(&self, service_id: &str) -> Option<u32> {
        let service = self.services.get(service_id).and_then(|service| service.pipeline_failures);
        service.or(self.pipeline_failures)
    }
}

fn check_failures(field: String, value: Option<u32>, problems: &mut Vec<String>) {
    if value == Some(0) {
        problems.push(format!("{field}: must be at least 1 (leave it out to never page on pipeline failures)"));
    }
}

pub(crate) fn build_deploys(
    raw: RawDeploys,
    service_ids: &BTreeSet<String>,
    runbook_names: &BTreeSet<String>,
    problems: &mut Vec<String>,
) -> DeploySettings {
    check_failures("deploys.pipeline_failures".into(), raw.pipeline_failures, problems);
    let mut services = BTreeMap::new();
    for (service_id, raw_service) in raw.services {
        let field = format!("deploys.services.{service_id}");
        if !service_ids.contains(&service_id) {
            problems.push(format!("{field}: no service {service_id:?}"));
            continue;
        }
        check_failures(format!("{field}.pipeline_failures"), raw_service.pipeline_failures, problems);
        let rollback = match (raw_service.rollback_runbook, raw_service.rollback) {
            (Some(runbook), mode) => {
                if !runbook_names.contains(&runbook) {
                    problems.push(format!("{field}.rollback_runbook: no runbook named {runbook:?}"));
                }
                Some(Rollback { runbook, mode: mode.unwrap_or(RollbackMode::Approval) })
            }
            (None, Some(_)) => {
                problems.push(format!("{field}.rollback: needs rollback_runbook, the runbook to start"));
                None
            }
            (None, None) => None,
        };
        let service =
            ServiceDeploys { link_window: raw_service.link_window, rollback, pipeline_failures: raw_service.pipeline_failures };
        services.insert(service_id, service);
    }
    DeploySettings { link_window: raw.link_window, pipeline_failures: raw.pipeline_failures, services }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(yaml: &str) -> Result<DeploySettings, Vec<String>> {
        let raw: RawDeploys = serde_saphyr::from_str(yaml).map_err(|error| vec![error.to_string()])?;
        let services = ["chat".to_string(), "search".to_string()].into_iter().collect();
        let runbooks = ["rollback-chat".to_string()].into_iter().collect();
        let mut problems = Vec::new();
        let settings = build_deploys(raw, &services, &runbooks, &mut problems);
        if problems.is_empty() { Ok(settings) } else { Err(problems) }
    }

    #[test]
    fn service_settings_override_the_organisation_defaults() {
        let settings = build(
            "link_window: 1h\npipeline_failures: 3\nservices:\n  chat:\n    link_window: 10m\n    rollback_runbook: rollback-chat\n    rollback: automatic\n    pipeline_failures: 2\n  search:\n    rollback_runbook: rollback-chat\n",
        )
        .unwrap();
        assert_eq!(settings.link_window("chat"), SignedDuration::from_mins(10));
        assert_eq!(settings.link_window("search"), SignedDuration::from_hours(1));
        assert_eq!(settings.pipeline_failures("chat"), Some(2));
        assert_eq!(settings.pipeline_failures("search"), Some(3));
        assert_eq!(settings.rollback("chat"), Some(&Rollback { runbook: "rollback-chat".into(), mode: RollbackMode::Automatic }));
        assert_eq!(settings.rollback("search").map(|rollback| rollback.mode), Some(RollbackMode::Approval));
        let empty = build("{}").unwrap();
        assert_eq!(empty.link_window("chat"), SignedDuration::from_mins(30));
        assert_eq!((empty.pipeline_failures("chat"), empty.rollback("chat")), (None, None));
    }

    #[test]
    fn mistakes_are_named_by_field() {
        let cases = [
            ("services:\n  nope: {}\n", "deploys.services.nope: no service \"nope\""),
            (
                "services:\n  chat:\n    rollback_runbook: gone\n",
                "deploys.services.chat.rollback_runbook: no runbook named \"gone\"",
            ),
            ("services:\n  chat:\n    rollback: automatic\n", "deploys.services.chat.rollback: needs rollback_runbook"),
            ("pipeline_failures: 0\n", "deploys.pipeline_failures: must be at least 1"),
            ("services:\n  chat:\n    pipeline_failures: 0\n", "deploys.services.chat.pipeline_failures: must be at least 1"),
        ];
        for (yaml, expected) in cases {
            let problems = build(yaml).expect_err(yaml);
            assert!(problems.iter().any(|problem| problem.starts_with(expected)), "{yaml}: {problems:?}");
        }
        assert!(build("services:\n  chat:\n    rollback: sometimes\n").is_err());
    }
}
