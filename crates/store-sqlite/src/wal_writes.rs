//! The write connection's WAL writes, gathered into one system call per commit.
//!
//! SQLite appends each frame to the WAL as two writes, its 24-byte header and its page, so a
//! commit of 25 pages (a new incident with its alert, timeline, page and timers) is 50
//! `pwrite`s before the `fsync`. On this kind of machine those took 150–300 µs, against
//! 10–25 µs for the same bytes in one write. This module registers an SQLite VFS that is the
//! platform's own (`unix`) for every file but the WAL, where it keeps consecutive writes in a
//! buffer and writes them out in one call.
//!
//! The buffer is written out before anything else touches the file: a sync, a read, a size or
//! a truncation, closing, and any write that does not continue it. It is also written out
//! with the page of a commit frame (a frame whose header gives the database's size), the last
//! write of a commit: SQLite publishes the new frames in the WAL index right after it, without
//! a sync (`synchronous = NORMAL`, see `wal_sync.rs`), and no other connection may be told of a
//! frame still in the buffer.

use rusqlite::ffi;
#[cfg(test)]
use std::cell::Cell;
use std::ffi::{CStr, c_char, c_int, c_void};
use std::sync::OnceLock;

/// The VFS's name, given to `sqlite3_open_v2`.
pub(crate) const VFS_NAME: &CStr = c"staunch-wal-writes";

/// The most bytes kept before they are written: the most the platform VFS writes in one call
/// (it masks the length with `0x1ffff`). 31 frames of 4 KiB pages, more than a new incident's
/// commit; larger transactions write a buffer-full at a time.
const BUFFER_BYTES: usize = 0x1ffff;

#[cfg(test)]
thread_local! {
    /// WAL writes SQLite asked for on this thread, and writes made to the file.
    static WRITES: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
}

/// How many WAL writes SQLite asked for on this thread and how many reached the file.
#[cfg(test)]
pub(crate) fn write_counts() -> (u64, u64) {
    WRITES.with(Cell::get)
}

/// Counted for the tests only: this is on every WAL write.
#[cfg(test)]
fn count_write(asked: u64, made: u64) {
    WRITES.with(|writes| {
        let (asked_before, made_before) = writes.get();
        writes.set((asked_before + asked, made_before + made));
    });
}

#[cfg(not(test))]
fn count_write(_asked: u64, _made: u64) {}

/// Registers the VFS (once per process); an error says why it could not be.
pub(crate) fn register() -> Result<(), String> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED.get_or_init(register_once).clone()
}

/// The platform's VFS, which every call ends in.
static PARENT: OnceLock<ParentVfs> = OnceLock::new();

struct ParentVfs(*mut ffi::sqlite3_vfs);
// SAFETY: SQLite's VFS objects are immutable once registered and safe to use from any thread.
unsafe impl Send for ParentVfs {}
unsafe impl Sync for ParentVfs {}

fn register_once() -> Result<(), String> {
    // SAFETY: `sqlite3_vfs_find` initialises SQLite if needed and returns a registered VFS or null.
    let parent = unsafe { ffi::sqlite3_vfs_find(c"unix".as_ptr()) };
    if parent.is_null() {
        return Err("sqlite has no unix vfs".to_owned());
    }
    let parent = PARENT.get_or_init(|| ParentVfs(parent)).0;
    // SAFETY: `parent` is a registered VFS and lives as long as the process.
    let mut vfs: ffi::sqlite3_vfs = unsafe { std::ptr::read(parent) };
    // Every other method is the parent's and gets the same `pAppData` and limits it expects.
    vfs.szOsFile += std::mem::size_of::<WalFile>() as c_int;
    vfs.pNext = std::ptr::null_mut();
    vfs.zName = VFS_NAME.as_ptr();
    vfs.xOpen = Some(open);
    let vfs = Box::leak(Box::new(vfs));
    // SAFETY: `vfs` is never freed; registering it as not the default changes no other connection.
    let code = unsafe { ffi::sqlite3_vfs_register(vfs, 0) };
    if code != ffi::SQLITE_OK {
        return Err(format!("cannot register the wal vfs: sqlite error {code}"));
    }
    Ok(())
}

fn parent() -> *mut ffi::sqlite3_vfs {
    PARENT.get().expect("the parent vfs is found before this vfs is registered").0
}

/// A WAL file: SQLite's file header, the buffer, and the parent's file right behind.
#[repr(C)]
struct WalFile {
    base: ffi::sqlite3_file,
    pending: *mut Pending,
    inner: *mut ffi::sqlite3_file,
}

