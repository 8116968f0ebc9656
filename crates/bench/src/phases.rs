//! The three measurements. Each point starts fresh servers, so no point inherits another's
//! state; points of different servers are interleaved so drift on the machine hits all alike.

use crate::load::{self, Plan, RequestBuilder, percentile};
use crate::payload::{self, Alert};
use crate::procfs::{self, Memory};
use crate::receiver::Receiver;
use crate::servers::{self, Binaries, Kind, Phase, Server};
use anyhow::Context;
use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

pub struct Settings {
    /// Before each point, wait up to this long for other processes to leave the CPU idle.
    pub quiet_wait: Duration,
    /// Points disturbed by other processes (over [`NOISY_CORES`]) are run again this often.
    pub retries: usize,
    pub seconds: u64,
    pub warmup_seconds: u64,
    pub concurrency: usize,
    pub batches: Vec<usize>,
    pub kinds: Vec<Kind>,
    pub samples: usize,
    pub list_alerts: u64,
    pub queries: usize,
}

/// Other processes using more than this many cores during a point make it noisy.
pub const NOISY_CORES: f64 = 0.25;

/// Waits (bounded) until other processes leave the machine nearly idle, so a point is not
/// measured while someone else compiles. Returns the load seen last.
pub(crate) async fn wait_for_quiet(settings: &Settings) -> f64 {
    let deadline = Instant::now() + settings.quiet_wait;
    let mut announced = false;
    loop {
        let others = procfs::others_busy_cores(Duration::from_millis(500)).await;
        if others < 0.1 || Instant::now() >= deadline {
            return others;
        }
        if !announced {
            eprintln!("  (other processes use {others:.2} cores; waiting up to {} s for quiet)", settings.quiet_wait.as_secs());
            announced = true;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

fn timestamps() -> (String, String) {
    let now = jiff::Timestamp::now();
    let ends = now.checked_add(jiff::SignedDuration::from_hours(1)).unwrap_or(now);
    (now.to_string(), ends.to_string())
}

/// Request `index` of a stream of `batch`-sized requests: alerts `index*batch ..`, all with
/// one alertname (as one Alertmanager group notification would be), `service` label `service`.
fn node_alerts(index: u64, batch: u64, service: &str) -> (String, Vec<Alert>) {
    let alertname = format!("NodeAlert{}", index % servers::ALERT_NAMES);
    let alerts = (0..batch).map(|offset| payload::node_alert(index * batch + offset, &alertname, service)).collect();
    (alertname, alerts)
}

/// Builds ingest requests for `server`: Staunch gets webhook notifications at its integration
/// for `key(index)`; Alertmanager gets the same alerts at `POST /api/v2/alerts`.
fn ingest_requests(
    server: &Server,
    batch: u64,
    service: impl Fn(u64) -> (String, String) + Send + Sync + 'static,
) -> RequestBuilder {
    let base = server.base.clone();
    match server.kind {
        Kind::Staunch { .. } => Arc::new(move |index| {
            let (service_id, key) = service(index);
            let (alertname, alerts) = node_alerts(index, batch, &service_id);
            let (now, _) = timestamps();
            let body = payload::webhook_body(&alerts, &[("alertname", &alertname)], &now);
            (format!("{base}/integrations/alertmanager/{key}"), body, batch)
        }),
        Kind::Alertmanager => Arc::new(move |index| {
            let (service_id, _) = service(index);
            let (_, alerts) = node_alerts(index, batch, &service_id);
            let (now, ends) = timestamps();
            let body = payload::postable_alerts_body(&alerts, &now, &ends);
            (format!("{base}/api/v2/alerts"), body, batch)
        }),
    }
}

/// The noisy-neighbour flood: the ingest phase's requests, at integration `key` of `checkout`.
pub(crate) fn flood_requests(server: &Server, batch: u64, key: String) -> RequestBuilder {
    ingest_requests(server, batch, move |_| ("checkout".to_string(), key.clone()))
}

pub(crate) fn http_client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder().timeout(Duration::from_secs(30)).pool_max_idle_per_host(256).build()?)
}

// ---------------------------------------------------------------------------------------------
// 1 + 2: ingest throughput and memory

#[derive(Debug, Serialize)]
pub struct IngestPoint {
    pub server: String,
    pub batch: usize,
    pub concurrency: usize,
    pub seconds: f64,
    pub requests_ok: u64,
    pub requests_failed: u64,
    pub first_error: Option<String>,
    pub alerts_ok: u64,
    pub alerts_per_second: f64,
    pub request_p50_ms: f64,
    pub request_p99_ms: f64,
    /// Server CPU (user + system) per 1,000 accepted alerts, measured part only.
    pub server_cpu_ms_per_1k_alerts: f64,
    /// Server CPU time over the measured part divided by its wall time (2.0 = both cores).
    pub server_cores_used: f64,
    /// The harness's own CPU over the measured part divided by its wall time.
    pub harness_cores_used: f64,
    /// Every other process on the machine over the measured part, in cores: noise, should
    /// be near 0.
    pub other_cores_used: f64,
    /// How many times the point was measured (a noisy one is measured again).
    pub attempts: usize,
    pub warmup_alerts_ok: u64,
    pub memory_after: Memory,
    /// Webhook requests the server sent to the receiver during the point.
    pub notifications_received: u64,
    /// Staunch: alert rows in the database after `kill -9`, to compare with alerts accepted
    /// (warm-up plus measured).
    pub stored_after_kill9: Option<u64>,
    /// Staunch: what its engine did over the measured part, from its own `/metrics`.
    pub engine: Option<EngineStats>,
}

/// The engine's group commits over an interval, from the `staunch_engine_batch_seconds` and
/// `staunch_engine_batch_size` summaries Staunch exports.
#[derive(Debug, Clone, Serialize)]
pub struct EngineStats {
    pub transactions: f64,
    pub commands_per_transaction: f64,
    pub mean_transaction_ms: f64,
    /// Time inside transactions divided by wall time: near 1.0, the single writer is the limit.
    pub busy_fraction: f64,
}

#[derive(Debug, Default, Clone, Copy)]
struct EngineCounters {
    seconds_sum: f64,
    count: f64,
    size_sum: f64,
}

async fn engine_counters(client: &reqwest::Client, server: &Server) -> Option<EngineCounters> {
    if !matches!(server.kind, Kind::Staunch { .. }) {
        return None;
    }
    let text = client.get(format!("{}/metrics", server.base)).send().await.ok()?.text().await.ok()?;
    let value = |name: &str| -> f64 {
        text.lines()
            .find_map(|line| {
                let (key, value) = line.split_once(' ')?;
                (key == name).then(|| value.trim().parse::<f64>().ok())?
            })
            .unwrap_or(0.0)
    };
    Some(EngineCounters {
        seconds_sum: value("staunch_engine_batch_seconds_sum"),
        count: value("staunch_engine_batch_seconds_count"),
        size_sum: value("staunch_engine_batch_size_sum"),
    })
}

fn engine_stats(before: Option<EngineCounters>, after: Option<EngineCounters>, wall: f64) -> Option<EngineStats> {
    let (before, after) = (before?, after?);
    let transactions = after.count - before.count;
    if transactions <= 0.0 {
        return None;
    }
    let busy = after.seconds_sum - before.seconds_sum;
    Some(EngineStats {
        transactions,
        commands_per_transaction: (after.size_sum - before.size_sum) / transactions,
        mean_transaction_ms: busy * 1000.0 / transactions,
        busy_fraction: busy / wall.max(1e-9),
    })
}

pub async fn ingest(settings: &Settings, binaries: &Binaries, receiver: &Receiver) -> anyhow::Result<Vec<IngestPoint>> {
    let client = http_client()?;
    let mut points = Vec::new();
    for &batch in &settings.batches {
        for &kind in &settings.kinds {
            let mut attempt = 0;
            let point = loop {
                attempt += 1;
                wait_for_quiet(settings).await;
                let mut point = ingest_point(settings, binaries, receiver, &client, kind, batch)
                    .await
                    .with_context(|| format!("ingest, {} at batch {batch}", kind.label()))?;
                point.attempts = attempt;
                print_ingest_progress(&point);
                if point.other_cores_used <= NOISY_CORES || attempt > settings.retries {
                    break point;
                }
                eprintln!("  (other processes used {:.2} cores: measuring again)", point.other_cores_used);
            };
            points.push(point);
        }
    }
    Ok(points)
}

fn print_ingest_progress(point: &IngestPoint) {
    eprintln!(
        "  ingest {:<20} batch {:>3}: {:>9.0} alerts/s, request p50 {:.2} ms p99 {:.2} ms, other cores {:.2}, {} failed{}",
        point.server,
        point.batch,
        point.alerts_per_second,
        point.request_p50_ms,
        point.request_p99_ms,
        point.other_cores_used,
        point.requests_failed,
        point.first_error.as_deref().map(|error| format!(" (first: {error})")).unwrap_or_default()
    );
}

async fn ingest_point(
    settings: &Settings,
    binaries: &Binaries,
    receiver: &Receiver,
    client: &reqwest::Client,
    kind: Kind,
    batch: usize,
) -> anyhow::Result<IngestPoint> {
    let mut server = Server::start(kind, Phase::Ingest, binaries, receiver.port).await?;
    let key = servers::integration_key(Phase::Ingest, 0);
    let build = ingest_requests(&server, batch as u64, move |_| ("checkout".to_string(), key.clone()));
    let notifications_before = notification_count(receiver, kind);

    let warmup = load::run(
        client,
        &Plan {
            concurrency: settings.concurrency,
            duration: Duration::from_secs(settings.warmup_seconds),
            first_request: 0,
            end_request: u64::MAX,
            max_failures: 1000,
        },
        build.clone(),
    )
    .await;

    let engine_before = engine_counters(client, &server).await;
    let server_cpu_before = server.cpu_seconds();
    let harness_cpu_before = procfs::own_cpu_seconds();
    let machine_before = procfs::machine_busy_seconds();
    let measured = load::run(
        client,
        &Plan {
            concurrency: settings.concurrency,
            duration: Duration::from_secs(settings.seconds),
            first_request: warmup.next_request,
            end_request: u64::MAX,
            max_failures: 1000,
        },
        build,
    )
    .await;
    let wall = measured.elapsed.as_secs_f64();
    let server_cpu = server.cpu_seconds() - server_cpu_before;
    let harness_cpu = procfs::own_cpu_seconds() - harness_cpu_before;
    let machine = procfs::machine_busy_seconds() - machine_before;
    let engine = engine_stats(engine_before, engine_counters(client, &server).await, wall);
    let memory_after = server.memory()?;
    // Let notifications that are due go out before counting them.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let notifications_received = notification_count(receiver, kind) - notifications_before;

    let stored_after_kill9 = match (&server.kind, server.db.clone()) {
        (Kind::Staunch { .. }, Some(db)) => {
            server.kill();
            Some(servers::count_stored_alerts(&db).await?)
        }
        _ => None,
    };
    if measured.alerts_ok == 0 {
        eprintln!("{} log:\n{}", kind.label(), server.log_tail());
    }
    drop(server);

    Ok(IngestPoint {
        server: kind.label(),
        batch,
        concurrency: settings.concurrency,
        seconds: wall,
        requests_ok: measured.requests_ok,
        requests_failed: measured.requests_failed + warmup.requests_failed,
        first_error: warmup.first_error.or(measured.first_error.clone()),
        alerts_ok: measured.alerts_ok,
        alerts_per_second: measured.alerts_per_second(),
        request_p50_ms: percentile(&measured.latencies_ms, 0.5),
        request_p99_ms: percentile(&measured.latencies_ms, 0.99),
        server_cpu_ms_per_1k_alerts: server_cpu * 1000.0 / (measured.alerts_ok.max(1) as f64) * 1000.0,
        server_cores_used: server_cpu / wall.max(1e-9),
        harness_cores_used: harness_cpu / wall.max(1e-9),
        other_cores_used: ((machine - server_cpu - harness_cpu) / wall.max(1e-9)).max(0.0),
        attempts: 1,
        warmup_alerts_ok: warmup.alerts_ok,
        memory_after,
        notifications_received,
        stored_after_kill9,
        engine,
    })
}

fn notification_count(receiver: &Receiver, kind: Kind) -> u64 {
    match kind {
        Kind::Staunch { .. } => receiver.received.staunch_requests.load(Ordering::Relaxed),
        Kind::Alertmanager => receiver.received.alertmanager_requests.load(Ordering::Relaxed),
    }
}

// ---------------------------------------------------------------------------------------------
// 3: alert -> first webhook notification

#[derive(Debug, Serialize)]
pub struct LatencyResult {
    pub server: String,
    pub samples: usize,
    pub timeouts: usize,
    pub failed_posts: usize,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// The POST's own answer time (Staunch answers after the durable commit).
    pub post_p50_ms: f64,
    pub post_p99_ms: f64,
    /// Other processes' CPU during the run, in cores.
    pub other_cores_used: f64,
}

/// Samples sent before measuring, to open connections on both hops.
const LATENCY_WARMUP: usize = 5;
/// Pause between samples, so a sample does not queue behind the previous one's bookkeeping.
const LATENCY_GAP: Duration = Duration::from_millis(20);
const LATENCY_TIMEOUT: Duration = Duration::from_secs(10);

pub async fn latency(settings: &Settings, binaries: &Binaries, receiver: &Receiver) -> anyhow::Result<Vec<LatencyResult>> {
    let client = http_client()?;
    let mut results = Vec::new();
    for &kind in &settings.kinds {
        wait_for_quiet(settings).await;
        let result = latency_run(settings, binaries, receiver, &client, kind)
            .await
            .with_context(|| format!("latency, {}", kind.label()))?;
        eprintln!(
            "  latency {:<20}: p50 {:.2} ms, p99 {:.2} ms, {} timeouts",
            result.server, result.p50_ms, result.p99_ms, result.timeouts
        );
        results.push(result);
    }
    Ok(results)
}

async fn latency_run(
    settings: &Settings,
    binaries: &Binaries,
    receiver: &Receiver,
    client: &reqwest::Client,
    kind: Kind,
) -> anyhow::Result<LatencyResult> {
    let server = Server::start(kind, Phase::Latency, binaries, receiver.port).await?;
    let others = procfs::OthersMeter::start(server.pid);
    let run = format!("{:x}", payload::mix(jiff::Timestamp::now().as_nanosecond() as u64) >> 40);
    let url = match kind {
        Kind::Staunch { .. } => {
            format!("{}/integrations/alertmanager/{}", server.base, servers::integration_key(Phase::Latency, 0))
        }
        Kind::Alertmanager => format!("{}/api/v2/alerts", server.base),
    };
    let mut latencies = Vec::new();
    let mut posts = Vec::new();
    let mut timeouts = 0;
    let mut failed_posts = 0;
    for number in 0..(LATENCY_WARMUP + settings.samples) {
        let sample = format!("{run}-{number}");
        let alert = payload::probe_alert(&sample, number as u64);
        let (now, ends) = timestamps();
        let body = match kind {
            Kind::Staunch { .. } => payload::webhook_body(std::slice::from_ref(&alert), &[("sample", &sample)], &now),
            Kind::Alertmanager => payload::postable_alerts_body(std::slice::from_ref(&alert), &now, &ends),
        };
        let arrived = receiver.received.expect(&sample);
        let sent = Instant::now();
        let answer = client.post(&url).header(reqwest::header::CONTENT_TYPE, "application/json").body(body).send().await;
        let posted = sent.elapsed();
        let ok = match answer {
            Ok(response) => {
                let success = response.status().is_success();
                let _ = response.bytes().await;
                success
            }
            Err(_) => false,
        };
        if !ok {
            failed_posts += 1;
            receiver.received.forget(&sample);
            continue;
        }
        match tokio::time::timeout(LATENCY_TIMEOUT, arrived).await {
            Ok(Ok(at)) => {
                if number >= LATENCY_WARMUP {
                    latencies.push(at.duration_since(sent).as_secs_f64() * 1000.0);
                    posts.push(posted.as_secs_f64() * 1000.0);
                }
            }
            _ => {
                receiver.received.forget(&sample);
                if number >= LATENCY_WARMUP {
                    timeouts += 1;
                }
            }
        }
        tokio::time::sleep(LATENCY_GAP).await;
    }
    if latencies.is_empty() {
        eprintln!("{} log:\n{}", kind.label(), server.log_tail());
    }
    let other_cores_used = others.cores();
    drop(server);
    Ok(LatencyResult {
        server: kind.label(),
        samples: latencies.len(),
        timeouts,
        failed_posts,
        p50_ms: percentile(&latencies, 0.5),
        p90_ms: percentile(&latencies, 0.9),
        p99_ms: percentile(&latencies, 0.99),
        max_ms: percentile(&latencies, 1.0),
        post_p50_ms: percentile(&posts, 0.5),
        post_p99_ms: percentile(&posts, 0.99),
        other_cores_used,
    })
}

// ---------------------------------------------------------------------------------------------
// 4: listing open alerts of one service among many

#[derive(Debug, Serialize)]
pub struct ListResult {
    pub server: String,
    pub open_alerts: u64,
    pub services: usize,
    /// Loading the open alerts (batches of 100, at the ingest concurrency).
    pub load_alerts_per_second: f64,
    pub load_failed_requests: u64,
    pub queries: usize,
    /// Queries whose answer did not hold exactly the service's alerts.
    pub wrong_answers: usize,
    pub alerts_per_answer: usize,
    pub answer_bytes: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Resident memory right after start, before any alert.
    pub memory_at_start: Memory,
    /// Resident memory with every alert open, after the queries.
    pub memory: Memory,
    /// Staunch: database plus WAL on disk.
    pub disk_bytes: Option<u64>,
    /// Other processes' CPU during the timed queries, in cores.
    pub other_cores_used: f64,
    /// Each timed query's answer time in the order sent, so an outlier can be placed in time.
    pub timings_ms: Vec<f64>,
}

const LIST_BATCH: u64 = 100;
const LIST_WARMUP_QUERIES: usize = 3;

pub async fn list(settings: &Settings, binaries: &Binaries, receiver: &Receiver) -> anyhow::Result<Vec<ListResult>> {
    let client = http_client()?;
    let mut results = Vec::new();
    // Durability does not change a read; one Staunch (the first asked for) is enough.
    let mut kinds: Vec<Kind> = Vec::new();
    for &kind in &settings.kinds {
        let is_staunch = matches!(kind, Kind::Staunch { .. });
        if !(is_staunch && kinds.iter().any(|k| matches!(k, Kind::Staunch { .. }))) {
            kinds.push(kind);
        }
    }
    for kind in kinds {
        wait_for_quiet(settings).await;
        let result =
            list_run(settings, binaries, receiver, &client, kind).await.with_context(|| format!("list, {}", kind.label()))?;
        eprintln!(
            "  list {:<20}: {} open, p50 {:.2} ms, p99 {:.2} ms, {} wrong answers",
            result.server, result.open_alerts, result.p50_ms, result.p99_ms, result.wrong_answers
        );
        results.push(result);
    }
    Ok(results)
}

async fn list_run(
    settings: &Settings,
    binaries: &Binaries,
    receiver: &Receiver,
    client: &reqwest::Client,
    kind: Kind,
) -> anyhow::Result<ListResult> {
    let server = Server::start(kind, Phase::List, binaries, receiver.port).await?;
    let memory_at_start = server.memory()?;
    let services = servers::LIST_SERVICES as u64;
    // Whole rounds over the services, so every service holds the same number of alerts.
    let requests = (settings.list_alerts / LIST_BATCH / services).max(1) * services;
    let build = ingest_requests(&server, LIST_BATCH, move |index| {
        let service = (index % services) as usize;
        (servers::list_service(service), servers::integration_key(Phase::List, service))
    });
    let loaded = load::run(
        client,
        &Plan {
            concurrency: settings.concurrency,
            duration: Duration::from_secs(600),
            first_request: 0,
            end_request: requests,
            max_failures: 100,
        },
        build,
    )
    .await;
    if loaded.alerts_ok != requests * LIST_BATCH {
        anyhow::bail!(
            "loaded {} of {} alerts ({} failed requests, first error {:?})",
            loaded.alerts_ok,
            requests * LIST_BATCH,
            loaded.requests_failed,
            loaded.first_error
        );
    }
    let per_service = (requests / services * LIST_BATCH) as usize;
    let others = procfs::OthersMeter::start(server.pid);

    let mut timings = Vec::new();
    let mut wrong_answers = 0;
    let mut answer_bytes = 0;
    for query in 0..(LIST_WARMUP_QUERIES + settings.queries) {
        let service = servers::list_service((query * 37) % servers::LIST_SERVICES);
        let request = match kind {
            Kind::Staunch { .. } => client
                .get(format!("{}/api/v1/alerts", server.base))
                .query(&[("service", service.as_str()), ("firing", "true"), ("limit", "1000")])
                .bearer_auth(server.token.as_deref().unwrap_or_default()),
            Kind::Alertmanager => client.get(format!("{}/api/v2/alerts", server.base)).query(&[
                ("filter", format!("service=\"{service}\"").as_str()),
                ("active", "true"),
                ("silenced", "false"),
                ("inhibited", "false"),
            ]),
        };
        let sent = Instant::now();
        let response = request.send().await?;
        let status = response.status();
        let body = response.bytes().await?;
        let took = sent.elapsed();
        let document: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let alerts = match kind {
            Kind::Staunch { .. } => document["alerts"].as_array(),
            Kind::Alertmanager => document.as_array(),
        };
        let count = alerts.map(Vec::len).unwrap_or(0);
        let all_of_service =
            alerts.is_some_and(|alerts| alerts.iter().all(|alert| alert["labels"]["service"].as_str() == Some(service.as_str())));
        if query >= LIST_WARMUP_QUERIES {
            timings.push(took.as_secs_f64() * 1000.0);
            answer_bytes = body.len();
            if !status.is_success() || count != per_service.min(1000) || !all_of_service {
                wrong_answers += 1;
            }
        }
    }
    let other_cores_used = others.cores();
    let memory = server.memory()?;
    let disk_bytes = server.db.as_ref().and_then(|db| match db {
        servers::Database::Sqlite(path) => Some(path),
        servers::Database::Postgres(_) => None,
    });
    let disk_bytes = disk_bytes.map(|db| {
        ["", "-wal"]
            .iter()
            .filter_map(|suffix| std::fs::metadata(format!("{}{suffix}", db.display())).ok())
            .map(|metadata| metadata.len())
            .sum()
    });
    drop(server);
    Ok(ListResult {
        server: kind.label(),
        open_alerts: loaded.alerts_ok,
        services: servers::LIST_SERVICES,
        load_alerts_per_second: loaded.alerts_per_second(),
        load_failed_requests: loaded.requests_failed,
        queries: timings.len(),
        wrong_answers,
        alerts_per_answer: per_service.min(1000),
        answer_bytes,
        p50_ms: percentile(&timings, 0.5),
        p99_ms: percentile(&timings, 0.99),
        max_ms: percentile(&timings, 1.0),
        timings_ms: timings.iter().map(|ms| (ms * 1000.0).round() / 1000.0).collect(),
        memory_at_start,
        memory,
        disk_bytes,
        other_cores_used,
    })
}
