//! `staunch eval rca nezha DIR`: the investigation engine's backtest on the Nezha data set,
//! with a progress bar on stderr while it reads and the figures on stdout.

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use staunch_eval::nezha::{Progress, Report, evaluate};
use std::path::Path;
use std::time::Instant;

pub fn nezha(directory: &Path, json: bool) -> anyhow::Result<()> {
    let started = Instant::now();
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {pos}/{len} cases {wide_bar} {msg}")
            .map_err(|error| anyhow::anyhow!("progress bar template: {error}"))?,
    );
    let report = evaluate(directory, &mut |progress| match progress {
        Progress::Cases(total) => bar.set_length(total as u64),
        Progress::CaseDone { label } => {
            bar.set_message(label);
            bar.inc(1);
        }
    })
    .with_context(|| format!("evaluating {}", directory.display()))?;
    bar.finish_and_clear();
    if json {
        println!("{}", report.to_json());
        return Ok(());
    }
    print_report(&report);
    println!("took {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

fn print_report(report: &Report) {
    println!("{:<16} {:>5} {:>7} {:>7} {:>7} {:>9} {:>6}", "SYSTEM", "CASES", "AS@1", "AS@3", "AS@5", "ABSTAINED", "BRIER");
    for (system, figures) in &report.systems {
        println!(
            "{:<16} {:>5} {:>6.2}% {:>6.2}% {:>6.2}% {:>9} {:>6.3}",
            system,
            figures.cases,
            figures.as1 * 100.0,
            figures.as3 * 100.0,
            figures.as5 * 100.0,
            report.abstentions(system),
            report.brier(system)
        );
    }
    println!();
    println!(
        "{:<16} {:<20} {:<15} {:<30} {:>4}  {:<30} {:>5}",
        "SYSTEM", "INJECTED AT", "FAULT", "INJECTED SERVICE", "RANK", "FIRST HYPOTHESIS", "CONF"
    );
    for case in &report.cases {
        let rank = case.rank.map_or("-".to_string(), |rank| rank.to_string());
        let first = format!("{}{}", case.first.as_deref().unwrap_or("-"), if case.abstained { " (abstained)" } else { "" });
        println!(
            "{:<16} {:<20} {:<15} {:<30} {:>4}  {:<30} {:>5.2}",
            case.system, case.inject_time, case.fault_type, case.root_service, rank, first, case.confidence
        );
    }
}