/// Bytes written by SQLite and not yet by us: `bytes` belong at `offset` onwards.
struct Pending {
    offset: i64,
    bytes: Vec<u8>,
    /// The last write was a commit frame's header: its page ends the commit.
    commit_frame_begun: bool,
}

/// The size of a WAL frame's header; the WAL's own header is 32 bytes.
const FRAME_HEADER_BYTES: usize = 24;

/// Whether `bytes`, one write, is the header of a commit frame: bytes 4–7 of a frame header
/// are the database's size in pages after the commit, and zero in every other frame.
fn is_commit_frame_header(bytes: &[u8]) -> bool {
    bytes.len() == FRAME_HEADER_BYTES && bytes[4..8] != [0; 4]
}

unsafe extern "C" fn open(
    _vfs: *mut ffi::sqlite3_vfs,
    name: *const c_char,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    let parent = parent();
    // SAFETY: SQLite gives `file` room for `szOsFile` bytes, which covers the parent's file,
    // and `parent` is the registered platform VFS.
    unsafe {
        let Some(parent_open) = (*parent).xOpen else { return ffi::SQLITE_CANTOPEN };
        if flags & ffi::SQLITE_OPEN_WAL == 0 {
            // Anything but the WAL is the parent's file, with the parent's methods.
            return parent_open(parent, name, file, flags, out_flags);
        }
        let wal = file.cast::<WalFile>();
        let inner = file.cast::<u8>().add(std::mem::size_of::<WalFile>()).cast::<ffi::sqlite3_file>();
        (*wal).base.pMethods = std::ptr::null();
        let code = parent_open(parent, name, inner, flags, out_flags);
        if code != ffi::SQLITE_OK {
            return code;
        }
        let pending = Box::new(Pending { offset: 0, bytes: Vec::with_capacity(BUFFER_BYTES), commit_frame_begun: false });
        (*wal).pending = Box::into_raw(pending);
        (*wal).inner = inner;
        (*wal).base.pMethods = &WAL_METHODS;
        ffi::SQLITE_OK
    }
}

static WAL_METHODS: ffi::sqlite3_io_methods = ffi::sqlite3_io_methods {
    // Version 1: the WAL needs neither shared memory nor memory mapping (both are the
    // database file's).
    iVersion: 1,
    xClose: Some(close),
    xRead: Some(read),
    xWrite: Some(write),
    xTruncate: Some(truncate),
    xSync: Some(sync),
    xFileSize: Some(file_size),
    xLock: Some(lock),
    xUnlock: Some(unlock),
    xCheckReservedLock: Some(check_reserved_lock),
    xFileControl: Some(file_control),
    xSectorSize: Some(sector_size),
    xDeviceCharacteristics: Some(device_characteristics),
    xShmMap: None,
    xShmLock: None,
    xShmBarrier: None,
    xShmUnmap: None,
    xFetch: None,
    xUnfetch: None,
};

/// The buffer and the parent's file of a WAL opened by [`open`].
///
/// SAFETY: `file` must be a `WalFile` opened by [`open`], used by one thread at a time (SQLite
/// calls a file's methods under its connection's lock).
unsafe fn parts<'a>(file: *mut ffi::sqlite3_file) -> (&'a mut Pending, *mut ffi::sqlite3_file, &'a ffi::sqlite3_io_methods) {
    unsafe {
        let wal = file.cast::<WalFile>();
        let inner = (*wal).inner;
        (&mut *(*wal).pending, inner, &*(*inner).pMethods)
    }
}

/// Writes out what is pending.
unsafe fn flush(pending: &mut Pending, inner: *mut ffi::sqlite3_file, methods: &ffi::sqlite3_io_methods) -> c_int {
    if pending.bytes.is_empty() {
        return ffi::SQLITE_OK;
    }
    // SAFETY: `inner` is the parent's open file.
    let code = unsafe { write_through(inner, methods, &pending.bytes, pending.offset) };
    // Dropped even on error: the error fails the statement or the commit that caused the
    // flush, and SQLite writes those frames again in a later transaction.
    pending.bytes.clear();
    code
}

/// Writes `bytes` at `offset` with the parent's method.
unsafe fn write_through(inner: *mut ffi::sqlite3_file, methods: &ffi::sqlite3_io_methods, bytes: &[u8], offset: i64) -> c_int {
    let Some(inner_write) = methods.xWrite else { return ffi::SQLITE_IOERR_WRITE };
    count_write(0, 1);
    // SAFETY: `inner` is the parent's open file and `bytes` outlives the call.
    unsafe { inner_write(inner, bytes.as_ptr().cast(), bytes.len() as c_int, offset) }
}

