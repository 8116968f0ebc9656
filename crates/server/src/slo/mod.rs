//! Service level objectives evaluated by the server: where their events come from (pushed
//! through the API into per-minute buckets in the store, or pulled from Prometheus each tick
//! and stored the same way), the evaluation worker that runs on the leader and raises alerts
//! through the engine, the board the views read, and the SVG budget burn-down chart.
//!
//! `worker` owns the loop, `prometheus` the pull, `alerts` the alert events an SLO raises,
//! `board` the latest evaluations, `chart` the burn-down.

pub mod alerts;
pub mod board;
pub mod chart;
pub mod prometheus;
mod worker;

pub use board::{BurnRate, SloBoard, SloStatus};
pub use worker::SloWorker;

use jiff::SignedDuration;

/// Pushed events may be dated at most this far in the past (the worker re-reads recent
/// buckets for late additions over a longer span).
pub const PUSH_MAX_AGE: SignedDuration = SignedDuration::from_hours(1);
/// ... and at most this far in the future (clock skew between sender and server).
pub const PUSH_MAX_AHEAD: SignedDuration = SignedDuration::from_secs(60);
