//! `staunch eval noise --db URL`: the alert-noise backtest on a database's own history. It
//! trains only on what was known before the split time and scores every incident opening
//! after it, as `staunch_domain::noise::backtest` describes.

use anyhow::Context;
use jiff::Timestamp;
use staunch_domain::noise::{BacktestReport, NoisePolicy, ThresholdChoice, backtest, label_as_of};
use staunch_store::{OrgId, OrgSlug};

pub struct NoiseEvalOptions {
    pub db: String,
    pub org: String,
    pub split_at: Option<String>,
    pub train_fraction: f64,
    pub threshold: Option<f64>,
    pub json: bool,
}

pub async fn noise(options: NoiseEvalOptions) -> anyhow::Result<()> {
    anyhow::ensure!(
        options.train_fraction > 0.0 && options.train_fraction < 1.0,
        "--train-fraction: {} must be between 0 and 1",
        options.train_fraction
    );
    if let Some(threshold) = options.threshold {
        anyhow::ensure!(threshold > 0.0 && threshold < 1.0, "--threshold: {threshold} must be between 0 and 1");
    }
    let split_at = match &options.split_at {
        Some(text) => Some(text.parse::<Timestamp>().with_context(|| format!("--split-at: {text:?} is not an RFC 3339 time"))?),
        None => None,
    };
    let slug = OrgSlug::parse(&options.org).map_err(|error| anyhow::anyhow!("--org: {error}"))?;
    let opened = crate::migrate::open_for(&options.db, "evaluate").await?;
    let store = opened.store;
    let org = if slug.as_str() == "default" {
        OrgId::DEFAULT
    } else {
        store.ensure_organisations(&[(slug.clone(), slug.as_str().to_string())]).await?[0]
    };
    let end = Timestamp::now();
    let history = store.noise_history(org, Timestamp::UNIX_EPOCH, end, u32::MAX).await?;
    anyhow::ensure!(!history.is_empty(), "no incident history in organisation {:?}", slug.as_str());
    let split_at = match split_at {
        Some(split_at) => split_at,
        None => fraction_split(&history, end, options.train_fraction).context("no labelled incidents to split")?,
    };
    let choice = options.threshold.map_or(ThresholdChoice::Auto, ThresholdChoice::Fixed);
    let report = backtest(&history, split_at, end, choice, &NoisePolicy::default());
    if options.json {
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    print_report(&report);
    Ok(())
}

/// The opening time of the labelled incident at `fraction` of the labelled history.
fn fraction_split(history: &[staunch_domain::noise::HistoricalAlert], end: Timestamp, fraction: f64) -> Option<Timestamp> {
    let mut labelled: Vec<Timestamp> =
        history.iter().filter(|alert| label_as_of(alert, end).is_some()).map(|alert| alert.opened_at).collect();
    labelled.sort();
    let index = ((labelled.len() as f64) * fraction).floor() as usize;
    labelled.get(index.min(labelled.len().checked_sub(1)?)).copied()
}

fn print_report(report: &BacktestReport) {
    println!("split at            {}", report.split_at);
    println!("trained on          {} actionable, {} noise (before the split)", report.train_actionable, report.train_noise);
    match report.threshold {
        Some(threshold) => println!("threshold           {threshold:.4}"),
        None => println!("threshold           none: still learning at the split, nothing would be ticketed"),
    }
    println!(
        "tested on           {} actionable, {} noise, {} still open (after the split)",
        report.test_actionable, report.test_noise, report.test_unlabelled
    );
    println!(
        "recall (actionable) {:.2}% ({} of {} still paged)",
        report.recall * 100.0,
        report.test_actionable - report.actionable_ticketed,
        report.test_actionable
    );
    println!(
        "pages avoided       {:.2}% ({} of {} would-be pages ticketed; {} of {} noise)",
        report.pages_avoided * 100.0,
        report.actionable_ticketed + report.noise_ticketed,
        report.test_actionable + report.test_noise,
        report.noise_ticketed,
        report.test_noise
    );
    let verdict = if report.recall_floor_held { "held" } else { "NOT held" };
    println!("recall floor        {:.0}%: {verdict}", report.recall_floor * 100.0);
    println!("{:<32} {:>10} {:>8} {:>6} {:>8}", "KIND", "ACTIONABLE", "TICKETED", "NOISE", "TICKETED");
    for (kind, outcome) in &report.kinds {
        println!(
            "{:<32} {:>10} {:>8} {:>6} {:>8}",
            kind, outcome.actionable, outcome.actionable_ticketed, outcome.noise, outcome.noise_ticketed
        );
    }
    for miss in report.misses.iter().take(10) {
        println!("  missed: incident {} ({}) scored {:.4}", miss.incident_id, miss.kind, miss.probability);
    }
    if report.misses.len() > 10 {
        println!("  ... and {} more", report.misses.len() - 10);
    }
}