unsafe extern "C" fn write(file: *mut ffi::sqlite3_file, data: *const c_void, amount: c_int, offset: i64) -> c_int {
    count_write(1, 0);
    // SAFETY: see `parts`; SQLite's `data` holds `amount` bytes.
    unsafe {
        let (pending, inner, methods) = parts(file);
        let bytes = std::slice::from_raw_parts(data.cast::<u8>(), amount.max(0) as usize);
        let ends_commit = std::mem::replace(&mut pending.commit_frame_begun, is_commit_frame_header(bytes));
        let continues = !pending.bytes.is_empty() && offset == pending.offset + pending.bytes.len() as i64;
        if !(continues && pending.bytes.len() + bytes.len() <= BUFFER_BYTES) {
            let code = flush(pending, inner, methods);
            if code != ffi::SQLITE_OK {
                return code;
            }
            if bytes.len() > BUFFER_BYTES {
                return write_through(inner, methods, bytes, offset);
            }
            pending.offset = offset;
        }
        pending.bytes.extend_from_slice(bytes);
        if ends_commit {
            return flush(pending, inner, methods);
        }
        ffi::SQLITE_OK
    }
}

/// Writes out what is pending, then calls the parent's method.
macro_rules! after_flush {
    ($name:ident, $method:ident, ($($argument:ident: $type:ty),*)) => {
        unsafe extern "C" fn $name(file: *mut ffi::sqlite3_file, $($argument: $type),*) -> c_int {
            // SAFETY: see `parts`.
            unsafe {
                let (pending, inner, methods) = parts(file);
                let code = flush(pending, inner, methods);
                if code != ffi::SQLITE_OK {
                    return code;
                }
                match methods.$method {
                    Some(method) => method(inner, $($argument),*),
                    None => ffi::SQLITE_IOERR,
                }
            }
        }
    };
}

after_flush!(read, xRead, (data: *mut c_void, amount: c_int, offset: i64));
after_flush!(truncate, xTruncate, (size: i64));
after_flush!(sync, xSync, (flags: c_int));
after_flush!(file_size, xFileSize, (size: *mut i64));

/// Calls the parent's method: nothing pending matters to it.
macro_rules! passed_on {
    ($name:ident, $method:ident, $default:expr, ($($argument:ident: $type:ty),*)) => {
        unsafe extern "C" fn $name(file: *mut ffi::sqlite3_file, $($argument: $type),*) -> c_int {
            // SAFETY: see `parts`.
            unsafe {
                let (_, inner, methods) = parts(file);
                match methods.$method {
                    Some(method) => method(inner, $($argument),*),
                    None => $default,
                }
            }
        }
    };
}

passed_on!(lock, xLock, ffi::SQLITE_OK, (level: c_int));
passed_on!(unlock, xUnlock, ffi::SQLITE_OK, (level: c_int));
passed_on!(check_reserved_lock, xCheckReservedLock, ffi::SQLITE_OK, (reserved: *mut c_int));
passed_on!(file_control, xFileControl, ffi::SQLITE_NOTFOUND, (operation: c_int, argument: *mut c_void));
passed_on!(sector_size, xSectorSize, 4096, ());
passed_on!(device_characteristics, xDeviceCharacteristics, 0, ());

