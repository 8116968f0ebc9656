//! Test support: the real `staunch` binary on a random port with a fresh SQLite file, a
//! webhook receiver that checks signatures and can be told to fail, an SMTP sink, and the
//! real Alertmanager. Every process started here is killed when its guard drops.

#![allow(dead_code)]

pub mod receiver;
pub mod tools;

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const WEBHOOK_SECRET: &str = "test-webhook-secret";
pub const ALERTMANAGER_KEY: &str = "amkey-0123456789abcdef0123456789";
pub const EVENTS_KEY: &str = "0123456789abcdef0123456789abcdef";

/// A running `staunch serve`. Killed (SIGKILL) on drop.
pub struct App {
    pub dir: PathBuf,
    pub base_url: String,
    pub token: String,
    pub http: reqwest::Client,
    child: Option<Child>,
    log_path: PathBuf,
    _tempdir: Option<tempfile::TempDir>,
}

pub fn staunch_binary() -> &'static str {
    env!("CARGO_BIN_EXE_staunch")
}

impl App {
    /// Starts a server with `config_text` as its config in a fresh directory.
    pub async fn spawn(config_text: &str) -> App {
        let tempdir = tempfile::tempdir().expect("temporary directory");
        std::fs::write(tempdir.path().join("staunch.yaml"), config_text).expect("write config");
        let dir = tempdir.path().to_path_buf();
        let mut app = App::start_in(&dir, "127.0.0.1:0").await;
        app._tempdir = Some(tempdir);
        app
    }

    /// Starts a server with `config_text` on the database `db_url` (e.g. PostgreSQL).
    pub async fn spawn_on(config_text: &str, db_url: &str) -> App {
        App::spawn_with(config_text, &["--db", db_url]).await
    }

    /// Starts a server with `config_text` in a fresh directory, with more `serve` arguments.
    pub async fn spawn_with(config_text: &str, serve_args: &[&str]) -> App {
        let tempdir = tempfile::tempdir().expect("temporary directory");
        std::fs::write(tempdir.path().join("staunch.yaml"), config_text).expect("write config");
        let dir = tempdir.path().to_path_buf();
        let mut app = App::start_with(&dir, "127.0.0.1:0", serve_args).await;
        app._tempdir = Some(tempdir);
        app
    }

    /// The server's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Restarts a server on the config in `dir` and the database `db_url`.
    pub async fn spawn_on_existing(dir: &Path, db_url: &str) -> App {
        App::start_with(dir, "127.0.0.1:0", &["--db", db_url]).await
    }

    /// Starts (or restarts) a server on the config and database in `dir`.
    pub async fn start_in(dir: &Path, listen: &str) -> App {
        App::start_with(dir, listen, &[]).await
    }

