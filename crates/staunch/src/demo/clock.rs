//! The demo's clock: real time, sped up. Staunch evaluates SLOs over per-minute buckets, so a
//! burn-rate window of an hour takes an hour of real traffic to fill; the demo hands the server
//! a clock that runs [`SPEED`] times faster instead of shortening the windows below what the
//! evaluator supports. Everything the server times by its clock (SLO windows, escalation
//! timeouts, timeline timestamps, postmortem durations) is scaled alike; network timeouts and
//! the SLO tick are real time.

use jiff::{SignedDuration, Timestamp};
use std::time::Instant;

/// How many demo seconds pass per real second: one real second is one minute of demo time.
pub const SPEED: u32 = 60;

pub struct ScaledClock {
    started: Instant,
    started_at: Timestamp,
}

impl ScaledClock {
    pub fn starting_now() -> ScaledClock {
        ScaledClock { started: Instant::now(), started_at: Timestamp::now() }
    }
}

impl staunch_server::Clock for ScaledClock {
    fn now(&self) -> Timestamp {
        let elapsed = self.started.elapsed() * SPEED;
        let elapsed = SignedDuration::try_from(elapsed).unwrap_or(SignedDuration::MAX);
        self.started_at.checked_add(elapsed).unwrap_or(self.started_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use staunch_server::Clock;

    #[test]
    fn a_real_second_is_a_demo_minute() {
        let clock =
            ScaledClock { started: Instant::now() - std::time::Duration::from_secs(2), started_at: Timestamp::UNIX_EPOCH };
        let seconds = clock.now().as_second();
        assert!((120..=125).contains(&seconds), "two real seconds should be about two demo minutes, got {seconds} s");
    }
}
