//! The embedded SQLite backend: one file, WAL journal, no other service.
//!
//! Owns the reading pool, the write connection (`writer.rs`), the schema migrations and the
//! SQL. Nothing SQLite-specific leaves this crate: callers see only [`staunch_store::Store`].
//!
//! Write transactions start with `BEGIN IMMEDIATE`, taking SQLite's single write lock up
//! front, so two writers queue on the busy timeout instead of deadlocking on a lock upgrade.

mod checkpoint;
mod codec;
mod export;
mod migrate;
pub use export::schema_version_at;
pub use migrate::SCHEMA_VERSION;
mod action_items;
mod alert_keys;
mod deploy_links;
mod investigation;
mod noise_llm;
mod readers;
mod reads;
mod runbook_runs;
mod slo_buckets;
mod statement;
mod telemetry;
mod tx;
mod wal_sync;
mod wal_writes;
mod writer;

use staunch_store::{StoreError, StoreResult};
use std::path::PathBuf;
use std::sync::Arc;

/// How hard a commit tries to reach the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// fsync on every commit: an accepted alert survives power loss.
    Full,
    /// WAL without fsync on commit: an accepted alert survives a crash of the process
    /// (kill -9), not of the machine.
    Normal,
}

pub struct SqliteStore {
    /// The reading connections (`readers.rs`).
    readers: readers::Readers,
    /// The one connection that writes (`writer.rs`), with the large cache its B-tree inserts
    /// reuse; `None` once closed. SQLite has one writer at a time: writers queue on this lock
    /// and are woken the moment it is free, instead of sleeping in SQLite's busy handler
    /// (1–2 ms a try).
    writer: Arc<tokio::sync::Mutex<Option<writer::Writer>>>,
}

impl SqliteStore {
    /// Opens (creating and migrating if needed) the database at `url`, which is a path or a
    /// `sqlite:` URL.
    pub async fn open(url: &str, durability: Durability) -> StoreResult<SqliteStore> {
        SqliteStore::open_with_key_memory(url, durability, alert_keys::DEFAULT_MEMORY_LIMIT).await
    }

    /// `open` with room for `key_memory` dedup keys in memory (tests make it small).
    async fn open_with_key_memory(url: &str, durability: Durability, key_memory: usize) -> StoreResult<SqliteStore> {
        let path = database_path(url)?;
        hold_sqlite_heap_under(SQLITE_SOFT_HEAP_LIMIT_BYTES);
        // The writer creates and migrates the database before any reader opens it.
        let writer = writer::open(&path, durability, WRITER_CACHE_KIB, key_memory)?;
        let readers = readers::Readers::open(&path, READER_CONNECTIONS, READER_CACHE_KIB)?;
        Ok(SqliteStore { readers, writer: Arc::new(tokio::sync::Mutex::new(Some(writer))) })
    }

    pub async fn close(&self) {
        self.readers.close();
        self.writer.lock().await.take();
    }

    /// Waits for the write connection and starts a transaction on it.
    async fn begin_write(&self) -> StoreResult<tx::SqliteTx> {
        tx::SqliteTx::begin(self.writer.clone().lock_owned().await)
    }
}

/// Page cache of the writing connection (negative: KiB, SQLite's convention): the B-tree
/// pages ingest touches again and again.
const WRITER_CACHE_KIB: &str = "-2048";
/// Page cache of each reading connection. WAL discards it at the first read after a commit, so
/// under writes it holds little that is still valid; the OS page cache serves the rest.
const READER_CACHE_KIB: &str = "-512";
const READER_CONNECTIONS: usize = 3;

/// What all of SQLite's connections in the process may hold on the heap before their page
/// caches stop growing and reuse their oldest pages instead. The writer's and the readers'
/// caches are sized to fit under it (3.5 MiB together), yet at the listing benchmark's peak,
/// with the full-text job on the writer and listings on the readers, heaptrack found 6 of
/// SQLite's 9.9 MiB in page-cache pages; with the limit, glibc's heap (SQLite's) was about
/// 7 MiB at the peak instead of 11–12 (`docs/benchmarks.md`, "Memory, step by step"). A page
/// no cache holds is one `pread` away in the OS page cache.
const SQLITE_SOFT_HEAP_LIMIT_BYTES: i64 = 4 << 20;

/// Sets SQLite's soft heap limit, which is process-wide: every store opened shares it.
fn hold_sqlite_heap_under(bytes: i64) {
    // SAFETY: sets one integer in SQLite's global memory statistics, under SQLite's own mutex;
    // the writer (rusqlite) and the readers (sqlx) link the same library.
    unsafe { rusqlite::ffi::sqlite3_soft_heap_limit64(bytes) };
}

/// The file a database URL names: a path, or `sqlite:` / `sqlite://` and a path.
pub fn database_path(url: &str) -> StoreResult<PathBuf> {
    let path = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url);
    if path.is_empty() {
        return Err(StoreError::Backend("the sqlite url names no file".into()));
    }
    if url.starts_with("sqlite:") && path.contains('?') {
        return Err(StoreError::Backend(format!("{url:?}: options in a sqlite url are not supported")));
    }
    Ok(PathBuf::from(path))
}

pub(crate) fn closed() -> StoreError {
    StoreError::Backend("store is closed".into())
}

pub(crate) fn backend(error: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn opening_a_store_holds_sqlites_heap_under_the_soft_limit() {
        let directory = tempfile::tempdir().expect("temporary directory");
        let path = directory.path().join("staunch.db");
        let store = SqliteStore::open(path.to_str().expect("utf-8"), Durability::Full).await.expect("open");
        // SAFETY: a negative argument only reads the limit.
        let limit = unsafe { rusqlite::ffi::sqlite3_soft_heap_limit64(-1) };
        assert_eq!(limit, SQLITE_SOFT_HEAP_LIMIT_BYTES);
        store.close().await;
    }
}
