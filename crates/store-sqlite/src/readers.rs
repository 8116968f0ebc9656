//! The reading connections: plain SQLite connections, each lent to one blocking task at a time.
//!
//! A read runs whole on one thread of tokio's blocking pool: the statement steps and every row
//! is decoded into its record where SQLite holds it (`statement.rs`). Behind a driver that
//! runs each connection on a thread of its own, each row was copied, handed across threads and
//! freed on the other side; listing 1,000 alerts spent about a sixth of its CPU waking threads
//! and contending for SQLite's allocator mutex.

use crate::{backend, closed};
use rusqlite::{Connection, OpenFlags};
use staunch_store::StoreResult;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::Semaphore;

/// Statement shapes kept prepared per reading connection: every listing filter combination.
const STATEMENT_CACHE: usize = 64;

pub(crate) struct Readers {
    path: PathBuf,
    cache_kib: &'static str,
    /// One permit per connection that may be open at once.
    permits: Semaphore,
    idle: Mutex<Vec<Connection>>,
}

impl Readers {
    /// Opens the first connection at once, so a database that cannot be read fails at open.
    pub(crate) fn open(path: &Path, connections: usize, cache_kib: &'static str) -> StoreResult<Readers> {
        let first = connect(path, cache_kib)?;
        Ok(Readers { path: path.to_path_buf(), cache_kib, permits: Semaphore::new(connections), idle: Mutex::new(vec![first]) })
    }

    /// Runs `work` on a reading connection, on a thread that may block.
    pub(crate) async fn read<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let _permit = self.permits.acquire().await.map_err(|_| closed())?;
        let idle = self.idle.lock().map_err(|_| closed())?.pop();
        let connection = match idle {
            Some(connection) => connection,
            None => connect(&self.path, self.cache_kib)?,
        };
        // A read whose caller stopped waiting finishes on its own; its connection is then
        // closed, and the next read opens another.
        let (connection, result) = tokio::task::spawn_blocking(move || {
            let result = work(&connection);
            (connection, result)
        })
        .await
        .map_err(|error| backend(format!("read task failed: {error}")))?;
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(connection);
        }
        result
    }

    /// A connection of its own, outside the pool, for a caller that holds one read transaction
    /// across many calls (the export's snapshot).
    pub(crate) fn dedicated(&self) -> StoreResult<Connection> {
        connect(&self.path, self.cache_kib)
    }

    /// Closes the idle connections; reads after this fail.
    pub(crate) fn close(&self) {
        self.permits.close();
        if let Ok(mut idle) = self.idle.lock() {
            idle.clear();
        }
    }
}

/// Read-only, so no statement on a reader can change the database. The page cache is small:
/// WAL discards it at the first read after a commit, so under writes it holds little that is
/// still valid, and the OS page cache serves the rest.
fn connect(path: &Path, cache_kib: &str) -> StoreResult<Connection> {
    // NO_MUTEX: a connection is lent to one task at a time.
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let connection = Connection::open_with_flags(path, flags).map_err(backend)?;
    connection.busy_timeout(Duration::from_secs(10)).map_err(backend)?;
    connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    connection.execute_batch(&format!("PRAGMA cache_size = {cache_kib};")).map_err(backend)?;
    Ok(connection)
}
