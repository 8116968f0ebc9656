//! How the process asks its two allocators to hold memory, set once in `main` before any thread
//! starts: mimalloc for Rust's allocations, glibc's malloc for SQLite's (the bundled C library
//! calls `malloc` directly).
//!
//! Each setting trades a little allocator work for resident memory; `docs/benchmarks.md`
//! ("Memory, step by step") has the peak with 100,000 open alerts before and after each one,
//! and the ingest and latency runs beside them:
//! - **No transparent huge pages.** mimalloc advises the kernel to back its arenas with 2 MiB
//!   pages, so one touched byte makes 2 MiB resident. The prctl covers every mapping of the
//!   process, including the arena mimalloc reserved before `main`.
//! - **Freed mimalloc pages go back at once** (purge delay 0 instead of 1 s): during a burst
//!   of requests, memory freed by one wave is otherwise still resident when the next allocates.
//! - **One glibc arena.** glibc gives each thread that allocates concurrently an arena of its
//!   own and keeps freed memory in each; SQLite runs on the runtime's workers and each reading
//!   connection's thread. What SQLite allocates is page caches and row values, far too few
//!   calls for the arena's lock to matter (it was Rust's allocations that did, before mimalloc).

/// `mi_option_purge_delay` in mimalloc v3's `mi_option_e` (the `mimalloc` crate builds v3 by
/// default and names its options by v2's numbering, hence our own declaration). The test below
/// checks the number still names that option.
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;
/// Milliseconds mimalloc waits before returning a freed page to the OS.
const PURGE_DELAY_MS: std::ffi::c_long = 0;
const GLIBC_ARENAS: std::ffi::c_int = 1;

unsafe extern "C" {
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
    #[cfg(test)]
    fn mi_option_get(option: std::ffi::c_int) -> std::ffi::c_long;
}

/// Applies the settings above. Called first thing in `main`.
pub(crate) fn hold_less_memory() {
    // SAFETY: mimalloc's options are plain integers it reads when it next purges; the option
    // number is checked against mimalloc's default in the test below.
    unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS) };
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
    use super::*;

    #[test]
    fn the_purge_delay_option_number_names_mimallocs_purge_delay() {
        // v3's documented default for purge_delay, unless the environment overrides it.
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
            return;
        }
        // SAFETY: reads an option; mimalloc is linked as this crate's allocator.
        assert_eq!(unsafe { mi_option_get(MI_OPTION_PURGE_DELAY) }, 1000);
    }
}
