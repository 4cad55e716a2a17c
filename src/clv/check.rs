//! Model checks as tables: calibration vs holdout by calibration frequency, the
//! calibration-period transaction histogram against the model, and cumulative tracking.
//!
//! Error summaries: `mae` is the customer-weighted mean absolute difference between the
//! actual and expected per-customer means across bins; `chi_square` is
//! `sum over bins (actual - expected)^2 / expected` on bin totals (the statistic of
//! Fader, Hardie & Lee's histogram check; compare to a chi-square with bins - 1 - number of
//! parameters degrees of freedom).

use rayon::prelude::*;
use serde::Serialize;

use crate::clv::PurchaseModel;
use crate::error::{Error, Result};

/// One row of [`holdout_check`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HoldoutBin {
    /// Calibration repeat purchases (the last bin holds `>= frequency`).
    pub frequency: u32,
    /// True for the open-ended last bin.
    pub open_ended: bool,
    /// Customers in the bin.
    pub customers: usize,
    /// Mean actual holdout purchases.
    pub actual: f64,
    /// Mean expected holdout purchases.
    pub expected: f64,
}

/// Calibration vs holdout, by bin and in total.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct HoldoutCheck {
    /// Per calibration-frequency bin.
    pub bins: Vec<HoldoutBin>,
    /// Actual holdout purchases, all customers.
    pub actual_total: f64,
    /// Expected holdout purchases, all customers.
    pub expected_total: f64,
    /// Customer-weighted mean absolute error of the bin means.
    pub mae: f64,
    /// Chi-square of bin totals.
    pub chi_square: f64,
    /// Expected holdout purchases per customer, in the order of the inputs: kept so that
    /// the report's gain chart ranks by them without computing them again (not in
    /// JSON: one number per customer).
    #[serde(skip)]
    pub expected_by_customer: Vec<f64>,
}

/// Per-customer data for [`holdout_check`].
#[derive(Debug, Clone, Copy)]
pub struct HoldoutInputs<'a> {
    /// Calibration repeat purchases.
    pub x: &'a [f64],
    /// Calibration recency.
    pub t_x: &'a [f64],
    /// Calibration age.
    pub t: &'a [f64],
    /// Purchases in the holdout period.
    pub x_holdout: &'a [f64],
    /// Length of the holdout period (time units).
    pub duration: &'a [f64],
}

fn chi(actual: f64, expected: f64) -> f64 {
    if expected > 0.0 {
        (actual - expected).powi(2) / expected
    } else {
        0.0
    }
}

