//! `staunch migrate`: applies the schema migrations a database lacks and says where it
//! started and where it ended. Opening a store migrates anyway; this makes it an explicit step
//! (before starting upgraded replicas, say) with a report.
//!
//! Safe beside running replicas on PostgreSQL (migrations run under an advisory lock, in one
//! transaction). On SQLite it refuses while a server holds the database's engine lock.

use crate::serve::{OpenedStore, database_url, is_postgres, open_store, without_credentials};
use anyhow::Context;
use staunch_store_sqlite::Durability;
use std::path::Path;

pub async fn run(config_path: &Path, db: Option<&str>) -> anyhow::Result<()> {
    let url = database_url(config_path, db);
    let shown = without_credentials(&url);
    let (before, known) = if is_postgres(&url) {
        let before = staunch_store_postgres::schema_version_at(&url)
            .await
            .map_err(|error| anyhow::anyhow!("cannot read the schema version of {shown}: {error}"))?;
        (before, staunch_store_postgres::SCHEMA_VERSION)
    } else {
        let before = staunch_store_sqlite::schema_version_at(&url)
            .await
            .map_err(|error| anyhow::anyhow!("cannot read the schema version of {shown}: {error}"))?;
        (before, staunch_store_sqlite::SCHEMA_VERSION)
    };
    if before > known {
        anyhow::bail!(
            "{shown} is at schema version {before}, newer than this staunch knows ({known}); run a newer staunch against it"
        );
    }
    let opened = open_for(&url, "migrate").await?;
    let after = opened.store.schema_version().await?;
    if after == before {
        println!("{shown}: schema version {after}, up to date");
    } else {
        let applied = after - before;
        let plural = if applied == 1 { "" } else { "s" };
        println!("{shown}: schema version {before} -> {after} ({applied} migration{plural} applied)");
    }
    Ok(())
}

/// Opens the store for a maintenance command (`what` it is for, in the error): migrated,
/// and on SQLite holding the engine lock, so no server writes while the command runs.
pub async fn open_for(url: &str, what: &str) -> anyhow::Result<OpenedStore> {
    open_store(url, Durability::Full).await.with_context(|| {
        let hint = if is_postgres(url) { "" } else { " (stop staunch serve on it first)" };
        format!("cannot {what} {}{hint}", without_credentials(url))
    })
}

#[cfg(test)]
mod tests {
    /// An export names its schema version and an import into either backend checks it, so a
    /// migration on one backend needs one (if only a no-op) on the other.
    #[test]
    fn both_backends_count_the_same_schema_versions() {
        assert_eq!(staunch_store_sqlite::SCHEMA_VERSION, staunch_store_postgres::SCHEMA_VERSION);
    }
}
