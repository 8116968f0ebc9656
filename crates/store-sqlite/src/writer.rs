//! The one connection that writes.
//!
//! Every statement of the backend runs on a plain SQLite connection on the calling thread
//! (`statement.rs`): behind a driver that runs each connection on a thread of its own, every
//! statement was a message to that thread and a wake-up back, which was most of the cost of a
//! small transaction (about a third of the CPU at one alert per request). The write connection
//! is owned by the store and used on whichever thread holds its lock, so a whole transaction
//! runs without leaving the thread of the task that began it.

use crate::alert_keys::{RecentKeys, TxKeys};
use crate::checkpoint::{Checkpointer, WAL_AUTOCHECKPOINT_PAGES};
use crate::wal_sync::WalSync;
use crate::{Durability, backend};
use rusqlite::{Connection, OpenFlags};
use staunch_store::StoreResult;
use std::path::Path;
use std::time::Duration;

/// Prepared statements kept per connection: room for every bulk statement shape at every
/// chunk size (see [`statement_chunks`]).
const STATEMENT_CACHE: usize = 512;

/// The most rows one multi-row statement carries: far below SQLite's 32,766 bound variables
/// even for the widest table (alerts, 19 columns).
const LARGEST_CHUNK: usize = 256;

/// Splits `items` into chunks whose sizes are powers of two (largest first). Every distinct
/// row count is a distinct statement to parse; with these sizes a handful of statements per
/// query shape serve every batch and stay prepared in the connection's statement cache.
pub(crate) fn statement_chunks<T>(items: &[T]) -> impl Iterator<Item = &[T]> {
    let mut rest = items;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let size = LARGEST_CHUNK.min(1 << rest.len().ilog2());
        let (chunk, remaining) = rest.split_at(size);
        rest = remaining;
        Some(chunk)
    })
}

/// The write connection and what the writer keeps in memory beside it.
pub(crate) struct Writer {
    pub(crate) connection: Connection,
    /// Keys of recent alerts not yet in `alert_keys` (see `alert_keys.rs`).
    pub(crate) keys: RecentKeys,
    /// Told of every commit, so the WAL is copied back as it grows (see `checkpoint.rs`).
    pub(crate) checkpointer: Checkpointer,
    /// Syncs the WAL for commits with full durability (see `wal_sync.rs`); `None` when commits
    /// are not synced.
    pub(crate) wal_sync: Option<WalSync>,
}

/// Opens the writer: the connection (see [`connect`]), which creates the database file and
/// applies the migrations it lacks, and the keys of recent alerts, written out at once when
/// far more are missing from `alert_keys` than memory holds (the first open after the
/// migration that made the table).
pub(crate) fn open(path: &Path, durability: Durability, cache_kib: &str, key_memory: usize) -> StoreResult<Writer> {
    let connection = connect(path, durability, cache_kib)?;
    crate::migrate::run(&connection)?;
    let checkpointer = Checkpointer::start(&connection, path)?;
    // Without an fsync per commit, growing the file costs a commit nothing worth the 16 MiB
    // of zeros written at every open.
    let wal_sync = match durability {
        Durability::Full => {
            preallocate_wal(&connection, path)?;
            Some(WalSync::start(path)?)
        }
        Durability::Normal => None,
    };
    let mut keys = RecentKeys::load(&connection, key_memory)?;
    let buckets = keys.buckets_to_write(&TxKeys::default());
    if buckets.len() > 1 {
        tracing::info!(keys = keys.len(), "writing the dedup keys of alerts");
        connection.execute_batch("BEGIN IMMEDIATE").map_err(backend)?;
        let written = crate::alert_keys::write(&connection, &keys, &TxKeys::default(), &buckets);
        match written.and_then(|()| connection.execute_batch("COMMIT").map_err(backend)) {
            Ok(()) => keys.committed(TxKeys::default(), &buckets),
            Err(error) => {
                let _ = connection.execute_batch("ROLLBACK");
                return Err(error);
            }
        }
    }
    Ok(Writer { connection, keys, checkpointer, wal_sync })
}

