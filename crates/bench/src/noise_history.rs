//! `staunch-bench noise-history --db FILE`: writes a synthetic installation history for the
//! alert-noise backtest (`staunch eval noise`). Nothing real with human-action labels was
//! available, so this is the data; every figure from it says so.
//!
//! The generative process, deterministic for a seed:
//! - `days` days (default 120) of incident openings on ten services, each kind of alert at its
//!   own Poisson-like daily rate (each hour draws its count), busier in working hours.
//! - Each kind has a chance that a human acts on an opening (acknowledges within 1–15 minutes,
//!   later resolves); otherwise the alert resolves on its own within 2–40 minutes and the
//!   incident auto-resolves. The kinds: chronically flappy ones that never matter, real
//!   problems that nearly always get acknowledged, mixed ones, and flappy kinds that
//!   occasionally matter (1 in 100, 1 in 50: the cases the recall floor is about).
//! - Drift: from 45% of the way in, a new flappy kind appears (`web/TLSHandshakeBlip`) and
//!   `search/IndexLag` calms from 30% to 5% acted on. With `--late-drift`, `cache/HitRateLow`
//!   (never acted on until then) turns into a real problem (40% acted on) at 85% of the way
//!   in — after a 0.7 split, so no model trained before it can know: a failure case by
//!   construction.
//! - Alerts opened in the last six hours are still open at the end: unlabelled.
//! - Labels: `alertname`, `team`, `env`, `instance` (one of several per service); summaries
//!   carry numbers that vary.

use anyhow::Context;
use jiff::{SignedDuration, Timestamp};
use staunch_domain::incident::IncidentState;
use staunch_domain::severity::Severity;
use staunch_store::{Actor, NewIncident, NewTimelineEntry, OrgId, Store};
use staunch_store_sqlite::{Durability, SqliteStore};

struct Kind {
    service: &'static str,
    alertname: &'static str,
    severity: Severity,
    summary: &'static str,
    per_day: f64,
    acted_on: f64,
}

const KINDS: &[Kind] = &[
    // Chronically flappy, never acted on.
    kind("api", "DiskSpaceFlap", Severity::Sev3, "disk usage at {n}% on {instance}", 9.0, 0.0),
    kind("web", "LatencyBlip", Severity::Sev3, "p99 latency {n}ms above target", 8.0, 0.0),
    kind("cache", "HitRateLow", Severity::Sev3, "cache hit rate {n}% below 90%", 6.0, 0.0),
    kind("batch", "CronLate", Severity::Sev3, "nightly job started {n} minutes late", 3.0, 0.0),
    // Flappy, but now and then real.
    kind("queue", "ConsumerLag", Severity::Sev3, "consumer lag {n} messages", 7.0, 0.01),
    kind("batch", "JobSlow", Severity::Sev3, "job took {n} minutes", 4.0, 0.02),
    // Mixed.
    kind("search", "IndexLag", Severity::Sev2, "search index {n} minutes behind", 2.0, 0.3),
    kind("api", "HighErrorRate", Severity::Sev2, "5xx rate {n}% over 5 minutes", 1.5, 0.6),
    // Real problems.
    kind("checkout", "ErrorBudgetBurn", Severity::Sev1, "checkout burning budget {n}x", 1.0, 0.95),
    kind("payments", "ProviderDown", Severity::Sev1, "payment provider failing {n}% of calls", 0.5, 1.0),
    kind("db", "ReplicationBroken", Severity::Sev1, "replica {instance} {n}s behind and not catching up", 0.3, 1.0),
    kind("auth", "LoginFailures", Severity::Sev2, "login failures at {n}%", 0.8, 0.85),
];

/// Appears at 45% of the history.
const DRIFT_NEW_KIND: Kind = kind("web", "TLSHandshakeBlip", Severity::Sev3, "{n} TLS handshake errors", 5.0, 0.0);

const fn kind(
    service: &'static str,
    alertname: &'static str,
    severity: Severity,
    summary: &'static str,
    per_day: f64,
    acted_on: f64,
) -> Kind {
    Kind { service, alertname, severity, summary, per_day, acted_on }
}

