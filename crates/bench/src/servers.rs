//! Starting and stopping the two servers under test, each in its own temporary directory
//! with a configuration written for the phase being measured.
//!
//! A [`Server`] kills its process when dropped, so an error or a panic anywhere in the
//! harness never leaves a server running.

use crate::procfs;
use anyhow::Context;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The shared HMAC secret of the webhook contact method (the receiver does not check it).
const WEBHOOK_SECRET: &str = "bench-webhook-secret";
/// Services in the listing phase; the open alerts are spread evenly over them.
pub const LIST_SERVICES: usize = 100;
/// Alert names in the ingest and listing phases (Staunch groups by alertname).
pub const ALERT_NAMES: u64 = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Staunch { durability: Durability },
    Alertmanager,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    Full,
    Normal,
    /// Staunch on PostgreSQL (`--postgres-url`), where every commit is durable.
    Postgres,
}

impl Durability {
    pub fn as_str(self) -> &'static str {
        match self {
            Durability::Full => "full",
            Durability::Normal => "normal",
            Durability::Postgres => "postgres",
        }
    }
}

impl Kind {
    pub fn label(self) -> String {
        match self {
            Kind::Staunch { durability } => format!("staunch ({})", durability.as_str()),
            Kind::Alertmanager => "alertmanager".to_string(),
        }
    }
}

/// What a server is configured for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// One service grouping by alertname, paging one user on each new incident.
    Ingest,
    /// Every alert is its own group and pages at once.
    Latency,
    /// [`LIST_SERVICES`] services with no escalation policy (nothing pages).
    List,
    /// Two organisations: the default one floods service `checkout` (as in `Ingest`), and
    /// `quiet` has a service that groups by `sample` and pages a user whose webhook is at
    /// the quiet receiver's port (index 1 of [`integration_key`]).
    Noisy { quiet_receiver_port: u16 },
}

pub struct Binaries {
    pub staunch: PathBuf,
    pub alertmanager: PathBuf,
    /// A PostgreSQL server URL on which each Staunch start on PostgreSQL gets a fresh database.
    pub postgres_url: Option<String>,
}

/// Where a Staunch server under test keeps its data.
#[derive(Debug, Clone)]
pub enum Database {
    Sqlite(PathBuf),
    Postgres(String),
}

pub struct Server {
    pub kind: Kind,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    pub pid: u32,
    /// Admin API token (Staunch only).
    pub token: Option<String>,
    /// The database (Staunch only).
    pub db: Option<Database>,
    child: Option<Child>,
    // Declared last so the process is killed before its directory is removed.
    dir: tempfile::TempDir,
}

/// The integration key of service `index` in `phase` (at least 16 characters, URL-safe).
pub fn integration_key(phase: Phase, index: usize) -> String {
    let phase = match phase {
        Phase::Ingest => "ingest",
        Phase::Latency => "latency",
        Phase::List => "list",
        Phase::Noisy { .. } => "noisy",
    };
    format!("bench-{phase}-{index:03}-0123456789abcdef")
}

pub fn list_service(index: usize) -> String {
    format!("svc-{index:03}")
}

fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

impl Server {
    pub async fn start(kind: Kind, phase: Phase, binaries: &Binaries, receiver_port: u16) -> anyhow::Result<Server> {
        let dir = tempfile::Builder::new().prefix("staunch-bench-").tempdir().context("cannot create a temporary directory")?;
        let port = free_port()?;
        let listen = format!("127.0.0.1:{port}");
        let log = std::fs::File::create(dir.path().join("server.log"))?;
        let (mut command, db, ready_path) = match kind {
            Kind::Staunch { durability } => {
                let config = dir.path().join("staunch.yaml");
                std::fs::write(&config, staunch_config(phase, receiver_port))?;
                let db = match durability {
                    Durability::Postgres => {
                        let server_url = binaries.postgres_url.as_deref().context("durability postgres needs --postgres-url")?;
                        Database::Postgres(fresh_postgres_database(server_url).await?)
                    }
                    Durability::Full | Durability::Normal => Database::Sqlite(dir.path().join("staunch.db")),
                };
                let mut command = Command::new(&binaries.staunch);
                command.arg("serve").arg("--config").arg(&config).arg("--listen").arg(&listen);
                match &db {
                    Database::Sqlite(path) => command.arg("--db").arg(path).arg("--durability").arg(durability.as_str()),
                    Database::Postgres(url) => command.arg("--db").arg(url),
                };
                (command, Some(db), "/healthz")
            }
            Kind::Alertmanager => {
                let config = dir.path().join("alertmanager.yml");
                std::fs::write(&config, alertmanager_config(phase, receiver_port))?;
                let mut command = Command::new(&binaries.alertmanager);
                command
                    .arg(format!("--config.file={}", config.display()))
                    .arg(format!("--storage.path={}", dir.path().join("data").display()))
                    .arg(format!("--web.listen-address={listen}"))
                    // No cluster: a single instance, no gossip, no settle wait before notifying.
                    .arg("--cluster.listen-address=");
                (command, None, "/-/ready")
            }
        };
        let child = command
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("cannot start {}", kind.label()))?;
        let mut server =
            Server { kind, base: format!("http://{listen}"), pid: child.id(), token: None, db, child: Some(child), dir };
        server.wait_ready(ready_path).await?;
        if let Kind::Staunch { .. } = kind {
            // The first start writes an admin token beside the config.
            let token = std::fs::read_to_string(server.dir.path().join("staunch.token"))
                .context("staunch did not write staunch.token")?;
            server.token = Some(token.trim().to_string());
        }
        Ok(server)
    }

    async fn wait_ready(&mut self, path: &str) -> anyhow::Result<()> {
        let client = reqwest::Client::new();
        let url = format!("{}{path}", self.base);
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                anyhow::bail!("{} exited during start ({status}); its log:\n{}", self.kind.label(), self.log_tail());
            }
            if let Ok(response) = client.get(&url).send().await
                && response.status().is_success()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        anyhow::bail!("{} not ready after 30 s; its log:\n{}", self.kind.label(), self.log_tail())
    }

    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    pub fn memory(&self) -> anyhow::Result<procfs::Memory> {
        procfs::memory(self.pid)
    }

    pub fn cpu_seconds(&self) -> f64 {
        procfs::cpu_seconds(self.pid).unwrap_or(0.0)
    }

    /// Kills the process with SIGKILL (no graceful shutdown) and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Counts the alert rows in a Staunch database. SQLite is opened read-write, so it recovers
