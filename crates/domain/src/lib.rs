//! The pure core of Staunch.
//!
//! Everything here is deterministic and free of I/O: no clocks, no sockets, no files, no
//! database. Time always arrives as a parameter (`now: Timestamp`), which is what makes
//! simulation, replay and "as of time T" evaluation exact. The imperative shell (the store
//! backends and the server) loads state, asks this crate what to do, and persists the answer.

pub mod action_item;
pub mod active_tenants;
pub mod alert;
pub mod catalog;
pub mod deploy;
pub mod directory;
pub mod duration;
pub mod escalation;
pub mod fairness;
pub mod heartbeat;
pub mod incident;
pub mod ingest;
pub mod intake;
pub mod investigation;
pub mod labels;
pub mod matcher;
pub mod noise;
pub mod postmortem;
pub mod rate_limit;
pub mod regression_case;
pub mod report;
pub mod routing;
pub mod runbook;
pub mod schedule;
pub mod severity;
pub mod slo;
pub mod tenant;
pub mod triage;

pub use jiff::Timestamp;
