//! Heartbeat (outcome) monitors: the rate of a business event that proves customers can do
//! their job (messages sent, checkouts completed) must stay above what the same local hour of
//! the same weekday usually brings. A drop pages even when every infrastructure dashboard is
//! green.
//!
//! Pure arithmetic over per-minute event counts the shell supplies; the clock is a parameter.
//! `slots` is wall-clock time (a slot is one local hour on one date, DST-exact), `history`
//! learns the per-slot rates by walking time forward minute by minute and turns the same slot
//! of the previous weeks into a robust baseline, and `monitor` decides over a short window,
//! with a minimum history before anything may page and hysteresis before it resolves.

pub mod history;
pub mod monitor;
pub mod slots;

pub use history::SlotHistory;
pub use monitor::{HeartbeatConfig, HeartbeatEvaluation, HeartbeatMonitor, HeartbeatState, HeartbeatTransition, Recorded};
pub use slots::{HourSlot, minute_of, minute_start, wall_clock};

#[cfg(test)]
mod tests;
