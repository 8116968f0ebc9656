//! The command-line client: talks to a running server over the JSON API and renders what it
//! gets as readable tables or, with `--json`, as the API's own JSON.

mod client;
mod render;
mod render_heartbeat;
mod render_investigation;
mod render_report;
mod render_runbook;
mod render_slo;

pub use client::{Client, ClientError};
pub use render::{render_audit, render_incident, render_incidents, render_oncall, render_silences};
pub use render_heartbeat::render_heartbeats;
pub use render_investigation::{render_catalog_sync, render_investigation};
pub use render_report::render_report;
pub use render_runbook::{render_candidates, render_run, render_runbooks, render_runs};
pub use render_slo::render_slos;
