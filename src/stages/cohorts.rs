//! The cohorts stage: the retention matrix of the cohort activity that the
//! customer-aggregation pass counted.

use crate::cohort::Cohorts;
use crate::error::{Error, Result};
use crate::transactions::aggregate::CustomerTable;

/// Acquisition cohorts of a customer table made with a cohort period
/// ([`Transactions::customer_table`](crate::transactions::Transactions::customer_table)).
///
/// # Errors
///
/// [`Error::InvalidOption`] (`cohorts.period`) when the table was made without a cohort
/// period; [`Error::EmptyTable`] without customers.
///
/// # Example
///
/// ```
/// use patronage::prelude::*;
/// use patronage::stages::cohorts::cohorts;
/// let tx = Transactions::scan_whitespace("datasets/cdnow/CDNOW_master.txt", true, TransactionSchema::default())?;
/// let table = tx.customer_table(&SummaryOptions::weekly(), Some(CohortPeriod::Month))?;
/// let c = cohorts(&table)?;
/// assert_eq!(c.labels[0], "1997-01");
/// assert_eq!(c.retention[0][0], 1.0);
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn cohorts(table: &CustomerTable) -> Result<Cohorts> {
    let activity = table.cohort_activity().ok_or_else(no_cohort_period)?;
    let counts = activity.table(table.observation_end());
    Cohorts::from_counts(counts.labels, counts.sizes, counts.active, counts.revenue)
}

/// The error for cohorts of a table aggregated without a cohort period.
pub(crate) fn no_cohort_period() -> Error {
    Error::invalid(
        "cohorts.period",
        "the customer table was aggregated without a cohort period",
    )
}
