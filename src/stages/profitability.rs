//! The profitability stage (what `patronage profitability` runs): cost-to-serve of the
//! customer table's activity counts, the matrix, the whale curve and the RFM cross-tab,
//! from one aggregation pass ([`analyse`]), and the per-customer table the command writes
//! ([`customer_frame`]).

use polars::prelude::DataFrame;

use crate::error::Result;
use crate::profitability::{
    CTS_COMPONENTS, CostModel, MatrixAxis, Profitability, Split, analyse_table, cost_table,
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
    let customers = super::summary::summary(tx, options, None)?;
    let table = cost_table(customers.frame(), model, activity)?;
    let rfm = customers.summary()?.rfm(&RfmOptions::default())?;
    analyse_table(table, rfm.frame(), split, MatrixAxis::Margin)
}

/// The per-customer table `patronage profitability` writes: `customer_id, revenue, cogs,
/// returns, gross_profit, cost_to_serve, net_contribution, margin_pct, quadrant, tier,
/// cts_share`, the activity counts (`orders, lines, units, deliveries, return_count,
/// service_contacts, visits`) and the cost-to-serve components
/// ([`CTS_COMPONENTS`](crate::profitability::CTS_COMPONENTS)), from [`analyse`]'s table.
///
/// # Errors
///
/// [`crate::Error::Polars`] when the table lacks one of them (it never does when it comes
/// from [`analyse`]).
///
/// # Example
///
/// ```
/// use patronage::prelude::*;
/// use patronage::profitability::{CostModel, Split};
/// use patronage::stages::profitability::{analyse, customer_frame};
/// let tx = Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default())?;
/// let p = analyse(&tx, &SummaryOptions::weekly(), &CostModel::default(), None, Split::Median)?;
/// let table = customer_frame(&p)?;
/// assert_eq!(table.get_column_names()[..3], ["customer_id", "revenue", "cogs"]);
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn customer_frame(p: &Profitability) -> Result<DataFrame> {
    let columns = [
        "customer_id",
        "revenue",
        "cogs",
        "returns",
        "gross_profit",
        "cost_to_serve",
        "net_contribution",
        "margin_pct",
        "quadrant",
        "tier",
        "cts_share",
        "orders",
        "lines",
        "units",
        "deliveries",
        "return_count",
        "service_contacts",
        "visits",
    ]
    .into_iter()
    .chain(CTS_COMPONENTS.iter().copied());
    Ok(p.table.select(columns)?)
}
