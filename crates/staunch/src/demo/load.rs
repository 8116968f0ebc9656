//! The load generator and SLI source: a few workers send chat requests at a steady pace and
//! count what came back, per configuration of the service that served them; a pusher hands
//! the good/total counts to Staunch's SLO events API four times a second.

use super::chat_service::SERVED_BY_HEADER;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinSet;

const WORKERS: usize = 4;
/// Each worker's pause between requests: about 200 requests a second in all.
const PACE: Duration = Duration::from_millis(20);
const PUSH_EVERY: Duration = Duration::from_millis(250);

#[derive(Default, Clone, Copy, Debug)]
pub struct Tally {
    pub good: u64,
    pub total: u64,
}

impl Tally {
    pub fn percent(self) -> f64 {
        if self.total == 0 { 0.0 } else { 100.0 * self.good as f64 / self.total as f64 }
    }
}

#[derive(Default)]
struct Counters {
    /// Outcomes per configuration that served them (the service's header).
    by_configuration: BTreeMap<String, Tally>,
    /// Counted but not yet pushed to Staunch.
    unpushed: Tally,
    pushes: u64,
    last_push_error: Option<String>,
}

pub struct LoadGenerator {
    counters: Arc<Mutex<Counters>>,
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

fn lock(counters: &Mutex<Counters>) -> std::sync::MutexGuard<'_, Counters> {
    counters.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl LoadGenerator {
    /// Starts sending to `chat_url` and pushing to the SLO `slo_id` of the server at `staunch_url`.
    pub fn start(chat_url: &str, staunch_url: &str, token: &str, slo_id: &str) -> LoadGenerator {
        let counters: Arc<Mutex<Counters>> = Arc::default();
        let (stop, stopped) = watch::channel(false);
        let http = reqwest::Client::new();
        let mut tasks = JoinSet::new();
        for _ in 0..WORKERS {
            let (http, counters, stopped, url) = (http.clone(), counters.clone(), stopped.clone(), format!("{chat_url}/chat"));
            tasks.spawn(async move {
                let mut pace = tokio::time::interval(PACE);
                while !*stopped.borrow() {
                    pace.tick().await;
                    let Ok(response) = http.post(&url).body("what is the capital of France?").send().await else { continue };
                    let served_by = response
                        .headers()
                        .get(SERVED_BY_HEADER)
                        .and_then(|value| value.to_str().ok())
                        .unwrap_or("unknown")
                        .to_string();
                    let good = u64::from(response.status().is_success());
                    let mut counters = lock(&counters);
                    let tally = counters.by_configuration.entry(served_by).or_default();
                    tally.good += good;
                    tally.total += 1;
                    counters.unpushed.good += good;
                    counters.unpushed.total += 1;
                }
            });
        }
        let (counters_for_push, mut stopped) = (counters.clone(), stopped);
        let url = format!("{staunch_url}/api/v1/slos/{slo_id}/events");
        let token = token.to_string();
        tasks.spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(PUSH_EVERY) => {}
                    _ = stopped.changed() => return,
                }
                let batch = std::mem::take(&mut lock(&counters_for_push).unpushed);
                if batch.total == 0 {
                    continue;
                }
                let body = serde_json::json!({ "good": batch.good, "total": batch.total });
                let outcome = http.post(&url).bearer_auth(&token).json(&body).send().await;
                let mut counters = lock(&counters_for_push);
                match outcome {
                    Ok(response) if response.status().is_success() => {
                        counters.pushes += 1;
                        counters.last_push_error = None;
                    }
                    failed => {
                        // Kept for the next push: the SLI loses nothing to a refused push.
                        counters.unpushed.good += batch.good;
                        counters.unpushed.total += batch.total;
                        counters.last_push_error = Some(match failed {
                            Ok(response) => format!("the server answered {}", response.status()),
                            Err(error) => error.to_string(),
                        });
                    }
                }
            }
        });
        LoadGenerator { counters, stop, tasks }
    }

    /// What the service configuration `label` has served so far.
    pub fn tally(&self, label: &str) -> Tally {
        lock(&self.counters).by_configuration.get(label).copied().unwrap_or_default()
    }

    /// All requests and all pushes so far, and the last push error if the last push failed.
    pub fn totals(&self) -> (Tally, u64, Option<String>) {
        let counters = lock(&self.counters);
        let mut all = Tally::default();
        for tally in counters.by_configuration.values() {
            all.good += tally.good;
            all.total += tally.total;
        }
        (all, counters.pushes, counters.last_push_error.clone())
    }

    /// Waits until `label` has served at least `at_least` requests, or until it stops serving
    /// (the service moved on to another configuration); its tally then.
    pub async fn wait_for_sample(&self, label: &str, at_least: u64) -> Tally {
        const STILL_FOR: Duration = Duration::from_millis(500);
        let mut last = self.tally(label);
        let mut unchanged_since = std::time::Instant::now();
        loop {
            let tally = self.tally(label);
            if tally.total >= at_least || (tally.total > 0 && unchanged_since.elapsed() >= STILL_FOR) {
                return tally;
            }
            if tally.total != last.total {
                last = tally;
                unchanged_since = std::time::Instant::now();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        while self.tasks.join_next().await.is_some() {}
    }
}
