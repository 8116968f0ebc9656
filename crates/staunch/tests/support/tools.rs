//! Real third-party programs the tests drive: Prometheus Alertmanager and an SMTP sink
//! (aiosmtpd). When one is missing the test says so and is skipped, unless
//! `STAUNCH_REQUIRE_TOOLS=1` (set by CI), in which case it fails.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Guard(pub Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Finds a program; `None` (with a printed reason) when it is absent and tools are optional.
pub fn require_tool(path: &str, package: &str) -> Option<PathBuf> {
    if Path::new(path).exists() {
        return Some(PathBuf::from(path));
    }
    if std::env::var("STAUNCH_REQUIRE_TOOLS").as_deref() == Ok("1") {
        panic!("{path} is missing: install the Debian package {package}");
    }
    println!("skipped: {path} not found (Debian package {package})");
    None
}

pub fn wait_for_port(port: u16, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nothing listening on port {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Starts Alertmanager with `config_yaml`; returns the guard and its API base URL.
pub fn start_alertmanager(dir: &Path, config_yaml: &str) -> Option<(Guard, String)> {
    let binary = require_tool("/usr/bin/prometheus-alertmanager", "prometheus-alertmanager")?;
    let config_path = dir.join("alertmanager.yml");
    std::fs::write(&config_path, config_yaml).unwrap();
    let port = free_port();
    let storage = dir.join("am-data");
    std::fs::create_dir_all(&storage).unwrap();
    let log = std::fs::File::create(dir.join("alertmanager.log")).unwrap();
    let child = Command::new(binary)
        .arg(format!("--config.file={}", config_path.display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg(format!("--storage.path={}", storage.display()))
        .arg("--cluster.listen-address=")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start alertmanager");
    let guard = Guard(child);
    wait_for_port(port, Duration::from_secs(20));
    Some((guard, format!("http://127.0.0.1:{port}")))
}

/// Starts aiosmtpd writing every message into a Maildir under `dir`; returns the guard, the
/// port and the Maildir path.
pub fn start_smtp_sink(dir: &Path) -> Option<(Guard, u16, PathBuf)> {
    let python = require_tool("/usr/bin/python3", "python3")?;
    let available =
        Command::new(&python).args(["-c", "import aiosmtpd"]).status().map(|status| status.success()).unwrap_or(false);
    if !available {
        if std::env::var("STAUNCH_REQUIRE_TOOLS").as_deref() == Ok("1") {
            panic!("python3-aiosmtpd is missing: install the Debian package python3-aiosmtpd");
        }
        println!("skipped: aiosmtpd not installed (Debian package python3-aiosmtpd)");
        return None;
    }
    let port = free_port();
    let maildir = dir.join("maildir");
    let log = std::fs::File::create(dir.join("smtp.log")).unwrap();
    let child = Command::new(python)
        .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
        .arg(&maildir)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start aiosmtpd");
    let guard = Guard(child);
    wait_for_port(port, Duration::from_secs(20));
    Some((guard, port, maildir))
}

/// The messages in a Maildir, as raw text.
pub fn maildir_messages(maildir: &Path) -> Vec<String> {
    let mut messages = Vec::new();
    for sub in ["new", "cur"] {
        if let Ok(entries) = std::fs::read_dir(maildir.join(sub)) {
            for entry in entries.flatten() {
                messages.push(std::fs::read_to_string(entry.path()).unwrap_or_default());
            }
        }
    }
    messages
}
