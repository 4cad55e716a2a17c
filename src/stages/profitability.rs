//! The profitability stage (what `patronage profitability` runs): cost-to-serve of the
//! customer table's activity counts, the matrix, the whale curve and the RFM cross-tab,
//! from one aggregation pass ([`analyse`]), its two halves for a caller that holds the
//! customer table ([`price`], then [`matrix`]: what the pipeline runs), and the
//! per-customer table the command writes ([`customer_frame`]).

use polars::prelude::DataFrame;

use crate::error::{Error, Result};
use crate::profitability::{
    ACTIVITY_COUNTS, CTS_COMPONENTS, CostModel, MatrixAxis, Profitability, Split, analyse_table,
    cost_table,
};
use crate::rfm::RfmOptions;
use crate::transactions::Transactions;
use crate::transactions::aggregate::CustomerTable;
use crate::transactions::options::SummaryOptions;

/// Reads, cleans and aggregates the transactions once, then prices each customer's
/// activity with `model`, splits the matrix by gross margin with `split`, and adds the
/// whale curve, the pyramid (tiers at 5% / 20% / 50%) and the cross-tab by RFM segment
/// (the R `rfm` package's table, quintiles).
///
/// # Errors
///
/// Cleaning errors; [`crate::Error::InvalidOption`] for an invalid cost model, a model
/// that prices no activity (option `costs`, see [`price`]) or a missing cost column
/// without `margin_rate`. A non-positive total leaves the whale curve out (`whale_note`
/// says why) rather than failing the run.
///
/// # Example
///
/// ```
/// use patronage::prelude::*;
/// use patronage::profitability::{CostModel, Split};
/// use patronage::stages::profitability::analyse;
/// let tx = Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default())?;
/// let rates = CostModel::from_toml("per_order = 2.5\nper_delivery = 4.0\nper_return = 7.5")?;
/// let p = analyse(&tx, &SummaryOptions::weekly(), &rates, None, Split::Median)?;
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
    check_rates(model)?;
    let customers = super::summary::summary(tx, options, None)?;
    analyse_customers(&customers, model, activity, split)
}

/// [`analyse`] on a customer table already made (by any engine of phase 1,
/// [`super::summary::summary_on`]): prices it, scores RFM and builds the matrix.
///
/// # Errors
///
/// As [`analyse`], less the summary stage's.
///
/// # Example
///
/// ```
/// use patronage::prelude::*;
/// use patronage::profitability::{CostModel, Split};
/// use patronage::stages::profitability::{analyse, analyse_customers};
/// use patronage::stages::summary::summary;
/// let tx = Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default())?;
/// let rates = CostModel::from_toml("per_order = 2.5\nper_delivery = 4.0")?;
/// let options = SummaryOptions::weekly();
/// let table = summary(&tx, &options, None)?;
/// let p = analyse_customers(&table, &rates, None, Split::Median)?;
/// assert_eq!(p.quadrants, analyse(&tx, &options, &rates, None, Split::Median)?.quadrants);
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn analyse_customers(
    customers: &CustomerTable,
    model: &CostModel,
    activity: Option<&DataFrame>,
    split: Split,
) -> Result<Profitability> {
    check_rates(model)?;
    let table = price(customers.frame(), model, activity)?;
    let rfm = customers.summary()?.rfm(&RfmOptions::default())?;
    matrix(table, rfm.frame(), split, MatrixAxis::Margin)
}

/// Why a cost model that prices no activity is refused, naming the settings that would
/// set a rate.
pub const NO_RATES: &str = "no cost-to-serve rate is set, so every customer would cost \
nothing to serve and the matrix would have no cost axis: give the rates your business \
pays (costs.per_order, costs.per_line, costs.per_delivery, costs.per_return, ...)";

/// Fails unless `model` prices some activity ([`CostModel::prices_activity`]): the
/// stage's first check, for a caller that wants it before reading the input.
///
/// # Errors
///
/// [`crate::Error::InvalidOption`] with option `costs` and [`NO_RATES`] when every rate
/// is zero.
///
/// # Example
///
/// ```
/// use patronage::profitability::CostModel;
/// use patronage::stages::profitability::check_rates;
/// assert!(check_rates(&CostModel::from_toml("per_order = 2.5")?).is_ok());
/// assert!(matches!(check_rates(&CostModel::default()), Err(patronage::Error::InvalidOption { option, .. }) if option == "costs"));
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn check_rates(model: &CostModel) -> Result<()> {
    if model.prices_activity() {
        Ok(())
    } else {
        Err(Error::invalid("costs", NO_RATES))
    }
}

