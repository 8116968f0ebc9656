//! A ring of fixed-width time buckets of (bad, total) event counts, with a running sum per
//! window. Recording adds to one bucket and to the sums that cover it; moving time forward
//! subtracts exactly the buckets that leave each window. No operation rescans the ring, so
//! a tick costs O(windows), whatever the window lengths.

/// One minute, the resolution of the evaluator's fine ring.
pub const MINUTE_MS: u64 = 60_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    pub bad: u64,
    pub total: u64,
}

impl Counts {
    /// The share of bad events, or `None` when nothing happened (a ratio of 0/0 is unknown,
    /// not zero).
    pub fn error_ratio(self) -> Option<f64> {
        (self.total > 0).then(|| self.bad as f64 / self.total as f64)
    }
}

#[derive(Debug, Clone)]
struct WindowSum {
    buckets: u64,
    sum: Counts,
}

/// Buckets of `width_ms`, enough of them for the longest window asked for.
#[derive(Debug, Clone)]
pub struct BucketRing {
    width_ms: u64,
    // Stored as u32 pairs to halve memory; a bucket saturates rather than wrapping.
    bad: Vec<u32>,
    total: Vec<u32>,
    /// Absolute index (time / width) of the newest bucket, once anything happened.
    head: Option<u64>,
    windows: Vec<WindowSum>,
}

impl BucketRing {
    /// A ring whose windows are `window_lengths_ms` (each rounded up to whole buckets).
    pub fn new(width_ms: u64, window_lengths_ms: &[u64]) -> BucketRing {
        let width_ms = width_ms.max(1);
        let windows: Vec<WindowSum> = window_lengths_ms
            .iter()
            .map(|length| WindowSum { buckets: length.div_ceil(width_ms).max(1), sum: Counts::default() })
            .collect();
        let capacity = windows.iter().map(|window| window.buckets).max().unwrap_or(1) as usize;
        BucketRing { width_ms, bad: vec![0; capacity], total: vec![0; capacity], head: None, windows }
    }

    fn capacity(&self) -> u64 {
        self.bad.len() as u64
    }

    /// Moves the newest bucket to the one containing `at_ms`, dropping what leaves each window.
    pub fn advance_to(&mut self, at_ms: u64) {
        let target = at_ms / self.width_ms;
        let Some(head) = self.head else {
            self.head = Some(target);
            return;
        };
        if target <= head {
            return;
        }
        if target - head >= self.capacity() {
            // Everything in the ring is older than every window: start afresh.
            self.bad.iter_mut().for_each(|count| *count = 0);
            self.total.iter_mut().for_each(|count| *count = 0);
            self.windows.iter_mut().for_each(|window| window.sum = Counts::default());
            self.head = Some(target);
            return;
        }
        let capacity = self.capacity();
        for index in head + 1..=target {
            for window in &mut self.windows {
                // The bucket that falls out of this window as `index` enters it.
                if let Some(leaving) = index.checked_sub(window.buckets) {
                    let slot = (leaving % capacity) as usize;
                    window.sum.bad -= u64::from(self.bad[slot]);
                    window.sum.total -= u64::from(self.total[slot]);
                }
            }
            let slot = (index % capacity) as usize;
            self.bad[slot] = 0;
            self.total[slot] = 0;
        }
        self.head = Some(target);
    }

    /// Adds events that happened at `at_ms`. Events newer than the head move it forward;
    /// late events are added to their bucket while it is still in the ring, and dropped
    /// (returning false) once every window has moved past them.
    pub fn record(&mut self, at_ms: u64, bad: u64, total: u64) -> bool {
        self.advance_to(at_ms);
        let head = self.head.unwrap_or(0);
        let index = at_ms / self.width_ms;
        let age = head - index.min(head);
        if age >= self.capacity() {
            return false;
        }
        let slot = (index % self.capacity()) as usize;
        let bad = u32::try_from(bad).unwrap_or(u32::MAX);
        let total = u32::try_from(total).unwrap_or(u32::MAX);
        let added_bad = self.bad[slot].saturating_add(bad) - self.bad[slot];
        let added_total = self.total[slot].saturating_add(total) - self.total[slot];
        self.bad[slot] += added_bad;
        self.total[slot] += added_total;
        for window in &mut self.windows {
            if age < window.buckets {
                window.sum.bad += u64::from(added_bad);
                window.sum.total += u64::from(added_total);
            }
        }
        true
    }

    /// The running sum of window `index` (in the order given to `new`).
    pub fn window(&self, index: usize) -> Counts {
        self.windows.get(index).map(|window| window.sum).unwrap_or_default()
    }

    /// Bytes held by the buckets, for capacity planning.
    pub fn bucket_bytes(&self) -> usize {
        (self.bad.len() + self.total.len()) * std::mem::size_of::<u32>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The same sums computed the slow way, from every event ever recorded.
    fn rescanned(events: &[(u64, u64, u64)], now_ms: u64, width_ms: u64, length_ms: u64) -> Counts {
        let newest = now_ms / width_ms;
        let buckets = length_ms.div_ceil(width_ms).max(1);
        let mut sum = Counts::default();
        for &(at, bad, total) in events {
            let index = at / width_ms;
            if index <= newest && newest - index < buckets {
                sum.bad += bad;
                sum.total += total;
            }
        }
        sum
    }

    proptest! {
        #[test]
        fn running_sums_equal_a_rescan(
            steps in proptest::collection::vec((0u64..400_000, 0u64..50, 0u64..50), 1..200),
        ) {
            let windows = [MINUTE_MS * 5, MINUTE_MS * 30, MINUTE_MS * 60];
            let mut ring = BucketRing::new(MINUTE_MS, &windows);
            let mut now = 0u64;
            let mut events = Vec::new();
            for (advance, bad, extra) in steps {
                now += advance;
                // Some events arrive late, up to ten minutes after they happened.
                let at = now.saturating_sub((bad * 13_000) % 600_000);
                let total = bad + extra;
                let newest = now / MINUTE_MS;
                ring.advance_to(now);
                let still_held = newest - (at / MINUTE_MS).min(newest) < 60;
                prop_assert_eq!(ring.record(at, bad, total), still_held);
                if still_held {
                    events.push((at, bad, total));
                }
                for (index, length) in windows.iter().enumerate() {
                    prop_assert_eq!(ring.window(index), rescanned(&events, now, MINUTE_MS, *length));
                }
            }
        }
    }

    #[test]
    fn a_long_silence_empties_every_window() {
        let mut ring = BucketRing::new(MINUTE_MS, &[MINUTE_MS * 5]);
        ring.record(0, 3, 10);
        assert_eq!(ring.window(0), Counts { bad: 3, total: 10 });
        ring.advance_to(MINUTE_MS * 4);
        assert_eq!(ring.window(0).total, 10);
        ring.advance_to(MINUTE_MS * 5);
        assert_eq!(ring.window(0), Counts::default());
        assert_eq!(ring.window(0).error_ratio(), None);
    }
}
