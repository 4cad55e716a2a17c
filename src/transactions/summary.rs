//! Per-customer summary: RFM and BTYD features, with calibration and holdout columns.

use polars::prelude::*;

use super::clean::{CleanTransactions, CleaningReport};
use super::options::SummaryOptions;
use super::units::date_of;
use crate::error::Result;

/// The per-customer summary and what cleaning did to get it.
#[derive(Debug, Clone)]
pub struct Summary {
    frame: DataFrame,
    report: CleaningReport,
    options: SummaryOptions,
    observation_end: i32,
    calibration_end: Option<i32>,
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
    /// Number of customers.
    pub fn n_customers(&self) -> usize {
        self.frame.height()
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
        report: CleaningReport,
        options: &SummaryOptions,
        observation_end: i32,
        calibration_end: Option<i32>,
    ) -> Self {
        Summary {
            frame,
            report,
            options: options.clone(),
            observation_end,
            calibration_end,
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
