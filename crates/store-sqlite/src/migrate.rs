//! Schema migrations, applied in order on open and tracked in `PRAGMA user_version`.

use crate::backend;
use rusqlite::Connection;
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

/// Applies the migrations the database lacks, in one transaction on the write connection.
pub(crate) fn run(connection: &Connection) -> StoreResult<()> {
    connection.execute_batch("BEGIN IMMEDIATE").map_err(backend)?;
    let applied = apply_missing(connection);
    match applied.and_then(|()| connection.execute_batch("COMMIT").map_err(backend)) {
        Ok(()) => Ok(()),
        Err(error) => {
            let _ = connection.execute_batch("ROLLBACK");
            Err(error)
        }
    }
}

fn apply_missing(connection: &Connection) -> StoreResult<()> {
    let applied: i64 = connection.query_row("PRAGMA user_version", [], |row| row.get(0)).map_err(backend)?;
    for (index, migration) in MIGRATIONS.iter().enumerate().skip(applied.max(0) as usize) {
        let version = index + 1;
        connection.execute_batch(migration).map_err(|error| backend(format!("migration {version}: {error}")))?;
        connection.execute_batch(&format!("PRAGMA user_version = {version}")).map_err(backend)?;
    }
    Ok(())
}
