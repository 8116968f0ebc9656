//! Group commit for [`Durability::Full`](crate::Durability::Full): the WAL is fsynced on a
//! thread of its own, after commits instead of inside them.
//!
//! The write connection runs `synchronous = NORMAL`, so `COMMIT` writes the transaction's WAL
//! frames and returns without an fsync. Each commit takes the next number of a sequence (under
//! the writer's lock, so numbers follow the order of the frames in the WAL); the sync thread
//! fdatasyncs the WAL file when asked and then publishes the highest number written before
//! that sync began. A commit is durable once the published number reaches its own. A caller
//! with nothing else to do runs the sync on its own thread instead, when none is running. Meanwhile the writer
//! is free for the next transaction, and every commit made during one sync shares the next.
//!
//! Why this is as durable as `synchronous = FULL`: frames are only appended between two
//! restarts of the WAL, so syncing the file after a commit's frames were written makes that
//! commit and every earlier one durable. A restart overwrites frames only after a checkpoint
//! has copied all of them into the database, and SQLite syncs the WAL before a checkpoint and
//! the database after it in `NORMAL` as in `FULL`. What `NORMAL` gives up is the sync inside
//! `COMMIT`; the caller waits for this one instead before anything leaves the process.
//!
//! A failed fsync is final: the kernel may have dropped the pages it could not write, so a
//! later fsync that succeeds proves nothing. Every commit from then on reports the failure.

use staunch_store::{StoreError, StoreResult, WhenDurable};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use tokio::sync::watch;

/// The highest commit number known to be on disk, or why none will be again.
type Synced = Result<u64, String>;

pub(crate) struct WalSync {
    shared: Arc<Shared>,
    synced: watch::Receiver<Synced>,
    thread: Option<std::thread::JoinHandle<()>>,
}

struct Shared {
    wal: PathBuf,
    state: Mutex<State>,
    /// Signalled when a sync is requested, a sync ends, or the store closes.
    changed: Condvar,
    publish: watch::Sender<Synced>,
}

#[derive(Default)]
struct State {
    /// Number of the latest commit.
    written: u64,
    /// Number of the latest commit on disk.
    synced: u64,
    /// The highest number someone waits for the sync thread to sync.
    requested: u64,
    /// Whether a sync is running (on the thread or on a caller's): one at a time.
    syncing: bool,
    failed: Option<String>,
    stopping: bool,
    /// The WAL's descriptor, opened at the first sync (see [`sync_file`]).
    file: Option<std::fs::File>,
}

impl WalSync {
    /// Starts the sync thread for the WAL of the database at `database`.
    pub(crate) fn start(database: &Path) -> StoreResult<WalSync> {
        let mut wal = database.as_os_str().to_owned();
        wal.push("-wal");
        let (publish, synced) = watch::channel(Ok(0));
        let shared =
            Arc::new(Shared { wal: PathBuf::from(wal), state: Mutex::new(State::default()), changed: Condvar::new(), publish });
        let thread = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("staunch-wal-sync".into())
                .spawn(move || sync_loop(&shared))
                .map_err(|error| StoreError::Backend(format!("cannot start the wal sync thread: {error}")))?
        };
        Ok(WalSync { shared, synced, thread: Some(thread) })
    }

    /// Numbers a commit that just returned (called with the writer held) and hands back what
    /// resolves once it is on disk: by default when the sync thread has synced it; a caller
    /// with nothing else to do can sync on its own thread instead (`wait_syncing_here`), which
    /// saves waking the sync thread and being woken by it.
    pub(crate) fn committed(&self) -> WhenDurable {
        let number = {
            let mut state = self.shared.lock();
            state.written += 1;
            state.written
        };
        let mut synced = self.synced.clone();
        let (shared, requester) = (self.shared.clone(), self.shared.clone());
        WhenDurable::after(async move {
            requester.request(number);
            let reached = synced.wait_for(|synced| synced.as_ref().map_or(true, |synced| *synced >= number)).await;
            match reached.as_deref() {
                Ok(Ok(_)) => Ok(()),
                Ok(Err(failure)) => Err(StoreError::Backend(failure.clone())),
                Err(_) => Err(StoreError::Backend("the wal sync thread stopped before this commit was synced".into())),
            }
        })
        .or_sync_here(move || shared.sync_here(number))
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Asks the sync thread to sync commit `number`. Only a waiter asks, so a commit whose
    /// caller syncs it itself never wakes the thread.
    fn request(&self, number: u64) {
        let mut state = self.lock();
        if number <= state.requested {
            return;
        }
        state.requested = number;
        drop(state);
        self.changed.notify_all();
    }

    /// Syncs on the calling thread, unless commit `number` is already on disk or another sync
    /// is running (`None`: wait for that one).
    fn sync_here(&self, number: u64) -> Option<StoreResult<()>> {
        let state = self.lock();
        if let Some(failure) = &state.failed {
            return Some(Err(StoreError::Backend(failure.clone())));
        }
        if state.synced >= number {
            return Some(Ok(()));
        }
        if state.syncing {
            return None;
        }
        Some(self.sync(state).map_err(StoreError::Backend))
    }

    /// Syncs everything written so far; `state` is released meanwhile.
    fn sync(&self, mut state: MutexGuard<'_, State>) -> Result<(), String> {
        debug_assert!(!state.syncing, "one sync at a time");
        state.syncing = true;
        let target = state.written;
        let mut file = state.file.take();
        drop(state);
        let outcome = sync_file(&self.wal, &mut file);
        let mut state = self.lock();
        state.syncing = false;
        state.file = file;
        let published = match outcome {
            Ok(()) => {
                state.synced = state.synced.max(target);
                Ok(state.synced)
            }
            Err(error) => {
                let failure = format!("cannot sync the wal, no write is durable from now on: {error}");
                tracing::error!(wal = %self.wal.display(), "{failure}");
                state.failed = Some(failure.clone());
                Err(failure)
            }
        };
        drop(state);
        self.changed.notify_all();
        let _previous = self.publish.send_replace(published.clone());
        published.map(|_| ())
    }
}

