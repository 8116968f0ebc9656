//! The incident state machine: triggered → acknowledged → mitigated → resolved.
//!
//! Owns which transitions are legal. It does not own persistence or the timeline; the shell
//! appends one timeline event per accepted transition.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IncidentState {
    /// Open and paging: escalation runs until someone acknowledges.
    Triggered,
    /// A human owns it; escalation has stopped.
    Acknowledged,
    /// The bleeding has stopped (impact is over) but the cause may still be present.
    Mitigated,
    /// Closed. A resolved incident never reopens: a new alert opens a new incident.
    Resolved,
}

impl IncidentState {
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentState::Triggered => "triggered",
            IncidentState::Acknowledged => "acknowledged",
            IncidentState::Mitigated => "mitigated",
            IncidentState::Resolved => "resolved",
        }
    }

    pub fn parse(text: &str) -> Option<IncidentState> {
        match text {
            "triggered" => Some(IncidentState::Triggered),
            "acknowledged" => Some(IncidentState::Acknowledged),
            "mitigated" => Some(IncidentState::Mitigated),
            "resolved" => Some(IncidentState::Resolved),
            _ => None,
        }
    }

    /// Open incidents collect new alerts of their group.
    pub fn is_open(self) -> bool {
        self != IncidentState::Resolved
    }

    /// Only triggered incidents page.
    pub fn is_paging(self) -> bool {
        self == IncidentState::Triggered
    }
}

impl std::fmt::Display for IncidentState {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// A state change someone (a person, an integration or the engine itself) asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StateChange {
    Acknowledge,
    Mitigate,
    Resolve,
    /// Manual escalation: an acknowledged incident goes back to triggered and pages the
    /// next level, as in PagerDuty.
    Escalate,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("incident is already {0}")]
    AlreadyInState(IncidentState),
    #[error("incident is resolved and cannot change state")]
    Resolved,
    #[error("cannot {change} an incident that is {from}")]
    NotAllowed { change: &'static str, from: IncidentState },
}

impl StateChange {
    pub fn as_str(self) -> &'static str {
        match self {
            StateChange::Acknowledge => "acknowledge",
            StateChange::Mitigate => "mitigate",
            StateChange::Resolve => "resolve",
            StateChange::Escalate => "escalate",
        }
    }
}

/// The state an incident moves to when `change` is applied in state `from`.
pub fn transition(from: IncidentState, change: StateChange) -> Result<IncidentState, TransitionError> {
    use IncidentState::*;
    if from == Resolved {
        return Err(TransitionError::Resolved);
    }
    match (from, change) {
        (Triggered, StateChange::Acknowledge) => Ok(Acknowledged),
        (Acknowledged, StateChange::Acknowledge) => Err(TransitionError::AlreadyInState(Acknowledged)),
        (Mitigated, StateChange::Acknowledge) => Err(TransitionError::NotAllowed { change: "acknowledge", from }),
        (Mitigated, StateChange::Mitigate) => Err(TransitionError::AlreadyInState(Mitigated)),
        (_, StateChange::Mitigate) => Ok(Mitigated),
        (_, StateChange::Resolve) => Ok(Resolved),
        (Triggered | Acknowledged, StateChange::Escalate) => Ok(Triggered),
        (Mitigated, StateChange::Escalate) => Err(TransitionError::NotAllowed { change: "escalate", from }),
        (Resolved, _) => Err(TransitionError::Resolved),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use IncidentState::*;
    use StateChange::*;

    fn check(from: IncidentState, change: StateChange, expected: Result<IncidentState, &str>) {
        let actual = transition(from, change).map_err(|error| error.to_string());
        assert_eq!(actual, expected.map_err(str::to_string), "{from} + {}", change.as_str());
    }

    #[test]
    fn transitions_table() {
        check(Triggered, Acknowledge, Ok(Acknowledged));
        check(Triggered, Mitigate, Ok(Mitigated));
        check(Triggered, Resolve, Ok(Resolved));
        check(Triggered, Escalate, Ok(Triggered));
        check(Acknowledged, Acknowledge, Err("incident is already acknowledged"));
        check(Acknowledged, Mitigate, Ok(Mitigated));
        check(Acknowledged, Resolve, Ok(Resolved));
        check(Acknowledged, Escalate, Ok(Triggered));
        check(Mitigated, Acknowledge, Err("cannot acknowledge an incident that is mitigated"));
        check(Mitigated, Mitigate, Err("incident is already mitigated"));
        check(Mitigated, Resolve, Ok(Resolved));
        check(Mitigated, Escalate, Err("cannot escalate an incident that is mitigated"));
        for change in [Acknowledge, Mitigate, Resolve, Escalate] {
            check(Resolved, change, Err("incident is resolved and cannot change state"));
        }
    }
}
