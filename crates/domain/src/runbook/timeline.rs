//! The timeline entries a runbook run writes, as one vocabulary for the executor that writes
//! them and the postmortem and regression case that read them back.
//!
//! Entry data always carries `runbook` (its name) and `run` (its id); step entries carry
//! `step` (the index), `step_name`, and once done `output` and `error`. A run that stops writes
//! `runbook.<state>` with the state it stopped in.

use serde_json::Value;

pub const TRIAGED: &str = "incident.triaged";
pub const STARTED: &str = "runbook.started";
pub const STEP_STARTED: &str = "runbook.step_started";
pub const STEP_SUCCEEDED: &str = "runbook.step_succeeded";
pub const STEP_FAILED: &str = "runbook.step_failed";

/// Why a run stopped, from a `runbook.<state>` entry's kind: `recovered`, `finished`, `failed`,
/// `interrupted` or `undone`; `None` for every other entry.
pub fn stop_reason(kind: &str) -> Option<&str> {
    let state = kind.strip_prefix("runbook.")?;
    matches!(state, "recovered" | "finished" | "failed" | "interrupted" | "undone").then_some(state)
}

/// The runbook an entry belongs to.
pub fn runbook_name(data: &Value) -> Option<&str> {
    data.get("runbook").and_then(Value::as_str)
}

/// The name of the step a step entry is about (its index when it has no name).
pub fn step_name(data: &Value) -> Option<String> {
    match (data.get("step_name").and_then(Value::as_str), data.get("step")) {
        (Some(name), _) => Some(name.to_string()),
        (None, Some(Value::Number(index))) => Some(format!("step {index}")),
        _ => None,
    }
}

/// The symptom an entry names: triage's `incident.triaged`, or the symptom a run was started
/// for (`runbook.started`).
pub fn symptom<'a>(kind: &str, data: &'a Value) -> Option<&'a str> {
    match kind {
        TRIAGED | STARTED => data.get("symptom").and_then(Value::as_str),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_terminal_states_are_stop_reasons() {
        let kinds =
            ["runbook.recovered", "runbook.finished", "runbook.interrupted", "runbook.step_failed", "runbook.started", "x"];
        let reasons: Vec<Option<&str>> = kinds.iter().map(|kind| stop_reason(kind)).collect();
        assert_eq!(reasons, vec![Some("recovered"), Some("finished"), Some("interrupted"), None, None, None]);
    }

    #[test]
    fn steps_are_named_by_name_else_by_index() {
        assert_eq!(step_name(&serde_json::json!({"step": 2, "step_name": "cache"})).as_deref(), Some("cache"));
        assert_eq!(step_name(&serde_json::json!({"step": 2})).as_deref(), Some("step 2"));
    }
}