/// Compares holdout purchases with the model's conditional expectations, binning
/// customers by calibration frequency `0, 1, ..., max_bin` (last bin `>= max_bin`).
///
/// # Errors
///
/// [`Error::InvalidOption`] when the slices differ in length; [`Error::EmptyTable`]
/// with no customers; [`Error::Model`] when an expectation cannot be computed.
///
/// # Example
///
/// ```
/// use patronage::clv::{BgNbd, check::{holdout_check, HoldoutInputs}};
/// let m = BgNbd::from_params(&[0.24, 4.41, 0.79, 2.43])?;
/// let c = holdout_check(&m, HoldoutInputs { x: &[0.0, 2.0], t_x: &[0.0, 30.0], t: &[38.0, 38.0], x_holdout: &[0.0, 1.0], duration: &[39.0, 39.0] }, 7)?;
/// assert_eq!(c.bins.len(), 8);
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn holdout_check(
    model: &dyn PurchaseModel,
    input: HoldoutInputs<'_>,
    max_bin: u32,
) -> Result<HoldoutCheck> {
    let n = input.x.len();
    for (name, len) in [
        ("recency", input.t_x.len()),
        ("T", input.t.len()),
        ("frequency_holdout", input.x_holdout.len()),
        ("duration_holdout", input.duration.len()),
    ] {
        if len != n {
            return Err(Error::invalid(
                name,
                format!("has {len} values, frequency has {n}"),
            ));
        }
    }
    if n == 0 {
        return Err(Error::EmptyTable {
            what: "no customers to check".into(),
        });
    }
    let expected: Vec<f64> = (0..n)
        .into_par_iter()
        .map(|i| {
            model.conditional_expected_purchases(
                input.duration[i],
                input.x[i],
                input.t_x[i],
                input.t[i],
            )
        })
        .collect::<Result<Vec<_>>>()?;
    let nb = max_bin as usize + 1;
    let mut count = vec![0usize; nb];
    let mut act = vec![0.0; nb];
    let mut exp = vec![0.0; nb];
    for ((x, holdout), e) in input.x.iter().zip(input.x_holdout).zip(&expected) {
        let b = (x.max(0.0) as usize).min(max_bin as usize);
        count[b] += 1;
        act[b] += holdout;
        exp[b] += e;
    }
    let mut bins = Vec::with_capacity(nb);
    let (mut abs_err, mut chi2) = (0.0, 0.0);
    for b in 0..nb {
        let c = count[b] as f64;
        let (a, e) = if count[b] > 0 {
            (act[b] / c, exp[b] / c)
        } else {
            (0.0, 0.0)
        };
        abs_err += c * (a - e).abs();
        chi2 += chi(act[b], exp[b]);
        bins.push(HoldoutBin {
            frequency: b as u32,
            open_ended: b == nb - 1,
            customers: count[b],
            actual: a,
            expected: e,
        });
    }
    Ok(HoldoutCheck {
        bins,
        actual_total: act.iter().sum(),
        expected_total: exp.iter().sum(),
        mae: abs_err / n as f64,
        chi_square: chi2,
        expected_by_customer: expected,
    })
}

/// One row of [`histogram_check`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistogramBin {
    /// Repeat purchases in the calibration period (last bin: at least this many).
    pub frequency: u32,
    /// True for the open-ended last bin.
    pub open_ended: bool,
    /// Customers observed with this many.
    pub actual: f64,
    /// Customers the model expects with this many, `sum_i P(X(T_i) = k)`.
    pub expected: f64,
}

/// The histogram of calibration repeat purchases against the model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistogramCheck {
    /// Per frequency.
    pub bins: Vec<HistogramBin>,
    /// Chi-square over the bins.
    pub chi_square: f64,
}

/// Compares how many customers made `0, 1, ..., max_bin+` repeat purchases in their
/// observation time `T_i` with what the model expects.
///
/// # Errors
///
/// [`Error::InvalidOption`] for slices of different length; [`Error::EmptyTable`] with
/// no customers; [`Error::Model`] when a probability cannot be computed.
///
/// # Example
///
/// ```
/// use patronage::clv::{BgNbd, check::histogram_check};
/// let m = BgNbd::from_params(&[0.24, 4.41, 0.79, 2.43])?;
/// let h = histogram_check(&m, &[0.0, 0.0, 1.0, 4.0], &[38.0, 38.0, 38.0, 38.0], 3)?;
/// assert_eq!(h.bins[0].actual, 2.0);
/// assert!((h.bins.iter().map(|b| b.expected).sum::<f64>() - 4.0).abs() < 1e-9);
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn histogram_check(
    model: &dyn PurchaseModel,
    x: &[f64],
    t: &[f64],
    max_bin: u32,
) -> Result<HistogramCheck> {
    if x.len() != t.len() {
        return Err(Error::invalid(
            "T",
            format!("has {} values, frequency has {}", t.len(), x.len()),
        ));
    }
    if x.is_empty() {
        return Err(Error::EmptyTable {
            what: "no customers to check".into(),
        });
    }
    let nb = max_bin as usize + 1;
    let mut ts: Vec<f64> = t.to_vec();
    ts.sort_by(f64::total_cmp);
    let mut distinct: Vec<(f64, f64)> = Vec::new();
    for v in ts {
        match distinct.last_mut() {
            Some(last) if last.0.to_bits() == v.to_bits() => last.1 += 1.0,
            _ => distinct.push((v, 1.0)),
        }
    }
    let per_t: Vec<Vec<f64>> = distinct
        .par_iter()
        .map(|&(tv, _)| {
            (0..max_bin)
                .map(|k| model.prob_purchases(k, tv))
                .collect::<Result<Vec<_>>>()
        })
        .collect::<Result<Vec<_>>>()?;
    let mut expected = vec![0.0; nb];
    for ((_, count), probs) in distinct.iter().zip(&per_t) {
        let mut below = 0.0;
        for (k, p) in probs.iter().enumerate() {
            expected[k] += count * p;
            below += p;
        }
        expected[nb - 1] += count * (1.0 - below).max(0.0);
    }
    let mut actual = vec![0.0; nb];
    for &v in x {
        actual[(v.max(0.0) as usize).min(nb - 1)] += 1.0;
    }
    let chi_square = actual.iter().zip(&expected).map(|(a, e)| chi(*a, *e)).sum();
    Ok(HistogramCheck {
        bins: (0..nb)
            .map(|k| HistogramBin {
                frequency: k as u32,
                open_ended: k == nb - 1,
                actual: actual[k],
                expected: expected[k],
            })
            .collect(),
        chi_square,
    })
}

