//! Schema migrations, applied in order on connect and tracked in `schema_migrations`.
//!
//! The whole run is one transaction holding a transaction-scoped advisory lock, so replicas
//! starting together queue on the lock: the first applies what is missing, the others then
//! find it applied. A failed migration rolls back entirely, its version unrecorded.

use crate::backend;
use sqlx::{AssertSqlSafe, PgPool};
use staunch_store::StoreResult;

const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_core.sql"),
    include_str!("../migrations/0002_tenants.sql"),
    include_str!("../migrations/0003_slo_buckets.sql"),
    include_str!("../migrations/0004_runbooks.sql"),
    include_str!("../migrations/0005_postmortems.sql"),
    include_str!("../migrations/0006_deploys.sql"),
    include_str!("../migrations/0007_investigation.sql"),
    include_str!("../migrations/0008_telemetry.sql"),
    include_str!("../migrations/0009_noise_llm.sql"),
    include_str!("../migrations/0010_search_texts.sql"),
    include_str!("../migrations/0011_alert_keys.sql"),
    include_str!("../migrations/0012_drop_search_vocab.sql"),
];

/// The schema version a migrated database is at: the number of migrations.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// The advisory lock key that serializes migrations (any constant; this one spells "staunchm").
const MIGRATION_LOCK: i64 = 0x7374_6175_6e63_686d;

pub(crate) async fn run(pool: &PgPool) -> StoreResult<()> {
    let mut tx = pool.begin().await.map_err(backend)?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(MIGRATION_LOCK).execute(&mut *tx).await.map_err(backend)?;
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS schema_migrations ( \
           version    BIGINT PRIMARY KEY, \
           applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
    )
    .execute(&mut *tx)
    .await
    .map_err(backend)?;
    let applied: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
    for (index, migration) in MIGRATIONS.iter().enumerate().skip(applied.max(0) as usize) {
        sqlx::raw_sql(AssertSqlSafe(*migration)).execute(&mut *tx).await.map_err(backend)?;
        let version = index as i64 + 1;
        sqlx::query("INSERT INTO schema_migrations (version) VALUES ($1)")
            .bind(version)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
    }
    tx.commit().await.map_err(backend)?;
    Ok(())
}
