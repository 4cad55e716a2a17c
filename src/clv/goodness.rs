//! Goodness-of-fit figures for choosing between models: information criteria and the
//! Pearson chi-square of a histogram with sparse bins pooled.
//!
//! The chi-square of [`crate::clv::check::histogram_check`] sums over its bins as they
//! are, so a bin where the model expects a customer or two dominates it and the statistic
//! has no chi-square distribution. [`pooled_chi_square`] first pools adjacent bins
//! (frequencies are ordered) until every pooled group expects at least `min_expected`
//! customers (5 is the usual rule), then sums `(actual - expected)^2 / expected` over the
//! groups; compare it with a chi-square of `groups - 1 - parameters` degrees of freedom.

use serde::Serialize;

use crate::error::{Error, Result};

/// Akaike's information criterion, `2k - 2 LL`.
///
/// # Example
///
/// ```
/// assert_eq!(patronage::clv::goodness::aic(-100.0, 4), 208.0);
/// ```
pub fn aic(log_likelihood: f64, parameters: usize) -> f64 {
    2.0 * parameters as f64 - 2.0 * log_likelihood
}

/// Schwarz's Bayesian information criterion, `k ln(n) - 2 LL`, with `n` the number of
/// customers the likelihood is summed over.
///
/// # Example
///
/// ```
/// let bic = patronage::clv::goodness::bic(-100.0, 4, 1000.0);
/// assert!((bic - (4.0 * 1000f64.ln() + 200.0)).abs() < 1e-12);
/// ```
pub fn bic(log_likelihood: f64, parameters: usize, observations: f64) -> f64 {
    parameters as f64 * observations.ln() - 2.0 * log_likelihood
}

/// One pooled group of [`PooledChiSquare`]: the bins `from..=to`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct PooledGroup {
    /// First bin (frequency) of the group.
    pub from: u32,
    /// Last bin of the group.
    pub to: u32,
    /// True when the group holds the open-ended last bin (`to` or more).
    pub open_ended: bool,
    /// Observed count.
    pub actual: f64,
    /// Expected count (at least the pooling threshold, unless one group holds all).
    pub expected: f64,
}

/// Pearson's chi-square over pooled bins.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct PooledChiSquare {
    /// `sum over groups (actual - expected)^2 / expected`.
    pub statistic: f64,
    /// `groups - 1 - parameters`, or `None` when that is below 1 (too few groups to
    /// test anything).
    pub degrees_of_freedom: Option<usize>,
    /// The pooled groups in bin order.
    pub groups: Vec<PooledGroup>,
}

