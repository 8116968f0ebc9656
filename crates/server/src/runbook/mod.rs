//! Runbooks run by the server: starting a run on an incident (or dry-running it), the
//! approvals, ticks and undo a person gives it, and the executor that carries the steps out
//! on the leader.
//!
//! `service` is the one entry point for everything that changes a run ([`RunbookService`]:
//! `start`, `approve`, `tick`, `undo`, each one transaction with its timeline event and audit
//! entry), `executor` the leader's worker that advances active runs step by step, `actions`
//! how a step is carried out, `recovery` whether the SLI has recovered, `context` what a run
//! knows about its incident, `candidates` triage and ranking for an incident.

pub mod actions;
pub mod candidates;
pub mod context;
mod executor;
pub mod recovery;
mod service;

pub use candidates::{CandidateView, Candidates};
pub use executor::RunbookExecutor;
pub use service::{RunbookError, RunbookService, StartRequest};
