//! The closed-loop load generator: N workers, each sending its next request as soon as the
//! previous one is answered, until a deadline or a request count is reached.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Builds request number `index`: its URL, its body and how many alerts it carries.
pub type RequestBuilder = Arc<dyn Fn(u64) -> (String, String, u64) + Send + Sync>;

pub struct Plan {
    pub concurrency: usize,
    /// Stop starting requests after this long.
    pub duration: Duration,
    /// Request indexes `first_request..end_request` are sent at most.
    pub first_request: u64,
    pub end_request: u64,
    /// Workers stop after this many failed requests in total.
    pub max_failures: u64,
}

#[derive(Debug, Default)]
pub struct LoadResult {
    pub requests_ok: u64,
    pub alerts_ok: u64,
    pub requests_failed: u64,
    pub first_error: Option<String>,
    /// From the first request sent to the last answer received.
    pub elapsed: Duration,
    /// Per successful request, milliseconds from send to the full answer.
    pub latencies_ms: Vec<f64>,
    /// The next request index not yet used (for continuing a sequence).
    pub next_request: u64,
}

impl LoadResult {
    pub fn alerts_per_second(&self) -> f64 {
        self.alerts_ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

pub async fn run(client: &reqwest::Client, plan: &Plan, build: RequestBuilder) -> LoadResult {
    let next = Arc::new(AtomicU64::new(plan.first_request));
    let failures = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + plan.duration;
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..plan.concurrency.max(1) {
        let client = client.clone();
        let next = next.clone();
        let failures = failures.clone();
        let build = build.clone();
        let end_request = plan.end_request;
        let max_failures = plan.max_failures;
        workers.spawn(async move {
            let mut result = LoadResult::default();
            loop {
                if Instant::now() >= deadline || failures.load(Ordering::Relaxed) >= max_failures {
                    break;
                }
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= end_request {
                    break;
                }
                let (url, body, alerts) = build(index);
                let sent = Instant::now();
                let outcome = client.post(&url).header(reqwest::header::CONTENT_TYPE, "application/json").body(body).send().await;
                let error = match outcome {
                    Ok(response) => {
                        let status = response.status();
                        match response.bytes().await {
                            Ok(_) if status.is_success() => None,
                            Ok(bytes) => Some(format!("{status}: {}", String::from_utf8_lossy(&bytes[..bytes.len().min(300)]))),
                            Err(error) => Some(format!("reading the answer: {error}")),
                        }
                    }
                    Err(error) => Some(format!("request failed: {error}")),
                };
                match error {
                    None => {
                        result.requests_ok += 1;
                        result.alerts_ok += alerts;
                        result.latencies_ms.push(sent.elapsed().as_secs_f64() * 1000.0);
                    }
                    Some(error) => {
                        result.requests_failed += 1;
                        failures.fetch_add(1, Ordering::Relaxed);
                        if result.first_error.is_none() {
                            result.first_error = Some(error);
                        }
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
            }
            result
        });
    }
    let mut total = LoadResult::default();
    while let Some(joined) = workers.join_next().await {
        let Ok(result) = joined else { continue };
        total.requests_ok += result.requests_ok;
        total.alerts_ok += result.alerts_ok;
        total.requests_failed += result.requests_failed;
        if total.first_error.is_none() {
            total.first_error = result.first_error;
        }
        total.latencies_ms.extend(result.latencies_ms);
    }
    total.elapsed = started.elapsed();
    total.next_request = next.load(Ordering::Relaxed).min(plan.end_request);
    total
}

/// Nearest-rank percentile of `values` (0 < q ≤ 1); NaN when empty.
pub fn percentile(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn nearest_rank() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&values, 0.5), 50.0);
        assert_eq!(percentile(&values, 0.99), 99.0);
        assert_eq!(percentile(&values, 1.0), 100.0);
        assert_eq!(percentile(&[7.0], 0.99), 7.0);
        assert!(percentile(&[], 0.5).is_nan());
    }
}
