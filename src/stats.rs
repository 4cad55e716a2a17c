//! Small numeric helpers shared by the customer-level modules: sample quantiles with
//! linear interpolation between order statistics (numpy's default, `type 7` in R) and the
//! median.
//!
//! Segmentation (robust scaling, profiles, level words) and profitability (matrix
//! thresholds, grid bands) both use them; keeping them here gives one definition without
//! making profitability depend on segmentation.

/// The `q` quantile (0..=1) of values sorted ascending, interpolated linearly between
/// the two nearest order statistics; NaN for no values.
pub(crate) fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// A sorted copy (ascending, by `total_cmp`).
pub(crate) fn sorted(values: &[f64]) -> Vec<f64> {
    let mut v = values.to_vec();
    sort_f64(&mut v);
    v
}

/// Sorts ascending by `total_cmp`, on every core with the feature "parallel". Values
/// equal under `total_cmp` have the same bits, so the result is the same whatever the
/// sort or the thread count.
pub(crate) fn sort_f64(values: &mut [f64]) {
    use rayon::slice::ParallelSliceMut;
    if cfg!(feature = "parallel") {
        values.par_sort_unstable_by(f64::total_cmp);
    } else {
        values.sort_unstable_by(f64::total_cmp);
    }
}

/// Row indices ordered by `key` ascending (by `total_cmp`), ties by index: one parallel
/// sort of `(key, index)` pairs with the feature "parallel" (contiguous, unlike sorting
/// indices through a comparison that looks the keys up). The order is total, so the
/// result does not depend on the sort or the thread count.
pub(crate) fn order_by(key: impl Fn(usize) -> f64, n: usize) -> Vec<usize> {
    use rayon::slice::ParallelSliceMut;
    let mut pairs: Vec<(f64, usize)> = (0..n).map(|i| (key(i), i)).collect();
    let cmp = |a: &(f64, usize), b: &(f64, usize)| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1));
    if cfg!(feature = "parallel") {
        pairs.par_sort_unstable_by(cmp);
    } else {
        pairs.sort_unstable_by(cmp);
    }
    pairs.into_iter().map(|p| p.1).collect()
}

/// The same value as `quantile(&sorted(values), q)`, by selection instead of a full
/// sort (reorders `values`).
pub(crate) fn quantile_in_place(values: &mut [f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let pos = q * (values.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    let (_, &mut at_lo, above) = values.select_nth_unstable_by(lo, f64::total_cmp);
    let at_hi = if hi == lo {
        at_lo
    } else {
        above
            .iter()
            .copied()
            .min_by(f64::total_cmp)
            .unwrap_or(at_lo)
    };
    at_lo + (at_hi - at_lo) * (pos - lo as f64)
}

/// The median (by selection on a copy).
pub(crate) fn median(values: &[f64]) -> f64 {
    quantile_in_place(&mut values.to_vec(), 0.5)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolates_between_order_statistics() {
        let v = [4.0, 1.0, 3.0, 2.0];
        let s = sorted(&v);
        assert_eq!(quantile(&s, 0.0), 1.0);
        assert_eq!(quantile(&s, 0.5), 2.5);
        assert_eq!(quantile(&s, 1.0), 4.0);
        assert_eq!(median(&v), 2.5);
        assert!(quantile(&[], 0.5).is_nan());
    }

    #[test]
    fn selection_equals_sorting() {
        let v: Vec<f64> = (0..101).map(|i| ((i * 37) % 101) as f64 * 0.5).collect();
        for q in [0.0, 0.1, 0.25, 1.0 / 3.0, 0.5, 0.9, 1.0] {
            assert_eq!(
                quantile_in_place(&mut v.clone(), q).to_bits(),
                quantile(&sorted(&v), q).to_bits()
            );
        }
    }
}
