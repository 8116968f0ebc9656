//! Telemetry in the server: what live investigations read. Services push log lines,
//! spans and metric points (`http/telemetry.rs`); the store keeps them for the configured
//! retention (`retention`, the leader's pruner); `prometheus` pulls configured metric series
//! for the same window; `window` reads the telemetry around an onset, never at or after the
//! "as of" time, and `case` turns it into the investigation engine's input (pure,
//! unit-tested), so a live incident is ranked with the same signals as a recorded one.

pub mod case;
pub mod prometheus;
pub mod retention;
pub mod window;

pub use case::Lookaround;
pub use prometheus::PrometheusSignals;
pub use retention::TelemetryPruner;
pub use window::{WindowOutcome, investigate_window, investigate_window_with};
