//! `staunch-bench slo`: the cost of evaluating many SLOs each tick, beside a real Prometheus
//! evaluating the equivalent Sloth-style rules for the same SLOs.
//!
//! Staunch's side runs in a child process of its own (this binary, `slo-evaluator`), so its
//! peak resident memory is the evaluators' and nothing else's: it builds one domain evaluator
//! per SLO (30-day period, the Workbook's four rules), fills 30 days of history (per hour for
//! the oldest 27 days, per minute for the last 3), then times ticks of one minute each: every
//! SLO records that minute's counts and is evaluated.
//!
//! Prometheus' side: `staunch slo rules` writes the rules for a Sloth spec of the same SLOs, a
//! small exporter in this process serves their request counters, and Prometheus scrapes it and
//! evaluates the rules every minute; its own `evaluationTime` per rule group is read from
//! `/api/v1/rules`, its memory from `/proc`.

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use staunch_domain::slo::{AlertWindows, Evaluator, EvaluatorConfig, Objective, SloPeriod};

use crate::procfs;

/// What the evaluator child measured (printed as JSON on its stdout).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvaluatorFigures {
    pub slos: usize,
    pub ticks: usize,
    pub fill_seconds: f64,
    pub tick_ms_median: f64,
    pub tick_ms_p95: f64,
    pub tick_ms_max: f64,
    pub firing_slos_last_tick: usize,
    pub bucket_bytes_per_slo: usize,
    pub peak_rss_mib: f64,
    pub rss_before_mib: f64,
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Runs in the child: builds, fills and ticks `slos` evaluators.
pub fn measure_evaluators(slos: usize, ticks: usize) -> anyhow::Result<EvaluatorFigures> {
    let before = procfs::memory(std::process::id())?;
    let period = SloPeriod::Days30;
    let config = EvaluatorConfig::new(Objective::from_percent(99.9)?, AlertWindows::defaults_for(period));
    let start = Timestamp::from_second(1_750_000_000)?;
    let mut evaluators: Vec<Evaluator> = (0..slos).map(|_| Evaluator::new(config.clone())).collect();
    // 4,000 requests a minute each. One SLO in a hundred fails 2% of them (20 times its
    // budget); the others fail 0.025% or none.
    let bad_per_minute = |index: usize| if index.is_multiple_of(100) { 80 } else { (index % 2) as u64 };
    let fill_started = Instant::now();
    for (index, evaluator) in evaluators.iter_mut().enumerate() {
        for hours_ago in (72..720).rev() {
            evaluator.record(start - SignedDuration::from_hours(hours_ago), bad_per_minute(index) * 60, 240_000);
        }
        for minutes_ago in (1..=4320).rev() {
            evaluator.record(start - SignedDuration::from_mins(minutes_ago), bad_per_minute(index), 4000);
        }
    }
    let fill_seconds = fill_started.elapsed().as_secs_f64();
    let mut tick_ms = Vec::with_capacity(ticks);
    let mut firing = 0;
    for tick in 0..ticks {
        let now = start + SignedDuration::from_mins(tick as i64);
        let started = Instant::now();
        firing = 0;
        for (index, evaluator) in evaluators.iter_mut().enumerate() {
            evaluator.record(now, bad_per_minute(index), 4000);
            let evaluation = evaluator.evaluate(now);
            firing += usize::from(!evaluation.firing.is_empty());
            black_box(&evaluation);
        }
        tick_ms.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let after = procfs::memory(std::process::id())?;
    tick_ms.sort_by(f64::total_cmp);
    let at = |quantile: f64| tick_ms[((tick_ms.len() - 1) as f64 * quantile).round() as usize];
    Ok(EvaluatorFigures {
        slos,
        ticks,
        fill_seconds,
        tick_ms_median: at(0.5),
        tick_ms_p95: at(0.95),
        tick_ms_max: at(1.0),
        firing_slos_last_tick: firing,
        bucket_bytes_per_slo: evaluators.first().map_or(0, Evaluator::bucket_bytes),
        peak_rss_mib: mib(after.peak_kib),
        rss_before_mib: mib(before.current_kib),
    })
}

/// What Prometheus reported for the same SLOs.
#[derive(Debug, Clone, Serialize)]
pub struct PrometheusFigures {
    pub rule_groups: usize,
    pub rules: usize,
    pub scraped_series: usize,
    pub measured_minutes: u64,
    /// Sum over all groups of their last `evaluationTime`: rule evaluation work per minute.
    pub evaluation_seconds_sum: f64,
    pub evaluation_seconds_max_group: f64,
    /// Prometheus' CPU time over the measured minutes (scraping, storing, evaluating), per minute.
    pub cpu_seconds_per_minute: f64,
    pub peak_rss_mib: f64,
    pub rss_mib: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SloResults {
    pub command: String,
    pub evaluator: EvaluatorFigures,
    /// Cores other processes kept busy while the evaluator ran.
    pub evaluator_other_cores: f64,
    pub prometheus: Option<PrometheusFigures>,
    pub prometheus_other_cores: f64,
}

pub struct SloSettings<'a> {
    pub slos: usize,
    pub ticks: usize,
    pub staunch: &'a Path,
    pub prometheus: &'a Path,
    pub prometheus_minutes: u64,
}

pub async fn slo(settings: SloSettings<'_>) -> anyhow::Result<SloResults> {
    eprintln!("slo: {} SLOs in a child process, {} ticks", settings.slos, settings.ticks);
    let machine = procfs::machine_busy_seconds();
    let own = procfs::own_cpu_seconds();
    let started = Instant::now();
    let output = tokio::process::Command::new(std::env::current_exe()?)
        .args(["slo-evaluator", "--slos", &settings.slos.to_string(), "--slo-ticks", &settings.ticks.to_string()])
        .output()
        .await?;
    anyhow::ensure!(output.status.success(), "slo-evaluator failed: {}", String::from_utf8_lossy(&output.stderr));
    let child_cpu = child_cpu_seconds();
    let others = (procfs::machine_busy_seconds() - machine) - (procfs::own_cpu_seconds() - own) - child_cpu;
    let evaluator_other_cores = (others / started.elapsed().as_secs_f64()).max(0.0);
    let evaluator: EvaluatorFigures = serde_json::from_slice(&output.stdout).context("slo-evaluator output")?;
    eprintln!("slo: evaluator done; prometheus for {} minutes", settings.prometheus_minutes);
    let (prometheus, prometheus_other_cores) = if settings.prometheus.exists() {
        let (figures, others) = prometheus(&settings).await?;
        (Some(figures), others)
    } else {
        eprintln!("slo: no prometheus at {}; skipped", settings.prometheus.display());
        (None, 0.0)
    };
    Ok(SloResults {
        command: std::env::args().collect::<Vec<_>>().join(" "),
        evaluator,
        evaluator_other_cores,
        prometheus,
        prometheus_other_cores,
    })
}

/// CPU time of this process' waited-for children (the evaluator), from getrusage's view in
/// /proc/self/stat (cutime + cstime).
fn child_cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else { return 0.0 };
    let Some((_, after)) = stat.rsplit_once(')') else { return 0.0 };
    let fields: Vec<&str> = after.split_whitespace().collect();
    let field = |index: usize| fields.get(index).and_then(|value| value.parse::<u64>().ok()).unwrap_or(0);
    (field(13) + field(14)) as f64 / 100.0
}

