//! The summary stage (what `patronage summary` runs, the first step of every other
//! command, and the pipeline's first two steps): the transactions cleaned and aggregated
//! in one pass into the [`CustomerTable`], whose summary columns are the
//! [`Summary`](crate::transactions::summary::Summary) the later stages read.

use crate::engine::{Engine, EngineRun};
use crate::error::Result;
use crate::io::OptionalRole;
use crate::transactions::Transactions;
use crate::transactions::aggregate::{CohortPeriod, CustomerTable};
use crate::transactions::clean::CleanTransactions;
use crate::transactions::options::{DuplicatePolicy, SummaryOptions};

/// Reads, cleans and aggregates the transactions into the customer table: the summary
/// columns, the activity counts cost-to-serve prices, the channel counts and, with a
/// cohort period, the cohort activity. One read and one pass over the rows; every row is
/// either used or in the table's cleaning report.
///
/// # Errors
///
/// [`Error::InvalidOption`](crate::Error::InvalidOption) for an observation or
/// calibration end that is not a date (before anything is read) or not in the data;
/// cleaning errors ([`Error::EmptyTable`](crate::Error::EmptyTable),
/// [`Error::WrongType`](crate::Error::WrongType), the first bad row of a strict run).
///
/// # Example
///
/// ```
/// use patronage::prelude::*;
/// use patronage::stages::summary::summary;
/// let tx = Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default())?;
/// let table = summary(&tx, &SummaryOptions::weekly(), Some(CohortPeriod::Month))?;
/// assert!(table.cohort_activity().is_some());
/// assert_eq!(table.summary()?.n_customers(), table.n_customers());
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn summary(
    tx: &Transactions,
    options: &SummaryOptions,
    cohorts: Option<CohortPeriod>,
) -> Result<CustomerTable> {
    // `customer_table` checks the options before reading, then is `summary_of` on the
    // cleaned rows.
    tx.customer_table(options, cohorts)
}

/// The optional roles the summary columns need under `options`: the return flag (it
/// decides an amount's sign), and every role when duplicates are dropped (a duplicate is
/// a row equal to another in every column read, so reading fewer columns would drop
/// rows that differ only in, say, their channel). What `patronage summary`, `fit`,
/// `compare`, `clv`, `rfm` and `target` read (`clv` adds the cost for a margin from it;
/// `summary` adds the cost for its `gross_profit` column); commands that price activity,
/// segment on channel shares or write the report read every mapped role.
///
/// A table read with these roles (`tx.reading(summary_roles(&options))`) gives the same
/// summary columns as one read with every role, except that a row is rejected only for
/// a column that is read: a row whose unread cost or quantity does not parse is used.
///
/// # Example
///
/// ```
/// use patronage::prelude::*;
/// use patronage::io::OptionalRole;
/// use patronage::stages::summary::summary_roles;
/// assert_eq!(summary_roles(&SummaryOptions::weekly()), [OptionalRole::ReturnFlag]);
/// let mut drop = SummaryOptions::weekly();
/// drop.duplicates = DuplicatePolicy::Drop;
/// assert_eq!(summary_roles(&drop), OptionalRole::ALL);
/// ```
pub fn summary_roles(options: &SummaryOptions) -> &'static [OptionalRole] {
    match options.duplicates {
        DuplicatePolicy::Keep => &[OptionalRole::ReturnFlag],
        DuplicatePolicy::Drop => &OptionalRole::ALL,
    }
}

/// The aggregation half of [`summary`], for a caller that cleaned the rows itself with
/// the same `options` (the pipeline, which reports cleaning and aggregating as two
/// steps of its progress).
///
/// # Errors
///
/// [`Error::InvalidOption`](crate::Error::InvalidOption) for a calibration end that does
/// not parse, is not before the observation end, or is before the first transaction.
///
/// # Example
///
/// ```
/// use patronage::prelude::*;
/// use patronage::stages::summary::{summary, summary_of};
/// let tx = Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default())?;
/// let options = SummaryOptions::weekly();
/// let table = summary_of(tx.clean(&options)?, &options, None)?;
/// assert!(table.frame().equals_missing(summary(&tx, &options, None)?.frame()));
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn summary_of(
    clean: CleanTransactions,
    options: &SummaryOptions,
    cohorts: Option<CohortPeriod>,
) -> Result<CustomerTable> {
    CustomerTable::from_clean(clean, options, cohorts)
}

/// [`summary`] (without cohorts) one customer partition at a time, to bound memory
/// ([`Transactions::customer_table_partitioned`]): `Some(1)` is [`summary`] itself,
/// `Some(p)` about `p` id ranges, `None` one range per 10M input rows. The table and the
/// cleaning report are the same however many partitions.
///
/// # Errors
///
/// As [`summary`]; [`Error::InvalidOption`](crate::Error::InvalidOption) for `Some(0)`.
///
/// # Example
///
/// ```
/// use patronage::prelude::*;
/// use patronage::stages::summary::{summary, summary_partitioned};
/// let tx = Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default())?;
/// let options = SummaryOptions::weekly();
/// let split = summary_partitioned(&tx, &options, Some(2))?.into_summary()?;
/// let whole = summary(&tx, &options, None)?.into_summary()?;
/// assert!(split.frame().equals_missing(whole.frame()));
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn summary_partitioned(
    tx: &Transactions,
    options: &SummaryOptions,
    partitions: Option<usize>,
) -> Result<CustomerTable> {
    tx.customer_table_partitioned(options, partitions)
}

/// [`summary`] on a chosen engine of phase 1 ([`crate::engine`]): the in-memory engine,
/// or DataFusion (feature `datafusion`) for Parquet datasets larger than memory. The
/// table and cleaning report are the same on every engine; the [`EngineRun`] says what
/// the engine did (blocks, spills).
///
/// # Errors
///
/// As [`summary`] and [`crate::engine::customer_table`].
///
/// # Example
///
/// ```
/// use patronage::engine::Engine;
/// use patronage::prelude::*;
/// use patronage::stages::summary::{summary, summary_on};
/// let tx = Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default())?;
/// let options = SummaryOptions::weekly();
/// let (table, _run) = summary_on(&tx, &options, None, &Engine::Memory)?;
/// assert!(table.frame().equals_missing(summary(&tx, &options, None)?.frame()));
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn summary_on(
    tx: &Transactions,
    options: &SummaryOptions,
    cohorts: Option<CohortPeriod>,
    engine: &Engine,
) -> Result<(CustomerTable, EngineRun)> {
    crate::engine::customer_table(tx, options, cohorts, engine)
}
