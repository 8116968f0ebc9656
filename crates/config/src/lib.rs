//! Configuration: Staunch's own `staunch.yaml` and the `route:` tree of Alertmanager configs.
//!
//! Parsing lives here, in the shell, so the domain crate stays free of YAML. Every loader
//! returns domain types that have already been checked (parse, don't validate).

pub mod alertmanager;
pub mod catalog;
pub mod deploys;
pub mod example;
pub mod heartbeats;
pub mod llm;
pub mod noise;
pub mod prometheus_auth;
mod runbooks;
pub mod slo_import;
pub mod slos;
pub mod sloth;
pub mod staunch;
pub mod telemetry;

pub use staunch::{Config, ConfigError, NotificationSettings, SmtpSettings, SmtpTls, load_config, parse_config};

/// Hex SHA-256 of a secret. Integration keys and API tokens are looked up by this digest,
/// so the secret itself is never stored in the database nor compared byte by byte.
pub fn secret_digest(secret: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(secret.as_bytes()))
}
