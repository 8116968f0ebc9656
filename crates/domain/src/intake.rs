//! Alert intake: what an incoming alert event does to the alert it names and to incidents.
//!
//! This is deduplication and grouping as a pure decision. The shell looks up the alert with
//! the same dedup key and the open incident of the alert's group, asks [`decide`], and
//! carries out the answer inside one transaction.

use crate::alert::{AlertAction, DedupKey};
use crate::incident::IncidentState;
use crate::labels::{Labels, group_key};

/// What the store already knows about the alert with the event's dedup key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownAlert {
    pub alert_id: i64,
    pub firing: bool,
    pub incident_id: Option<i64>,
    /// State of `incident_id`, when there is one.
    pub incident_state: Option<IncidentState>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntakeDecision {
    /// A new alert, or one firing again, with no open incident for its group: open one.
    OpenIncident { reuse_alert_id: Option<i64> },
    /// A new alert, or one firing again, joins the open incident of its group (no new page).
    JoinIncident { reuse_alert_id: Option<i64>, incident_id: i64 },
    /// The alert is already firing in an open incident: refresh it, page nobody.
    Deduplicated { alert_id: i64 },
    /// The alert stopped firing. The shell then checks whether the incident auto-resolves.
    ResolveAlert { alert_id: i64, incident_id: Option<i64> },
    /// The sender acknowledged: acknowledge the alert's open incident.
    AcknowledgeIncident { incident_id: i64 },
    /// Nothing to do; kept on record with the reason.
    Ignore { reason: &'static str },
}

/// Decides what `action` on an alert does, given what is known of it and the id of the open
/// incident of its group (if any).
pub fn decide(action: AlertAction, known: Option<KnownAlert>, open_incident_of_group: Option<i64>) -> IntakeDecision {
    let incident_is_open = |alert: &KnownAlert| alert.incident_state.is_some_and(IncidentState::is_open);
    match action {
        AlertAction::Trigger => {
            if let Some(alert) = known
                && alert.firing
                && incident_is_open(&alert)
            {
                return IntakeDecision::Deduplicated { alert_id: alert.alert_id };
            }
            let reuse_alert_id = known.map(|alert| alert.alert_id);
            match open_incident_of_group {
                Some(incident_id) => IntakeDecision::JoinIncident { reuse_alert_id, incident_id },
                None => IntakeDecision::OpenIncident { reuse_alert_id },
            }
        }
        AlertAction::Resolve => match known {
            Some(alert) if alert.firing => {
                IntakeDecision::ResolveAlert { alert_id: alert.alert_id, incident_id: alert.incident_id }
            }
            Some(_) => IntakeDecision::Ignore { reason: "alert is already resolved" },
            None => IntakeDecision::Ignore { reason: "no alert with this dedup key" },
        },
        AlertAction::Acknowledge => match known {
            Some(alert) if incident_is_open(&alert) => match (alert.incident_id, alert.incident_state) {
                (Some(incident_id), Some(IncidentState::Triggered)) => IntakeDecision::AcknowledgeIncident { incident_id },
                _ => IntakeDecision::Ignore { reason: "incident is not triggered" },
            },
            Some(_) => IntakeDecision::Ignore { reason: "alert has no open incident" },
            None => IntakeDecision::Ignore { reason: "no alert with this dedup key" },
        },
    }
}

/// The key that decides which open incident of a service an alert joins.
///
/// An alert carrying at least one of the `group_by` labels is grouped by their values, as
/// Alertmanager groups. An alert carrying none of them (a PagerDuty event has no `alertname`)
/// is its own group, keyed by its dedup key: one incident per alert, as in PagerDuty. An empty
/// `group_by` puts every alert of the service in one incident.
pub fn incident_group_key(labels: &Labels, group_by: &[String], dedup_key: &DedupKey) -> String {
    let carries_a_group_label = group_by.iter().any(|name| labels.contains_key(name));
    if group_by.is_empty() || carries_a_group_label {
        return group_key(labels, group_by);
    }
    format!("dedup_key={:?}", dedup_key.as_str())
}

/// Whether an incident resolves itself after one of its alerts resolved.
pub fn auto_resolves(auto_resolve_enabled: bool, state: IncidentState, firing_alerts_left: u64) -> bool {
    auto_resolve_enabled && state.is_open() && firing_alerts_left == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use AlertAction::*;
    use IncidentState::*;

    fn alert(firing: bool, incident: Option<(i64, IncidentState)>) -> Option<KnownAlert> {
        Some(KnownAlert {
            alert_id: 7,
            firing,
            incident_id: incident.map(|(id, _)| id),
            incident_state: incident.map(|(_, state)| state),
        })
    }

    #[test]
    fn decisions_table() {
        let cases = [
            (Trigger, None, None, IntakeDecision::OpenIncident { reuse_alert_id: None }),
            (Trigger, None, Some(3), IntakeDecision::JoinIncident { reuse_alert_id: None, incident_id: 3 }),
            (Trigger, alert(true, Some((3, Triggered))), Some(3), IntakeDecision::Deduplicated { alert_id: 7 }),
            (Trigger, alert(true, Some((3, Acknowledged))), Some(3), IntakeDecision::Deduplicated { alert_id: 7 }),
            // A human resolved the incident while the alert kept firing: the next trigger opens a new one.
            (Trigger, alert(true, Some((3, Resolved))), None, IntakeDecision::OpenIncident { reuse_alert_id: Some(7) }),
            (
                Trigger,
                alert(false, Some((3, Resolved))),
                Some(4),
                IntakeDecision::JoinIncident { reuse_alert_id: Some(7), incident_id: 4 },
            ),
            (
                Resolve,
                alert(true, Some((3, Triggered))),
                Some(3),
                IntakeDecision::ResolveAlert { alert_id: 7, incident_id: Some(3) },
            ),
            (Resolve, alert(false, Some((3, Resolved))), None, IntakeDecision::Ignore { reason: "alert is already resolved" }),
            (Resolve, None, None, IntakeDecision::Ignore { reason: "no alert with this dedup key" }),
            (Acknowledge, alert(true, Some((3, Triggered))), Some(3), IntakeDecision::AcknowledgeIncident { incident_id: 3 }),
            (
                Acknowledge,
                alert(true, Some((3, Acknowledged))),
                Some(3),
                IntakeDecision::Ignore { reason: "incident is not triggered" },
            ),
            (
                Acknowledge,
                alert(true, Some((3, Resolved))),
                None,
                IntakeDecision::Ignore { reason: "alert has no open incident" },
            ),
            (Acknowledge, None, None, IntakeDecision::Ignore { reason: "no alert with this dedup key" }),
        ];
        for (action, known, open, expected) in cases {
            assert_eq!(decide(action, known, open), expected, "{action:?} {known:?} {open:?}");
        }
    }

    #[test]
    fn group_keys() {
        let labels = |pairs: &[(&str, &str)]| -> Labels {
            pairs.iter().map(|(name, value)| (name.to_string(), value.to_string())).collect()
        };
        let key = DedupKey::parse("pd-123").unwrap();
        let by = |names: &[&str]| -> Vec<String> { names.iter().map(|name| name.to_string()).collect() };
        let cases = [
            (labels(&[("alertname", "HighErrorRate"), ("instance", "a")]), by(&["alertname"]), r#"{alertname="HighErrorRate"}"#),
            (labels(&[("alertname", "X")]), by(&["alertname", "cluster"]), r#"{alertname="X",cluster=""}"#),
            (labels(&[("source", "web-1")]), by(&["alertname"]), r#"dedup_key="pd-123""#),
            (labels(&[("source", "web-1")]), by(&[]), "{}"),
            (labels(&[]), by(&["alertname"]), r#"dedup_key="pd-123""#),
        ];
        for (labels, group_by, expected) in cases {
            assert_eq!(incident_group_key(&labels, &group_by, &key), expected, "{labels:?} by {group_by:?}");
        }
    }

    #[test]
    fn auto_resolve_needs_the_flag_an_open_incident_and_no_firing_alerts() {
        assert!(auto_resolves(true, Triggered, 0));
        assert!(!auto_resolves(false, Triggered, 0));
        assert!(!auto_resolves(true, Triggered, 1));
        assert!(!auto_resolves(true, Resolved, 0));
    }
}
