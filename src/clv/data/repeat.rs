//! [`RepeatData`]: `(x, t_x, T)` per customer for the continuous-time purchase models,
//! validated, compressed to weighted distinct rows, with the run and age indices the
//! likelihoods use.

#[cfg(feature = "frames")]
use polars::prelude::*;
use rayon::prelude::*;

use super::compress::{bad, check_inputs, compress_triples, systematic_sample};
#[cfg(feature = "frames")]
use super::{FREQUENCY_NAMES, RECENCY_NAMES, T_NAMES, WEIGHT_NAMES};
use crate::error::{Error, Result};
#[cfg(feature = "frames")]
use crate::io::frame::{float_column, optional_float_column};

/// Recency-frequency data for the continuous-time models (BG/NBD, MBG/NBD, Pareto/NBD):
/// per customer the number of repeat purchases `x`, the age at the last repeat purchase
/// `t_x` and the age at the end of the observation window `T`, with a weight (how many
/// customers share the row).
#[derive(Debug, Clone, PartialEq)]
pub struct RepeatData {
    x: Vec<f64>,
    t_x: Vec<f64>,
    t: Vec<f64>,
    w: Vec<f64>,
    /// `(x, first row, end row)` for each distinct `x`, in order.
    x_runs: Vec<(f64, usize, usize)>,
    /// Index into `x_runs` per row.
    x_group: Vec<u32>,
    /// Distinct values of `t_x` and `T`, ascending.
    times: Vec<f64>,
    /// Index into `times` of each row's `t_x` and `T`.
    tx_idx: Vec<u32>,
    t_idx: Vec<u32>,
    n_customers: f64,
}

impl RepeatData {
    /// Validates and compresses per-customer `(frequency, recency, T)`.
    ///
    /// # Errors
    ///
    /// [`Error::BadRow`] (1-based row, column) for a non-finite value, a negative or
    /// fractional frequency, a negative recency, recency after `T`, or a non-zero recency
    /// with zero frequency; [`Error::EmptyTable`] with no customers;
    /// [`Error::InvalidOption`] when the slices differ in length.
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::clv::RepeatData;
    /// let d = RepeatData::new(&[0.0, 2.0, 2.0], &[0.0, 30.0, 30.0], &[38.0, 38.0, 38.0]).unwrap();
    /// assert_eq!(d.len(), 2); // two identical customers share one weighted row
    /// assert_eq!(d.n_customers(), 3.0);
    /// ```
    pub fn new(frequency: &[f64], recency: &[f64], t: &[f64]) -> Result<Self> {
        Self::build(frequency, recency, t, None)
    }

    /// Like [`RepeatData::new`], with a positive weight (count of customers) per row.
    ///
    /// # Errors
    ///
    /// As [`RepeatData::new`], plus a non-positive or non-finite weight.
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::clv::RepeatData;
    /// let d = RepeatData::with_weights(&[0.0, 2.0], &[0.0, 30.0], &[38.0, 38.0], &[10.0, 3.0]).unwrap();
    /// assert_eq!(d.n_customers(), 13.0);
    /// ```
    pub fn with_weights(
        frequency: &[f64],
        recency: &[f64],
        t: &[f64],
        weights: &[f64],
    ) -> Result<Self> {
        Self::build(frequency, recency, t, Some(weights))
    }

    fn build(
        frequency: &[f64],
        recency: &[f64],
        t: &[f64],
        weights: Option<&[f64]>,
    ) -> Result<Self> {
        let n = frequency.len();
        check_inputs(n, &[("recency", recency.len()), ("T", t.len())], weights)?;
        if n > u32::MAX as usize {
            return Err(Error::invalid(
                "frequency",
                "more than 4,294,967,295 rows: fit on a weighted table",
            ));
        }
        for i in 0..n {
            let (x, tx, tt) = (frequency[i], recency[i], t[i]);
            if !(x.is_finite() && x >= 0.0 && x == x.floor()) {
                return Err(bad(
                    i,
                    "frequency",
                    "frequency must be a non-negative whole number",
                    x,
                ));
            }
            if !(tx.is_finite() && tx >= 0.0) {
                return Err(bad(
                    i,
                    "recency",
                    "recency must be finite and non-negative",
                    tx,
                ));
            }
            if !(tt.is_finite() && tt >= 0.0) {
                return Err(bad(i, "T", "T must be finite and non-negative", tt));
            }
            if tx > tt {
                return Err(bad(i, "recency", "recency is after T", tx));
            }
            if x == 0.0 && tx != 0.0 {
                return Err(bad(
                    i,
                    "recency",
                    "non-zero recency with zero frequency",
                    tx,
                ));
            }
        }
        let (x, t_x, tt, w) = compress_triples(frequency, recency, t, weights);
        let mut x_runs = Vec::new();
        let mut x_group = vec![0u32; x.len()];
        let mut start = 0;
        for i in 1..=x.len() {
            if i == x.len() || x[i] != x[start] {
                x_group[start..i].fill(x_runs.len() as u32);
                x_runs.push((x[start], start, i));
                start = i;
            }
        }
        // Distinct ages (t_x and T together): logs a day-grained log has a few hundred,
        // so the likelihood looks ln(alpha + age) up instead of computing it per row.
        let mut times: Vec<f64> = t_x.iter().chain(&tt).copied().collect();
        times.par_sort_unstable_by_key(|v| v.to_bits());
        times.dedup_by_key(|v| v.to_bits());
        let index = |v: &f64| times.partition_point(|u| u.to_bits() < v.to_bits()) as u32;
        let tx_idx: Vec<u32> = t_x.par_iter().map(index).collect();
        let t_idx: Vec<u32> = tt.par_iter().map(index).collect();
        // Sequential sum in row order: the same total whatever the thread count.
        let n_customers = w.iter().sum();
        Ok(RepeatData {
            x,
            t_x,
            t: tt,
            w,
            x_runs,
            x_group,
            times,
            tx_idx,
            t_idx,
            n_customers,
        })
    }