    async fn start_with(dir: &Path, listen: &str, extra_args: &[&str]) -> App {
        let log_path = dir.join(format!(
            "serve-{}.log",
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
        ));
        let log = std::fs::File::create(&log_path).expect("log file");
        let mut child = Command::new(staunch_binary())
            .args(["serve", "--config", "staunch.yaml", "--listen", listen])
            .args(extra_args)
            .current_dir(dir)
            .env("STAUNCH_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("start staunch serve");
        let stdout = child.stdout.take().expect("stdout");
        let (sender, receiver) = std::sync::mpsc::channel();
        // The server logs to stdout: keep every line in the log file beside stderr's.
        let mut log_copy = std::fs::OpenOptions::new().append(true).open(&log_path).expect("log file");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = std::io::Write::write_all(&mut log_copy, format!("{line}\n").as_bytes());
                if let Some(rest) = line.strip_prefix("staunch listening on ") {
                    let url = rest.split_whitespace().next().unwrap_or_default().to_string();
                    let _ = sender.send(url);
                }
            }
        });
        // A server that started but is not usable is killed before the test fails, never leaked.
        let fail = |child: &mut Child, message: String| -> ! {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{message}");
        };
        let base_url = match receiver.recv_timeout(Duration::from_secs(30)) {
            Ok(url) => url,
            Err(_) => fail(
                &mut child,
                format!("staunch serve did not start: {}", std::fs::read_to_string(&log_path).unwrap_or_default()),
            ),
        };
        let token = match std::fs::read_to_string(dir.join("staunch.token")) {
            Ok(text) => text.trim().to_string(),
            Err(error) => fail(&mut child, format!("no admin token beside the config: {error}")),
        };
        App {
            dir: dir.to_path_buf(),
            base_url,
            token,
            http: reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap(),
            child: Some(child),
            log_path,
            _tempdir: None,
        }
    }

    /// SIGKILL: no graceful anything.
    pub fn kill_9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM and wait for a clean exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running");
        let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("staunch did not stop on SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Takes the tempdir so a restarted App can own it.
    pub fn take_tempdir(&mut self) -> Option<tempfile::TempDir> {
        self._tempdir.take()
    }

    pub fn adopt_tempdir(&mut self, tempdir: Option<tempfile::TempDir>) {
        self._tempdir = tempdir;
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    pub async fn api_get(&self, path: &str) -> Value {
        let response = self.http.get(self.url(path)).bearer_auth(&self.token).send().await.expect("api request");
        let status = response.status();
        let body: Value = response.json().await.expect("json");
        assert!(status.is_success(), "GET {path}: {status} {body}");
        body
    }

    pub async fn api_post(&self, path: &str, body: Value) -> (u16, Value) {
        let response = self.http.post(self.url(path)).bearer_auth(&self.token).json(&body).send().await.expect("api request");
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        (status, body)
    }

    /// Sends an Alertmanager webhook to the default integration, expects 200, and returns the
    /// answer (with its `receipt`).
    pub async fn post_alertmanager(&self, payload: &Value) -> Value {
        let path = format!("/integrations/alertmanager/{ALERTMANAGER_KEY}");
        let response = self.http.post(self.url(&path)).json(payload).send().await.expect("alertmanager webhook");
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert_eq!(status, 200, "POST {path}: {body}");
        body
    }

    /// Sends a PagerDuty Events v2 event; returns (status, body).
    pub async fn enqueue(&self, event: Value) -> (u16, Value) {
        let response = self.http.post(self.url("/v2/enqueue")).json(&event).send().await.expect("enqueue");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn trigger(&self, dedup_key: &str, summary: &str) -> Value {
        let (status, body) = self
            .enqueue(serde_json::json!({
                "routing_key": EVENTS_KEY, "event_action": "trigger", "dedup_key": dedup_key,
                "payload": { "summary": summary, "source": "test", "severity": "critical" },
            }))
            .await;
        assert_eq!(status, 202, "{body}");
        body
    }

    pub async fn incidents(&self, query: &str) -> Vec<Value> {
        self.api_get(&format!("/api/v1/incidents?{query}")).await["incidents"].as_array().cloned().unwrap_or_default()
    }

    pub async fn timeline_kinds(&self, incident_id: i64) -> Vec<String> {
        let timeline = self.api_get(&format!("/api/v1/incidents/{incident_id}/timeline")).await;
        timeline["timeline"].as_array().unwrap().iter().map(|entry| entry["kind"].as_str().unwrap().to_string()).collect()
    }

    /// Polls until `check` returns Some or the deadline passes.
    pub async fn wait_for<T>(&self, what: &str, timeout: Duration, mut check: impl AsyncFnMut() -> Option<T>) -> T {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(value) = check().await {
                return value;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {what}\n--- server log ---\n{}", self.log());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for App {
    fn drop(&mut self) {
        self.kill_9();
    }
}

/// A config with two users paged through webhooks at `receiver_url` (`/alice`, `/bob`), a
/// two-level policy (alice, then bob) with the given level timeout, and one service with
/// both integration kinds. `extra` is appended verbatim (more users, smtp...).
pub fn config(receiver_url: &str, level_timeout: &str, extra_alice_methods: &str, extra: &str) -> String {
    format!(
        r#"
notifications:
  max_attempts: 4
  initial_backoff: 200ms
  max_backoff: 1s
  timeout: 3s
users:
  - id: alice
    name: Alice
    contact_methods:
      - type: webhook
        url: {receiver_url}/alice
        secret: "{WEBHOOK_SECRET}"
{extra_alice_methods}
  - id: bob
    name: Bob
    contact_methods:
      - type: webhook
        url: {receiver_url}/bob
        secret: "{WEBHOOK_SECRET}"
escalation_policies:
  - id: default
    levels:
      - timeout: {level_timeout}
        targets: [{{user: alice}}]
      - timeout: {level_timeout}
        targets: [{{user: bob}}]
services:
  - id: checkout
    escalation_policy: default
    group_by: [alertname]
    auto_resolve: true
    integrations:
      - type: alertmanager
        key: "{ALERTMANAGER_KEY}"
      - type: events_v2
        key: "{EVENTS_KEY}"
{extra}
"#
    )
}

/// The directory beside the repository where shared evaluation data lives.
pub fn shared_data(relative: &str) -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data").join(relative);
    if path.exists() {
        return Some(path);
    }
    println!("skipped: ../shared/data/{relative} not found");
    None
}

/// A new, empty database on the PostgreSQL test server (`STAUNCH_TEST_POSTGRES_URL`, started
/// by scripts/postgres-for-tests), or `None` with the reason printed when there is none (a
/// failure instead under `STAUNCH_REQUIRE_TOOLS=1`). `purpose` goes into the database's name.
pub async fn fresh_postgres_database(purpose: &str) -> Option<String> {
    use sqlx::Connection;
    let Some(server_url) = std::env::var("STAUNCH_TEST_POSTGRES_URL").ok().filter(|url| !url.is_empty()) else {
        if std::env::var("STAUNCH_REQUIRE_TOOLS").as_deref() == Ok("1") {
            panic!("STAUNCH_TEST_POSTGRES_URL is not set (scripts/postgres-for-tests starts a server)");
        }
        println!("skipped: STAUNCH_TEST_POSTGRES_URL not set (scripts/postgres-for-tests starts one)");
        return None;
    };
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let name = format!("staunch_{purpose}_{}_{nanos}", std::process::id());
    let mut maintenance = sqlx::PgConnection::connect(&server_url).await.expect("connect to the test server");
    let statements = [
        format!("CREATE DATABASE \"{name}\""),
        // The throwaway server trades durability for speed (synchronous_commit off); here a
        // commit is on disk before Staunch answers, so a crash of the server loses nothing.
        format!("ALTER DATABASE \"{name}\" SET synchronous_commit = on"),
    ];
    for statement in statements {
        sqlx::query(sqlx::AssertSqlSafe(statement)).execute(&mut maintenance).await.expect("create the database");
    }
    let (base, query) = match server_url.split_once('?') {
        Some((base, query)) => (base.to_string(), format!("?{query}")),
        None => (server_url.clone(), String::new()),
    };
    let without_database = base.rsplit_once('/').map(|(prefix, _)| prefix.to_string()).unwrap_or(base);
    Some(format!("{without_database}/{name}{query}"))
}
