//! Quantile scores with an explicit tie rule.

use crate::error::{Error, Result};

/// Scores `values` 1..=`bins` by quantile, higher value = higher score.
///
/// **Tie rule (average rank):** values are ranked ascending; tied values share the mean of
/// the ranks they span (`mid`), and the score is `floor(bins * (mid - 1/2) / n) + 1`, computed
/// in integers. Equal values therefore always share a score, the result does not depend on
/// row order, and a column of all-equal values (or a single customer) scores the middle
/// bin, `bins / 2 + 1` in integer division (3 of 5). With distinct values the bins' sizes
/// differ by at most one.
///
/// # Errors
/// [`Error::InvalidOption`] when `bins` is not in 2..=20 or a value is NaN.
///
/// # Example
/// ```
/// use patronage::rfm::quantile_scores;
/// assert_eq!(quantile_scores(&[1.0, 2.0, 3.0, 4.0, 5.0], 5).unwrap(), vec![1, 2, 3, 4, 5]);
/// assert_eq!(quantile_scores(&[7.0, 7.0, 7.0], 5).unwrap(), vec![3, 3, 3]);
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
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut scores = vec![0u8; n];
    let (bins_u, two_n) = (u128::from(bins), 2 * n as u128);
    let mut i = 0;
    while i < n {
        let mut j = i + 1;
        while j < n && values[order[j]] == values[order[i]] {
            j += 1;
        }
        // Ranks i+1..=j; bins * (mid - 1/2) / n == bins * (i + j) / (2 n).
        let s = (bins_u * (i + j) as u128 / two_n + 1).min(bins_u) as u8;
        for &k in &order[i..j] {
            scores[k] = s;
        }
        i = j;
    }
    Ok(scores)
}

pub(crate) fn check_bins(bins: u8) -> Result<()> {
    if !(2..=20).contains(&bins) {
        return Err(Error::invalid("bins", format!("{bins} is not in 2..=20")));
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
        // Ties spanning ranks 2..=4 (mid 3) share bin floor(5 * 6 / 20) + 1 = 2.
        let v = [1.0, 2.0, 2.0, 2.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0];
        assert_eq!(
            quantile_scores(&v, 5).unwrap(),
            vec![1, 2, 2, 2, 3, 3, 4, 4, 5, 5]
        );
        // Order does not matter.
        let w = [10.0, 2.0, 9.0, 2.0, 1.0, 8.0, 2.0, 7.0, 6.0, 5.0];
        assert_eq!(
            quantile_scores(&w, 5).unwrap(),
            vec![5, 2, 5, 2, 1, 4, 2, 4, 3, 3]
        );
    }

    #[test]
    fn degenerate_inputs() {
        assert_eq!(quantile_scores(&[4.2], 5).unwrap(), vec![3]);
        assert_eq!(quantile_scores(&[1.0; 4], 4).unwrap(), vec![3; 4]);
        assert_eq!(quantile_scores(&[], 5).unwrap(), Vec::<u8>::new());
        assert!(quantile_scores(&[1.0, f64::NAN], 5).is_err());
        assert!(quantile_scores(&[1.0], 1).is_err());
        assert!(quantile_scores(&[1.0], 21).is_err());
    }
}
