//! What a transaction summary hands the customer-level models: `impl Summary` methods
//! that pick the fitted period's columns (the calibration columns when the summary has a
//! calibration end, else the full period) and build the models' data from them.
//!
//! They live in the stage layer so that `clv` takes customer columns only and never
//! names the summary type.

use polars::prelude::DataFrame;

use crate::clv::data::compress::compress;
use crate::clv::{DiscreteData, RepeatData, SpendData};
use crate::engine::{SummaryParts, read_part};
use crate::error::{Error, Result};
use crate::io::frame::nullable_f64;
use crate::transactions::summary::Summary;

impl Summary {
    /// The fitted period's `frequency, recency, T` per customer: the calibration columns
    /// (`frequency_cal, recency_cal, T_cal`) when the summary has a calibration end, else
    /// the full-period ones. Customers born in the holdout (null calibration columns) are
    /// left out, so the vectors are shorter than the summary then.
    ///
    /// # Errors
    ///
    /// [`Error::MissingColumn`] / [`Error::WrongType`] for a missing or non-numeric
    /// column; [`Error::EmptyTable`] when no customer has data in the fitted period.
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::prelude::*;
    /// let s = Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default())?
    ///     .summary(&SummaryOptions::weekly())?;
    /// let (x, t_x, t) = s.repeat_columns()?;
    /// assert_eq!(x.len(), s.n_customers());
    /// assert!(t_x.iter().zip(&t).all(|(a, b)| a <= b));
    /// # Ok::<(), patronage::Error>(())
    /// ```
    pub fn repeat_columns(&self) -> Result<(Vec<f64>, Vec<f64>, Vec<f64>)> {
        let (_, [x, t_x, t]) = self.repeat_rows()?;
        Ok((x, t_x, t))
    }

    /// [`Summary::repeat_columns`] with the summary row of each customer kept (for
    /// joining per-customer covariates by id).
    pub(crate) fn repeat_rows(&self) -> Result<(Vec<usize>, [Vec<f64>; 3])> {
        let (rows, out) = repeat_rows_of(self.frame(), self.calibration_end().is_some())?;
        if rows.is_empty() {
            return Err(no_fitted_customer());
        }
        Ok((rows, out))
    }

    /// The fitted period's [`RepeatData`] for BG/NBD, MBG/NBD and Pareto/NBD (the columns
    /// of [`Summary::repeat_columns`], validated and compressed).
    ///
    /// # Errors
    ///
    /// As [`Summary::repeat_columns`] and [`RepeatData::new`].
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::prelude::*;
    /// use patronage::clv::BgNbd;
    /// let s = Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default())?
    ///     .summary(&SummaryOptions::weekly().calibration_end("2024-03-31"))?;
    /// let data = s.repeat_data()?;
    /// assert!(data.len() < s.n_customers()); // customers sharing (x, t_x, T) are one row
    /// let fit = BgNbd::fitter().fit(&data)?;
    /// # Ok::<(), patronage::Error>(())
    /// ```
    pub fn repeat_data(&self) -> Result<RepeatData> {
        let (x, t_x, t) = self.repeat_columns()?;
        RepeatData::new(&x, &t_x, &t)
    }

    /// The fitted period's frequency and mean repeat spend as [`SpendData`] for the
    /// Gamma-Gamma model (`monetary_value_cal` with a calibration end, else
    /// `monetary_value`). Customers without calibration data are left out; customers
    /// without repeat purchases or with a non-positive mean are counted in
    /// [`SpendData::excluded`].
    ///
    /// # Errors
    ///
    /// Missing or non-numeric columns; as [`SpendData::new`].
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::prelude::*;
    /// let s = Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default())?
    ///     .summary(&SummaryOptions::weekly())?;
    /// let spend = s.spend_data()?;
    /// let (no_repeat, _) = spend.excluded();
    /// assert!(no_repeat > 0.0 && spend.n_customers() > 0.0);
    /// # Ok::<(), patronage::Error>(())
    /// ```
    pub fn spend_data(&self) -> Result<SpendData> {
        let (_, [xs, ms]) = self.spend_rows()?;
        SpendData::new(&xs, &ms)
    }

    /// The fitted period's frequency and mean repeat spend (0 where missing) of the
    /// customers with data in that period, with each one's summary row.
    pub(crate) fn spend_rows(&self) -> Result<(Vec<usize>, [Vec<f64>; 2])> {
        spend_rows_of(self.frame(), self.calibration_end().is_some())
    }