/// Pools adjacent bins from the first on until each group expects at least
/// `min_expected`; a remainder at the end below the threshold joins the group before it.
/// The last bin is taken to be open-ended. Then Pearson's statistic over the groups, with
/// `parameters` estimated parameters for the degrees of freedom.
///
/// # Errors
///
/// [`Error::InvalidOption`] when the slices differ in length or are empty, a count is
/// negative or not finite, or `min_expected` is not positive.
///
/// # Example
///
/// ```
/// use patronage::clv::goodness::pooled_chi_square;
/// let actual = [50.0, 30.0, 12.0, 5.0, 2.0, 1.0];
/// let expected = [48.0, 31.0, 13.0, 4.0, 3.0, 1.0];
/// let c = pooled_chi_square(&actual, &expected, 5.0, 1)?;
/// // 0, 1, 2 stand alone; 3, 4, 5 pool to 8 expected.
/// assert_eq!(c.groups.len(), 4);
/// assert_eq!((c.groups[3].from, c.groups[3].to, c.groups[3].expected), (3, 5, 8.0));
/// assert_eq!(c.degrees_of_freedom, Some(2));
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn pooled_chi_square(
    actual: &[f64],
    expected: &[f64],
    min_expected: f64,
    parameters: usize,
) -> Result<PooledChiSquare> {
    if actual.len() != expected.len() || actual.is_empty() {
        return Err(Error::invalid(
            "expected",
            format!(
                "needs one expected count per bin: {} actual, {} expected",
                actual.len(),
                expected.len()
            ),
        ));
    }
    if !(min_expected.is_finite() && min_expected > 0.0) {
        return Err(Error::invalid(
            "min_expected",
            format!("must be positive, got {min_expected}"),
        ));
    }
    if let Some(bad) = actual
        .iter()
        .chain(expected)
        .find(|v| !(v.is_finite() && **v >= 0.0))
    {
        return Err(Error::invalid(
            "counts",
            format!("must be finite and >= 0, found {bad}"),
        ));
    }
    let last = actual.len() - 1;
    let mut groups: Vec<PooledGroup> = Vec::new();
    let mut open: Option<PooledGroup> = None;
    for (k, (&a, &e)) in actual.iter().zip(expected).enumerate() {
        let g = open.get_or_insert(PooledGroup {
            from: k as u32,
            to: k as u32,
            open_ended: false,
            actual: 0.0,
            expected: 0.0,
        });
        g.to = k as u32;
        g.actual += a;
        g.expected += e;
        g.open_ended = k == last;
        if g.expected >= min_expected {
            groups.extend(open.take());
        }
    }
    if let Some(rest) = open {
        match groups.last_mut() {
            Some(g) => {
                g.to = rest.to;
                g.actual += rest.actual;
                g.expected += rest.expected;
                g.open_ended = rest.open_ended;
            }
            None => groups.push(rest),
        }
    }
    let statistic = groups
        .iter()
        .map(|g| {
            if g.expected > 0.0 {
                (g.actual - g.expected).powi(2) / g.expected
            } else {
                0.0
            }
        })
        .sum();
    let degrees_of_freedom = groups.len().checked_sub(1 + parameters).filter(|d| *d >= 1);
    Ok(PooledChiSquare {
        statistic,
        degrees_of_freedom,
        groups,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pools_sparse_bins_and_keeps_totals() {
        let actual = [3.0, 2.0, 10.0, 1.0, 0.0];
        let expected = [2.0, 4.0, 9.0, 1.5, 0.5];
        let c = pooled_chi_square(&actual, &expected, 5.0, 0).unwrap();
        let spans: Vec<(u32, u32)> = c.groups.iter().map(|g| (g.from, g.to)).collect();
        // 0+1 reach 6; 2 alone (9); 3+4 stay at 2 and join the group before.
        assert_eq!(spans, [(0, 1), (2, 4)]);
        assert!(c.groups[1].open_ended && !c.groups[0].open_ended);
        assert_eq!(c.groups[1].expected, 11.0);
        let want = (5.0f64 - 6.0).powi(2) / 6.0 + (11.0f64 - 11.0).powi(2) / 11.0;
        assert!((c.statistic - want).abs() < 1e-15);
        assert_eq!(c.degrees_of_freedom, Some(1));
        let with_params = pooled_chi_square(&actual, &expected, 5.0, 4).unwrap();
        assert_eq!(with_params.degrees_of_freedom, None);
        let total: f64 = c.groups.iter().map(|g| g.actual).sum();
        assert_eq!(total, actual.iter().sum::<f64>());
    }

    #[test]
    fn everything_below_the_threshold_is_one_group() {
        let c = pooled_chi_square(&[1.0, 1.0], &[1.0, 2.0], 5.0, 0).unwrap();
        assert_eq!(c.groups.len(), 1);
        assert_eq!(c.statistic, (2.0f64 - 3.0).powi(2) / 3.0);
    }

    #[test]
    fn bad_input_is_refused() {
        let option = |e: Error| match e {
            Error::InvalidOption { option, .. } => option,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            option(pooled_chi_square(&[1.0], &[1.0, 2.0], 5.0, 0).unwrap_err()),
            "expected"
        );
        assert_eq!(
            option(pooled_chi_square(&[], &[], 5.0, 0).unwrap_err()),
            "expected"
        );
        assert_eq!(
            option(pooled_chi_square(&[1.0], &[f64::NAN], 5.0, 0).unwrap_err()),
            "counts"
        );
        assert_eq!(
            option(pooled_chi_square(&[1.0], &[1.0], 0.0, 0).unwrap_err()),
            "min_expected"
        );
    }
}
