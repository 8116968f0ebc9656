//! How the process asks the C allocator to use memory, set once before any thread starts.
//!
//! glibc gives every thread that allocates concurrently an arena of its own (up to eight per
//! core) and keeps freed memory in each. Staunch's threads (the runtime's workers, one per
//! SQLite connection) each hold a few MiB that way, idle most of the time. One arena is what
//! `docs/benchmarks.md` ("Memory, step by step") measured as the largest saving after the
//! SQLite page caches; with two cores, contention on its lock is small.

const ARENAS: i32 = 1;

pub(crate) fn limit_allocator_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: called from `main` before the runtime or any other thread exists; `mallopt` only
    // sets a tunable of the allocator.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, ARENAS);
    }
}