impl Drop for WalSync {
    /// Syncs what is left, then ends the thread.
    fn drop(&mut self) {
        self.shared.lock().stopping = true;
        self.shared.changed.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn sync_loop(shared: &Shared) {
    let mut state = shared.lock();
    loop {
        if state.failed.is_some() {
            return;
        }
        let asked = state.requested > state.synced || (state.stopping && state.written > state.synced);
        if state.syncing || !asked {
            if state.stopping && !state.syncing && state.written == state.synced {
                return;
            }
            state = shared.changed.wait(state).unwrap_or_else(|poisoned| poisoned.into_inner());
            continue;
        }
        let _ = shared.sync(state);
        state = shared.lock();
    }
}

/// fdatasyncs the WAL file. Its descriptor is opened once and checked against the path before
/// each sync: SQLite keeps the file while any connection is open, but syncing a file that had
/// been replaced would prove nothing.
fn sync_file(wal: &Path, file: &mut Option<std::fs::File>) -> std::io::Result<()> {
    let on_path = std::fs::metadata(wal)?.ino();
    let current = match file.take() {
        Some(open) if open.metadata()?.ino() == on_path => open,
        _ => std::fs::OpenOptions::new().write(true).open(wal)?,
    };
    current.sync_data()?;
    *file = Some(current);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_commit_is_durable_once_a_sync_after_it_returned() {
        let directory = tempfile::tempdir().unwrap();
        let database = directory.path().join("staunch.db");
        std::fs::write(directory.path().join("staunch.db-wal"), b"frames").unwrap();
        let sync = WalSync::start(&database).unwrap();
        let waits: Vec<WhenDurable> = (0..5).map(|_| sync.committed()).collect();
        for wait in waits {
            assert!(!wait.is_already());
            wait.wait().await.unwrap();
        }
        assert_eq!(*sync.synced.borrow(), Ok(5), "the five commits are synced");
    }

    #[tokio::test]
    async fn a_caller_with_nothing_else_to_do_syncs_on_its_own_thread() {
        let directory = tempfile::tempdir().unwrap();
        let database = directory.path().join("staunch.db");
        std::fs::write(directory.path().join("staunch.db-wal"), b"frames").unwrap();
        let sync = WalSync::start(&database).unwrap();
        for _ in 0..20 {
            sync.committed().wait_syncing_here().await.unwrap();
        }
        let state = sync.shared.lock();
        assert_eq!((state.written, state.synced, state.syncing), (20, 20, false));
    }

    #[tokio::test]
    async fn a_failed_sync_fails_every_commit_after_it() {
        let directory = tempfile::tempdir().unwrap();
        // No WAL file to open: the sync fails.
        let sync = WalSync::start(&directory.path().join("staunch.db")).unwrap();
        let error = sync.committed().wait().await.unwrap_err();
        assert!(error.to_string().contains("cannot sync the wal"), "{error}");
        let error = sync.committed().wait_syncing_here().await.unwrap_err();
        assert!(error.to_string().contains("cannot sync the wal"), "{error}");
    }
}
