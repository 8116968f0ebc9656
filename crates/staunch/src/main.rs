//! The `staunch` binary: parses the command line and hands off. Everything it runs lives in
//! the library crates; this file only wires them together.

mod affinity;
mod args;
mod client_commands;
mod demo;
mod eval;
mod eval_noise;
mod export;
mod init;
mod investigate;
mod learn;
mod memory;
mod migrate;
mod routes;
mod runbook;
mod serve;
mod slo;
mod token;

use clap::Parser;

/// jemalloc for Rust's allocations, with one arena and freed pages returned at once
/// (`memory.rs`). Here memory is mostly allocated on one thread and freed on another (a request
/// parsed on an HTTP worker, applied and dropped by the engine), which glibc's allocator handled
/// badly: limited to one arena, the listing benchmark's bulk load ran at 820 alerts/s and peaked
/// at 281 MiB. mimalloc fixed that but held 16–18 MiB at the listing's peak where Rust's live
/// data was about 9; jemalloc's small slabs hold less (`docs/benchmarks.md`, "Memory, step by
/// step").
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    memory::hold_less_memory();
    let args = args::Args::parse();
    if let Some(cpus) = args.cpus()
        && let Err(error) = affinity::run_on(cpus)
    {
        eprintln!("error: --cpus: {error}");
        return std::process::ExitCode::FAILURE;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(args::run(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub(crate) async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {}
        _ = terminate => {}
    }
    tracing::info!("shutting down");
}
