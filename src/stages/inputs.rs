//! What a transaction summary hands the customer-level models: `impl Summary` methods
//! that pick the fitted period's columns (the calibration columns when the summary has a
//! calibration end, else the full period) and build the models' data from them.
//!
//! They live in the stage layer so that `clv` takes customer columns only and never
//! names the summary type.

use crate::clv::{DiscreteData, RepeatData, SpendData};
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
        let df = self.frame();
        let names: [&str; 3] = if self.calibration_end().is_some() {
            ["frequency_cal", "recency_cal", "T_cal"]
        } else {
            ["frequency", "recency", "T"]
        };
        let x = nullable_f64(df, names[0])?;
        let t_x = nullable_f64(df, names[1])?;
        let t = nullable_f64(df, names[2])?;
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
        if rows.is_empty() {
            return Err(Error::EmptyTable {
                what: "no customer has calibration-period data".into(),
            });
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
        let df = self.frame();
        let (xn, mn) = if self.calibration_end().is_some() {
            ("frequency_cal", "monetary_value_cal")
        } else {
            ("frequency", "monetary_value")
        };
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
