//! [`DiscreteData`]: `(x, t_x, n)` per customer for the discrete-time BG/BB model,
//! validated and compressed to weighted distinct rows.

#[cfg(feature = "frames")]
use polars::prelude::*;

use super::compress::{bad, check_inputs, compress};
#[cfg(feature = "frames")]
use super::{FREQUENCY_NAMES, PERIODS_NAMES, RECENCY_NAMES, WEIGHT_NAMES};
use crate::error::Result;
#[cfg(feature = "frames")]
use crate::io::frame::{float_column, optional_float_column};

/// Discrete-time data for BG/BB: per customer the number of transactions `x` in `n`
/// opportunities and the opportunity of the last one `t_x` (0 when `x = 0`), weighted.
#[derive(Debug, Clone, PartialEq)]
pub struct DiscreteData {
    x: Vec<f64>,
    t_x: Vec<f64>,
    n: Vec<f64>,
    w: Vec<f64>,
    n_customers: f64,
}

impl DiscreteData {
    /// Builds from whole-number `frequency`, `recency` and `periods` with optional weights.
    ///
    /// # Errors
    ///
    /// [`Error::BadRow`](crate::Error::BadRow) for a value that is not a non-negative whole number, or
    /// inconsistent values (`x > t_x`, `t_x > n`, `t_x > 0` with `x = 0`);
    /// [`Error::EmptyTable`](crate::Error::EmptyTable) with no rows.
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::clv::DiscreteData;
    /// let d = DiscreteData::new(&[0.0, 2.0], &[0.0, 4.0], &[6.0, 6.0], Some(&[100.0, 20.0])).unwrap();
    /// assert_eq!(d.n_customers(), 120.0);
    /// ```
    pub fn new(
        frequency: &[f64],
        recency: &[f64],
        periods: &[f64],
        weights: Option<&[f64]>,
    ) -> Result<Self> {
        let n = frequency.len();
        check_inputs(
            n,
            &[("recency", recency.len()), ("periods", periods.len())],
            weights,
        )?;
        let whole = |v: f64| v.is_finite() && v >= 0.0 && v == v.floor();
        for i in 0..n {
            let (x, tx, np) = (frequency[i], recency[i], periods[i]);
            for (name, v) in [("frequency", x), ("recency", tx), ("periods", np)] {
                if !whole(v) {
                    return Err(bad(i, name, "must be a non-negative whole number", v));
                }
            }
            if x > tx {
                return Err(bad(
                    i,
                    "frequency",
                    "more transactions than the last transaction's period",
                    x,
                ));
            }
            if tx > np {
                return Err(bad(i, "recency", "recency is after the last period", tx));
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
        let (reps, w) = compress(&[frequency, recency, periods], weights, n);
        let n_customers = w.iter().sum();
        Ok(DiscreteData {
            x: reps.iter().map(|&i| frequency[i]).collect(),
            t_x: reps.iter().map(|&i| recency[i]).collect(),
            n: reps.iter().map(|&i| periods[i]).collect(),
            w,
            n_customers,
        })
    }

    /// Reads `frequency`, `recency`, `periods` (or `n`) and optional `weights`, as in the
    /// donations file.
    ///
    /// # Errors
    ///
    /// As [`RepeatData::from_frame`](super::RepeatData::from_frame) and [`DiscreteData::new`].
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::clv::DiscreteData;
    /// use polars::prelude::*;
    /// let df = df!("frequency" => [0, 3], "recency" => [0, 5], "periods" => [6, 6], "weights" => [10, 2]).unwrap();
    /// assert_eq!(DiscreteData::from_frame(&df).unwrap().n_customers(), 12.0);
    /// ```
    #[cfg(feature = "frames")]
    pub fn from_frame(df: &DataFrame) -> Result<Self> {
        let x = float_column(df, FREQUENCY_NAMES)?;
        let t_x = float_column(df, RECENCY_NAMES)?;
        let n = float_column(df, PERIODS_NAMES)?;
        let w = optional_float_column(df, WEIGHT_NAMES)?;
        Self::new(&x, &t_x, &n, w.as_deref())
    }

    /// Transactions per distinct row.
    pub fn x(&self) -> &[f64] {
        &self.x
    }

    /// Period of the last transaction per distinct row.
    pub fn t_x(&self) -> &[f64] {
        &self.t_x
    }

    /// Opportunities per distinct row.
    pub fn n(&self) -> &[f64] {
        &self.n
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

    /// Customers (sum of weights).
    pub fn n_customers(&self) -> f64 {
        self.n_customers
    }
}
