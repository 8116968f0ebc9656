//! Which tenants have had work lately: what tells a flood on its own from a flood beside
//! other tenants, whose work is only queued now and then.
//!
//! A quiet tenant's alert is rarely queued when a flood's transaction starts, so the queue
//! alone says the flood is alone, and the flood takes long transactions whose commits the
//! quiet tenant's next alert then waits for. A tenant stays active for `window` after its
//! last work. The time is a parameter, as everywhere in the domain.

use std::time::{Duration, Instant};

pub struct ActiveTenants<K> {
    window: Duration,
    /// Each tenant seen within the window, with when it was last seen.
    last_seen: Vec<(K, Instant)>,
}

impl<K: PartialEq> ActiveTenants<K> {
    pub fn new(window: Duration) -> ActiveTenants<K> {
        ActiveTenants { window, last_seen: Vec::new() }
    }

    /// `tenant` had work at `now`.
    pub fn seen(&mut self, tenant: K, now: Instant) {
        let window = self.window;
        // Tenants idle for longer than the window are forgotten, so the list holds only the
        // active ones.
        self.last_seen.retain(|(_, at)| now.saturating_duration_since(*at) < window);
        match self.last_seen.iter_mut().find(|(seen, _)| *seen == tenant) {
            Some((_, at)) => *at = (*at).max(now),
            None => self.last_seen.push((tenant, now)),
        }
    }

    /// Whether more than one tenant has had work within the window before `now`.
    pub fn several(&self, now: Instant) -> bool {
        self.last_seen.iter().filter(|(_, at)| now.saturating_duration_since(*at) < self.window).nth(1).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOW: Duration = Duration::from_secs(60);

    #[test]
    fn one_tenant_alone_is_never_several() {
        let start = Instant::now();
        let mut active = ActiveTenants::new(WINDOW);
        for second in 0..200 {
            active.seen("flood", start + Duration::from_secs(second));
            assert!(!active.several(start + Duration::from_secs(second)));
        }
    }

    #[test]
    fn a_quiet_tenant_counts_for_the_window_after_its_last_work() {
        let start = Instant::now();
        let mut active = ActiveTenants::new(WINDOW);
        active.seen("flood", start);
        active.seen("quiet", start + Duration::from_secs(1));
        active.seen("flood", start + Duration::from_secs(30));
        assert!(active.several(start + Duration::from_secs(30)));
        assert!(active.several(start + Duration::from_secs(60)), "the quiet tenant's minute is not over");
        assert!(!active.several(start + Duration::from_secs(61)), "the quiet tenant's minute is over");
        active.seen("flood", start + Duration::from_secs(62));
        assert!(!active.several(start + Duration::from_secs(62)));
        active.seen("quiet", start + Duration::from_secs(63));
        assert!(active.several(start + Duration::from_secs(63)), "active again");
    }

    #[test]
    fn the_list_holds_only_tenants_within_the_window() {
        let start = Instant::now();
        let mut active = ActiveTenants::new(WINDOW);
        for tenant in 0..1000 {
            active.seen(tenant, start + Duration::from_secs(tenant));
        }
        assert_eq!(active.last_seen.len(), 60);
    }

    #[test]
    fn a_time_seen_earlier_does_not_move_a_tenant_back() {
        let start = Instant::now();
        let mut active = ActiveTenants::new(WINDOW);
        active.seen("flood", start + Duration::from_secs(100));
        active.seen("quiet", start + Duration::from_secs(100));
        active.seen("quiet", start + Duration::from_secs(10));
        assert!(active.several(start + Duration::from_secs(150)));
    }
}
