//! The machine and versions a run happened on, the results as JSON, and the tables printed
//! at the end (Markdown, so they can go straight into docs/benchmarks.md).

use crate::phases::{IngestPoint, LatencyResult, ListResult, Settings};
use crate::servers::Binaries;
use serde::Serialize;
use std::fmt::Write as _;

#[derive(Debug, Serialize)]
pub struct Environment {
    pub cpus: usize,
    pub cpu_model: String,
    pub memory_total: String,
    pub kernel: String,
    pub staunch_version: String,
    pub alertmanager_version: String,
    pub sqlite_version: String,
    pub started_at: String,
    /// `STAUNCH_CPUS` as the servers inherit it: `staunch serve` runs only on those CPUs.
    pub staunch_cpus: Option<String>,
}

fn first_line(output: std::io::Result<std::process::Output>) -> String {
    match output {
        Ok(output) => {
            let text = if output.stdout.is_empty() { output.stderr } else { output.stdout };
            String::from_utf8_lossy(&text).lines().next().unwrap_or("?").trim().to_string()
        }
        Err(error) => format!("unknown ({error})"),
    }
}

fn proc_field(path: &str, key: &str) -> String {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|line| line.starts_with(key))
                .and_then(|line| line.split_once(':'))
                .map(|(_, value)| value.trim().to_string())
        })
        .unwrap_or_else(|| "?".to_string())
}

impl Environment {
    pub async fn capture(binaries: &Binaries) -> Environment {
        let sqlite_version = rusqlite::version().to_string();
        Environment {
            cpus: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
            cpu_model: proc_field("/proc/cpuinfo", "model name"),
            memory_total: proc_field("/proc/meminfo", "MemTotal"),
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .map(|text| text.trim().to_string())
                .unwrap_or_else(|_| "?".to_string()),
            staunch_version: first_line(std::process::Command::new(&binaries.staunch).arg("--version").output()),
            alertmanager_version: first_line(std::process::Command::new(&binaries.alertmanager).arg("--version").output()),
            sqlite_version,
            started_at: jiff::Timestamp::now().to_string(),
            staunch_cpus: std::env::var("STAUNCH_CPUS").ok(),
        }
    }

    pub fn describe(&self) -> String {
        format!(
            "machine: {} cpus ({}), {} memory, kernel {}\nstaunch: {} (SQLite {})\nalertmanager: {}",
            self.cpus,
            self.cpu_model,
            self.memory_total,
            self.kernel,
            self.staunch_version,
            self.sqlite_version,
            self.alertmanager_version
        )
    }
}

#[derive(Debug, Serialize)]
pub struct SettingsRecord {
    pub seconds: u64,
    pub warmup_seconds: u64,
    pub concurrency: usize,
    pub batches: Vec<usize>,
    pub servers: Vec<String>,
    pub latency_samples: usize,
    pub list_alerts: u64,
    pub list_queries: usize,
}

