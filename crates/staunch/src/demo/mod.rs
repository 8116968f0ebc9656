//! `staunch demo`: a complete on-call shift with no set-up. It writes a demo `staunch.yaml`,
//! runs the real server in this process on a random loopback port with a fresh SQLite file,
//! starts a chat service whose model provider can be made to fail, drives load at it and
//! pushes the SLI to Staunch, then follows the shift stage by stage: the burn pages sev1, the
//! incident is triaged, acknowledged and mitigated by its runbook, resolves, and leaves a
//! postmortem and a regression case that `cases check` accepts.
//!
//! Every stage has a time limit and prints one line per thing it saw; a stage that fails ends
//! the demo with an error naming it. Figures printed are counted, never assumed.

mod chat_service;
mod clock;
mod config;
mod load;
mod pager;
mod stages;

use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, Instant};

pub use stages::run;

/// Where the demo keeps its files: a directory of the user's (kept) or a temporary one.
pub enum DemoDir {
    Kept(PathBuf),
    Temporary(tempfile::TempDir),
}

impl DemoDir {
    pub fn open(dir: Option<PathBuf>) -> anyhow::Result<DemoDir> {
        let Some(dir) = dir else {
            let temporary = tempfile::Builder::new().prefix("staunch-demo-").tempdir()?;
            return Ok(DemoDir::Temporary(temporary));
        };
        if dir.exists() && std::fs::read_dir(&dir)?.next().is_some() {
            anyhow::bail!("--dir: {} is not empty (the demo starts from nothing; give a new or empty directory)", dir.display());
        }
        std::fs::create_dir_all(&dir).map_err(|error| anyhow::anyhow!("--dir: cannot create {}: {error}", dir.display()))?;
        Ok(DemoDir::Kept(dir))
    }

    pub fn path(&self) -> &std::path::Path {
        match self {
            DemoDir::Kept(path) => path,
            DemoDir::Temporary(temporary) => temporary.path(),
        }
    }
}

/// One line per event, prefixed with the seconds since the demo started and the stage.
pub struct Progress {
    started: Instant,
}

impl Progress {
    pub fn new() -> Progress {
        Progress { started: Instant::now() }
    }

    pub fn say(&self, stage: &str, text: &str) {
        use std::io::Write;
        let seconds = self.started.elapsed().as_secs_f64();
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "[{seconds:5.1}s] {stage:<11} {text}");
        let _ = out.flush();
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }
}

/// Runs one stage within `limit`; a failure or a timeout names the stage.
pub async fn stage<T>(name: &str, limit: Duration, work: impl Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    match tokio::time::timeout(limit, work).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(error.context(format!("demo stage \"{name}\" failed"))),
        Err(_) => anyhow::bail!("demo stage \"{name}\" failed: it did not finish within {limit:?}"),
    }
}

/// Polls `check` every 100 ms until it returns `Some`.
pub async fn poll<T>(mut check: impl AsyncFnMut() -> anyhow::Result<Option<T>>) -> anyhow::Result<T> {
    loop {
        if let Some(value) = check().await? {
            return Ok(value);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_failing_stage_is_named_with_its_cause() {
        let failed = stage("page", Duration::from_secs(5), async { Err::<(), _>(anyhow::anyhow!("no page arrived")) }).await;
        assert_eq!(format!("{:#}", failed.unwrap_err()), "demo stage \"page\" failed: no page arrived");
    }

    #[tokio::test]
    async fn a_stage_that_overruns_is_named() {
        let overran = stage("resolve", Duration::from_millis(50), std::future::pending::<anyhow::Result<()>>()).await;
        assert_eq!(overran.unwrap_err().to_string(), "demo stage \"resolve\" failed: it did not finish within 50ms");
    }
}