/// The first half of the stage on a customer table's frame (one row per customer, with
/// its activity counts): each customer's cost of goods, cost-to-serve by component and
/// net contribution, with the activity table's service contacts and visits when given.
///
/// # Errors
///
/// [`crate::Error::InvalidOption`] with option `costs` when `model` prices no activity
/// (every rate zero: the crate invents no costs), or naming the rate that is invalid, or
/// `costs.margin_rate` when the table has no cost column and no margin rate is given;
/// [`crate::Error::MissingColumn`] for an activity table without a `customer_id`.
///
/// # Example
///
/// ```
/// use patronage::prelude::*;
/// use patronage::profitability::CostModel;
/// use patronage::stages::profitability::price;
/// use patronage::stages::summary::summary;
/// let tx = Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default())?;
/// let customers = summary(&tx, &SummaryOptions::weekly(), None)?;
/// let table = price(customers.frame(), &CostModel::from_toml("per_order = 2.5")?, None)?;
/// assert!(table.column("cost_to_serve").is_ok());
/// // No rate: refused, naming the setting.
/// let none = price(customers.frame(), &CostModel::default(), None);
/// assert!(matches!(none, Err(patronage::Error::InvalidOption { option, .. }) if option == "costs"));
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn price(
    customers: &DataFrame,
    model: &CostModel,
    activity: Option<&DataFrame>,
) -> Result<DataFrame> {
    check_rates(model)?;
    cost_table(customers, model, activity)
}

/// The second half: the quadrants (split per `split` on `axis` against cost-to-serve),
/// the whale curve, the pyramid and the cross-tab by RFM segment of a table from
/// [`price`] and the same customers' RFM scores.
///
/// # Errors
///
/// As [`analyse_table`]: a table or RFM frame without the columns [`price`] and
/// [`crate::rfm`] give.
///
/// # Example
///
/// ```
/// use patronage::prelude::*;
/// use patronage::profitability::{CostModel, MatrixAxis, Split};
/// use patronage::stages::profitability::{matrix, price};
/// use patronage::stages::summary::summary;
/// let tx = Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default())?;
/// let customers = summary(&tx, &SummaryOptions::weekly(), None)?;
/// let table = price(customers.frame(), &CostModel::from_toml("per_order = 2.5")?, None)?;
/// let rfm = customers.summary()?.rfm(&RfmOptions::default())?;
/// let p = matrix(table, rfm.frame(), Split::Median, MatrixAxis::Margin)?;
/// assert_eq!(p.quadrants.len(), 4);
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn matrix(
    table: DataFrame,
    rfm: &DataFrame,
    split: Split,
    axis: MatrixAxis,
) -> Result<Profitability> {
    analyse_table(table, rfm, split, axis)
}

/// The per-customer table `patronage profitability` writes: `customer_id, revenue, cogs,
/// returns, gross_profit, cost_to_serve, net_contribution, margin_pct, quadrant, tier,
/// cts_share`, the activity counts (`orders, lines, units, deliveries, return_count,
/// service_contacts, visits`) and the cost-to-serve components
/// ([`crate::profitability::CTS_COMPONENTS`]), from [`analyse`]'s table.
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
/// let p = analyse(&tx, &SummaryOptions::weekly(), &CostModel::from_path("datasets/costs_example.toml")?, None, Split::Median)?;
/// let table = customer_frame(&p)?;
/// assert_eq!(table.get_column_names()[..3], ["customer_id", "revenue", "cogs"]);
/// # Ok::<(), patronage::Error>(())
/// ```
pub fn customer_frame(p: &Profitability) -> Result<DataFrame> {
    Ok(p.table.select(customer_columns())?)
}

/// The columns of [`customer_frame`], in order (the part-file stage writes the same).
pub(crate) fn customer_columns() -> impl Iterator<Item = &'static str> {
    [
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
    ]
    .into_iter()
    .chain(ACTIVITY_COUNTS)
    .chain(CTS_COMPONENTS)
}
