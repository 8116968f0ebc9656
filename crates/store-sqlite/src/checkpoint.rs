//! Copying the WAL back into the database file, off the writer's path.
//!
//! Only a checkpoint run between two of the writer's own transactions lets the next one start
//! the WAL over, so commits still run one once the WAL holds `WAL_AUTOCHECKPOINT_PAGES` (as
//! SQLite's automatic checkpoint does). Whatever that checkpoint finds left to copy and sync, the
//! commit waits for, and so does every alert queued behind it: 10–20 ms under a flood when a
//! background pass ran every 250 ms. So a thread with a connection of its own copies pages back
//! as the WAL grows, woken by the writer every `WAKE_EVERY_PAGES` pages and at most once per
//! `PAUSE`, and the commit's checkpoint has little left to do.
//!
//! The two checkpoints take turns: a checkpoint that finds another running gives up
//! (`SQLITE_BUSY`), and when the commit's gave up to a background pass, the WAL went on
//! growing past its bound until a later commit's found the pass idle (a test saw 8,577 pages
//! under parallel tests, twice the bound). So the commit's waits for a pass in flight.

use crate::backend;
use rusqlite::{Connection, OpenFlags};
use staunch_store::StoreResult;
use std::cell::Cell;
use std::os::raw::c_int;
use std::path::Path;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// Pages the WAL holds before a commit checkpoints it itself.
pub(crate) const WAL_AUTOCHECKPOINT_PAGES: c_int = 4000;
/// New WAL pages (4 KiB each) that wake the background pass.
const WAKE_EVERY_PAGES: c_int = 256;
/// Between two background passes: each ends with an fsync of the database file, which shares
/// the disk with the commits' fsyncs of the WAL.
const PAUSE: Duration = Duration::from_millis(5);

thread_local! {
    /// Pages in the WAL after the last commit on this thread, set by [`after_commit`], which
    /// SQLite calls on the committing thread before `COMMIT` returns.
    static WAL_PAGES: Cell<c_int> = const { Cell::new(0) };
}

/// The write connection's WAL hook, in place of SQLite's automatic checkpoint: notes the WAL's
/// size for [`Checkpointer::committed`], which checkpoints once the WAL is large (a hook is a
/// plain function, and could not wait for the pass of its own store).
fn after_commit(_wal: &rusqlite::hooks::Wal, pages: c_int) -> rusqlite::Result<()> {
    WAL_PAGES.with(|cell| cell.set(pages));
    Ok(())
}

/// The writer's side: wakes the background pass as the WAL grows. Dropping it stops the pass.
pub(crate) struct Checkpointer {
    wake: SyncSender<()>,
    /// WAL pages when the pass was last woken.
    pages_at_wake: c_int,
    /// Held by whichever checkpoint of this database runs: the commit's or the background pass.
    turn: Arc<Mutex<()>>,
}

impl Checkpointer {
    /// Installs the hook on the write connection and starts the pass on a connection of its own.
    pub(crate) fn start(writer: &Connection, path: &Path) -> StoreResult<Checkpointer> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let connection = Connection::open_with_flags(path, flags).map_err(backend)?;
        connection.execute_batch("PRAGMA cache_size = -64").map_err(backend)?;
        let (wake, woken) = std::sync::mpsc::sync_channel(1);
        let turn = Arc::new(Mutex::new(()));
        let pass_turn = turn.clone();
        std::thread::Builder::new()
            .name("staunch-checkpoint".into())
            .spawn(move || copy_back(connection, woken, pass_turn))
            .map_err(|error| backend(format!("cannot start the checkpoint thread: {error}")))?;
        writer.wal_hook(Some(after_commit));
        Ok(Checkpointer { wake, pages_at_wake: 0, turn })
    }

    /// Called after each commit on the write connection (`writer`), on the committing thread.
    pub(crate) fn committed(&mut self, writer: &Connection) {
        let pages = WAL_PAGES.with(Cell::get);
        if pages >= WAL_AUTOCHECKPOINT_PAGES {
            let _turn = take_turn(&self.turn);
            // The commit has happened: a failed checkpoint is tried again at the next one.
            if let Err(error) = passive_checkpoint(writer) {
                tracing::warn!(%error, "wal checkpoint failed; will retry");
            }
        }
        if pages < self.pages_at_wake {
            // The WAL was started over.
            self.pages_at_wake = 0;
        }
        if pages - self.pages_at_wake < WAKE_EVERY_PAGES {
            return;
        }
        self.pages_at_wake = pages;
        match self.wake.try_send(()) {
            // Full: a wake is already pending.
            Ok(()) | Err(TrySendError::Full(())) => {}
            Err(TrySendError::Disconnected(())) => tracing::warn!("the checkpoint thread has stopped"),
        }
    }
}

fn copy_back(connection: Connection, woken: Receiver<()>, turn: Arc<Mutex<()>>) {
    while woken.recv().is_ok() {
        let checkpointed = {
            let _turn = take_turn(&turn);
            passive_checkpoint(&connection)
        };
        if let Err(error) = checkpointed {
            tracing::warn!(%error, "wal checkpoint failed; will retry");
        }
        std::thread::sleep(PAUSE);
    }
}

fn passive_checkpoint(connection: &Connection) -> rusqlite::Result<()> {
    connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
}

/// The turn guards no data, so one a panicking holder left poisoned is as good as any.
fn take_turn(turn: &Mutex<()>) -> MutexGuard<'_, ()> {
    turn.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pages in the WAL, and how many of them are copied back, as a `PASSIVE` checkpoint on
    /// another connection reports them.
    fn wal_frames(path: &Path) -> (i64, i64) {
        let connection = Connection::open(path).expect("open");
        connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| Ok((row.get(1)?, row.get(2)?))).expect("checkpoint")
    }

    #[test]
    fn under_steady_writes_the_wal_is_started_over_and_nothing_is_lost() {
        let directory = tempfile::tempdir().expect("temporary directory");
        let path = directory.path().join("wal.db");
        let writer = Connection::open(&path).expect("open");
        writer
            .execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF; CREATE TABLE rows (body BLOB)")
            .expect("schema");
        let mut checkpointer = Checkpointer::start(&writer, &path).expect("start");
        // About 3 WAL pages a row: 200 rows a transaction, 150 transactions, some 90,000 pages
        // in all, over twenty times what the WAL may hold.
        let (transactions, rows_each) = (150, 200);
        for _ in 0..transactions {
            writer.execute_batch("BEGIN IMMEDIATE").expect("begin");
            for _ in 0..rows_each {
                writer.execute("INSERT INTO rows (body) VALUES (zeroblob(10000))", []).expect("insert");
            }
            writer.execute_batch("COMMIT").expect("commit");
            checkpointer.committed(&writer);
        }
        let (in_wal, _) = wal_frames(&path);
        assert!(in_wal < i64::from(WAL_AUTOCHECKPOINT_PAGES) + 1000, "the wal holds {in_wal} pages");
        let count: i64 = writer.query_row("SELECT count(*) FROM rows", [], |row| row.get(0)).expect("count");
        assert_eq!(count, transactions * rows_each);
    }
}
