//! The noisy-neighbour phase (Staunch only: Alertmanager has no tenants). Organisation A (the
//! default one) floods its service with a fixed number of alerts at the ingest concurrency;
//! organisation B (`quiet`) sends a few alerts of its own meanwhile, each its own incident
//! paging B's on-call. B's alert → page latency under the flood is compared with the same
//! measurement on the idle server just before.
//!
//! B's prober runs on a thread of its own with its own receiver, so the flood (driven from the
//! harness's main thread) cannot delay B's requests or the moment B's pages are seen.

use crate::load::{self, Plan, percentile};
use crate::payload;
use crate::phases::{Settings, flood_requests, http_client, wait_for_quiet};
use crate::procfs;
use crate::receiver;
use crate::servers::{self, Binaries, Kind, Phase, Server};
use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
pub struct NoisySettings {
    /// Alerts A sends in total.
    pub flood_alerts: u64,
    /// Alerts per request of A's flood.
    pub flood_batch: u64,
    /// Alerts B sends during the flood.
    pub quiet_alerts: usize,
    /// B's samples on the idle server.
    pub idle_samples: usize,
}

#[derive(Debug, Serialize)]
pub struct NoisyResult {
    pub server: String,
    pub idle_samples: usize,
    pub idle_p50_ms: f64,
    pub idle_p99_ms: f64,
    pub flood_alerts_accepted: u64,
    pub flood_requests_failed: u64,
    pub flood_seconds: f64,
    pub flood_alerts_per_second: f64,
    /// B's alerts sent while the flood was running, and how many of them paged.
    pub quiet_sent_during_flood: usize,
    pub quiet_paged: usize,
    pub quiet_p50_ms: f64,
    pub quiet_p99_ms: f64,
    pub quiet_max_ms: f64,
    /// B's p99 under the flood over B's p99 idle (the target is at most 2).
    pub p99_ratio: f64,
    pub other_cores_used: f64,
    /// Each of B's paged alerts under the flood, in the order sent: when its POST was
    /// answered (committed) and when its page arrived, both from the send. Shows which hop a
    /// slow sample lost its time on.
    pub quiet_samples: Vec<ProbeTimes>,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct ProbeTimes {
    pub answered_ms: f64,
    pub paged_ms: f64,
}

/// The gap between B's alerts, idle and during the flood alike, as in the latency phase. A's
/// 50,000 alerts take well under a second on this machine, so a wider gap during the flood
/// (it was 150 ms) left only 4 of B's 10 alerts inside it, and the ratio rested on those 4.
const IDLE_GAP: Duration = Duration::from_millis(20);
const FLOOD_GAP: Duration = IDLE_GAP;
const FLOOD_START_DELAY: Duration = Duration::from_millis(100);
const PAGE_TIMEOUT: Duration = Duration::from_secs(20);

pub async fn noisy(
    settings: &Settings,
    noisy: NoisySettings,
    binaries: &Binaries,
    receiver: &receiver::Receiver,
) -> anyhow::Result<Vec<NoisyResult>> {
    let mut results = Vec::new();
    for &kind in settings.kinds.iter().filter(|kind| matches!(kind, Kind::Staunch { .. })) {
        wait_for_quiet(settings).await;
        let result = run(settings, noisy, binaries, receiver.port, kind).await?;
        eprintln!(
            "  noisy {:<20}: B idle p99 {:.2} ms, under A's flood ({:.0} alerts/s) p99 {:.2} ms = {:.2}×, {} of {} paged",
            result.server,
            result.idle_p99_ms,
            result.flood_alerts_per_second,
            result.quiet_p99_ms,
            result.p99_ratio,
            result.quiet_paged,
            result.quiet_sent_during_flood
        );
        results.push(result);
    }
    Ok(results)
}

/// What B's prober thread measured.
#[derive(Default)]
struct Probes {
    idle_ms: Vec<f64>,
    flood_ms: Vec<f64>,
    flood_samples: Vec<ProbeTimes>,
    sent_during_flood: usize,
}

async fn run(
    settings: &Settings,
    noisy: NoisySettings,
    binaries: &Binaries,
    flood_receiver_port: u16,
    kind: Kind,
) -> anyhow::Result<NoisyResult> {
    let (port_sender, port_receiver) = std::sync::mpsc::channel::<u16>();
    let (base_sender, base_receiver) = std::sync::mpsc::channel::<String>();
    let (idle_done_sender, mut idle_done) = tokio::sync::oneshot::channel::<()>();
    let flood_running = Arc::new(AtomicBool::new(false));
    let flood_over = Arc::new(AtomicBool::new(false));
    let prober = {
        let (flood_running, flood_over) = (flood_running.clone(), flood_over.clone());
        std::thread::spawn(move || -> anyhow::Result<Probes> {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(probe_thread(noisy, port_sender, base_receiver, idle_done_sender, flood_running, flood_over))
        })
    };
    let quiet_port = port_receiver.recv_timeout(Duration::from_secs(10))?;
    let server = Server::start(kind, Phase::Noisy { quiet_receiver_port: quiet_port }, binaries, flood_receiver_port).await?;
    let others = procfs::OthersMeter::start(server.pid);
    base_sender.send(server.base.clone())?;

    // B measures the idle server first.
    let idle_deadline = Instant::now() + Duration::from_secs(120);
    while idle_done.try_recv().is_err() {
        anyhow::ensure!(Instant::now() < idle_deadline, "quiet prober did not finish its idle samples");
        anyhow::ensure!(!prober.is_finished(), "quiet prober stopped early");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    let client = http_client()?;
    let key = servers::integration_key(Phase::Noisy { quiet_receiver_port: quiet_port }, 0);
    let requests = noisy.flood_alerts.div_ceil(noisy.flood_batch.max(1));
    let build = flood_requests(&server, noisy.flood_batch, key);
    flood_running.store(true, Ordering::SeqCst);
    let flood = load::run(
        &client,
        &Plan {
            concurrency: settings.concurrency,
            duration: Duration::from_secs(600),
            first_request: 0,
            end_request: requests,
            max_failures: 1000,
        },
        build,
    )
    .await;
    flood_over.store(true, Ordering::SeqCst);
    let probes =
        tokio::task::spawn_blocking(move || prober.join()).await?.map_err(|_| anyhow::anyhow!("quiet prober panicked"))??;
    let other_cores_used = others.cores();
    drop(server);

    let idle_p99 = percentile(&probes.idle_ms, 0.99);
    let quiet_p99 = percentile(&probes.flood_ms, 0.99);
    Ok(NoisyResult {
        server: kind.label(),
        idle_samples: probes.idle_ms.len(),
        idle_p50_ms: percentile(&probes.idle_ms, 0.5),
        idle_p99_ms: idle_p99,
        flood_alerts_accepted: flood.alerts_ok,
        flood_requests_failed: flood.requests_failed,
        flood_seconds: flood.elapsed.as_secs_f64(),
        flood_alerts_per_second: flood.alerts_per_second(),
        quiet_sent_during_flood: probes.sent_during_flood,
        quiet_paged: probes.flood_ms.len(),
        quiet_p50_ms: percentile(&probes.flood_ms, 0.5),
        quiet_p99_ms: quiet_p99,
        quiet_max_ms: percentile(&probes.flood_ms, 1.0),
        p99_ratio: quiet_p99 / idle_p99,
        other_cores_used,
        quiet_samples: probes.flood_samples,
    })
}

async fn probe_thread(
    noisy: NoisySettings,
    port_sender: std::sync::mpsc::Sender<u16>,
    base_receiver: std::sync::mpsc::Receiver<String>,
    idle_done: tokio::sync::oneshot::Sender<()>,
    flood_running: Arc<AtomicBool>,
    flood_over: Arc<AtomicBool>,
) -> anyhow::Result<Probes> {
    let receiver = receiver::start().await?;
    port_sender.send(receiver.port)?;
    let base = tokio::task::spawn_blocking(move || base_receiver.recv_timeout(Duration::from_secs(60))).await??;
    let client = http_client()?;
    let url =
        format!("{base}/integrations/alertmanager/{}", servers::integration_key(Phase::Noisy { quiet_receiver_port: 0 }, 1));
    let run = format!("{:x}", payload::mix(jiff::Timestamp::now().as_nanosecond() as u64) >> 40);
    let mut probes = Probes::default();
    let mut number = 0_u64;
    // Five unmeasured samples open the connections on both hops.
    for index in 0..(5 + noisy.idle_samples) {
        let latency = probe(&client, &url, &receiver, &format!("{run}-{number}"), number).await;
        number += 1;
        if index >= 5
            && let Some(latency) = latency
        {
            probes.idle_ms.push(latency.paged_ms);
        }
        tokio::time::sleep(IDLE_GAP).await;
    }
    let _ = idle_done.send(());
    while !flood_running.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    tokio::time::sleep(FLOOD_START_DELAY).await;
    for _ in 0..noisy.quiet_alerts {
        if flood_over.load(Ordering::SeqCst) {
            break;
        }
        probes.sent_during_flood += 1;
        if let Some(latency) = probe(&client, &url, &receiver, &format!("{run}-{number}"), number).await {
            probes.flood_ms.push(latency.paged_ms);
            probes.flood_samples.push(latency);
        }
        number += 1;
        tokio::time::sleep(FLOOD_GAP).await;
    }
    Ok(probes)
}

/// Sends one probe alert and waits for its page, or `None` when it failed.
async fn probe(
    client: &reqwest::Client,
    url: &str,
    receiver: &receiver::Receiver,
    sample: &str,
    number: u64,
) -> Option<ProbeTimes> {
    let alert = payload::probe_alert(sample, number);
    let body = payload::webhook_body(std::slice::from_ref(&alert), &[("sample", sample)], &jiff::Timestamp::now().to_string());
    let arrived = receiver.received.expect(sample);
    let sent = Instant::now();
    let answer = client.post(url).header(reqwest::header::CONTENT_TYPE, "application/json").body(body).send().await;
    if !answer.is_ok_and(|response| response.status().is_success()) {
        receiver.received.forget(sample);
        return None;
    }
    let answered_ms = sent.elapsed().as_secs_f64() * 1000.0;
    match tokio::time::timeout(PAGE_TIMEOUT, arrived).await {
        Ok(Ok(at)) => Some(ProbeTimes { answered_ms, paged_ms: at.duration_since(sent).as_secs_f64() * 1000.0 }),
        _ => {
            receiver.received.forget(sample);
            None
        }
    }
}
