//! Schema migrations, applied in order on open and tracked in `PRAGMA user_version`.

use crate::backend;
use sqlx::{AssertSqlSafe, SqlitePool};
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

pub(crate) async fn run(pool: &SqlitePool) -> StoreResult<()> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.map_err(backend)?;
    let applied: i64 = sqlx::query_scalar("PRAGMA user_version").fetch_one(&mut *tx).await.map_err(backend)?;
    for (index, migration) in MIGRATIONS.iter().enumerate().skip(applied as usize) {
        sqlx::raw_sql(AssertSqlSafe(*migration)).execute(&mut *tx).await.map_err(backend)?;
        let version = index + 1;
        sqlx::query(AssertSqlSafe(format!("PRAGMA user_version = {version}"))).execute(&mut *tx).await.map_err(backend)?;
    }
    tx.commit().await.map_err(backend)?;
    Ok(())
}