/// Gives the WAL file the room it is written in between two restarts, as zeros on disk, so a
/// commit's fsync (`Durability::Full`) writes its pages only: a commit that grows the file also makes the file
/// system allocate blocks and journal the new size, which took a quarter to a half more per
/// fsync on this kind of disk. Only the bytes past the file's end are written, under the write
/// lock, so no frame SQLite wrote is touched; zeros are never a valid frame, so recovery stops
/// at them as it does at the stale frames a restarted WAL leaves behind.
fn preallocate_wal(connection: &Connection, path: &Path) -> StoreResult<()> {
    let page_size: i64 = connection.query_row("PRAGMA page_size", [], |row| row.get(0)).map_err(backend)?;
    let page_size = page_size.unsigned_abs();
    let wanted = 32 + (WAL_AUTOCHECKPOINT_PAGES.unsigned_abs() as u64 + 96) * (24 + page_size);
    let mut wal_path = path.as_os_str().to_owned();
    wal_path.push("-wal");
    connection.execute_batch("BEGIN IMMEDIATE").map_err(backend)?;
    let extended = extend_with_zeros(Path::new(&wal_path), wanted);
    connection.execute_batch("ROLLBACK").map_err(backend)?;
    extended.map_err(|error| backend(format!("cannot preallocate the wal: {error}")))
}

fn extend_with_zeros(path: &Path, wanted: u64) -> std::io::Result<()> {
    use std::io::{Seek, SeekFrom, Write};
    let mut file = match std::fs::OpenOptions::new().write(true).open(path) {
        Ok(file) => file,
        // No WAL yet: SQLite creates it at the first write, and it grows from there.
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(error),
    };
    let length = file.metadata()?.len();
    if length >= wanted {
        return Ok(());
    }
    file.seek(SeekFrom::Start(length))?;
    let zeros = vec![0u8; 1 << 20];
    let mut left = wanted - length;
    while left > 0 {
        let chunk = left.min(zeros.len() as u64) as usize;
        file.write_all(&zeros[..chunk])?;
        left -= chunk as u64;
    }
    file.sync_data()
}

/// Opens the write connection, creating the file if needed, with the settings its commits rely
/// on:
/// - `journal_size_limit`: the WAL is started over after the checkpoints of `checkpoint.rs`;
///   the file is then cut back to this size.
/// - `temp_store`: multi-row inserts into tables with unique keys keep a statement journal; in
///   memory it costs no file writes.
fn connect(path: &Path, durability: Durability, cache_kib: &str) -> StoreResult<Connection> {
    // NO_MUTEX: the store's lock already makes sure one thread at a time uses it.
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    // Gathered WAL writes are written out at each commit frame, before SQLite publishes the
    // commit; with full durability only, where they also save `wal_sync.rs` syncing many
    // small writes (see `wal_writes.rs`).
    let connection = match durability {
        Durability::Full => match crate::wal_writes::register() {
            Ok(()) => Connection::open_with_flags_and_vfs(path, flags, crate::wal_writes::VFS_NAME),
            Err(error) => {
                tracing::warn!(%error, "wal writes are made one by one");
                Connection::open_with_flags(path, flags)
            }
        },
        Durability::Normal => Connection::open_with_flags(path, flags),
    }
    .map_err(backend)?;
    connection.busy_timeout(Duration::from_secs(10)).map_err(backend)?;
    connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    // Both durabilities commit without an fsync; with full durability `wal_sync.rs` syncs the
    // WAL after each commit, and nothing is answered before it has.
    connection
        .execute_batch(&format!(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA cache_size = {cache_kib}; \
             PRAGMA journal_size_limit = 67108864; PRAGMA temp_store = MEMORY; \
             PRAGMA foreign_keys = ON;"
        ))
        .map_err(backend)?;
    Ok(connection)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statement_chunks_are_powers_of_two_and_cover_everything() {
        let sizes = |count: usize| statement_chunks(&vec![0u8; count]).map(<[u8]>::len).collect::<Vec<_>>();
        assert_eq!(sizes(0), Vec::<usize>::new());
        assert_eq!(sizes(1), vec![1]);
        assert_eq!(sizes(7), vec![4, 2, 1]);
        assert_eq!(sizes(940), vec![256, 256, 256, 128, 32, 8, 4]);
    }
}
