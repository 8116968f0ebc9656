//! Release pipelines that keep failing page: after `N` failed runs in a row of one service's
//! pipeline, an alert (dedup key `pipeline:{service}`) triggers; the next success resolves it.
//!
//! A pipeline run's result is read from the change events senders already send:
//! - GitHub `deployment_status`: `success` succeeded, `failure` and `error` failed; `pending`,
//!   `queued`, `in_progress` and `inactive` are not results;
//! - any other change event (PagerDuty's `/v2/change/enqueue`) whose `custom_details` carry a
//!   build state, as PagerDuty's own example does (`"build_state": "passed"`): the first of
//!   `build_state`, `state`, `status` or `result` that is a string, read case-insensitively —
//!   `passed`, `success`, `succeeded`, `successful`, `ok` succeeded; `failed`, `failure`,
//!   `error`, `errored`, `broken` failed. Anything else (no such field, `canceled`) is not a
//!   result and leaves the count alone.
//!
//! Pushes and merged pull requests are never results: they are commits, not releases.

use crate::postmortem::ChangeFact;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PipelineResult {
    Success,
    Failure,
}

/// What a service's pipeline alert should do after its newest result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PipelineAlert {
    /// `failures` runs in a row failed, at least the threshold: trigger (or refresh) the alert.
    Trigger { failures: u32 },
    /// The newest run succeeded: resolve the alert if it is firing.
    Resolve,
    /// Nothing to announce (fewer failures than the threshold, or no results).
    Nothing,
}

const DETAIL_FIELDS: [&str; 4] = ["build_state", "state", "status", "result"];

/// The pipeline result a change event reports, if it reports one.
pub fn result_of(change: &ChangeFact) -> Option<PipelineResult> {
    let is_github = change.source.as_deref().is_some_and(|source| source.starts_with("github:"));
    if is_github {
        if change.details.get("kind").and_then(|kind| kind.as_str()) != Some("deployment") {
            return None;
        }
        return match change.details.get("state").and_then(|state| state.as_str())? {
            "success" => Some(PipelineResult::Success),
            "failure" | "error" => Some(PipelineResult::Failure),
            _ => None,
        };
    }
    let state = DETAIL_FIELDS.iter().find_map(|field| change.details.get(*field).and_then(|value| value.as_str()))?;
    match state.to_ascii_lowercase().as_str() {
        "passed" | "success" | "succeeded" | "successful" | "ok" => Some(PipelineResult::Success),
        "failed" | "failure" | "error" | "errored" | "broken" => Some(PipelineResult::Failure),
        _ => None,
    }
}

/// Decides the pipeline alert from one service's change events, oldest first, the newest
/// being the one just recorded. `threshold` is N (at least 1). Only the newest event decides
/// whether anything is announced, so events that are not results announce nothing.
pub fn decide(changes_oldest_first: &[ChangeFact], threshold: u32) -> PipelineAlert {
    let Some(newest) = changes_oldest_first.last() else { return PipelineAlert::Nothing };
    match result_of(newest) {
        None => PipelineAlert::Nothing,
        Some(PipelineResult::Success) => PipelineAlert::Resolve,
        Some(PipelineResult::Failure) => {
            let failures = changes_oldest_first
                .iter()
                .rev()
                .filter_map(result_of)
                .take_while(|result| *result == PipelineResult::Failure)
                .count() as u32;
            if failures >= threshold.max(1) { PipelineAlert::Trigger { failures } } else { PipelineAlert::Nothing }
        }
    }
}
