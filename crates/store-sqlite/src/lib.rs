//! The embedded SQLite backend: one file, WAL journal, no other service.
//!
//! Owns the connection pool, the schema migrations and the SQL. Nothing SQLite-specific
//! leaves this crate: callers see only [`staunch_store::Store`].
//!
//! Write transactions start with `BEGIN IMMEDIATE`, taking SQLite's single write lock up
//! front, so two writers queue on the busy timeout instead of deadlocking on a lock upgrade.

mod codec;
mod export;
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
mod telemetry;
mod tx;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use staunch_store::{StoreError, StoreResult};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

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
    /// Readers: small page caches, since WAL invalidates a reader's cache whenever the writer
    /// commits, so a large one mostly holds stale pages.
    pool: SqlitePool,
    /// The one connection that writes, with the large cache its B-tree inserts reuse.
    writer: SqlitePool,
    /// SQLite has one writer at a time. Writers queue here and are woken the moment the lock
    /// is free, instead of sleeping in SQLite's busy handler (1–2 ms a try).
    write_lock: Arc<tokio::sync::Mutex<()>>,
}

impl SqliteStore {
    /// Opens (creating and migrating if needed) the database at `url`, which is a path or a
    /// `sqlite:` URL.
    pub async fn open(url: &str, durability: Durability) -> StoreResult<SqliteStore> {
        let options = if url.starts_with("sqlite:") {
            SqliteConnectOptions::from_str(url).map_err(backend)?
        } else {
            SqliteConnectOptions::new().filename(Path::new(url))
        };
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(match durability {
                Durability::Full => SqliteSynchronous::Full,
                Durability::Normal => SqliteSynchronous::Normal,
            })
            .busy_timeout(Duration::from_secs(10))
            // Room for every bulk statement shape at every chunk size (see tx.rs).
            .statement_cache_capacity(512)
            // A background pass copies most of the WAL back (see `checkpoint_in_background`), so
            // the checkpoint a commit runs every 4,000 pages finds little left to copy and can
            // start the WAL over; without it the WAL would grow for as long as writes go on.
            .pragma("wal_autocheckpoint", "4000")
            .pragma("journal_size_limit", "67108864")
            // Multi-row inserts into tables with unique keys keep a statement journal; in memory
            // it costs no file writes.
            .pragma("temp_store", "MEMORY")
            .foreign_keys(true);
        // Pinging an idle connection before handing it out costs a round trip to its thread per
        // transaction; a local file has no network connection to go stale.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .test_before_acquire(false)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options.clone().pragma("cache_size", WRITER_CACHE_KIB))
            .await
            .map_err(backend)?;
        migrate::run(&writer).await?;
        let pool = SqlitePoolOptions::new()
            .max_connections(READER_CONNECTIONS)
            .min_connections(1)
            .test_before_acquire(false)
            .connect_with(options.pragma("cache_size", READER_CACHE_KIB))
            .await
            .map_err(backend)?;
        checkpoint_in_background(pool.clone());
        Ok(SqliteStore { pool, writer, write_lock: Arc::new(tokio::sync::Mutex::new(())) })
    }

    pub async fn close(&self) {
        self.pool.close().await;
        self.writer.close().await;
    }
}

/// Page cache of the writing connection (negative: KiB, SQLite's convention): the B-tree
/// pages ingest touches again and again.
const WRITER_CACHE_KIB: &str = "-2048";
/// Page cache of each reading connection. WAL discards it at the first read after a commit, so
/// under writes it holds little that is still valid; the OS page cache serves the rest.
const READER_CACHE_KIB: &str = "-512";
const READER_CONNECTIONS: u32 = 3;

/// How often the WAL is copied back into the database file.
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(250);

/// Copies committed WAL pages into the database on a connection of its own. PASSIVE never
/// blocks readers or the writer; under steady writes it cannot finish (new frames keep coming),
/// which is why commits still run the (then cheap) automatic checkpoint that restarts the WAL.
/// Ends when the pool is closed.
fn checkpoint_in_background(pool: SqlitePool) {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(CHECKPOINT_INTERVAL).await;
            if pool.is_closed() {
                return;
            }
            if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&pool).await {
                if pool.is_closed() {
                    return;
                }
                tracing::warn!(%error, "wal checkpoint failed; will retry");
            }
        }
    });
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
