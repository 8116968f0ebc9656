//! The pause after a job batch fails to commit: a full or failing disk fails the same batch
//! again at once, and tried at every poll it took a tenth of a core and logged four errors a
//! second. Each failure in a row doubles the pause, up to a cap; a success ends it.

use staunch_domain::duration::HumanDuration;
use std::time::Instant;

const FIRST_PAUSE: HumanDuration = HumanDuration::from_millis(500);
const LONGEST_PAUSE: HumanDuration = HumanDuration::from_secs(30);

#[derive(Debug, Default)]
pub(super) struct RetryPause {
    failures_in_a_row: u32,
    until: Option<Instant>,
}

impl RetryPause {
    /// Whether the next try may start at `now`.
    pub(super) fn allows(&self, now: Instant) -> bool {
        self.until.is_none_or(|until| now >= until)
    }

    /// Records a failure at `now`; returns how many in a row and the pause before the next try.
    pub(super) fn failed(&mut self, now: Instant) -> (u32, HumanDuration) {
        self.failures_in_a_row = self.failures_in_a_row.saturating_add(1);
        let pause = HumanDuration::backoff(FIRST_PAUSE, LONGEST_PAUSE, self.failures_in_a_row);
        self.until = Some(now + pause.as_std());
        (self.failures_in_a_row, pause)
    }

    pub(super) fn succeeded(&mut self) {
        *self = RetryPause::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn failures_in_a_row_pause_longer_until_a_success() {
        let start = Instant::now();
        let mut pause = RetryPause::default();
        assert!(pause.allows(start));
        let pauses: Vec<u64> = (0..8).map(|_| pause.failed(start).1.as_millis()).collect();
        assert_eq!(pauses, vec![500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
        assert!(!pause.allows(start + Duration::from_millis(29_999)));
        assert!(pause.allows(start + Duration::from_secs(30)));
        pause.succeeded();
        assert!(pause.allows(start));
        assert_eq!(pause.failed(start), (1, HumanDuration::from_millis(500)));
    }
}
