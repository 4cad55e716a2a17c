//! The per-customer inputs the models fit on, validated and compressed.
//!
//! Customers with identical sufficient statistics are one weighted row, so a fit costs
//! in proportion to the number of distinct rows, not customers. Rows are kept sorted
//! (by `x`, then `t_x`, then `T`), which makes compression and every later sum
//! deterministic.

use polars::prelude::*;
use rayon::prelude::*;

use crate::error::{Error, Result};
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

/// Kept for `profitability/customers.rs`, which is being rewritten on another branch and
/// still reads `crate::clv::data::nullable_f64`; the helper now lives in
/// [`crate::io::frame`]. Remove once that file calls `crate::io::frame::nullable_f64`.
pub(crate) use crate::io::frame::nullable_f64;

/// Column names accepted for each role in a per-customer frame, first match wins.
pub(crate) const FREQUENCY_NAMES: &[&str] = &["frequency", "x", "frequency_cal"];
pub(crate) const RECENCY_NAMES: &[&str] = &["recency", "t_x", "recency_cal"];
pub(crate) const T_NAMES: &[&str] = &["T", "T_cal"];
pub(crate) const WEIGHT_NAMES: &[&str] = &["weights", "weight", "count", "n_custs"];
pub(crate) const MONETARY_NAMES: &[&str] = &["monetary_value", "zbar", "monetary_value_cal"];
pub(crate) const PERIODS_NAMES: &[&str] = &["periods", "n", "n_periods", "T"];

fn bad(row: usize, column: &str, reason: &str, value: f64) -> Error {
    Error::BadRow {
        row: row as u64 + 1,
        column: column.to_string(),
        reason: reason.to_string(),
        value: value.to_string(),
    }
}

fn check_lengths(n: usize, others: &[(&str, usize)]) -> Result<()> {
    for (name, len) in others {
        if *len != n {
            return Err(Error::invalid(
                *name,
                format!("has {len} values but frequency has {n}"),
            ));
        }
    }
    if n == 0 {
        return Err(Error::EmptyTable {
            what: "no customers to fit".into(),
        });
    }
    Ok(())
}

fn check_weights(weights: Option<&[f64]>) -> Result<()> {
    if let Some(w) = weights {
        for (i, &v) in w.iter().enumerate() {
            if !(v.is_finite() && v > 0.0) {
                return Err(bad(i, "weights", "weight must be positive and finite", v));
            }
        }
    }
    Ok(())
}

/// Type of the compressed `(x, t_x, T, weight)` columns.
type Triples = (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>);

/// Sorts `(x, t_x, T)` (non-negative, so bit patterns sort as numbers) and merges equal
/// rows, summing weights in input order.
fn compress_triples(x: &[f64], t_x: &[f64], t: &[f64], weights: Option<&[f64]>) -> Triples {
    // +0.0 turns a -0.0 into 0.0 so that equal values have equal bits.
    let mut keys: Vec<(u64, u64, u64, u32)> = (0..x.len())
        .into_par_iter()
        .map(|i| {
            (
                (x[i] + 0.0).to_bits(),
                (t_x[i] + 0.0).to_bits(),
                (t[i] + 0.0).to_bits(),
                i as u32,
            )
        })
        .collect();
    // Keys are unique (the row index is last), so the unstable sort is deterministic.
    keys.par_sort_unstable();
    let mut out: Triples = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut last: Option<(u64, u64, u64)> = None;
    for &(a, b, c, i) in &keys {
        let wi = weights.map_or(1.0, |w| w[i as usize]);
        if last == Some((a, b, c)) {
            if let Some(lw) = out.3.last_mut() {
                *lw += wi;
            }
            continue;
        }
        last = Some((a, b, c));
        out.0.push(f64::from_bits(a));
        out.1.push(f64::from_bits(b));
        out.2.push(f64::from_bits(c));
        out.3.push(wi);
    }
    out
}

/// Sorts row indices by the given keys (non-negative or any finite values: compared by
/// `total_cmp`) and merges equal rows, summing weights in input order.
fn compress(keys: &[&[f64]], weights: Option<&[f64]>, n: usize) -> (Vec<usize>, Vec<f64>) {
    let mut order: Vec<usize> = (0..n).collect();
    // Ties broken by index, so the unstable parallel sort is deterministic.
    order.par_sort_unstable_by(|&i, &j| {
        for k in keys {
            let o = k[i].total_cmp(&k[j]);
            if o != std::cmp::Ordering::Equal {
                return o;
            }
        }
        i.cmp(&j)
    });
    let mut reps: Vec<usize> = Vec::new();
    let mut w = Vec::new();
    for &i in &order {
        let wi = weights.map_or(1.0, |w| w[i]);
        if let Some(&last) = reps.last() {
            if keys.iter().all(|k| k[last].to_bits() == k[i].to_bits()) {
                if let Some(lw) = w.last_mut() {
                    *lw += wi;
                }
                continue;
            }
        }
        reps.push(i);
        w.push(wi);
    }
    (reps, w)
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
        let mut lens = vec![("recency", recency.len()), ("T", t.len())];
        if let Some(w) = weights {
            lens.push(("weights", w.len()));
        }
        check_lengths(n, &lens)?;
        check_weights(weights)?;
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

    /// A copy with time divided by `scale`.
    pub(crate) fn rescaled(&self, scale: f64) -> Self {
        let mut d = self.clone();
        d.t_x.iter_mut().for_each(|v| *v /= scale);
        d.t.iter_mut().for_each(|v| *v /= scale);
        d.times.iter_mut().for_each(|v| *v /= scale);
        d
    }
}

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

    fn build(frequency: &[f64], monetary: &[f64], weights: Option<&[f64]>) -> Result<Self> {
        let n = frequency.len();
        let mut lens = vec![("monetary_value", monetary.len())];
        if let Some(w) = weights {
            lens.push(("weights", w.len()));
        }
        check_lengths(n, &lens)?;
        check_weights(weights)?;
        let mut keep = Vec::with_capacity(n);
        let (mut no_repeat, mut non_positive) = (0.0, 0.0);
        for i in 0..n {
            let (x, m) = (frequency[i], monetary[i]);
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
    /// As [`RepeatData::from_frame`] and [`SpendData::new`].
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::clv::SpendData;
    /// use polars::prelude::*;
    /// let df = df!("x" => [1.0, 4.0], "zbar" => [10.0, 25.0]).unwrap();
    /// assert_eq!(SpendData::from_frame(&df).unwrap().n_customers(), 2.0);
    /// ```
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
    /// [`Error::BadRow`] for a value that is not a non-negative whole number, or
    /// inconsistent values (`x > t_x`, `t_x > n`, `t_x > 0` with `x = 0`);
    /// [`Error::EmptyTable`] with no rows.
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
        let mut lens = vec![("recency", recency.len()), ("periods", periods.len())];
        if let Some(w) = weights {
            lens.push(("weights", w.len()));
        }
        check_lengths(n, &lens)?;
        check_weights(weights)?;
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
    /// As [`RepeatData::from_frame`] and [`DiscreteData::new`].
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::clv::DiscreteData;
    /// use polars::prelude::*;
    /// let df = df!("frequency" => [0, 3], "recency" => [0, 5], "periods" => [6, 6], "weights" => [10, 2]).unwrap();
    /// assert_eq!(DiscreteData::from_frame(&df).unwrap().n_customers(), 12.0);
    /// ```
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
