//! `staunch-bench`: measures Staunch against Prometheus Alertmanager on loopback.
//!
//! It starts both servers itself (fresh, in temporary directories, for every point), drives
//! them from this process, runs the webhook receiver both notify in this process too, and
//! kills every server it started before it exits, on error and on Ctrl-C as well.
//!
//! - `ingest`: durable alerts/s through HTTP ingest at several batch sizes and one
//!   concurrency, plus each server's resident memory after the run.
//! - `latency`: one new alert at a time, until the first webhook notification for it arrives.
//! - `list`: listing one service's open alerts while 100,000 are open.
//! - `slo`: evaluating 10,000 SLOs per tick, beside Prometheus evaluating their Sloth rules
//!   (not part of `all`).
//! - `noise-history`: writes a synthetic alert history into a new SQLite database for
//!   `staunch eval noise` (see `noise_history` for how it is generated; not part of `all`).
//! - `rca`: time to first hypotheses for a new incident with 500,000 changes and 100,000 past
//!   incidents in SQLite, in this process (not part of `all`).

mod load;
mod noise_history;
mod noisy;
mod payload;
mod phases;
mod procfs;
mod rca;
mod receiver;
mod report;
mod servers;
mod slo;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use servers::{Binaries, Durability, Kind};
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum What {
    Ingest,
    Latency,
    List,
    /// Two organisations: B's alert -> page latency while A floods, against B's idle latency
    Noisy,
    All,
    /// SLO evaluation cost per tick and memory, beside Prometheus evaluating Sloth rules
    Slo,
    /// A synthetic alert history (who acted on what) for `staunch eval noise --db FILE`
    NoiseHistory,
    /// Time to first hypotheses with a large history in SQLite (PostgreSQL with --postgres-url)
    Rca,
    /// The evaluator half of `slo`, run as a child process (its memory is measured alone)
    #[value(hide = true)]
    SloEvaluator,
}

#[derive(Parser)]
#[command(name = "staunch-bench", about = "Benchmark Staunch against Prometheus Alertmanager on loopback")]
struct Args {
    /// Which measurement to run
    what: What,
    /// The staunch binary (default: `staunch` beside this binary)
    #[arg(long)]
    staunch_bin: Option<PathBuf>,
    /// The Alertmanager binary
    #[arg(long, default_value = "/usr/bin/prometheus-alertmanager")]
    alertmanager_bin: PathBuf,
    /// Measured seconds per ingest point (after the warm-up)
    #[arg(long, default_value_t = 15)]
    seconds: u64,
    /// Warm-up seconds per ingest point, not counted
    #[arg(long, default_value_t = 2)]
    warmup: u64,
    /// Concurrent clients (requests in flight) for ingest and for loading the listing phase
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Alerts per request in the ingest phase
    #[arg(long, value_delimiter = ',', default_value = "1,10,100")]
    batches: Vec<usize>,
    /// Staunch configurations to measure: SQLite with `full` or `normal` durability, or
    /// `postgres` (on `--postgres-url`)
    #[arg(long, value_delimiter = ',', default_value = "full,normal")]
    durability: Vec<String>,
    /// A PostgreSQL server (superuser URL) for `--durability postgres`, and for `rca` (which then
    /// measures PostgreSQL instead of SQLite); each start creates a fresh database on it
    #[arg(long)]
    postgres_url: Option<String>,
    /// Latency samples per server (also B's idle samples in the noisy-neighbour phase)
    #[arg(long, default_value_t = 200)]
    samples: usize,
    /// Open alerts in the listing phase
    #[arg(long, default_value_t = 100_000)]
    list_alerts: u64,
    /// Timed listing queries per server
    #[arg(long, default_value_t = 50)]
    queries: usize,
    /// Noisy neighbour: alerts organisation A sends in total
    #[arg(long, default_value_t = 50_000)]
    flood_alerts: u64,
    /// Noisy neighbour: alerts per request of A's flood
    #[arg(long, default_value_t = 100)]
    flood_batch: u64,
    /// Noisy neighbour: alerts organisation B sends during the flood
    #[arg(long, default_value_t = 10)]
    quiet_alerts: usize,
    /// Before each point, wait up to this many seconds for other processes to go idle
    #[arg(long, default_value_t = 120)]
    quiet_wait: u64,
    /// Measure a point again (this many times at most) when other processes used over
    /// 0.25 cores during it
    #[arg(long, default_value_t = 2)]
    retries: usize,
    /// SLOs in the slo phase
    #[arg(long, default_value_t = 10_000)]
    slos: usize,
    /// One-minute ticks timed in the slo phase
    #[arg(long, default_value_t = 60)]
    slo_ticks: usize,
    /// The Prometheus binary the slo phase compares with
    #[arg(long, default_value = "/usr/bin/prometheus")]
    prometheus_bin: PathBuf,
    /// Minutes Prometheus evaluates the rules in the slo phase, after a minute of warm-up
    #[arg(long, default_value_t = 5)]
    prometheus_minutes: u64,
    /// Change events stored before the rca phase
    #[arg(long, default_value_t = 500_000)]
    rca_changes: u64,
    /// Past incidents stored before the rca phase
    #[arg(long, default_value_t = 100_000)]
    rca_past_incidents: u64,
    /// New incidents investigated (and timed) in the rca phase
    #[arg(long, default_value_t = 200)]
    rca_incidents: usize,
    /// Write all results as JSON to this file
    #[arg(long)]
    out: Option<PathBuf>,
    /// noise-history: the SQLite file to create
    #[arg(long)]
    db: Option<PathBuf>,
    /// noise-history: days of history
    #[arg(long, default_value_t = 120)]
    days: u32,
    /// noise-history: the random seed
    #[arg(long, default_value_t = 6)]
    seed: u64,
    /// noise-history: a flappy kind turns into a real problem at 85% of the history
    #[arg(long)]
    late_drift: bool,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // One thread: the harness then uses at most one of the machine's cores, the same for
    // whichever server it drives.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        tokio::select! {
            result = run(args) => result,
            _ = interrupted() => {
                // Dropping `run` drops every Server, which kills its process.
                anyhow::bail!("interrupted")
            }
        }
    })
}