unsafe extern "C" fn close(file: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: see `parts`; after this SQLite never uses the file again.
    unsafe {
        let (pending, inner, methods) = parts(file);
        let flushed = flush(pending, inner, methods);
        let closed = match methods.xClose {
            Some(method) => method(inner),
            None => ffi::SQLITE_OK,
        };
        let wal = file.cast::<WalFile>();
        drop(Box::from_raw((*wal).pending));
        (*wal).pending = std::ptr::null_mut();
        if flushed != ffi::SQLITE_OK { flushed } else { closed }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::{Connection, OpenFlags};

    fn open_through_vfs(path: &std::path::Path, synchronous: &str) -> Connection {
        register().unwrap();
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE;
        let connection = Connection::open_with_flags_and_vfs(path, flags, VFS_NAME).unwrap();
        connection.execute_batch(&format!("PRAGMA journal_mode = WAL; PRAGMA synchronous = {synchronous};")).unwrap();
        connection
    }

    #[test]
    fn a_commit_writes_its_frames_in_one_call_and_other_connections_read_them() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("wal.db");
        let writer = open_through_vfs(&path, "FULL");
        writer
            .execute_batch("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); CREATE INDEX notes_body ON notes(body);")
            .unwrap();
        let reader = Connection::open(&path).unwrap();

        let (asked_before, made_before) = write_counts();
        writer.execute_batch("BEGIN IMMEDIATE").unwrap();
        for number in 0..200 {
            writer.execute("INSERT INTO notes (body) VALUES (?1)", [format!("{number:0>3000}")]).unwrap();
        }
        writer.execute_batch("COMMIT").unwrap();
        let (asked_after, made_after) = write_counts();

        let count: i64 = reader.query_row("SELECT count(*) FROM notes", [], |row| row.get(0)).unwrap();
        assert_eq!(count, 200);
        // Two writes asked per frame; a buffer-full of frames at a time reaches the file.
        let asked = asked_after - asked_before;
        let made = made_after - made_before;
        assert!(asked >= 300, "asked {asked}");
        assert!(made * 20 < asked, "asked {asked}, made {made}");
    }

    /// A fresh database in its own directory with an empty `notes` table, written through the VFS.
    fn notes_through_vfs(synchronous: &str) -> (tempfile::TempDir, std::path::PathBuf, Connection) {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("wal.db");
        let writer = open_through_vfs(&path, synchronous);
        writer.execute_batch("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)").unwrap();
        (directory, path, writer)
    }

    #[test]
    fn without_a_sync_at_commit_other_connections_read_every_commit_at_once() {
        let (_directory, path, writer) = notes_through_vfs("NORMAL");
        let reader = Connection::open(&path).unwrap();
        for round in 1..=20_i64 {
            let (asked_before, made_before) = write_counts();
            writer.execute_batch("BEGIN IMMEDIATE").unwrap();
            for number in 0..(round * 7) {
                writer.execute("INSERT INTO notes (body) VALUES (?1)", [format!("{number:0>900}")]).unwrap();
            }
            writer.execute_batch("COMMIT").unwrap();
            let (asked, made) = (write_counts().0 - asked_before, write_counts().1 - made_before);
            assert!(made * 4 <= asked, "round {round}: asked {asked}, made {made}");
            let (count, longest): (i64, i64) = reader
                .query_row("SELECT count(*), max(length(body)) FROM notes", [], |row| Ok((row.get(0)?, row.get(1)?)))
                .unwrap();
            assert_eq!((count, longest), (7 * round * (round + 1) / 2, 900), "round {round}");
        }
        let integrity: String = reader.query_row("PRAGMA integrity_check", [], |row| row.get(0)).unwrap();
        assert_eq!(integrity, "ok");
    }

    #[test]
    fn what_was_committed_is_there_after_the_writer_is_gone_without_closing() {
        let (directory, path, writer) = notes_through_vfs("FULL");
        for number in 0..50 {
            writer.execute("INSERT INTO notes (body) VALUES (?1)", [format!("note {number}")]).unwrap();
        }
        // A connection that is never closed checkpoints nothing: the rows are only in the WAL,
        // which a new connection recovers.
        std::mem::forget(writer);
        let copy = directory.path().join("copy.db");
        std::fs::copy(&path, &copy).unwrap();
        std::fs::copy(directory.path().join("wal.db-wal"), directory.path().join("copy.db-wal")).unwrap();
        let reopened = Connection::open(&copy).unwrap();
        let count: i64 = reopened.query_row("SELECT count(*) FROM notes", [], |row| row.get(0)).unwrap();
        assert_eq!(count, 50);
    }

    #[test]
    fn a_rolled_back_transaction_that_spilled_leaves_the_committed_rows_intact() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("wal.db");
        let writer = open_through_vfs(&path, "FULL");
        // A tiny page cache makes a large transaction spill frames into the WAL before its commit.
        writer.execute_batch("PRAGMA cache_size = 8; CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)").unwrap();
        writer.execute("INSERT INTO notes (body) VALUES ('kept')", []).unwrap();
        writer.execute_batch("BEGIN IMMEDIATE").unwrap();
        for number in 0..500 {
            writer.execute("INSERT INTO notes (body) VALUES (?1)", [format!("{number:0>2000}")]).unwrap();
        }
        writer.execute_batch("ROLLBACK").unwrap();
        writer.execute("INSERT INTO notes (body) VALUES ('after')", []).unwrap();
        let reader = Connection::open(&path).unwrap();
        let bodies: Vec<String> = reader
            .prepare("SELECT body FROM notes ORDER BY id")
            .unwrap()
            .query_map([], |row| row.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(bodies, ["kept", "after"]);
        let integrity: String = reader.query_row("PRAGMA integrity_check", [], |row| row.get(0)).unwrap();
        assert_eq!(integrity, "ok");
    }
}
