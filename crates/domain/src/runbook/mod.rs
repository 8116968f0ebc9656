//! Runbooks: named, ordered checklists of safe mitigations for a known symptom.
//!
//! `model` owns the runbook as written and as checked (steps of kinds http, command, wait,
//! check and manual, each reversible or not, idempotent or not, with a timeout), `template`
//! the variables steps may read and how their values are encoded where they land (as data,
//! never code), `render` the concrete request or argv a step makes for one incident, and `run`
//! the state machine that decides what a run does next, `timeline` the entries a run writes.

pub mod model;
pub mod render;
pub mod run;
pub mod template;
#[cfg(test)]
mod tests;
pub mod timeline;

pub use model::{
    Action, AppliesTo, Check, CommandSpec, HttpRequest, IncidentFacts, RawRunbook, RawStep, Runbook, RunbookLimits, Step,
    valid_name,
};
pub use run::{NextAction, RunProgress, RunState, StepProgress, StepStatus, can_undo, decide};
pub use template::{AlertValues, RenderError, Template, TemplateContext};
