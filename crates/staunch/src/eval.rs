//! `staunch eval rca nezha DIR`: the investigation engine's backtest on the Nezha data set,
//! with a progress bar on stderr while it reads and the figures on stdout.

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use staunch_eval::nezha::{Progress, evaluate};
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
    print!("{}", report.render());
    println!("took {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}
