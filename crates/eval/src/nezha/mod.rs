//! The Nezha benchmark (FSE'23, "Nezha: Interpretable Fine-Grained Root Causes Analysis for
//! Microservices on Multi-Modal Observability Data"): fault-injection days of Online Boutique
//! and Train Ticket. [`evaluate`] reads a directory laid out like the upstream `rca_data`,
//! investigates every injected fault "as of" a few minutes after its onset, and reports per
//! system how often the injected service is first, in the first three and in the first five
//! (AS@1, AS@3, AS@5).
//!
//! Data pitfalls handled here: onsets come from `inject_time` (its clock matches the data;
//! `inject_timestamp` is hours off on some days), metric rows are timed by their `Time`
//! string (one file's `TimeStamp` column is corrupt), pods are matched by service name (the
//! pod name without its two hash suffixes), and CSVs may be gzipped.

mod day;
mod files;
mod report;

pub use day::{Case, System};
pub use report::{CaseResult, Report, SystemReport};

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum NezhaError {
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: {source}")]
    Csv { path: PathBuf, source: csv::Error },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("no fault list (<day>/<day>-fault_list.json) under {0}")]
    NoDays(PathBuf),
}

/// What the evaluation is doing, for a progress bar.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// Every day's fault list is read; this many cases follow.
    Cases(usize),
    /// One case was investigated.
    CaseDone { label: String },
}

/// How far around an onset the engine looks: five minutes of baseline for logs and traces
/// (the upstream files hold about one to two minutes before each onset anyway; metric and
/// edge series get [`SERIES_HISTORY_MINUTES`]) and three minutes of effect (faults in these
/// data are at least four minutes apart, so the effect window stays inside one fault).
pub const BEFORE_MINUTES: i64 = 5;
pub const AFTER_MINUTES: i64 = 3;
/// How much metric and per-edge history before the onset a case carries: what a live engine
/// keeps of minute-level series. The engine decides how much of it to use.
pub const SERIES_HISTORY_MINUTES: i64 = 60;

/// Evaluates every day found under `directory` (the data set's root, or its `rca_data`).
pub fn evaluate(directory: &Path, progress: &mut dyn FnMut(Progress)) -> Result<Report, NezhaError> {
    evaluate_inspecting(directory, &staunch_investigate::Settings::default(), progress, &mut |_, _| {})
}

/// [`evaluate`] with explicit settings, handing every case's full investigation to `inspect`
/// (for a per-case look at the evidence).
pub fn evaluate_inspecting(
    directory: &Path,
    settings: &staunch_investigate::Settings,
    progress: &mut dyn FnMut(Progress),
    inspect: &mut dyn FnMut(&Case, &staunch_investigate::Investigation),
) -> Result<Report, NezhaError> {
    let root = if directory.join("rca_data").is_dir() { directory.join("rca_data") } else { directory.to_path_buf() };
    let days = day::find_days(&root)?;
    if days.is_empty() {
        return Err(NezhaError::NoDays(root));
    }
    let total: usize = days.iter().map(|day| day.cases.len()).sum();
    progress(Progress::Cases(total));
    let mut results = Vec::new();
    for day in &days {
        let shared = day.read_shared()?;
        for case in &day.cases {
            let input = day.case_input(&shared, case)?;
            // Timed around the investigation alone: reading the files is the data set's cost.
            let started = std::time::Instant::now();
            let investigation = staunch_investigate::investigate(&input, settings);
            let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
            inspect(case, &investigation);
            results.push(CaseResult::new(case, &investigation, latency_ms));
            progress(Progress::CaseDone { label: format!("{} {}", case.system.name(), case.inject_time) });
        }
    }
    Ok(Report::from_results(results))
}
