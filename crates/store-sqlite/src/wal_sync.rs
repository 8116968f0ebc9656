//! Syncing the WAL off the writer's path, one fsync shared by every commit made meanwhile.
//!
//! With full durability the write connection runs `synchronous = NORMAL`: a commit writes its
//! frames and publishes them without an fsync, and this module syncs the WAL file. A commit
//! whose `COMMIT` returned before a sync began is durable once that sync ends, so one thread
//! syncing in a loop serves every commit made while its last sync ran, and the writer goes on
//! to its next transaction instead of waiting for the disk. `synchronous = FULL` made the same
//! one fsync per commit, inside `COMMIT`. Checkpoints are unchanged: with `NORMAL` SQLite
//! still syncs the WAL before copying it back and the database file before starting the WAL
//! over.
//!
//! Other connections may read a commit before it is durable; a power loss then takes it back
//! as it would a commit that never happened. What must not happen is that the process acts on
//! it outside (a reply, a page) before the sync: that is the caller's side of
//! [`staunch_store::StoreTx::commit_then`].
//!
//! A failed sync may leave frames in the page cache that the disk lacks, and the kernel may
//! not try them again, so after one the store refuses every write: restarting recovers from
//! what the disk has.

use crate::backend;
use staunch_store::{OnDurable, StoreError, StoreResult};
use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// A handle on the syncing thread of one database; the thread ends once every handle is gone,
/// after the syncs still asked for.
#[derive(Clone)]
pub(crate) struct WalSync {
    shared: Arc<Shared>,
    queue: Sender<OnDurable>,
}

struct Shared {
    wal_path: PathBuf,
    /// The WAL opened for syncing, reopened if the path names another file.
    file: Mutex<Option<File>>,
    /// Why a sync failed, once one has.
    failed: Mutex<Option<String>>,
}

impl WalSync {
    /// Starts the syncing thread for the database at `database`.
    pub(crate) fn start(database: &Path) -> StoreResult<WalSync> {
        let mut wal_path = database.as_os_str().to_owned();
        wal_path.push("-wal");
        let shared = Arc::new(Shared { wal_path: wal_path.into(), file: Mutex::new(None), failed: Mutex::new(None) });
        let (queue, waiting) = std::sync::mpsc::channel();
        let thread_shared = shared.clone();
        std::thread::Builder::new()
            .name("staunch-wal-sync".into())
            .spawn(move || sync_in_turn(&thread_shared, &waiting))
            .map_err(|error| backend(format!("cannot start the wal sync thread: {error}")))?;
        Ok(WalSync { shared, queue })
    }

    /// An error once a sync has failed: no write may start after it.
    pub(crate) fn check_usable(&self) -> StoreResult<()> {
        match lock(&self.shared.failed).as_ref() {
            Some(reason) => Err(sync_failed(reason)),
            None => Ok(()),
        }
    }

    /// Syncs on the calling thread, for a commit that waits for its own durability.
    pub(crate) fn sync_now(&self) -> StoreResult<()> {
        self.shared.sync().map_err(|reason| sync_failed(&reason))
    }

    /// Tells `on_durable` after the next sync the thread begins.
    pub(crate) fn after_next_sync(&self, on_durable: OnDurable) {
        if let Err(unsent) = self.queue.send(on_durable) {
            (unsent.0)(Err(backend("the wal sync thread has stopped")));
        }
    }
}

/// The thread: waits for a commit to sync, takes every one queued meanwhile, syncs once and
/// tells them all.
fn sync_in_turn(shared: &Shared, waiting: &Receiver<OnDurable>) {
    while let Ok(first) = waiting.recv() {
        let mut committed = vec![first];
        committed.extend(waiting.try_iter());
        let outcome = shared.sync();
        for on_durable in committed {
            on_durable(outcome.clone().map_err(|reason| sync_failed(&reason)));
        }
    }
}

impl Shared {
    fn sync(&self) -> Result<(), String> {
        if let Some(reason) = lock(&self.failed).as_ref() {
            return Err(reason.clone());
        }
        let mut file = lock(&self.file);
        let outcome = sync_file(&mut file, &self.wal_path);
        if let Err(reason) = &outcome {
            tracing::error!(%reason, "cannot sync the wal; the store takes no more writes until it is restarted");
            lock(&self.failed).get_or_insert_with(|| reason.clone());
            *file = None;
        }
        outcome
    }
}

/// `fdatasync` of the WAL (PostgreSQL's default on Linux; the bundled SQLite's own sync is a
/// full `fsync`, which also writes the file's times): the WAL is preallocated (`writer.rs`),
/// so a commit rarely changes what `fdatasync` must write besides the frames. The file is
/// (re)opened when the path names another one than the file held, which SQLite never does
/// while the writer is open, so this is a guard only.
fn sync_file(file: &mut Option<File>, wal_path: &Path) -> Result<(), String> {
    let on_disk = std::fs::metadata(wal_path).map_err(|error| format!("{}: {error}", wal_path.display()))?;
    let held = match file.as_ref() {
        Some(held) => Some(held.metadata().map_err(|error| error.to_string())?),
        None => None,
    };
    if held.is_none_or(|held| (held.dev(), held.ino()) != (on_disk.dev(), on_disk.ino())) {
        let opened = std::fs::OpenOptions::new().read(true).write(true).open(wal_path);
        *file = Some(opened.map_err(|error| format!("{}: {error}", wal_path.display()))?);
    }
    let held = file.as_ref().expect("opened above");
    held.sync_data().map_err(|error| format!("{}: {error}", wal_path.display()))
}

fn sync_failed(reason: &str) -> StoreError {
    StoreError::Backend(format!("the wal could not be synced, so the store takes no more writes until restarted: {reason}"))
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::channel;
    use std::time::Duration;

    #[test]
    fn every_commit_queued_is_told_and_a_missing_wal_fails_the_store() {
        let directory = tempfile::tempdir().unwrap();
        let database = directory.path().join("sync.db");
        std::fs::write(directory.path().join("sync.db-wal"), b"frames").unwrap();
        let sync = WalSync::start(&database).unwrap();
        let (told, outcomes) = channel();
        for number in 0..20 {
            let told = told.clone();
            sync.after_next_sync(Box::new(move |outcome| told.send((number, outcome.is_ok())).unwrap()));
        }
        let mut heard: Vec<_> = (0..20).map(|_| outcomes.recv_timeout(Duration::from_secs(10)).unwrap()).collect();
        heard.sort();
        assert_eq!(heard, (0..20).map(|number| (number, true)).collect::<Vec<_>>());
        sync.check_usable().unwrap();

        std::fs::remove_file(directory.path().join("sync.db-wal")).unwrap();
        let error = sync.sync_now().unwrap_err().to_string();
        assert!(error.contains("could not be synced"), "{error}");
        // Even once the file is back, the store stays refused: what the failed sync lost is unknown.
        std::fs::write(directory.path().join("sync.db-wal"), b"frames").unwrap();
        assert!(sync.check_usable().is_err());
        sync.after_next_sync(Box::new(move |outcome| told.send((99, outcome.is_ok())).unwrap()));
        assert_eq!(outcomes.recv_timeout(Duration::from_secs(10)).unwrap(), (99, false));
    }
}
