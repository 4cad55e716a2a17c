//! [`SpendData`]: repeat customers' purchase count and mean spend for the Gamma-Gamma
//! model, validated and compressed to weighted distinct rows.

#[cfg(feature = "frames")]
use polars::prelude::*;

use super::compress::{bad, check_inputs, compress, systematic_sample};
#[cfg(feature = "frames")]
use super::{FREQUENCY_NAMES, MONETARY_NAMES, WEIGHT_NAMES};
use crate::error::{Error, Result};
#[cfg(feature = "frames")]
use crate::io::frame::{float_column, optional_float_column};

/// Repeat customers' mean spend for the Gamma-Gamma model: per customer the number of
/// repeat purchases `x` and their mean value `m`, weighted and compressed.
///
/// Customers with no repeat purchase, or whose mean repeat spend is not positive (real
/// logs have zero-value orders), carry no information for the model and are left out;
/// [`SpendData::excluded`] says how many.
#[derive(Debug, Clone, PartialEq)]
pub struct SpendData {
    x: Vec<f64>,
    m: Vec<f64>,
    w: Vec<f64>,
    /// Distinct `x` values and each row's index into them.
    x_values: Vec<f64>,
    x_group: Vec<u32>,
    excluded_no_repeat: f64,
    excluded_non_positive: f64,
    n_customers: f64,
}

/// A row's frequency is a non-negative whole number and its mean spend finite.
fn check_row(i: usize, x: f64, m: f64) -> Result<()> {
    if !(x.is_finite() && x >= 0.0 && x == x.floor()) {
        return Err(bad(
            i,
            "frequency",
            "frequency must be a non-negative whole number",
            x,
        ));
    }
    if !m.is_finite() {
        return Err(bad(i, "monetary_value", "monetary value must be finite", m));
    }
    Ok(())
}

impl SpendData {
    /// Builds from per-customer frequency and mean repeat spend.
    ///
    /// # Errors
    ///
    /// [`Error::BadRow`] for a non-finite value or a negative or fractional frequency;
    /// [`Error::EmptyTable`] when no customer is left to fit.
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::clv::SpendData;
    /// let d = SpendData::new(&[0.0, 2.0, 3.0, 1.0], &[0.0, 20.0, 35.5, 0.0]).unwrap();
    /// assert_eq!(d.n_customers(), 2.0);
    /// assert_eq!(d.excluded(), (1.0, 1.0)); // one without repeats, one with zero spend
    /// ```
    pub fn new(frequency: &[f64], monetary: &[f64]) -> Result<Self> {
        Self::build(frequency, monetary, None)
    }

    /// Like [`SpendData::new`] with a weight per row.
    ///
    /// # Errors
    ///
    /// As [`SpendData::new`], plus a non-positive or non-finite weight.
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::clv::SpendData;
    /// let d = SpendData::with_weights(&[2.0], &[20.0], &[4.0]).unwrap();
    /// assert_eq!(d.n_customers(), 4.0);
    /// ```
    pub fn with_weights(frequency: &[f64], monetary: &[f64], weights: &[f64]) -> Result<Self> {
        Self::build(frequency, monetary, Some(weights))
    }

    /// The checks of [`SpendData::new`] on each row (not on the lengths), without
    /// building: for data checked in pieces before being compressed together.
    ///
    /// # Errors
    ///
    /// [`Error::BadRow`] for a non-finite value or a negative or fractional frequency.
    #[cfg(feature = "frames")]
    pub(crate) fn check_rows(frequency: &[f64], monetary: &[f64]) -> Result<()> {
        for (i, (&x, &m)) in frequency.iter().zip(monetary).enumerate() {
            check_row(i, x, m)?;
        }
        Ok(())
    }