/// A Sloth prometheus/v1 spec for the SLOs `range`, one counter each.
fn sloth_spec(range: std::ops::Range<usize>) -> String {
    let mut spec = format!("version: \"prometheus/v1\"\nservice: \"bench-{}\"\nslos:\n", range.start);
    for index in range {
        spec.push_str(&format!(
            "  - name: \"slo-{index}\"\n    objective: 99.9\n    sli:\n      events:\n        \
             error_query: sum(rate(bench_requests_total{{slo=\"{index}\",code=\"500\"}}[{{{{.window}}}}]))\n        \
             total_query: sum(rate(bench_requests_total{{slo=\"{index}\"}}[{{{{.window}}}}]))\n    \
             alerting:\n      name: BenchSlo{index}\n      page_alert: {{labels: {{severity: page}}}}\n      \
             ticket_alert: {{labels: {{severity: ticket}}}}\n"
        ));
    }
    spec
}

/// SLOs per spec file: the YAML reader caps the nodes of one document.
const SLOS_PER_SPEC: usize = 1000;

/// Writes the rules of `slos` SLOs with `staunch slo rules`, one file per spec; their paths.
fn write_rules(staunch: &Path, dir: &Path, slos: usize) -> anyhow::Result<Vec<std::path::PathBuf>> {
    let mut paths = Vec::new();
    for start in (0..slos).step_by(SLOS_PER_SPEC) {
        let spec_path = dir.join(format!("slos-{start}.yaml"));
        std::fs::write(&spec_path, sloth_spec(start..(start + SLOS_PER_SPEC).min(slos)))?;
        let rules = std::process::Command::new(staunch).args(["slo", "rules"]).arg(&spec_path).output()?;
        anyhow::ensure!(rules.status.success(), "staunch slo rules failed: {}", String::from_utf8_lossy(&rules.stderr));
        let rules_path = dir.join(format!("rules-{start}.yml"));
        std::fs::write(&rules_path, &rules.stdout)?;
        paths.push(rules_path);
    }
    Ok(paths)
}

