//! Heartbeat (outcome) monitors evaluated by the server: business events pushed through the
//! API into per-minute buckets (stored beside SLO buckets under `heartbeat:{id}`), the worker
//! that runs on the leader and pages through the engine when the rate drops below what the
//! same weekday and hour usually bring, and the board the views read.
//!
//! `worker` owns the loop, `alerts` the alert event a drop raises, `board` the latest
//! evaluations and the monitors whose history a backfill changed.

pub mod alerts;
pub mod board;
mod worker;

pub use board::{HeartbeatBoard, HeartbeatStatus};
pub use worker::HeartbeatWorker;

use jiff::SignedDuration;

/// Events pushed within this span of now are picked up by the worker's re-read of recent
/// buckets; older ones (a backfill of history) make it rebuild the monitor.
pub const RECENT_LOOKBACK: SignedDuration = SignedDuration::from_hours(2);
/// Pushed events may be dated at most this far ahead (clock skew between sender and server).
pub const PUSH_MAX_AHEAD: SignedDuration = SignedDuration::from_secs(60);
