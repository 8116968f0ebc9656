//! Runs the storage conformance suite against a fresh SQLite file per case, with commits
//! synced (the default, whose syncs are shared off the writer's path) and not.

use staunch_store::Store;
use staunch_store_sqlite::{Durability, SqliteStore};
use std::sync::Arc;

async fn fresh_store_with(durability: Durability) -> Arc<dyn Store> {
    let directory = tempfile::tempdir().expect("temporary directory");
    let path = directory.path().join("staunch.db");
    let store = SqliteStore::open(path.to_str().expect("utf-8 path"), durability).await.expect("open store");
    // The directory must outlive the store: leak it for the test's lifetime.
    std::mem::forget(directory);
    Arc::new(store)
}

async fn fresh_store() -> Arc<dyn Store> {
    fresh_store_with(Durability::Normal).await
}

staunch_store::conformance_tests!(fresh_store);

mod synced {
    use super::*;

    async fn fresh_store() -> Arc<dyn Store> {
        fresh_store_with(Durability::Full).await
    }

    staunch_store::conformance_tests!(fresh_store);
}
