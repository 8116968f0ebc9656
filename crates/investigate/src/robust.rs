//! Robust location and scale (median, MAD) and the shift of a window against a baseline,
//! the statistics every signal here is built on. Medians rather than means so that one
//! earlier fault inside the baseline window does not move the baseline much.

/// The median of `values`, or `None` when there are none. NaNs are ignored.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|value| value.is_finite()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    if sorted.len() % 2 == 1 { Some(sorted[middle]) } else { Some((sorted[middle - 1] + sorted[middle]) / 2.0) }
}

/// Median absolute deviation from `center`.
pub fn median_absolute_deviation(values: &[f64], center: f64) -> Option<f64> {
    let deviations: Vec<f64> = values.iter().map(|value| (value - center).abs()).collect();
    median(&deviations)
}

/// How far a window moved away from its baseline, in robust standard deviations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shift {
    /// Non-negative size of the shift in units of the baseline's scale.
    pub z: f64,
    pub baseline: f64,
    /// The value in the window furthest from the baseline (or the window's median, see
    /// [`shift_of_median`]).
    pub observed: f64,
}

/// The scale a baseline is measured in: 1.4826·MAD (the standard deviation for normal data),
/// but never less than a tenth of the baseline's magnitude, because a handful of one-minute
/// points from a flat series has a MAD of zero and would make any wobble look infinite.
pub fn robust_scale(baseline_values: &[f64], center: f64) -> f64 {
    const NORMAL_CONSISTENCY: f64 = 1.4826;
    const RELATIVE_FLOOR: f64 = 0.1;
    const ABSOLUTE_FLOOR: f64 = 1e-9;
    let mad = median_absolute_deviation(baseline_values, center).unwrap_or(0.0);
    (NORMAL_CONSISTENCY * mad).max(RELATIVE_FLOOR * center.abs()).max(ABSOLUTE_FLOOR)
}

/// The largest deviation from the baseline's median that the window holds for at least
/// [`SUSTAINED_POINTS`] points (BARO's extreme, in either direction, with the persistence an
/// alert rule's `for:` asks): an injected fault lasts minutes, while sparse traffic makes
/// one-minute spikes in a healthy series every few minutes.
pub fn shift_of_extreme(baseline_values: &[f64], window: &[f64]) -> Option<Shift> {
    let center = median(baseline_values)?;
    let scale = robust_scale(baseline_values, center);
    let observed = sustained_extreme(window, center)?;
    Some(Shift { z: (observed - center).abs() / scale, baseline: center, observed })
}

/// [`shift_of_extreme`] for positive quantities that vary by factors, such as latencies: the
/// shift is measured on their logarithm, so a percentile that jumps to an overflow bucket a
/// hundred thousand times its usual value counts as about a dozen doublings, not as a
/// hundred thousand baseline deviations. The scale is at least ln 1.1, the same tenth of the
/// baseline's level [`robust_scale`] allows. Non-positive values are not samples.
pub fn ratio_shift_of_extreme(baseline_values: &[f64], window: &[f64]) -> Option<Shift> {
    let logs = |values: &[f64]| -> Vec<f64> { values.iter().filter(|value| **value > 0.0).map(|value| value.ln()).collect() };
    let (baseline, window) = (logs(baseline_values), logs(window));
    let center = median(&baseline)?;
    let scale = log_scale(&baseline, center);
    let observed = sustained_extreme(&window, center)?;
    Some(Shift { z: (observed - center).abs() / scale, baseline: center.exp(), observed: observed.exp() })
}

/// The scale of a baseline of logarithms: 1.4826·MAD, but never less than ln 1.1 (a tenth of
/// the level, the floor [`robust_scale`] puts on a linear baseline).
pub fn log_scale(baseline_logs: &[f64], center: f64) -> f64 {
    const LEAST_LOG_SCALE: f64 = 0.095_310_179_804_324_87; // ln 1.1
    (1.4826 * median_absolute_deviation(baseline_logs, center).unwrap_or(0.0)).max(LEAST_LOG_SCALE)
}

/// How many points of a window must reach a deviation for it to count.
pub const SUSTAINED_POINTS: usize = 2;

/// The value whose deviation from `center` is the [`SUSTAINED_POINTS`]-th largest in the
/// window (the window's most extreme value when it is shorter than that).
fn sustained_extreme(window: &[f64], center: f64) -> Option<f64> {
    let mut values: Vec<f64> = window.iter().copied().filter(|value| value.is_finite()).collect();
    values.sort_by(|left, right| (right - center).abs().total_cmp(&(left - center).abs()));
    values.get(SUSTAINED_POINTS.min(values.len()).checked_sub(1)?).copied()
}

