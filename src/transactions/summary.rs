//! Per-customer summary: RFM and BTYD features, with calibration and holdout columns.

use polars::prelude::*;

use super::clean::{CleanTransactions, CleaningReport};
use super::options::SummaryOptions;
use super::timeline::PurchaseTimeline;
use super::units::date_of;
use crate::error::Result;

/// The per-customer summary and what cleaning did to get it.
#[derive(Debug, Clone)]
pub struct Summary {
    frame: DataFrame,
    /// What each customer was acquired with, row for row with `frame`: kept beside the
    /// summary's columns so the summary's outputs stay as they are.
    acquisition: DataFrame,
    report: CleaningReport,
    options: SummaryOptions,
    observation_end: i32,
    calibration_end: Option<i32>,
    timeline: PurchaseTimeline,
}

impl Summary {
    /// The per-customer table, sorted by `customer_id`.
    ///
    /// Columns: `customer_id, frequency, recency, T, monetary_value, first_purchase,
    /// last_purchase, n_purchases, total_spend, returns, recency_days`, `gross_profit` when
    /// a cost column is known, and with a calibration end `frequency_cal, recency_cal,
    /// T_cal, monetary_value_cal, frequency_holdout, monetary_value_holdout,
    /// duration_holdout` (null for customers whose first purchase is after it).
    pub fn frame(&self) -> &DataFrame {
        &self.frame
    }
    /// Takes the table.
    pub fn into_frame(self) -> DataFrame {
        self.frame
    }
    /// What cleaning did: rows read and used, rejects, duplicates.
    pub fn report(&self) -> &CleaningReport {
        &self.report
    }
    /// The options the summary was made with.
    pub fn options(&self) -> &SummaryOptions {
        &self.options
    }
    /// The observation end used.
    pub fn observation_end(&self) -> chrono::NaiveDate {
        date_of(self.observation_end)
    }
    /// The calibration end, when one was given.
    pub fn calibration_end(&self) -> Option<chrono::NaiveDate> {
        self.calibration_end.map(date_of)
    }
    /// Acquisitions and repeat purchases per day, counted as the summary counts them
    /// (the tracking check's actual side).
    pub fn purchase_timeline(&self) -> &PurchaseTimeline {
        &self.timeline
    }
    /// Number of customers.
    pub fn n_customers(&self) -> usize {
        self.frame.height()
    }

    /// The customer ids as text, in the table's order (numeric ids written as numbers).
    ///
    /// # Errors
    /// A polars error if the id column cannot be cast to text (it always can).
    ///
    /// # Example
    /// ```
    /// use patronage::prelude::*;
    /// let tx = Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default())?;
    /// let s = tx.summary(&SummaryOptions::weekly())?;
    /// let (ids, x) = (s.customer_ids()?, s.frequency()?);
    /// assert_eq!((ids.len(), x.len()), (s.n_customers(), s.n_customers()));
    /// assert!(s.total_spend()?.iter().all(|v| v.is_finite()));
    /// # Ok::<(), patronage::Error>(())
    /// ```
    pub fn customer_ids(&self) -> Result<Vec<String>> {
        Ok(crate::io::frame::customer_ids_as_text(&self.frame)?
            .into_iter()
            .map(Option::unwrap_or_default)
            .collect())
    }
    /// Repeat purchases per customer (BTYD `x`): purchase occasions after the first.
    ///
    /// # Errors
    /// As [`Summary::customer_ids`].
    pub fn frequency(&self) -> Result<Vec<u32>> {
        self.numbers::<UInt32Type>("frequency")
    }
    /// Age at the last purchase occasion, in time units (BTYD `t_x`).
    ///
    /// # Errors
    /// As [`Summary::customer_ids`].
    pub fn recency(&self) -> Result<Vec<f64>> {
        self.numbers::<Float64Type>("recency")
    }
    /// Age at the observation end, in time units (BTYD `T`).
    ///
    /// # Errors
    /// As [`Summary::customer_ids`].
    pub fn age(&self) -> Result<Vec<f64>> {
        self.numbers::<Float64Type>("T")
    }
    /// Mean spend of the repeat purchase occasions (0 without any).
    ///
    /// # Errors
    /// As [`Summary::customer_ids`].
    pub fn monetary_value(&self) -> Result<Vec<f64>> {
        self.numbers::<Float64Type>("monetary_value")
    }
    /// Purchase occasions, the first included.
    ///
    /// # Errors
    /// As [`Summary::customer_ids`].
    pub fn n_purchases(&self) -> Result<Vec<u32>> {
        self.numbers::<UInt32Type>("n_purchases")
    }
    /// Net spend over the whole period (returns netted as the options say).
    ///
    /// # Errors
    /// As [`Summary::customer_ids`].
    pub fn total_spend(&self) -> Result<Vec<f64>> {
        self.numbers::<Float64Type>("total_spend")
    }
    /// Days from the last purchase to the observation end (marketing RFM recency).
    ///
    /// # Errors
    /// As [`Summary::customer_ids`].
    pub fn recency_days(&self) -> Result<Vec<i32>> {
        self.numbers::<Int32Type>("recency_days")
    }
    /// Spend minus cost of goods, when a cost column was mapped.
    ///
    /// # Errors
    /// As [`Summary::customer_ids`].
    pub fn gross_profit(&self) -> Result<Option<Vec<f64>>> {
        if self.frame.column("gross_profit").is_err() {
            return Ok(None);
        }
        self.numbers::<Float64Type>("gross_profit").map(Some)
    }