impl From<&Settings> for SettingsRecord {
    fn from(settings: &Settings) -> SettingsRecord {
        SettingsRecord {
            seconds: settings.seconds,
            warmup_seconds: settings.warmup_seconds,
            concurrency: settings.concurrency,
            batches: settings.batches.clone(),
            servers: settings.kinds.iter().map(|kind| kind.label()).collect(),
            latency_samples: settings.samples,
            list_alerts: settings.list_alerts,
            list_queries: settings.queries,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Results {
    pub environment: Environment,
    pub command: String,
    pub settings: SettingsRecord,
    pub ingest: Vec<IngestPoint>,
    pub latency: Vec<LatencyResult>,
    pub list: Vec<ListResult>,
    pub noisy: Vec<crate::noisy::NoisyResult>,
    pub total_seconds: f64,
}

fn mib(kib: u64) -> String {
    format!("{:.1}", kib as f64 / 1024.0)
}

fn ms(value: f64) -> String {
    if value.is_nan() {
        "–".to_string()
    } else if value < 10.0 {
        format!("{value:.2}")
    } else {
        format!("{value:.1}")
    }
}

const ALERTMANAGER: &str = "alertmanager";

pub fn render(results: &Results) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "\n{}\n", results.environment.describe());

    if !results.ingest.is_empty() {
        let _ = writeln!(
            out,
            "### Ingest: {} concurrent clients, {} s per point after {} s warm-up\n",
            results.settings.concurrency, results.settings.seconds, results.settings.warmup_seconds
        );
        let _ = writeln!(
            out,
            "| batch | server | alerts/s | × AM | request p50 ms | request p99 ms | server CPU ms / 1k alerts | server cores | harness cores | other cores | VmHWM MiB | VmRSS MiB | accepted (warm-up + measured) | rows after kill -9 | failed requests |"
        );
        let _ = writeln!(out, "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for point in &results.ingest {
            let peer = results
                .ingest
                .iter()
                .find(|other| other.batch == point.batch && other.server == ALERTMANAGER)
                .map(|peer| peer.alerts_per_second);
            let ratio = peer
                .filter(|peer| *peer > 0.0)
                .map(|peer| format!("{:.2}", point.alerts_per_second / peer))
                .unwrap_or_else(|| "–".to_string());
            let _ = writeln!(
                out,
                "| {} | {} | {:.0} | {} | {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {} | {} | {} | {} | {} |",
                point.batch,
                point.server,
                point.alerts_per_second,
                ratio,
                ms(point.request_p50_ms),
                ms(point.request_p99_ms),
                point.server_cpu_ms_per_1k_alerts,
                point.server_cores_used,
                point.harness_cores_used,
                point.other_cores_used,
                mib(point.memory_after.peak_kib),
                mib(point.memory_after.current_kib),
                point.warmup_alerts_ok + point.alerts_ok,
                point.stored_after_kill9.map(|count| count.to_string()).unwrap_or_else(|| "n/a (memory only)".to_string()),
                point.requests_failed,
            );
        }
        let _ = writeln!(out);
        let engine_rows: Vec<_> =
            results.ingest.iter().filter_map(|point| point.engine.as_ref().map(|engine| (point, engine))).collect();
        if !engine_rows.is_empty() {
            let _ = writeln!(out, "Staunch's engine over the measured part (from its `/metrics`):\n");
            let _ =
                writeln!(out, "| batch | server | transactions | requests per transaction | mean transaction ms | engine busy |");
            let _ = writeln!(out, "|---:|---|---:|---:|---:|---:|");
            for (point, engine) in engine_rows {
                let _ = writeln!(
                    out,
                    "| {} | {} | {:.0} | {:.1} | {:.2} | {:.0}% |",
                    point.batch,
                    point.server,
                    engine.transactions,
                    engine.commands_per_transaction,
                    engine.mean_transaction_ms,
                    engine.busy_fraction * 100.0
                );
            }
            let _ = writeln!(out);
        }
    }

    if !results.latency.is_empty() {
        let _ = writeln!(out, "### Alert → first webhook notification, one alert at a time\n");
        let _ = writeln!(
            out,
            "| server | samples | p50 ms | p90 ms | p99 ms | max ms | POST answered p50 ms | POST answered p99 ms | timeouts | other cores |"
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for result in &results.latency {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.2} |",
                result.server,
                result.samples,
                ms(result.p50_ms),
                ms(result.p90_ms),
                ms(result.p99_ms),
                ms(result.max_ms),
                ms(result.post_p50_ms),
                ms(result.post_p99_ms),
                result.timeouts,
                result.other_cores_used,
            );
        }
        let _ = writeln!(out);
    }

    if !results.list.is_empty() {
        let _ = writeln!(out, "### Listing one service's firing alerts\n");
        let _ = writeln!(
            out,
            "| server | open alerts | services | alerts per answer | answer KiB | p50 ms | p99 ms | max ms | wrong answers | VmRSS at start MiB | VmHWM MiB | VmRSS MiB | of which anon / file MiB | on disk MiB | load alerts/s | other cores |"
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for result in &results.list {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {:.0} | {} | {} | {} | {} | {} | {} | {} | {} / {} | {} | {:.0} | {:.2} |",
                result.server,
                result.open_alerts,
                result.services,
                result.alerts_per_answer,
                result.answer_bytes as f64 / 1024.0,
                ms(result.p50_ms),
                ms(result.p99_ms),
                ms(result.max_ms),
                result.wrong_answers,
                mib(result.memory_at_start.current_kib),
                mib(result.memory.peak_kib),
                mib(result.memory.current_kib),
                mib(result.memory.anon_kib),
                mib(result.memory.file_kib),
                result.disk_bytes.map(|bytes| format!("{:.1}", bytes as f64 / 1048576.0)).unwrap_or_else(|| "n/a".to_string()),
                result.load_alerts_per_second,
                result.other_cores_used,
            );
        }
        let _ = writeln!(out);
    }

