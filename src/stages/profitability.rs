//! The profitability stage: cost-to-serve of the customer table's activity counts, the
//! matrix, the whale curve and the RFM cross-tab, from one aggregation pass.

use polars::prelude::DataFrame;

use crate::error::Result;
use crate::profitability::{
    CostModel, MatrixAxis, Profitability, Split, analyse_table, cost_table,
};
use crate::rfm::RfmOptions;
use crate::transactions::Transactions;
use crate::transactions::options::SummaryOptions;

/// Reads, cleans and aggregates the transactions once, then prices each customer's
/// activity with `model`, splits the matrix by gross margin with `split`, and adds the
/// whale curve, the pyramid (tiers at 5% / 20% / 50%) and the cross-tab by RFM segment
/// (the R `rfm` package's table, quintiles).
///
/// # Errors
///
/// Cleaning errors; [`crate::Error::InvalidOption`] for an invalid cost model or a
/// missing cost column without `margin_rate`. A non-positive total leaves the whale curve
/// out (`whale_note` says why) rather than failing the run.
///
/// # Example
///
/// ```
/// use patronage::prelude::*;
/// use patronage::profitability::{CostModel, Split};
/// use patronage::stages::profitability::analyse;
/// let tx = Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default())?;
/// let p = analyse(&tx, &SummaryOptions::weekly(), &CostModel::default(), None, Split::Median)?;
/// assert!(!p.quadrants.is_empty());
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn analyse(
    tx: &Transactions,
    options: &SummaryOptions,
    model: &CostModel,
    activity: Option<&DataFrame>,
    split: Split,
) -> Result<Profitability> {
    let customers = tx.customer_table(options, None)?;
    let table = cost_table(customers.frame(), model, activity)?;
    let rfm = customers.summary()?.rfm(&RfmOptions::default())?;
    analyse_table(table, rfm.frame(), split, MatrixAxis::Margin)
}