    /// The channel of each customer's first purchase row (the earliest purchase day's
    /// first row in input order; `(none)` for a row without a channel), in the table's
    /// order; `None` when no channel column is mapped. The acquisition channel of the
    /// derived covariates ([`crate::stages::covariates::DerivedCovariates`]).
    ///
    /// # Errors
    /// As [`Summary::customer_ids`].
    ///
    /// # Example
    /// ```
    /// use patronage::prelude::*;
    /// let tx = Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default())?;
    /// let s = tx.summary(&SummaryOptions::weekly())?;
    /// let channels = s.acquisition_channel()?.expect("the sample has a channel column");
    /// assert_eq!(channels.len(), s.n_customers());
    /// assert!(s.first_order_value()?.iter().all(|v| *v >= 0.0));
    /// # Ok::<(), patronage::Error>(())
    /// ```
    pub fn acquisition_channel(&self) -> Result<Option<Vec<String>>> {
        let Ok(column) = self.acquisition.column("acquisition_channel") else {
            return Ok(None);
        };
        Ok(Some(
            column
                .str()?
                .iter()
                .map(|v| v.unwrap_or_default().to_string())
                .collect(),
        ))
    }

    /// The spend of each customer's first purchase day (its purchase rows summed,
    /// returns not netted), in the table's order.
    ///
    /// # Errors
    /// As [`Summary::customer_ids`].
    pub fn first_order_value(&self) -> Result<Vec<f64>> {
        let column = self.acquisition.column("first_order_value")?;
        Ok(column
            .f64()?
            .iter()
            .map(Option::unwrap_or_default)
            .collect())
    }

    /// A column as numbers of type `T` (the summary's columns have no nulls outside the
    /// calibration columns, which have no accessor here).
    fn numbers<T>(&self, name: &str) -> Result<Vec<T::Native>>
    where
        T: PolarsNumericType,
    {
        let column = self.frame.column(name)?.cast(&T::get_static_dtype())?;
        let ca = column.as_materialized_series().unpack::<T>()?;
        Ok(ca.iter().map(Option::unwrap_or_default).collect())
    }
}

/// The error for a calibration end before the first used transaction.
pub(crate) fn calibration_before_first(cal: i32, first: i32) -> crate::error::Error {
    crate::error::Error::invalid(
        "time.calibration_end",
        format!(
            "{} is before the first transaction ({}): the calibration period would be empty",
            date_of(cal),
            date_of(first)
        ),
    )
}

/// Aggregates clean transactions into the per-customer summary (the summary columns of
/// the [`CustomerTable`](super::aggregate::CustomerTable)).
pub(crate) fn summarise(clean: CleanTransactions, options: &SummaryOptions) -> Result<Summary> {
    super::aggregate::CustomerTable::from_clean(clean, options, None)?.into_summary()
}

impl Summary {
    pub(crate) fn from_parts(
        frame: DataFrame,
        acquisition: DataFrame,
        report: CleaningReport,
        options: &SummaryOptions,
        observation_end: i32,
        calibration_end: Option<i32>,
        timeline: PurchaseTimeline,
    ) -> Self {
        Summary {
            frame,
            acquisition,
            report,
            options: options.clone(),
            observation_end,
            calibration_end,
            timeline,
        }
    }
}

#[cfg(feature = "arrow")]
impl Summary {
    /// The per-customer table ([`Summary::frame`]) as arrow-rs record batches (feature
    /// `arrow`), through [`record_batches_from_frame`](crate::io::arrow::record_batches_from_frame): `customer_id` as `Utf8View` (or
    /// the id's integer type), counts as `UInt32`, `first_purchase`/`last_purchase` as
    /// `Date32`, `recency_days` as `Int32`, the rest `Float64`.
    ///
    /// # Errors
    /// As [`record_batches_from_frame`](crate::io::arrow::record_batches_from_frame).
    ///
    /// # Example
    /// ```
    /// use polars::prelude::*;
    /// use patronage::prelude::*;
    ///
    /// let df = df!(
    ///     "customer_id" => ["a", "a", "b"],
    ///     "date" => ["2024-01-01", "2024-01-08", "2024-01-03"],
    ///     "amount" => [10.0, 20.0, 5.0],
    /// )?;
    /// let summary = Transactions::from_frame(df, TransactionSchema::default())?
    ///     .summary(&SummaryOptions::daily())?;
    /// let batches = summary.to_record_batches()?;
    /// assert_eq!(batches[0].num_rows(), 2);
    /// assert!(batches[0].schema().field_with_name("frequency").is_ok());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_record_batches(&self) -> Result<Vec<arrow_array::RecordBatch>> {
        crate::io::arrow::record_batches_from_frame(self.frame())
    }
}
