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

/// mimalloc, not glibc's allocator: here memory is mostly allocated on one thread and freed on
/// another (a request parsed on an HTTP worker, applied and dropped by the engine, SQLite's
/// pages on the thread of whichever task writes). With glibc limited to one arena (to keep its
/// per-thread arenas from holding memory), the listing benchmark's bulk load ran at 820 alerts/s
/// and peaked at 281 MiB once SQLite writes moved onto the runtime's threads; with mimalloc,
/// 55,171 alerts/s and 85.5 MiB (`docs/benchmarks.md`). How it holds memory: `memory.rs`.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
