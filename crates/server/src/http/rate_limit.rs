//! Per-integration rate limits: each integration key with a `rate_limit` gets a token bucket
//! (`staunch_domain::rate_limit`), charged one token per alert event. A sender over its limit
//! is answered 429 with `Retry-After` before anything reaches the engine, so a flood from one
//! integration never queues ahead of other tenants' alerts. Buckets live in this process: with
//! several replicas each enforces the limit on what it receives.

use super::ingest::IngestTarget;
use jiff::Timestamp;
use staunch_domain::rate_limit::{RateLimit, TokenBucket};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

#[derive(Default)]
pub struct RateLimits {
    buckets: Mutex<HashMap<String, TokenBucket>>,
    in_flight: Mutex<HashMap<String, Arc<Semaphore>>>,
}

/// Requests of one integration key parsed at once, at most. The rest wait (using no CPU) until
/// one of them is parsed, so a sender with many connections open cannot take every core from
/// other tenants' requests. Parsed requests wait for the engine without a slot: its fair
/// queue decides whose work is written next, and the more of one sender's requests wait
/// there, the more of them share a commit.
pub const IN_FLIGHT_PER_KEY: usize = 4;

/// How long a throttled sender should wait, in whole seconds (at least 1), for `Retry-After`.
pub(super) struct Throttled {
    pub retry_after_seconds: u64,
}

impl RateLimits {
    /// Waits for one of the key's parsing slots; the slot is freed when the permit drops.
    pub(super) async fn in_flight_slot(&self, key_sha256: &str) -> Option<OwnedSemaphorePermit> {
        let semaphore = {
            let mut slots = self.in_flight.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            slots.entry(key_sha256.to_string()).or_insert_with(|| Arc::new(Semaphore::new(IN_FLIGHT_PER_KEY))).clone()
        };
        semaphore.acquire_owned().await.ok()
    }

    /// Charges `events` to the target's key, or says when to retry.
    pub(super) fn admit(&self, target: &IngestTarget<'_>, events: usize, now: Timestamp) -> Result<(), Throttled> {
        let Some(limit) = target.integration.rate_limit else {
            return Ok(());
        };
        self.admit_key(&target.key_sha256, limit, events, now)
    }

    /// Charges `cost` to the bucket named `key` (created with `limit`), or says when to retry.
    pub(super) fn admit_key(&self, key: &str, limit: RateLimit, cost: usize, now: Timestamp) -> Result<(), Throttled> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let bucket = buckets.entry(key.to_string()).or_insert_with(|| TokenBucket::new(limit, now));
        bucket
            .take(cost.max(1) as f64, now)
            .map_err(|wait| Throttled { retry_after_seconds: (wait.as_secs_f64().ceil() as u64).max(1) })
    }
}
