//! Service level objectives: what "healthy" means as a number, and when to page about it.
//!
//! Everything here is pure arithmetic over counts the shell supplies; the clock is a
//! parameter. `objective` holds the definition types (objective, period) that are parsed
//! rather than validated, `windows` the multi-window multi-burn-rate alert windows (the
//! Google SRE Workbook defaults), `counters` a ring of per-minute good/total buckets with
//! running window sums, and `evaluate` the decisions (page, ticket, ok, unknown) made from it.

pub mod counters;
pub mod evaluate;
pub mod objective;
pub mod windows;

pub use counters::{BucketRing, Counts, MINUTE_MS};
pub use evaluate::{AlertTransition, Evaluation, Evaluator, EvaluatorConfig, FiringLevel, SloState};
pub use objective::{Objective, ObjectiveError, SloPeriod, SloPeriodError};
pub use windows::{AlertWindows, BurnWindow, BurnWindowRule, Severity};