    if !results.noisy.is_empty() {
        let _ = writeln!(out, "### Noisy neighbour: organisation B's alert → page while organisation A floods\n");
        let _ = writeln!(
            out,
            "| server | B idle samples | B idle p50 ms | B idle p99 ms | A's alerts accepted | A's failed requests | flood s | flood alerts/s | B sent during flood | B paged | B p50 ms | B p99 ms | B max ms | B p99 ÷ idle p99 | other cores |"
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for result in &results.noisy {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {:.2} | {:.0} | {} | {} | {} | {} | {} | {:.2} | {:.2} |",
                result.server,
                result.idle_samples,
                ms(result.idle_p50_ms),
                ms(result.idle_p99_ms),
                result.flood_alerts_accepted,
                result.flood_requests_failed,
                result.flood_seconds,
                result.flood_alerts_per_second,
                result.quiet_sent_during_flood,
                result.quiet_paged,
                ms(result.quiet_p50_ms),
                ms(result.quiet_p99_ms),
                ms(result.quiet_max_ms),
                result.p99_ratio,
                result.other_cores_used,
            );
        }
        let _ = writeln!(out);
    }

    let verdicts = targets(results);
    if !verdicts.is_empty() {
        let _ = writeln!(out, "### Targets\n");
        for verdict in verdicts {
            let _ = writeln!(out, "- {verdict}");
        }
    }
    let _ = writeln!(out, "\n(total run time {:.0} s)", results.total_seconds);
    out
}

fn met(ok: bool) -> &'static str {
    if ok { "MET" } else { "NOT MET" }
}

/// The targets, judged on this run's figures.
fn targets(results: &Results) -> Vec<String> {
    let mut verdicts = Vec::new();
    let is_staunch = |server: &str| server != ALERTMANAGER;
    for point in results.ingest.iter().filter(|p| is_staunch(&p.server)) {
        if let Some(peer) = results.ingest.iter().find(|p| p.batch == point.batch && p.server == ALERTMANAGER) {
            let ratio = point.alerts_per_second / peer.alerts_per_second.max(1e-9);
            verdicts.push(format!(
                "≥ 2× Alertmanager's alerts/s, {} at batch {}: {:.2}× — {}",
                point.server,
                point.batch,
                ratio,
                met(ratio >= 2.0)
            ));
        }
    }
    let am_list = results.list.iter().find(|r| r.server == ALERTMANAGER);
    for result in results.list.iter().filter(|r| is_staunch(&r.server)) {
        if let Some(peer) = am_list {
            let ratio = result.memory.peak_kib as f64 / peer.memory.peak_kib.max(1) as f64;
            verdicts.push(format!(
                "≤ 1/10 of Alertmanager's peak resident memory with {} alerts open: {} MiB vs {} MiB = {:.2} — {}",
                result.open_alerts,
                mib(result.memory.peak_kib),
                mib(peer.memory.peak_kib),
                ratio,
                met(ratio <= 0.1)
            ));
        }
        verdicts.push(format!(
            "listing under 50 ms with {} open: p99 {} ms — {}",
            result.open_alerts,
            ms(result.p99_ms),
            met(result.p99_ms < 50.0)
        ));
    }
    let am_latency = results.latency.iter().find(|r| r.server == ALERTMANAGER);
    for result in results.latency.iter().filter(|r| is_staunch(&r.server)) {
        if let Some(peer) = am_latency {
            verdicts.push(format!(
                "alert → webhook p99 no slower than Alertmanager's, {}: {} ms vs {} ms — {}",
                result.server,
                ms(result.p99_ms),
                ms(peer.p99_ms),
                met(result.p99_ms <= peer.p99_ms)
            ));
        }
    }
    verdicts
}