/// splitmix64: deterministic, no dependency.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut value = self.0;
        value = (value ^ (value >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        value = (value ^ (value >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        value ^ (value >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound.max(1)
    }
    /// A count with mean `mean` (Poisson by inversion; means here are small).
    fn count(&mut self, mean: f64) -> u32 {
        let limit = (-mean).exp();
        let mut product = self.unit();
        let mut count = 0;
        while product > limit && count < 1000 {
            product *= self.unit();
            count += 1;
        }
        count
    }
}

pub struct Options {
    pub db: std::path::PathBuf,
    pub days: u32,
    pub seed: u64,
    pub late_drift: bool,
}

pub struct Written {
    pub incidents: u64,
    pub acted_on: u64,
    pub open_at_end: u64,
    pub start: Timestamp,
    pub end: Timestamp,
}

pub async fn generate(options: &Options) -> anyhow::Result<Written> {
    anyhow::ensure!(!options.db.exists(), "{} exists: the history goes into a new database", options.db.display());
    let path = options.db.to_str().context("the database path is not UTF-8")?;
    let store = SqliteStore::open(path, Durability::Normal).await?;
    let end = Timestamp::from_second(1_767_225_600)?; // 2026-01-01T00:00:00Z
    let start = end - SignedDuration::from_hours(24 * i64::from(options.days));
    let mut random = Random(options.seed);
    let total_hours = 24 * i64::from(options.days);
    let mut written = Written { incidents: 0, acted_on: 0, open_at_end: 0, start, end };
    let mut sequence = 0u64;
    for hour in 0..total_hours {
        let progress = hour as f64 / total_hours as f64;
        let hour_start = start + SignedDuration::from_hours(hour);
        // Busier in working hours (UTC 8–18): twice the rate.
        let working = (8..18).contains(&(hour % 24));
        let mut openings = Vec::new();
        for kind in KINDS.iter().chain((progress >= 0.45).then_some(&DRIFT_NEW_KIND)) {
            let acted_on = match (kind.alertname, options.late_drift) {
                ("IndexLag", _) if progress >= 0.45 => 0.05,
                ("HitRateLow", true) if progress >= 0.85 => 0.4,
                _ => kind.acted_on,
            };
            let mean = kind.per_day / 24.0 * if working { 1.5 } else { 0.5 };
            for _ in 0..random.count(mean) {
                let at = hour_start + SignedDuration::from_secs(random.below(3600) as i64);
                openings.push((at, kind, random.unit() < acted_on));
            }
        }
        openings.sort_by_key(|(at, _, _)| *at);
        let mut tx = store.begin().await?;
        for (at, kind, acted) in openings {
            sequence += 1;
            let instance = format!("{}-{}", kind.service, random.below(6));
            let number = 50 + random.below(50);
            let summary = kind.summary.replace("{n}", &number.to_string()).replace("{instance}", &instance);
            let labels: std::collections::BTreeMap<String, String> = [
                ("alertname", kind.alertname.to_string()),
                ("team", format!("team-{}", kind.service)),
                ("env", "prod".to_string()),
                ("instance", instance),
            ]
            .into_iter()
            .map(|(name, value)| (name.to_string(), value))
            .collect();
            let mut incident = tx
                .insert_incident(&NewIncident {
                    org: OrgId::DEFAULT,
                    title: summary.clone(),
                    service_id: kind.service.into(),
                    severity: kind.severity,
                    group_key: format!("{{alertname=\"{}\",n=\"{sequence}\"}}", kind.alertname),
                    escalation_policy_id: Some("default".into()),
                    auto_resolve: true,
                    created_at: at,
                    noise_probability: None,
                })
                .await?;
            let integration = Actor::integration(kind.service, staunch_domain::alert::SourceFormat::Alertmanager);
            let entry = |at: Timestamp, actor: &Actor, kind: &str, data: serde_json::Value| NewTimelineEntry {
                org: OrgId::DEFAULT,
                incident_id: incident.id,
                at,
                actor: actor.clone(),
                kind: kind.into(),
                data,
            };
            let mut entries = vec![entry(
                at,
                &integration,
                "incident.opened",
                serde_json::json!({ "title": summary, "service": kind.service, "severity": kind.severity, "labels": labels }),
            )];
            let (resolved_at, by) = if acted {
                let acked_at = at + SignedDuration::from_mins(1 + random.below(15) as i64);
                let responder = Actor { kind: "user".into(), id: "alice".into() };
                entries.push(entry(acked_at, &responder, "incident.acknowledged", serde_json::json!({})));
                written.acted_on += 1;
                (acked_at + SignedDuration::from_mins(10 + random.below(120) as i64), responder)
            } else {
                (at + SignedDuration::from_mins(2 + random.below(39) as i64), integration.clone())
            };
            written.incidents += 1;
            // Opened in the last six hours: still open when the history ends.
            if at >= end - SignedDuration::from_hours(6) {
                written.open_at_end += 1;
                tx.append_timeline_entries(&entries).await?;
                continue;
            }
            entries.push(entry(resolved_at, &integration, "alert.resolved", serde_json::json!({})));
            entries.push(entry(resolved_at, &by, "incident.resolved", serde_json::json!({})));
            tx.append_timeline_entries(&entries).await?;
            incident.state = IncidentState::Resolved;
            incident.resolved_at = Some(resolved_at);
            incident.updated_at = resolved_at;
            tx.update_incident(&incident).await?;
        }
        tx.commit().await?;
    }
    Ok(written)
}
