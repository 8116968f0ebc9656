//! The PostgreSQL backend: one database shared by any number of Staunch replicas.
//!
//! Owns the connection pool, the schema migrations and the SQL. Nothing PostgreSQL-specific
//! leaves this crate: callers see only [`staunch_store::Store`].
//!
//! Unlike SQLite there is no single writer: write transactions run concurrently at READ
//! COMMITTED. What must not happen twice is guarded by the database itself — unique indexes
//! (one open incident per group, one delivery per idempotency key) and row locks taken with
//! `FOR UPDATE SKIP LOCKED` (due jobs, delivery leases), so two replicas never take the same
//! job or lease the same delivery.
//!
//! Storage choices: times are BIGINT microseconds since the Unix epoch (the SQLite backend's
//! encoding, so both compare times as integers and share the codec's rules); JSON columns are
//! JSONB; bulk statements pass their rows as arrays (`UNNEST($1::text[], ...)`), so one
//! prepared statement serves a batch of any size.

mod codec;
mod export;
mod leader;
mod migrate;
pub use export::schema_version_at;
pub use migrate::SCHEMA_VERSION;
mod action_items;
mod deploy_links;
mod investigation;
mod noise_llm;
mod reads;
mod runbook_runs;
mod slo_buckets;
mod statistics;
mod telemetry;
mod tx;

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use staunch_store::{StoreError, StoreResult};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// Connections one process keeps open at most.
const MAX_CONNECTIONS: u32 = 10;

pub struct PostgresStore {
    pool: PgPool,
    /// For connections of their own (leadership holds its advisory lock on one).
    options: PgConnectOptions,
    /// Rollbacks of dropped transactions still running (see `tx.rs`).
    rollbacks: Arc<tx::PendingRollbacks>,
    growth: Arc<statistics::Growth>,
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user[:password]@host[:port]/database`)
    /// and applies any schema migrations it lacks. The database must exist.
    pub async fn connect(url: &str) -> StoreResult<PostgresStore> {
        let options = PgConnectOptions::from_str(url).map_err(backend)?.application_name("staunch");
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.clone())
            .await
            .map_err(backend)?;
        migrate::run(&pool).await?;
        let growth = statistics::Growth::new(&pool);
        Ok(PostgresStore { pool, options, rollbacks: Arc::default(), growth })
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

pub(crate) fn backend(error: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(error.to_string())
}

pub(crate) fn map_insert_error(error: sqlx::Error, what: &str) -> StoreError {
    if let sqlx::Error::Database(database_error) = &error
        && database_error.is_unique_violation()
    {
        return StoreError::Conflict { what: what.to_string() };
    }
    backend(error)
}
