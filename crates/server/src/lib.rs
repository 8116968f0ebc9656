//! Staunch's imperative shell: the HTTP API and ingest endpoints, the engine that applies
//! domain decisions to the store, and the outbox that delivers pages.
//!
//! Data flow: a request is parsed into domain types (`http`), handed to the single engine
//! task (`engine`) which groups concurrent commands into one durable transaction, and only
//! then answered. Pages are rows in the outbox; `outbox` sends them with retries and records
//! every attempt. Timers (escalations) are jobs in the database, so a restart resumes them.

pub mod clock;
mod connections;
pub mod deploys;
pub mod engine;
pub mod facts;
pub mod heartbeat;
pub mod http;
pub mod investigation;
pub mod leader;
pub mod llm;
mod locks;
pub mod noise;
pub mod outbox;
mod payload;
pub mod prometheus_api;
pub mod receiver;
pub mod runbook;
pub mod server;
pub mod signals;
pub mod slo;
pub mod telemetry;
pub mod tls;

pub use clock::{Clock, SystemClock};
pub use server::{ServerOptions, serve};
