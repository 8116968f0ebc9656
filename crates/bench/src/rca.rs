//! `staunch-bench rca`: time to first hypotheses for a new incident with a large history in
//! SQLite — by default 500,000 change events and 100,000 past incidents (each with an alert,
//! one in five with a note) over a year, 200 services in a catalog with two or three
//! dependencies each. Then, for each of `--rca-incidents` new incidents (an incident and its
//! first alert, committed), it times `staunch_server::investigation::compute` — every read
//! the live job does (alerts, notes, changes in the 24 h window by the `(org, at)` index, the
//! catalog, the full-text top 5 and their runbook runs and deploy links) and the ranking.
//!
//! With `--postgres-url` the same history goes into a fresh database on that server (made as
//! `ingest --durability postgres` makes its own) and PostgreSQL's search is measured instead.
//!
//! The store runs in this process, so the figure is the investigation alone, without HTTP.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use staunch_domain::alert::SourceFormat;
use staunch_domain::catalog::{CatalogEntity, EntityKind, EntityRef};
use staunch_domain::incident::IncidentState;
use staunch_domain::severity::Severity;
use staunch_store::{NewAlert, NewChangeEvent, NewIncident, NewTimelineEntry, OrgId, Scoped, Store};
use staunch_store_postgres::PostgresStore;
use staunch_store_sqlite::{Durability, SqliteStore};

pub struct RcaSettings {
    pub changes: u64,
    pub past_incidents: u64,
    pub incidents: usize,
    pub services: usize,
    /// Measure PostgreSQL on a fresh database of this server instead of SQLite.
    pub postgres_url: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct RcaResults {
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    pub changes: u64,
    pub past_incidents: u64,
    pub services: usize,
    pub load_seconds: f64,
    pub database_bytes: u64,
    pub incidents: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub mean_hypotheses: f64,
    pub abstained: usize,
    pub cpus: usize,
    pub load_average_before: String,
    pub load_average_after: String,
}

const SYMPTOMS: &[&str] = &[
    "latency above SLO",
    "error rate above 5%",
    "disk almost full",
    "connection pool exhausted",
    "memory usage climbing",
    "queue backlog growing",
    "5xx from upstream",
    "certificate expires soon",
    "replication lag high",
    "pods crash looping",
    "cache hit ratio dropped",
    "timeouts to database",
];
const CHANGE_WORDS: &[&str] =
    &["bump", "config", "pool", "timeout", "cache", "retry", "schema", "index", "flag", "release", "rollout", "limits"];

/// xorshift64*: deterministic data without a dependency.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound.max(1)
    }
}

fn service(index: u64) -> String {
    format!("svc-{index:03}")
}

