//! Quantile scores with an explicit tie rule.

use crate::error::{Error, Result};

/// Scores `values` 1..=`bins` by quantile, higher value = higher score.
///
/// **Tie rule (lowest rank):** a value scores one more than the number of whole bins'
/// worth of customers strictly below it: `floor(bins * below / n) + 1`, where `below`
/// counts the values smaller than it (computed in integers). Tied values therefore share
/// a score, the result does not depend on row order, and the smallest value always
/// scores 1 — on real logs most customers buy once, and every one-time buyer gets F = 1
/// rather than a spread of scores decided by file order. With distinct values the bins'
/// sizes differ by at most one. A single customer, or a column of all-equal values,
/// scores 1 (relative scores carry no information there).
///
/// # Errors
/// [`Error::InvalidOption`] when `bins` is not in 2..=20 or a value is NaN.
///
/// # Example
/// ```
/// use patronage::rfm::quantile_scores;
/// assert_eq!(quantile_scores(&[1.0, 2.0, 3.0, 4.0, 5.0], 5).unwrap(), vec![1, 2, 3, 4, 5]);
/// assert_eq!(quantile_scores(&[1.0, 1.0, 1.0, 2.0, 9.0], 5).unwrap(), vec![1, 1, 1, 4, 5]);
/// ```
pub fn quantile_scores(values: &[f64], bins: u8) -> Result<Vec<u8>> {
    check_bins(bins)?;
    if let Some(i) = values.iter().position(|v| v.is_nan()) {
        return Err(Error::invalid(
            "values",
            format!("value {i} is NaN; scores need numbers"),
        ));
    }
    let n = values.len();
    // Within a tie group every customer gets the same score, so any order of ties does.
    let order = crate::stats::order_by(|i| values[i], n);
    let mut scores = vec![0u8; n];
    let (bins_u, n_u) = (u128::from(bins), n as u128);
    let mut i = 0;
    while i < n {
        let mut j = i + 1;
        while j < n && values[order[j]] == values[order[i]] {
            j += 1;
        }
        // `i` values are strictly below this tie group.
        let s = (bins_u * i as u128 / n_u + 1).min(bins_u) as u8;
        for &k in &order[i..j] {
            scores[k] = s;
        }
        i = j;
    }
    Ok(scores)
}

pub(crate) fn check_bins(bins: u8) -> Result<()> {
    if !(2..=20).contains(&bins) {
        return Err(Error::invalid(
            "rfm.bins",
            format!("{bins} is not in 2..=20"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn even_split_and_ties() {
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(
            quantile_scores(&v, 5).unwrap(),
            vec![1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
        );
        // The three 2s have one value below them: floor(5 * 1 / 10) + 1 = 1.
        let v = [1.0, 2.0, 2.0, 2.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0];
        assert_eq!(
            quantile_scores(&v, 5).unwrap(),
            vec![1, 1, 1, 1, 3, 3, 4, 4, 5, 5]
        );
        // Order does not matter.
        let w = [10.0, 2.0, 9.0, 2.0, 1.0, 8.0, 2.0, 7.0, 6.0, 5.0];
        assert_eq!(
            quantile_scores(&w, 5).unwrap(),
            vec![5, 1, 5, 1, 1, 4, 1, 4, 3, 3]
        );
        // 60% tied at the bottom (one-time buyers): all score 1; the next value jumps.
        let f = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 2.0, 2.0, 3.0, 7.0];
        assert_eq!(
            quantile_scores(&f, 5).unwrap(),
            vec![1, 1, 1, 1, 1, 1, 4, 4, 5, 5]
        );
    }

    #[test]
    fn degenerate_inputs() {
        assert_eq!(quantile_scores(&[4.2], 5).unwrap(), vec![1]);
        assert_eq!(quantile_scores(&[1.0; 4], 4).unwrap(), vec![1; 4]);
        assert_eq!(quantile_scores(&[], 5).unwrap(), Vec::<u8>::new());
        assert!(quantile_scores(&[1.0, f64::NAN], 5).is_err());
        assert!(quantile_scores(&[1.0], 1).is_err());
        assert!(quantile_scores(&[1.0], 21).is_err());
    }
}