async fn interrupted() {
    let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(signal) => signal,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    if args.what == What::NoiseHistory {
        let db = args.db.clone().context("noise-history needs --db FILE")?;
        let options = noise_history::Options { db, days: args.days, seed: args.seed, late_drift: args.late_drift };
        let written = noise_history::generate(&options).await?;
        println!(
            "{}: {} incidents from {} to {}, {} acted on, {} still open at the end",
            options.db.display(),
            written.incidents,
            written.start,
            written.end,
            written.acted_on,
            written.open_at_end
        );
        return Ok(());
    }
    if args.what == What::SloEvaluator {
        let figures = slo::measure_evaluators(args.slos, args.slo_ticks)?;
        println!("{}", serde_json::to_string(&figures)?);
        return Ok(());
    }
    if args.what == What::Rca {
        let settings = rca::RcaSettings {
            changes: args.rca_changes,
            past_incidents: args.rca_past_incidents,
            incidents: args.rca_incidents,
            services: 200,
            postgres_url: args.postgres_url.clone(),
        };
        let results = rca::rca(&settings).await?;
        println!("{}", rca::render(&results));
        if let Some(path) = &args.out {
            std::fs::write(path, serde_json::to_string_pretty(&results)? + "\n")
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        return Ok(());
    }
    let staunch = match args.staunch_bin.clone() {
        Some(path) => path,
        None => std::env::current_exe()?.parent().context("this binary has no directory")?.join("staunch"),
    };
    anyhow::ensure!(staunch.exists(), "no staunch binary at {} (build it, or pass --staunch-bin)", staunch.display());
    if args.what == What::Slo {
        let settings = slo::SloSettings {
            slos: args.slos,
            ticks: args.slo_ticks,
            staunch: &staunch,
            prometheus: &args.prometheus_bin,
            prometheus_minutes: args.prometheus_minutes,
        };
        let results = slo::slo(settings).await?;
        println!("{}", slo::render(&results));
        if let Some(path) = &args.out {
            std::fs::write(path, serde_json::to_string_pretty(&results)? + "\n")
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        return Ok(());
    }
    anyhow::ensure!(
        args.alertmanager_bin.exists(),
        "no Alertmanager at {} (pass --alertmanager-bin)",
        args.alertmanager_bin.display()
    );
    anyhow::ensure!(
        !args.durability.iter().any(|mode| mode == "postgres") || args.postgres_url.is_some(),
        "--durability postgres needs --postgres-url"
    );
    let binaries = Binaries { staunch, alertmanager: args.alertmanager_bin.clone(), postgres_url: args.postgres_url.clone() };
    let mut kinds = vec![Kind::Alertmanager];
    for mode in &args.durability {
        let durability = match mode.as_str() {
            "full" => Durability::Full,
            "normal" => Durability::Normal,
            "postgres" => Durability::Postgres,
            other => anyhow::bail!("unknown durability {other:?}: expected full, normal or postgres"),
        };
        kinds.push(Kind::Staunch { durability });
    }
    let settings = phases::Settings {
        quiet_wait: std::time::Duration::from_secs(args.quiet_wait),
        retries: args.retries,
        seconds: args.seconds,
        warmup_seconds: args.warmup,
        concurrency: args.concurrency,
        batches: args.batches.clone(),
        kinds,
        samples: args.samples,
        list_alerts: args.list_alerts,
        queries: args.queries,
    };

    let environment = report::Environment::capture(&binaries).await;
    eprintln!("{}", environment.describe());
    let receiver = receiver::start().await?;
    let started = std::time::Instant::now();
    let mut results = report::Results {
        environment,
        command: std::env::args().collect::<Vec<_>>().join(" "),
        settings: report::SettingsRecord::from(&settings),
        ingest: Vec::new(),
        latency: Vec::new(),
        list: Vec::new(),
        noisy: Vec::new(),
        total_seconds: 0.0,
    };
    if matches!(args.what, What::Ingest | What::All) {
        eprintln!("ingest: {} s per point after {} s warm-up", args.seconds, args.warmup);
        results.ingest = phases::ingest(&settings, &binaries, &receiver).await?;
    }
    if matches!(args.what, What::Latency | What::All) {
        eprintln!("latency: {} samples per server", args.samples);
        results.latency = phases::latency(&settings, &binaries, &receiver).await?;
    }
    if matches!(args.what, What::List | What::All) {
        eprintln!("list: {} open alerts", args.list_alerts);
        results.list = phases::list(&settings, &binaries, &receiver).await?;
    }
    if matches!(args.what, What::Noisy | What::All) {
        eprintln!("noisy neighbour: A floods {} alerts, B sends {} meanwhile", args.flood_alerts, args.quiet_alerts);
        let noisy_settings = noisy::NoisySettings {
            flood_alerts: args.flood_alerts,
            flood_batch: args.flood_batch,
            quiet_alerts: args.quiet_alerts,
            idle_samples: args.samples,
        };
        results.noisy = noisy::noisy(&settings, noisy_settings, &binaries, &receiver).await?;
    }
    results.total_seconds = started.elapsed().as_secs_f64();
    println!("{}", report::render(&results));
    if let Some(path) = &args.out {
        std::fs::write(path, serde_json::to_string_pretty(&results)? + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("results written to {}", path.display());
    }
    Ok(())
}
