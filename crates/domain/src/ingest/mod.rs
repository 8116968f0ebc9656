//! Parsers for the wire formats alerts arrive in. Each takes raw bytes and returns either
//! normalized events or an error that names every bad field, so the HTTP layer can answer
//! with a 4xx without knowing the format. Parsers never panic on any input (fuzzed).

pub mod alertmanager;
pub mod error;
pub mod github;
pub mod grafana;
pub mod opsgenie;
pub mod pagerduty;
pub mod slack;
pub mod telemetry;
mod walk;

pub use error::{FieldError, IngestError};

#[cfg(test)]
mod no_panic_tests;