/// Serves `bench_requests_total` for `slos` SLOs: the evaluator's traffic (4,000 requests a
/// minute each, one SLO in a hundred failing 2%, the others 0.025%).
async fn start_exporter(slos: usize) -> anyhow::Result<u16> {
    let started = Arc::new(Instant::now());
    let metrics = move || {
        let elapsed = started.elapsed().as_secs_f64();
        async move {
            let mut text = String::with_capacity(slos * 100);
            text.push_str("# TYPE bench_requests_total counter\n");
            for index in 0..slos {
                let total = (elapsed * 4000.0 / 60.0).floor() as u64;
                let errors = if index.is_multiple_of(100) { total / 50 } else { total / 4000 };
                text.push_str(&format!("bench_requests_total{{slo=\"{index}\",code=\"200\"}} {}\n", total - errors));
                text.push_str(&format!("bench_requests_total{{slo=\"{index}\",code=\"500\"}} {errors}\n"));
            }
            text
        }
    };
    let app = axum::Router::new().route("/metrics", axum::routing::get(metrics));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(port)
}

struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn prometheus(settings: &SloSettings<'_>) -> anyhow::Result<(PrometheusFigures, f64)> {
    let dir = tempfile::tempdir()?;
    let rule_files = write_rules(settings.staunch, dir.path(), settings.slos)?;
    let rule_files: Vec<String> = rule_files.iter().map(|path| format!("'{}'", path.display())).collect();
    let exporter_port = start_exporter(settings.slos).await?;
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    drop(listener);
    let config = format!(
        "global: {{scrape_interval: 15s, evaluation_interval: 1m}}\nrule_files: [{}]\nscrape_configs:\n  - job_name: bench\n    \
         static_configs: [{{targets: ['127.0.0.1:{exporter_port}']}}]\n",
        rule_files.join(", ")
    );
    std::fs::write(dir.path().join("prometheus.yml"), config)?;
    let log = std::fs::File::create(dir.path().join("prometheus.log"))?;
    let child = std::process::Command::new(settings.prometheus)
        .arg(format!("--config.file={}", dir.path().join("prometheus.yml").display()))
        .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .context("start prometheus")?;
    let pid = child.id();
    let _guard = Killed(child);
    let client = reqwest::Client::new();
    let ready = format!("http://127.0.0.1:{port}/-/ready");
    let deadline = Instant::now() + Duration::from_secs(300);
    while !client.get(&ready).send().await.is_ok_and(|response| response.status().is_success()) {
        anyhow::ensure!(Instant::now() < deadline, "prometheus not ready after 5 minutes");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // The first minute only warms up (first scrapes, first evaluations).
    tokio::time::sleep(Duration::from_secs(60)).await;
    let meter = procfs::OthersMeter::start(pid);
    let cpu_before = procfs::cpu_seconds(pid)?;
    tokio::time::sleep(Duration::from_secs(60 * settings.prometheus_minutes)).await;
    let cpu = procfs::cpu_seconds(pid)? - cpu_before;
    let others = meter.cores();
    let memory = procfs::memory(pid)?;
    let answer: serde_json::Value =
        client.get(format!("http://127.0.0.1:{port}/api/v1/rules")).send().await?.json().await.context("/api/v1/rules")?;
    let groups = answer["data"]["groups"].as_array().cloned().unwrap_or_default();
    let times: Vec<f64> = groups.iter().filter_map(|group| group["evaluationTime"].as_f64()).collect();
    let rules_count: usize = groups.iter().map(|group| group["rules"].as_array().map_or(0, Vec::len)).sum();
    let series: serde_json::Value = client
        .get(format!("http://127.0.0.1:{port}/api/v1/query"))
        .query(&[("query", "count(bench_requests_total)")])
        .send()
        .await?
        .json()
        .await?;
    let scraped_series = series["data"]["result"][0]["value"][1].as_str().and_then(|text| text.parse().ok()).unwrap_or(0);
    Ok((
        PrometheusFigures {
            rule_groups: groups.len(),
            rules: rules_count,
            scraped_series,
            measured_minutes: settings.prometheus_minutes,
            evaluation_seconds_sum: times.iter().sum(),
            evaluation_seconds_max_group: times.iter().copied().fold(0.0, f64::max),
            cpu_seconds_per_minute: cpu / settings.prometheus_minutes as f64,
            peak_rss_mib: mib(memory.peak_kib),
            rss_mib: mib(memory.current_kib),
        },
        others,
    ))
}

pub fn render(results: &SloResults) -> String {
    let evaluator = &results.evaluator;
    let mut text = format!(
        "## SLO evaluation: {} SLOs x 4 rules, 30-day windows, 1-minute ticks\n\n\
         | | per tick (median / p95 / max) | peak resident | other processes' cores |\n|---|---|---|---|\n\
         | Staunch evaluator ({} ticks, {} B of buckets per SLO) | {:.2} / {:.2} / {:.2} ms | {:.0} MiB (of which {:.0} MiB before the evaluators) | {:.2} |\n",
        evaluator.slos,
        evaluator.ticks,
        evaluator.bucket_bytes_per_slo,
        evaluator.tick_ms_median,
        evaluator.tick_ms_p95,
        evaluator.tick_ms_max,
        evaluator.peak_rss_mib,
        evaluator.rss_before_mib,
        results.evaluator_other_cores,
    );
    if let Some(prometheus) = &results.prometheus {
        text.push_str(&format!(
            "| Prometheus ({} groups, {} rules, {} series, {} min measured) | {:.0} ms summed over groups (largest group {:.1} ms); {:.1} CPU s per minute in all | {:.0} MiB (now {:.0} MiB) | {:.2} |\n",
            prometheus.rule_groups,
            prometheus.rules,
            prometheus.scraped_series,
            prometheus.measured_minutes,
            prometheus.evaluation_seconds_sum * 1000.0,
            prometheus.evaluation_seconds_max_group * 1000.0,
            prometheus.cpu_seconds_per_minute,
            prometheus.peak_rss_mib,
            prometheus.rss_mib,
            results.prometheus_other_cores,
        ));
    }
    text.push_str(&format!(
        "\nFill of 30 days of history: {:.1} s; SLOs firing at the last tick: {}.\n",
        evaluator.fill_seconds, evaluator.firing_slos_last_tick
    ));
    text
}
