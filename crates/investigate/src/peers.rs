//! How much one service's anomaly stands out from the other services' in the same case, per
//! modality. A modality can be loud everywhere at once (sparse latency percentiles jump by
//! tens of robust deviations on every service when traffic is one request a second) or quiet
//! everywhere but one service (a new error template): what singles out a root is being
//! unusual among its peers, the n-sigma rule applied across services instead of across time.

use crate::robust::{median, median_absolute_deviation};
use std::collections::BTreeMap;

/// The least spread assumed among peers, in units of ln(1 + z): a factor of e in (1 + z).
/// When most services show nothing the peers' MAD is zero, and without a floor any anomaly at
/// all would stand out infinitely.
const LEAST_PEER_SPREAD: f64 = 1.0;

/// Each service's z as a robust z against the other services' (on ln(1 + z), because z
/// spans orders of magnitude), clamped at zero: a service below its peers' median is not
/// singled out at all.
pub fn stand_out(z_by_service: &BTreeMap<String, f64>) -> BTreeMap<String, f64> {
    let logs: Vec<f64> = z_by_service.values().map(|z| z.max(0.0).ln_1p()).collect();
    let Some(center) = median(&logs) else { return BTreeMap::new() };
    let spread = (1.4826 * median_absolute_deviation(&logs, center).unwrap_or(0.0)).max(LEAST_PEER_SPREAD);
    z_by_service.iter().map(|(service, z)| (service.clone(), ((z.max(0.0).ln_1p() - center) / spread).max(0.0))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
        pairs.iter().map(|(service, z)| (service.to_string(), *z)).collect()
    }

    #[test]
    fn a_service_loud_where_every_service_is_loud_does_not_stand_out() {
        let noisy = stand_out(&map(&[("a", 40.0), ("b", 60.0), ("c", 35.0), ("d", 80.0), ("e", 50.0)]));
        assert!(noisy.values().all(|u| *u < 1.0), "{noisy:?}");
    }

    #[test]
    fn the_one_loud_service_among_quiet_ones_stands_out() {
        let quiet = stand_out(&map(&[("a", 0.0), ("b", 0.5), ("c", 17.0), ("d", 0.0), ("e", 1.0)]));
        assert!(quiet["c"] > 2.0, "{quiet:?}");
        assert!(quiet.iter().all(|(service, u)| service == "c" || *u < 0.5), "{quiet:?}");
        assert!(quiet["a"] == 0.0 && quiet["d"] == 0.0, "{quiet:?}");
    }

    #[test]
    fn no_services_give_nothing() {
        assert!(stand_out(&BTreeMap::new()).is_empty());
    }
}