pub async fn rca(settings: &RcaSettings) -> anyhow::Result<RcaResults> {
    let load_average_before = std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim().to_string();
    let directory = tempfile::tempdir()?;
    let path = directory.path().join("rca.db");
    let postgres_url = match &settings.postgres_url {
        Some(server_url) => Some(crate::servers::fresh_postgres_database(server_url).await?),
        None => None,
    };
    let (store, backend): (Arc<dyn Store>, _) = match &postgres_url {
        Some(url) => (Arc::new(PostgresStore::connect(url).await.context("opening PostgreSQL")?), "postgres"),
        None => (
            Arc::new(SqliteStore::open(path.to_str().context("path")?, Durability::Normal).await.context("opening SQLite")?),
            "sqlite",
        ),
    };
    let org = OrgId::DEFAULT;
    let now = Timestamp::now();
    let year = SignedDuration::from_hours(24 * 365);
    let mut random = Random(0x9E37_79B9_7F4A_7C15);
    let loading = Instant::now();

    let entities: Vec<CatalogEntity> = (0..settings.services as u64)
        .map(|index| CatalogEntity {
            kind: EntityKind::Component,
            namespace: "default".into(),
            name: service(index),
            description: None,
            tags: vec![],
            owner: Some(format!("team-{}", index % 20)),
            system: None,
            entity_type: Some("service".into()),
            depends_on: (0..2 + random.below(2))
                .map(|_| service(random.below(settings.services as u64)))
                .filter(|name| *name != service(index))
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .map(|name| EntityRef::parse(&format!("component:{name}"), None).expect("valid name"))
                .collect(),
        })
        .collect();
    let mut tx = store.begin().await?;
    tx.replace_catalog(org, &entities, now).await?;
    tx.commit().await?;

    let batch = 20_000;
    let mut written = 0;
    while written < settings.changes {
        let mut tx = store.begin().await?;
        for _ in 0..batch.min(settings.changes - written) {
            let at = now - SignedDuration::from_micros(random.below(year.as_micros() as u64) as i64);
            let word = CHANGE_WORDS[random.below(CHANGE_WORDS.len() as u64) as usize];
            let service_id = service(random.below(settings.services as u64));
            let change = NewChangeEvent {
                org,
                summary: format!("{service_id}: {word} change {written}"),
                service_id,
                source: Some("ci".into()),
                at,
                received_at: at,
                details: serde_json::json!({ "files": [format!("src/{word}.rs")] }),
                links: vec![],
            };
            tx.insert_change_event(&change).await?;
            written += 1;
        }
        tx.commit().await?;
        eprintln!("rca: {written} changes");
    }

    let mut written = 0;
    while written < settings.past_incidents {
        let mut tx = store.begin().await?;
        let mut notes = Vec::new();
        for _ in 0..batch.min(settings.past_incidents - written) {
            let opened =
                now - SignedDuration::from_micros(random.below(year.as_micros() as u64) as i64) - SignedDuration::from_hours(1);
            let service_id = service(random.below(settings.services as u64));
            let symptom = SYMPTOMS[random.below(SYMPTOMS.len() as u64) as usize];
            let title = format!("{service_id} {symptom}");
            let mut incident = tx
                .insert_incident(&NewIncident {
                    org,
                    title: title.clone(),
                    service_id: service_id.clone(),
                    severity: Severity::Sev2,
                    group_key: format!("past-{written}"),
                    escalation_policy_id: None,
                    auto_resolve: true,
                    noise_probability: None,
                    created_at: opened,
                })
                .await?;
            tx.insert_alert(&new_alert(org, &service_id, &format!("past-{written}"), &title, incident.id, opened)).await?;
            tx.index_incident_texts(org, incident.id, u32::MAX).await?;
            incident.state = IncidentState::Resolved;
            incident.resolved_at = Some(opened + SignedDuration::from_mins(40));
            tx.update_incident(&incident).await?;
            if random.below(5) == 0 {
                notes.push(NewTimelineEntry {
                    org,
                    incident_id: incident.id,
                    at: opened + SignedDuration::from_mins(10),
                    actor: staunch_store::Actor::system(),
                    kind: "incident.note".into(),
                    data: serde_json::json!({ "text": format!("rolled back the {} change", CHANGE_WORDS[random.below(12) as usize]) }),
                });
            }
            written += 1;
        }
        tx.append_timeline_entries(&notes).await?;
        tx.commit().await?;
        eprintln!("rca: {written} past incidents");
    }
    let load_seconds = loading.elapsed().as_secs_f64();
    let database_bytes = match &postgres_url {
        Some(url) => {
            use sqlx::ConnectOptions;
            let mut connection = url.parse::<sqlx::postgres::PgConnectOptions>()?.connect().await?;
            let bytes: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())").fetch_one(&mut connection).await?;
            bytes.max(0) as u64
        }
        None => std::fs::metadata(&path).map(|meta| meta.len()).unwrap_or(0),
    };

    let scoped = Scoped::new(store.clone(), org);
    let mut timings = Vec::with_capacity(settings.incidents);
    let mut hypotheses = 0usize;
    let mut abstained = 0usize;
    for index in 0..settings.incidents {
        let service_id = service(random.below(settings.services as u64));
        let symptom = SYMPTOMS[random.below(SYMPTOMS.len() as u64) as usize];
        let title = format!("{service_id} {symptom}");
        let opened = Timestamp::now();
        let mut tx = store.begin().await?;
        let incident = tx
            .insert_incident(&NewIncident {
                org,
                title: title.clone(),
                service_id: service_id.clone(),
                severity: Severity::Sev1,
                group_key: format!("new-{index}"),
                escalation_policy_id: None,
                auto_resolve: true,
                noise_probability: None,
                created_at: opened,
            })
            .await?;
        tx.insert_alert(&new_alert(org, &service_id, &format!("new-{index}"), &title, incident.id, opened)).await?;
        // As a live incident's investigation job does, before it searches.
        tx.index_incident_texts(org, incident.id, u32::MAX).await?;
        tx.commit().await?;
        let as_of = Timestamp::now() + SignedDuration::from_millis(1);
        let started = Instant::now();
        let investigation = staunch_server::investigation::compute(&scoped, &incident, as_of, None).await?;
        timings.push(started.elapsed().as_secs_f64() * 1000.0);
        hypotheses += investigation.hypotheses.len();
        abstained += usize::from(investigation.abstained);
    }
    timings.sort_by(f64::total_cmp);
    let quantile = |q: f64| timings[((timings.len() as f64 - 1.0) * q).round() as usize];
    Ok(RcaResults {
        backend,
        changes: settings.changes,
        past_incidents: settings.past_incidents,
        services: settings.services,
        load_seconds,
        database_bytes,
        incidents: settings.incidents,
        p50_ms: quantile(0.5),
        p99_ms: quantile(0.99),
        max_ms: *timings.last().unwrap_or(&0.0),
        mean_hypotheses: hypotheses as f64 / settings.incidents.max(1) as f64,
        abstained,
        cpus: std::thread::available_parallelism().map(usize::from).unwrap_or(1),
        load_average_before,
        load_average_after: std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim().to_string(),
    })
}

fn new_alert(org: OrgId, service_id: &str, dedup_key: &str, summary: &str, incident_id: i64, at: Timestamp) -> NewAlert {
    NewAlert {
        org,
        service_id: service_id.into(),
        dedup_key: dedup_key.into(),
        firing: true,
        summary: summary.into(),
        severity: Severity::Sev2,
        labels: [("alertname".to_string(), summary.split(' ').nth(1).unwrap_or("x").to_string())].into(),
        annotations: Default::default(),
        details: serde_json::Value::Null,
        links: vec![],
        images: vec![],
        format: SourceFormat::EventsV2,
        incident_id: Some(incident_id),
        silenced_by: None,
        received_at: at,
        starts_at: None,
    }
}

pub fn render(results: &RcaResults) -> String {
    format!(
        "rca on {}: {} changes, {} past incidents, {} services (loaded in {:.1} s, database {:.0} MB)\n\
         time to first hypotheses over {} new incidents: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms \
         ({:.1} hypotheses each on average, {} abstained)\n\
         machine: {} cpus, load average before: {}, after: {}\n",
        results.backend,
        results.changes,
        results.past_incidents,
        results.services,
        results.load_seconds,
        results.database_bytes as f64 / 1e6,
        results.incidents,
        results.p50_ms,
        results.p99_ms,
        results.max_ms,
        results.mean_hypotheses,
        results.abstained,
        results.cpus,
        results.load_average_before,
        results.load_average_after,
    )
}
