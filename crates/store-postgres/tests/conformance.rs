//! Runs the storage conformance suite against a fresh PostgreSQL database per case (see
//! `support` for where the server comes from, and when the suite is skipped).

mod support;

use staunch_store::Store;
use std::sync::Arc;

async fn fresh_store() -> Arc<dyn Store> {
    Arc::new(support::fresh_store().await)
}

staunch_store::conformance_tests!(fresh_store);