    /// The fitted period's columns as [`DiscreteData`] for BG/BB: repeat purchases,
    /// recency and `T` read as whole periods, which holds when the purchase unit and the
    /// time unit are the same (e.g. both `week`).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOption`] (option `model`) for a fractional recency or `T`; as
    /// [`Summary::repeat_columns`] and [`DiscreteData::new`].
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::prelude::*;
    /// let tx = Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default())?;
    /// let weeks = SummaryOptions::weekly().purchase_unit(PurchaseUnit::Week);
    /// assert!(tx.summary(&weeks)?.discrete_data().is_ok());
    /// // Daily purchases on a weekly clock give fractional periods.
    /// assert!(tx.summary(&SummaryOptions::weekly())?.discrete_data().is_err());
    /// # Ok::<(), patronage::Error>(())
    /// ```
    pub fn discrete_data(&self) -> Result<DiscreteData> {
        let (x, t_x, t) = self.repeat_columns()?;
        if let Some(v) = t_x.iter().chain(&t).find(|v| v.fract() != 0.0) {
            return Err(Error::invalid(
                "model",
                format!(
                    "bg-bb needs whole-number periods, found {v}; use the same --purchase-unit and --time-unit (e.g. both week), or give a per-customer table with --summary"
                ),
            ));
        }
        DiscreteData::new(&x, &t_x, &t, None)
    }
}

/// The repeat columns of the fitted period (the calibration ones with `calibration`) of a
/// summary frame, for the customers with data in it, with each one's row.
fn repeat_rows_of(df: &DataFrame, calibration: bool) -> Result<(Vec<usize>, [Vec<f64>; 3])> {
    let [xn, txn, tn] = repeat_names(calibration);
    let x = nullable_f64(df, xn)?;
    let t_x = nullable_f64(df, txn)?;
    let t = nullable_f64(df, tn)?;
    let mut rows = Vec::new();
    let mut out = [Vec::new(), Vec::new(), Vec::new()];
    for i in 0..x.len() {
        if let (Some(a), Some(b), Some(c)) = (x[i], t_x[i], t[i]) {
            rows.push(i);
            out[0].push(a);
            out[1].push(b);
            out[2].push(c);
        }
    }
    Ok((rows, out))
}

fn repeat_names(calibration: bool) -> [&'static str; 3] {
    if calibration {
        ["frequency_cal", "recency_cal", "T_cal"]
    } else {
        ["frequency", "recency", "T"]
    }
}

fn spend_names(calibration: bool) -> [&'static str; 2] {
    if calibration {
        ["frequency_cal", "monetary_value_cal"]
    } else {
        ["frequency", "monetary_value"]
    }
}

fn no_fitted_customer() -> Error {
    Error::EmptyTable {
        what: "no customer has calibration-period data".into(),
    }
}

/// The fitted period's frequency and mean repeat spend (0 where missing) of a summary
/// frame's customers with data in that period, with each one's row.
fn spend_rows_of(df: &DataFrame, calibration: bool) -> Result<(Vec<usize>, [Vec<f64>; 2])> {
    let [xn, mn] = spend_names(calibration);
    let x = nullable_f64(df, xn)?;
    let m = nullable_f64(df, mn)?;
    let (mut rows, mut xs, mut ms) = (Vec::new(), Vec::new(), Vec::new());
    for (i, (a, b)) in x.into_iter().zip(m).enumerate() {
        if let Some(a) = a {
            rows.push(i);
            xs.push(a);
            ms.push(b.unwrap_or(0.0));
        }
    }
    Ok((rows, [xs, ms]))
}

/// `e` with a [`Error::BadRow`]'s row moved on by the `offset` rows before its part.
pub(crate) fn shifted(e: Error, offset: usize) -> Error {
    match e {
        Error::BadRow {
            row,
            column,
            reason,
            value,
        } => Error::BadRow {
            row: row + offset as u64,
            column,
            reason,
            value,
        },
        other => other,
    }
}