    /// Reads `frequency` (or `x`), `recency` (or `t_x`), `T` and optional `weights` from
    /// a per-customer frame (for instance `cdnow_customers_summary.csv`).
    ///
    /// # Errors
    ///
    /// [`Error::MissingColumn`] naming the role's accepted names, [`Error::WrongType`]
    /// for a non-numeric column, [`Error::BadRow`] for a null, and the checks of
    /// [`RepeatData::new`].
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::clv::RepeatData;
    /// use polars::prelude::*;
    /// let df = df!("x" => [0.0, 1.0], "t_x" => [0.0, 4.0], "T" => [10.0, 10.0]).unwrap();
    /// assert_eq!(RepeatData::from_frame(&df).unwrap().n_customers(), 2.0);
    /// ```
    #[cfg(feature = "frames")]
    pub fn from_frame(df: &DataFrame) -> Result<Self> {
        let x = float_column(df, FREQUENCY_NAMES)?;
        let t_x = float_column(df, RECENCY_NAMES)?;
        let t = float_column(df, T_NAMES)?;
        match optional_float_column(df, WEIGHT_NAMES)? {
            Some(w) => Self::with_weights(&x, &t_x, &t, &w),
            None => Self::new(&x, &t_x, &t),
        }
    }

    /// Number of distinct rows after compression.
    pub fn len(&self) -> usize {
        self.x.len()
    }

    /// True when there are no rows (never, for a successfully built value).
    pub fn is_empty(&self) -> bool {
        self.x.is_empty()
    }

    /// Number of customers (the sum of the weights).
    pub fn n_customers(&self) -> f64 {
        self.n_customers
    }

    /// Repeat purchases per distinct row.
    pub fn x(&self) -> &[f64] {
        &self.x
    }

    /// Age at the last repeat purchase per distinct row.
    pub fn t_x(&self) -> &[f64] {
        &self.t_x
    }

    /// Age at the end of observation per distinct row.
    pub fn t(&self) -> &[f64] {
        &self.t
    }

    /// Weight (customers) per distinct row.
    pub fn weights(&self) -> &[f64] {
        &self.w
    }

    pub(crate) fn x_runs(&self) -> &[(f64, usize, usize)] {
        &self.x_runs
    }

    pub(crate) fn x_group(&self) -> &[u32] {
        &self.x_group
    }

    /// Distinct ages and each row's index into them for `t_x` and `T`.
    pub(crate) fn time_index(&self) -> (&[f64], &[u32], &[u32]) {
        (&self.times, &self.tx_idx, &self.t_idx)
    }

    /// The largest `T` (used to rescale time while fitting).
    pub(crate) fn max_t(&self) -> f64 {
        self.t.iter().copied().fold(0.0, f64::max)
    }

    /// A systematic sample of `customers` customers (see
    /// [`systematic_sample`]): the data a large fit's warm start is estimated on. None
    /// when the rows cannot be rebuilt (never for rows that passed validation).
    pub(crate) fn sample(&self, customers: usize) -> Option<Self> {
        let picks = systematic_sample(&self.w, self.n_customers, customers);
        let column = |v: &[f64]| picks.iter().map(|&(i, _)| v[i]).collect::<Vec<f64>>();
        let weights: Vec<f64> = picks.iter().map(|&(_, count)| count).collect();
        Self::with_weights(
            &column(&self.x),
            &column(&self.t_x),
            &column(&self.t),
            &weights,
        )
        .ok()
    }

    /// A copy with time divided by `scale`.
    pub(crate) fn rescaled(&self, scale: f64) -> Self {
        let mut d = self.clone();
        d.t_x.iter_mut().for_each(|v| *v /= scale);
        d.t.iter_mut().for_each(|v| *v /= scale);
        d.times.iter_mut().for_each(|v| *v /= scale);
        d
    }
}
