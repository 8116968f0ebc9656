//! Token buckets: how much a sender may send, and how long it must wait when it sent too much.
//!
//! A bucket holds up to `burst` tokens and refills at `per_second`. Sending `cost` takes that
//! many tokens; when there are not enough, nothing is taken and the answer says how long until
//! there will be. The clock is a parameter.

use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;

/// A configured limit: `per_second` sustained, up to `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    pub per_second: f64,
    pub burst: f64,
}

impl RateLimit {
    /// A limit that can ever admit something: positive, finite rates.
    pub fn check(&self) -> Result<(), String> {
        if !(self.per_second.is_finite() && self.per_second > 0.0) {
            return Err(format!("per_second must be a positive number, not {}", self.per_second));
        }
        if !(self.burst.is_finite() && self.burst >= 1.0) {
            return Err(format!("burst must be at least 1, not {}", self.burst));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TokenBucket {
    limit: RateLimit,
    tokens: f64,
    updated_at: Timestamp,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(limit: RateLimit, now: Timestamp) -> TokenBucket {
        TokenBucket { limit, tokens: limit.burst, updated_at: now }
    }

    /// Takes `cost` tokens, or says how long to wait before trying again. A cost above the
    /// burst is capped at the burst, so a large but legitimate batch is admitted once the
    /// bucket is full instead of never.
    pub fn take(&mut self, cost: f64, now: Timestamp) -> Result<(), SignedDuration> {
        self.refill(now);
        let cost = cost.clamp(0.0, self.limit.burst);
        if self.tokens >= cost {
            self.tokens -= cost;
            return Ok(());
        }
        let missing = cost - self.tokens;
        Err(SignedDuration::from_secs_f64(missing / self.limit.per_second))
    }

    fn refill(&mut self, now: Timestamp) {
        // A clock that went backwards refills nothing rather than draining the bucket.
        let elapsed = now.duration_since(self.updated_at).as_secs_f64().max(0.0);
        self.tokens = (self.tokens + elapsed * self.limit.per_second).min(self.limit.burst);
        if now > self.updated_at {
            self.updated_at = now;
        }
    }

    pub fn tokens(&self) -> f64 {
        self.tokens
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(millis: i64) -> Timestamp {
        Timestamp::from_millisecond(1_790_000_000_000 + millis).unwrap()
    }

    const TEN_PER_SECOND: RateLimit = RateLimit { per_second: 10.0, burst: 20.0 };

    #[test]
    fn a_burst_is_admitted_then_the_rate() {
        let mut bucket = TokenBucket::new(TEN_PER_SECOND, at(0));
        assert!(bucket.take(20.0, at(0)).is_ok());
        assert_eq!(bucket.take(1.0, at(0)), Err(SignedDuration::from_millis(100)));
        assert!(bucket.take(1.0, at(100)).is_ok());
        assert_eq!(bucket.take(5.0, at(100)), Err(SignedDuration::from_millis(500)));
        assert!(bucket.take(5.0, at(600)).is_ok());
    }

    #[test]
    fn a_batch_larger_than_the_burst_waits_for_a_full_bucket() {
        let mut bucket = TokenBucket::new(TEN_PER_SECOND, at(0));
        assert!(bucket.take(15.0, at(0)).is_ok());
        assert_eq!(bucket.take(100.0, at(0)), Err(SignedDuration::from_millis(1500)));
        assert!(bucket.take(100.0, at(1500)).is_ok());
    }

    #[test]
    fn nonsense_limits_are_refused() {
        for (per_second, burst) in [(0.0, 10.0), (-1.0, 10.0), (f64::NAN, 10.0), (10.0, 0.5), (10.0, f64::INFINITY)] {
            assert!(RateLimit { per_second, burst }.check().is_err(), "{per_second} {burst}");
        }
    }

    proptest! {
        /// Whatever the sequence, tokens stay within [0, burst], and what a bucket admits over
        /// a span never exceeds the burst plus the rate times the span.
        #[test]
        fn never_admits_more_than_the_limit(steps in proptest::collection::vec((0_i64..2_000, 0.0_f64..30.0), 1..200)) {
            let mut bucket = TokenBucket::new(TEN_PER_SECOND, at(0));
            let mut now = 0;
            let mut admitted = 0.0;
            for (advance, cost) in steps {
                now += advance;
                if bucket.take(cost, at(now)).is_ok() {
                    admitted += cost.min(TEN_PER_SECOND.burst);
                }
                prop_assert!(bucket.tokens() >= -1e-9 && bucket.tokens() <= TEN_PER_SECOND.burst + 1e-9);
            }
            let allowance = TEN_PER_SECOND.burst + TEN_PER_SECOND.per_second * now as f64 / 1000.0;
            prop_assert!(admitted <= allowance + 1e-6, "{admitted} > {allowance}");
        }
    }
}