/// The deviation of the window's median from the baseline's median: for dense, spiky samples
/// (span durations) where a single extreme point means nothing.
pub fn shift_of_median(baseline_values: &[f64], window: &[f64]) -> Option<Shift> {
    let center = median(baseline_values)?;
    let observed = median(window)?;
    let scale = robust_scale(baseline_values, center);
    Some(Shift { z: (observed - center).abs() / scale, baseline: center, observed })
}

/// A count that changed between two windows of different lengths, as a signed z-score:
/// how many standard deviations `after_count` is above what the baseline rate predicts.
/// The variance allows for overdispersion (real traffic is burstier than Poisson), and the
/// baseline gets half a pseudo-count so that a never-seen event is surprising but finite.
pub fn count_shift(before_count: f64, before_seconds: f64, after_count: f64, after_seconds: f64) -> f64 {
    const PSEUDO_COUNT: f64 = 0.5;
    const OVERDISPERSION: f64 = 0.2;
    if before_seconds <= 0.0 || after_seconds <= 0.0 {
        return 0.0;
    }
    let expected = (before_count + PSEUDO_COUNT) * after_seconds / before_seconds;
    let variance = expected + (OVERDISPERSION * expected).powi(2);
    (after_count - expected) / variance.sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_lengths() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[f64::NAN, 1.0]), Some(1.0));
    }

    #[test]
    fn one_outlier_in_the_baseline_does_not_move_it() {
        let baseline = [10.0, 11.0, 9.0, 10.0, 500.0];
        let shift = shift_of_extreme(&baseline, &[10.5]).unwrap();
        assert!(shift.z < 1.0, "{shift:?}");
        let shift = shift_of_extreme(&baseline, &[30.0]).unwrap();
        assert!(shift.z > 5.0, "{shift:?}");
    }

    #[test]
    fn a_flat_baseline_is_measured_against_a_tenth_of_its_level() {
        let shift = shift_of_extreme(&[50.0; 5], &[55.0]).unwrap();
        assert!((shift.z - 1.0).abs() < 1e-9, "{shift:?}");
    }

    #[test]
    fn a_one_point_spike_is_not_a_sustained_shift() {
        let baseline = [10.0, 11.0, 9.0, 10.0, 10.0];
        let spike = shift_of_extreme(&baseline, &[10.0, 90.0, 10.5]).unwrap();
        assert!(spike.z < 1.0, "only one point of three moved: {spike:?}");
        let sustained = shift_of_extreme(&baseline, &[10.0, 90.0, 60.0]).unwrap();
        assert_eq!(sustained.observed, 60.0, "the deviation two points reach");
        assert!(sustained.z > 10.0, "{sustained:?}");
        let single = shift_of_extreme(&baseline, &[90.0]).unwrap();
        assert_eq!(single.observed, 90.0, "a one-point window is read as it is");
    }

    #[test]
    fn ratio_shifts_count_factors_not_baseline_deviations() {
        let baseline = [0.005, 0.0052, 0.0049, 0.005, 0.0051];
        let overflow = ratio_shift_of_extreme(&baseline, &[573.0]).unwrap();
        let doubling = ratio_shift_of_extreme(&baseline, &[0.01]).unwrap();
        let linear = shift_of_extreme(&baseline, &[573.0]).unwrap();
        assert!(overflow.z < 200.0 && linear.z > 100_000.0, "{overflow:?} {linear:?}");
        assert!(doubling.z > 3.0, "a doubling of a steady latency is still an anomaly: {doubling:?}");
        assert!((overflow.observed - 573.0).abs() < 1e-6 && (overflow.baseline - 0.005).abs() < 1e-9);
        assert_eq!(ratio_shift_of_extreme(&[0.0, 0.0], &[1.0]), None, "zeros are not samples");
    }

    #[test]
    fn count_shift_sees_a_burst_and_ignores_a_steady_rate() {
        assert!(count_shift(60.0, 60.0, 120.0, 120.0).abs() < 0.5);
        assert!(count_shift(0.0, 60.0, 20.0, 120.0) > 5.0);
        assert!(count_shift(60.0, 60.0, 10.0, 120.0) < -3.0);
        assert_eq!(count_shift(5.0, 0.0, 5.0, 60.0), 0.0);
    }
}