impl SummaryParts {
    /// The fitted period's [`RepeatData`] over every part file, read one part at a time
    /// (three columns of it) and compressed as it goes, so the memory held is the
    /// distinct `(x, t_x, T)` triples, not the customers: equal to
    /// [`Summary::repeat_data`] of the gathered summary (the same rows and weights, so a
    /// model fitted on it is fitted on the same data, to the bit).
    ///
    /// # Errors
    ///
    /// As [`Summary::repeat_data`] (a [`Error::BadRow`] names the row among the fitted
    /// customers of all parts, as it would in the gathered summary); [`Error::Io`] or a
    /// polars error when a part cannot be read.
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::engine::{Engine, summary_parts};
    /// use patronage::prelude::*;
    /// let tx = Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default())?;
    /// let options = SummaryOptions::weekly().calibration_end("2024-03-31");
    /// let dir = std::env::temp_dir().join(format!("patronage-doc-fit-{}", std::process::id()));
    /// let (parts, _) = summary_parts(&tx, &options, &Engine::Memory, &dir)?;
    /// assert_eq!(parts.repeat_data()?, tx.summary(&options)?.repeat_data()?);
    /// std::fs::remove_dir_all(&dir).unwrap();
    /// # Ok::<(), patronage::Error>(())
    /// ```
    pub fn repeat_data(&self) -> Result<RepeatData> {
        self.repeat_data_for(self.calibration_end.is_some())
    }

    /// [`SummaryParts::repeat_data`] of the calibration columns (with `calibration`) or
    /// the full period's.
    pub(crate) fn repeat_data_for(&self, calibration: bool) -> Result<RepeatData> {
        let names = repeat_names(calibration);
        let (mut x, mut t_x, mut t, mut w) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut offset = 0;
        for path in &self.files {
            let df = read_part(path, Some(&names))?;
            let (_, [a, b, c]) = repeat_rows_of(&df, calibration)?;
            if a.is_empty() {
                continue;
            }
            // Checked and compressed per part; the union is compressed once more below.
            let part = RepeatData::new(&a, &b, &c).map_err(|e| shifted(e, offset))?;
            offset += a.len();
            x.extend_from_slice(part.x());
            t_x.extend_from_slice(part.t_x());
            t.extend_from_slice(part.t());
            w.extend_from_slice(part.weights());
        }
        if x.is_empty() {
            return Err(no_fitted_customer());
        }
        RepeatData::with_weights(&x, &t_x, &t, &w)
    }

    /// The fitted period's [`SpendData`] for the Gamma-Gamma model over every part file,
    /// read one part at a time and compressed as it goes: equal to
    /// [`Summary::spend_data`] of the gathered summary, excluded counts included.
    ///
    /// # Errors
    ///
    /// As [`Summary::spend_data`] (a [`Error::BadRow`] names the row among the fitted
    /// customers of all parts); [`Error::Io`] or a polars error when a part cannot be
    /// read.
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::engine::{Engine, summary_parts};
    /// use patronage::prelude::*;
    /// let tx = Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default())?;
    /// let options = SummaryOptions::weekly();
    /// let dir = std::env::temp_dir().join(format!("patronage-doc-spend-{}", std::process::id()));
    /// let (parts, _) = summary_parts(&tx, &options, &Engine::Memory, &dir)?;
    /// assert_eq!(parts.spend_data()?, tx.summary(&options)?.spend_data()?);
    /// std::fs::remove_dir_all(&dir).unwrap();
    /// # Ok::<(), patronage::Error>(())
    /// ```
    pub fn spend_data(&self) -> Result<SpendData> {
        self.spend_data_for(self.calibration_end.is_some())
    }

    /// [`SummaryParts::spend_data`] of the calibration columns (with `calibration`) or
    /// the full period's.
    pub(crate) fn spend_data_for(&self, calibration: bool) -> Result<SpendData> {
        let names = spend_names(calibration);
        let (mut x, mut m, mut w) = (Vec::new(), Vec::new(), Vec::new());
        let mut offset = 0;
        for path in &self.files {
            let df = read_part(path, Some(&names))?;
            let (_, [xs, ms]) = spend_rows_of(&df, calibration)?;
            SpendData::check_rows(&xs, &ms).map_err(|e| shifted(e, offset))?;
            offset += xs.len();
            // Every pair kept (the excluded ones are counted when the union is built).
            let (reps, weights) = compress(&[&xs, &ms], None, xs.len());
            x.extend(reps.iter().map(|&i| xs[i]));
            m.extend(reps.iter().map(|&i| ms[i]));
            w.extend(weights);
        }
        SpendData::with_weights(&x, &m, &w)
    }
}
