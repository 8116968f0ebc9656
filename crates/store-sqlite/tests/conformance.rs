//! Runs the storage conformance suite against a fresh SQLite file per case.

use staunch_store::Store;
use staunch_store_sqlite::{Durability, SqliteStore};
use std::sync::Arc;

async fn fresh_store() -> Arc<dyn Store> {
    let directory = tempfile::tempdir().expect("temporary directory");
    let path = directory.path().join("staunch.db");
    let store = SqliteStore::open(path.to_str().expect("utf-8 path"), Durability::Normal).await.expect("open store");
    // The directory must outlive the store: leak it for the test's lifetime.
    std::mem::forget(directory);
    Arc::new(store)
}

staunch_store::conformance_tests!(fresh_store);