    fn build(frequency: &[f64], monetary: &[f64], weights: Option<&[f64]>) -> Result<Self> {
        let n = frequency.len();
        check_inputs(n, &[("monetary_value", monetary.len())], weights)?;
        let mut keep = Vec::with_capacity(n);
        let (mut no_repeat, mut non_positive) = (0.0, 0.0);
        for i in 0..n {
            let (x, m) = (frequency[i], monetary[i]);
            check_row(i, x, m)?;
            let wi = weights.map_or(1.0, |w| w[i]);
            if x == 0.0 {
                no_repeat += wi;
            } else if m <= 0.0 {
                non_positive += wi;
            } else {
                keep.push(i);
            }
        }
        if keep.is_empty() {
            return Err(Error::EmptyTable {
                what: "no repeat customer with positive mean spend for the Gamma-Gamma model"
                    .into(),
            });
        }
        let xs: Vec<f64> = keep.iter().map(|&i| frequency[i]).collect();
        let ms: Vec<f64> = keep.iter().map(|&i| monetary[i]).collect();
        let ws: Option<Vec<f64>> = weights.map(|w| keep.iter().map(|&i| w[i]).collect());
        let (reps, w) = compress(&[&xs, &ms], ws.as_deref(), xs.len());
        let n_customers = w.iter().sum();
        let x: Vec<f64> = reps.iter().map(|&i| xs[i]).collect();
        let mut x_values: Vec<f64> = Vec::new();
        let x_group: Vec<u32> = x
            .iter()
            .map(|&v| {
                if x_values.last() != Some(&v) {
                    x_values.push(v);
                }
                (x_values.len() - 1) as u32
            })
            .collect();
        Ok(SpendData {
            x,
            m: reps.iter().map(|&i| ms[i]).collect(),
            w,
            x_values,
            x_group,
            excluded_no_repeat: no_repeat,
            excluded_non_positive: non_positive,
            n_customers,
        })
    }

    /// Reads `frequency` (or `x`), `monetary_value` (or `zbar`) and optional `weights`.
    ///
    /// # Errors
    ///
    /// As [`RepeatData::from_frame`](super::RepeatData::from_frame) and [`SpendData::new`].
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::clv::SpendData;
    /// use polars::prelude::*;
    /// let df = df!("x" => [1.0, 4.0], "zbar" => [10.0, 25.0]).unwrap();
    /// assert_eq!(SpendData::from_frame(&df).unwrap().n_customers(), 2.0);
    /// ```
    #[cfg(feature = "frames")]
    pub fn from_frame(df: &DataFrame) -> Result<Self> {
        let x = float_column(df, FREQUENCY_NAMES)?;
        let m = float_column(df, MONETARY_NAMES)?;
        match optional_float_column(df, WEIGHT_NAMES)? {
            Some(w) => Self::with_weights(&x, &m, &w),
            None => Self::new(&x, &m),
        }
    }

    /// Repeat purchases per distinct row.
    pub fn x(&self) -> &[f64] {
        &self.x
    }

    /// Mean repeat spend per distinct row.
    pub fn m(&self) -> &[f64] {
        &self.m
    }

    /// Distinct `x` values and each row's index into them.
    pub(crate) fn x_index(&self) -> (&[f64], &[u32]) {
        (&self.x_values, &self.x_group)
    }

    /// Weight per distinct row.
    pub fn weights(&self) -> &[f64] {
        &self.w
    }

    /// Number of distinct rows.
    pub fn len(&self) -> usize {
        self.x.len()
    }

    /// True when there are no rows (never, for a successfully built value).
    pub fn is_empty(&self) -> bool {
        self.x.is_empty()
    }

    /// Customers fitted (sum of weights).
    pub fn n_customers(&self) -> f64 {
        self.n_customers
    }

    /// A systematic sample of `customers` of the fitted customers (see
    /// [`systematic_sample`]): the data a large fit's warm start is estimated on. None
    /// when the rows cannot be rebuilt (never for rows that passed validation).
    pub(crate) fn sample(&self, customers: usize) -> Option<Self> {
        let picks = systematic_sample(&self.w, self.n_customers, customers);
        let column = |v: &[f64]| picks.iter().map(|&(i, _)| v[i]).collect::<Vec<f64>>();
        let weights: Vec<f64> = picks.iter().map(|&(_, count)| count).collect();
        Self::with_weights(&column(&self.x), &column(&self.m), &weights).ok()
    }

    /// A copy with money divided by `scale`.
    pub(crate) fn rescaled(&self, scale: f64) -> Self {
        let mut d = self.clone();
        d.m.iter_mut().for_each(|v| *v /= scale);
        d
    }

    /// Customers left out: `(no repeat purchase, mean repeat spend <= 0)`.
    pub fn excluded(&self) -> (f64, f64) {
        (self.excluded_no_repeat, self.excluded_non_positive)
    }
}