/// One row of [`tracking`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrackingRow {
    /// End of the period (time units since the origin).
    pub period_end: f64,
    /// Cumulative repeat purchases observed by the period end.
    pub actual: f64,
    /// Cumulative repeat purchases the model expects, `sum_i E[X(end - birth_i)]`.
    pub expected: f64,
}

/// Cumulative repeat-purchase tracking: for each period end, the observed cumulative
/// repeat purchases against `sum_i E[X(end - birth_i)]` over customers born before it.
/// `births` are first-purchase times and `period_ends` the period boundaries, both in
/// time units since a common origin; `actual_cumulative[k]` is the observed cumulative
/// count at `period_ends[k]`.
///
/// # Errors
///
/// [`Error::InvalidOption`] when `actual_cumulative` and `period_ends` differ in length;
/// [`Error::Model`] when an expectation cannot be computed.
///
/// # Example
///
/// ```
/// use patronage::clv::{BgNbd, check::tracking};
/// let m = BgNbd::from_params(&[0.24, 4.41, 0.79, 2.43])?;
/// let rows = tracking(&m, &[0.0, 1.0, 1.0], &[1.0, 2.0], &[0.0, 1.0])?;
/// assert!(rows[1].expected > rows[0].expected);
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn tracking(
    model: &dyn PurchaseModel,
    births: &[f64],
    period_ends: &[f64],
    actual_cumulative: &[f64],
) -> Result<Vec<TrackingRow>> {
    if period_ends.len() != actual_cumulative.len() {
        return Err(Error::invalid(
            "actual_cumulative",
            format!(
                "has {} values for {} periods",
                actual_cumulative.len(),
                period_ends.len()
            ),
        ));
    }
    let mut b: Vec<f64> = births.to_vec();
    b.sort_by(f64::total_cmp);
    let mut distinct: Vec<(f64, f64)> = Vec::new();
    for v in b {
        match distinct.last_mut() {
            Some(last) if last.0.to_bits() == v.to_bits() => last.1 += 1.0,
            _ => distinct.push((v, 1.0)),
        }
    }
    period_ends
        .par_iter()
        .zip(actual_cumulative)
        .map(|(&end, &actual)| {
            let mut expected = 0.0;
            for &(birth, count) in &distinct {
                if birth < end {
                    expected += count * model.expected_purchases(end - birth)?;
                }
            }
            Ok(TrackingRow {
                period_end: end,
                actual,
                expected,
            })
        })
        .collect()
}
