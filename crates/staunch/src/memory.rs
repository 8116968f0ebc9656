//! How the process asks its two allocators to hold memory: jemalloc for Rust's allocations
//! (options compiled in as `malloc_conf`, read at its first allocation, before `main`), glibc's
//! malloc for SQLite's (the bundled C library calls `malloc` directly; set first thing in
//! `main`, before any thread starts).
//!
//! Each setting trades a little allocator work for resident memory; `docs/benchmarks.md`
//! ("Memory, step by step") has the peak with 100,000 open alerts before and after, and the
//! ingest runs beside them:
//! - **One jemalloc arena.** jemalloc gives each thread of a core-sized pool an arena, each
//!   with its own partly used slabs; the threads' caches take most calls off the arena's lock.
//! - **Freed jemalloc pages go back at once** (dirty and muzzy decay 0 instead of 10 s): during
//!   a burst of requests, memory freed by one wave is otherwise still resident when the next
//!   allocates.
//! - **No transparent huge pages.** One touched byte of a 2 MiB page makes all of it resident.
//!   The prctl covers every mapping of the process.
//! - **One glibc arena.** glibc gives each thread that allocates concurrently an arena of its
//!   own and keeps freed memory in each; SQLite runs on the runtime's workers and each reading
//!   connection's thread. What SQLite allocates is page caches and row values, far too few
//!   calls for the arena's lock to matter (it was Rust's allocations that did).
//!
//! An operator can still override jemalloc's options with `_RJEM_MALLOC_CONF`, which is read
//! after these.

use std::ffi::c_char;

const GLIBC_ARENAS: std::ffi::c_int = 1;

/// jemalloc's options, read by name (`_rjem_malloc_conf`, the prefixed build's `malloc_conf`).
#[unsafe(export_name = "_rjem_malloc_conf")]
// SAFETY (the reference): a C string literal lives for the whole program.
static JEMALLOC_OPTIONS: Option<&'static c_char> = Some(unsafe { &*c"narenas:1,dirty_decay_ms:0,muzzy_decay_ms:0".as_ptr() });

/// Applies the glibc settings above. Called first thing in `main`.
pub(crate) fn hold_less_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: called before the runtime or any other thread exists; both calls only set
    // tunables (of the process's memory map and of glibc's allocator).
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
        libc::mallopt(libc::M_ARENA_MAX, GLIBC_ARENAS);
    }
}

#[cfg(test)]
mod tests {
    use std::ffi::{CStr, c_void};

    /// An option jemalloc started with, as the integer type it has.
    fn option<T: Default>(name: &CStr) -> T {
        let mut value = T::default();
        let mut length = size_of::<T>();
        // SAFETY: `value` has the size jemalloc is told, and `name` is a C string.
        let status = unsafe {
            tikv_jemalloc_sys::mallctl(name.as_ptr(), (&raw mut value).cast::<c_void>(), &mut length, std::ptr::null_mut(), 0)
        };
        assert_eq!(status, 0, "mallctl {name:?}");
        value
    }

    #[test]
    fn jemalloc_starts_with_one_arena_and_returns_freed_pages_at_once() {
        if std::env::var_os("_RJEM_MALLOC_CONF").is_some() {
            return;
        }
        assert_eq!(option::<u32>(c"opt.narenas"), 1);
        assert_eq!(option::<isize>(c"opt.dirty_decay_ms"), 0);
        assert_eq!(option::<isize>(c"opt.muzzy_decay_ms"), 0);
    }
}