/// the WAL of a killed server as any next start would.
pub async fn count_stored_alerts(db: &Database) -> anyhow::Result<u64> {
    use sqlx::ConnectOptions;
    const COUNT: &str = "SELECT COUNT(*) FROM alerts";
    let count: i64 = match db {
        Database::Sqlite(path) => rusqlite::Connection::open(path)?.query_row(COUNT, [], |row| row.get(0))?,
        Database::Postgres(url) => {
            let mut connection = url.parse::<sqlx::postgres::PgConnectOptions>()?.connect().await?;
            sqlx::query_scalar(COUNT).fetch_one(&mut connection).await?
        }
    };
    Ok(count.max(0) as u64)
}

/// Creates an empty database on the `--postgres-url` server and returns its URL, so every
/// start measures a fresh installation as the SQLite ones do. The databases are left behind:
/// point the harness at a throwaway server (`scripts/postgres-for-tests`).
pub(crate) async fn fresh_postgres_database(server_url: &str) -> anyhow::Result<String> {
    use sqlx::ConnectOptions;
    use std::sync::atomic::{AtomicU32, Ordering};
    static STARTS: AtomicU32 = AtomicU32::new(0);
    let options: sqlx::postgres::PgConnectOptions = server_url.parse().context("--postgres-url is not a PostgreSQL URL")?;
    let name = format!("staunch_bench_{}_{}", std::process::id(), STARTS.fetch_add(1, Ordering::Relaxed));
    let mut connection = options.connect().await.context("cannot connect to --postgres-url")?;
    // The name is made here of digits and underscores, never from input.
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut connection).await?;
    let mut url = reqwest::Url::parse(server_url).context("--postgres-url is not a URL")?;
    url.set_path(&name);
    Ok(url.to_string())
}

fn staunch_config(phase: Phase, receiver_port: u16) -> String {
    let mut text = format!(
        r#"# Written by staunch-bench.
notifications:
  max_attempts: 3
  initial_backoff: 1s
  max_backoff: 10s
  timeout: 10s
users:
  - id: oncall
    name: On-call
    contact_methods:
      - type: webhook
        url: http://127.0.0.1:{receiver_port}/staunch
        secret: "{WEBHOOK_SECRET}"
escalation_policies:
  - id: page
    name: Page on-call
    levels:
      - timeout: 1h
        targets:
          - user: oncall
services:
"#
    );
    match phase {
        Phase::Ingest | Phase::Noisy { .. } => {
            let _ = write!(
                text,
                r#"  - id: checkout
    escalation_policy: page
    group_by: [alertname]
    integrations:
      - type: alertmanager
        key: "{}"
"#,
                integration_key(phase, 0)
            );
        }
        Phase::Latency => {
            let _ = write!(
                text,
                r#"  - id: latency
    escalation_policy: page
    group_by: [sample]
    integrations:
      - type: alertmanager
        key: "{}"
"#,
                integration_key(phase, 0)
            );
        }
        Phase::List => {
            for index in 0..LIST_SERVICES {
                let _ = write!(
                    text,
                    r#"  - id: {}
    group_by: [alertname]
    integrations:
      - type: alertmanager
        key: "{}"
"#,
                    list_service(index),
                    integration_key(phase, index)
                );
            }
        }
    }
    if let Phase::Noisy { quiet_receiver_port } = phase {
        let _ = write!(
            text,
            r#"organisations:
  - id: quiet
    users:
      - id: quiet-oncall
        contact_methods:
          - type: webhook
            url: http://127.0.0.1:{quiet_receiver_port}/staunch
            secret: "{WEBHOOK_SECRET}"
    escalation_policies:
      - id: page
        levels:
          - timeout: 1h
            targets:
              - user: quiet-oncall
    services:
      - id: latency
        escalation_policy: page
        group_by: [sample]
        integrations:
          - type: alertmanager
            key: "{}"
"#,
            integration_key(phase, 1)
        );
    }
    text
}

fn alertmanager_config(phase: Phase, receiver_port: u16) -> String {
    let webhook = format!(
        r#"  - name: bench
    webhook_configs:
      - url: http://127.0.0.1:{receiver_port}/alertmanager
        send_resolved: false
"#
    );
    match phase {
        Phase::Ingest => format!(
            r#"# Written by staunch-bench.
route:
  receiver: bench
  group_by: [alertname]
  group_wait: 1s
  group_interval: 5m
  repeat_interval: 4h
receivers:
{webhook}"#
        ),
        Phase::Latency => format!(
            r#"# Written by staunch-bench.
route:
  receiver: bench
  group_by: [sample]
  group_wait: 0s
  group_interval: 5m
  repeat_interval: 4h
receivers:
{webhook}"#
        ),
        Phase::Noisy { .. } => unreachable!("alertmanager has no tenants: the noisy-neighbour phase runs staunch only"),
        Phase::List => r#"# Written by staunch-bench.
route:
  receiver: blackhole
  group_by: [alertname]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 4h
receivers:
  - name: blackhole
"#
        .to_string(),
    }
}
