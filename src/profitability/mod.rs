//! Profitability: cost-to-serve by activity, net contribution, the profit-contribution vs
//! cost-to-serve matrix, the whale curve, profit concentration and the customer pyramid.
//!
//! ```
//! use patronage::prelude::*;
//! use patronage::profitability::{CostModel, Split};
//! use patronage::stages::profitability::analyse;
//! let tx = Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default())?;
//! let report = analyse(&tx, &SummaryOptions::weekly(), &CostModel::from_path("datasets/costs_example.toml")?, None, Split::Median)?;
//! if let Some(w) = &report.whale {
//!     println!("{} customers; top 20% bring {:.1}% of net contribution", report.table.height(), 100.0 * w.top20_share);
//! }
//! # Ok::<(), patronage::Error>(())
//! ```
//!
//! Targeting and cohorts are in [`crate::targeting`] and [`crate::cohort`].

mod cost;
mod customers;
mod matrix;
mod whale;

pub use cost::CostModel;
pub use customers::{
    ACTIVITY_COUNTS, CTS_COMPONENTS, CustomerActivity, CustomerCosts, costs_from_activity,
};
#[cfg(feature = "frames")]
pub use customers::{activity_counts, costs_frame, customer_costs};
pub use matrix::{
    CrossTabRow, Decision, GridCell, MatrixAxis, PROTECT_SHARE, Quadrant, QuadrantSummary, Split,
    action_text, crosstab, decide, grid, quadrants, summarise, thresholds,
};
pub use whale::{Tier, WhaleCurve, pyramid, whale_curve};

// The per-customer profitability table and its analysis below are frames; the math
// above (costs from activity slices, the matrix, the whale curve, the pyramid) is not.
#[cfg(feature = "frames")]
use polars::prelude::*;
#[cfg(feature = "frames")]
use serde::Serialize;

#[cfg(feature = "frames")]
use crate::error::Result;
#[cfg(feature = "frames")]
use crate::io::frame::{customer_ids_as_text, nullable_f64};
#[cfg(feature = "frames")]
use crate::stats;
// [`cost_table`] with the activity counts already read: the part-file stage reads them
// once for every part.
#[cfg(feature = "frames")]
pub(crate) use customers::cost_frame;
#[cfg(feature = "frames")]
pub(crate) use matrix::Numbering;
#[cfg(feature = "frames")]
use matrix::{Axes, crosstab_coded, grid_on, numbered, thresholds_on};

/// Everything `patronage profitability` reports.
#[derive(Debug, Clone)]
#[cfg(feature = "frames")]
#[non_exhaustive]
pub struct Profitability {
    /// Per customer (sorted by id): revenue, cogs, returns, gross_profit, cost_to_serve,
    /// net_contribution, margin_pct, cts_share, activity counts, cts components,
    /// quadrant, tier.
    pub table: DataFrame,
    /// What the matrix's first axis measures.
    pub axis: MatrixAxis,
    /// Thresholds of the matrix: (margin % or gross profit, per `axis`; cost-to-serve).
    pub thresholds: (f64, f64),
    /// Per quadrant.
    pub quadrants: Vec<QuadrantSummary>,
    /// The whale curve of net contribution; None when the total net contribution is not
    /// positive (the business loses money on this base: shares of a negative total are
    /// not defined), with the reason in `whale_note`.
    pub whale: Option<WhaleCurve>,
    /// Why there is no whale curve.
    pub whale_note: Option<String>,
    /// Margin x cost-to-serve in 3 x 3 quantile bands.
    pub grid: Vec<GridCell>,
    /// Quadrant by RFM segment (the R `rfm` package's table, quintiles).
    pub by_rfm_segment: Vec<CrossTabRow>,
    /// Loss-making customers.
    pub loss_making: usize,
    /// Their total net contribution.
    pub loss_total: f64,
    /// Total net contribution.
    pub total_net_contribution: f64,
}

/// The JSON figures of a [`Profitability`] (everything but the per-customer table).
#[derive(Debug, Clone, Serialize)]
#[cfg(feature = "frames")]
pub struct ProfitabilityFigures<'a> {
    /// `{"margin_pct": x, "cost_to_serve": y}`.
    pub thresholds: serde_json::Value,
    /// Per quadrant.
    pub quadrants: &'a [QuadrantSummary],
    /// Peak of the whale curve (share of total net contribution).
    pub peak_share: Option<f64>,
    /// Share of customers up to the peak.
    pub peak_customer_share: Option<f64>,
    /// Customers up to the peak.
    pub peak_customers: Option<usize>,
    /// Share of the top 20% of customers.
    pub top20_share: Option<f64>,
    /// Gini of net contribution.
    pub gini: Option<f64>,
    /// Loss-making customers.
    pub loss_making: usize,
    /// Total net contribution of the loss-makers.
    pub loss_total: f64,
    /// Total net contribution.
    pub total_net_contribution: f64,
    /// Why the whale figures are missing, when they are.
    pub whale_note: Option<String>,
    /// The 3 x 3 grid.
    pub grid: &'a [GridCell],
    /// Quadrant by RFM segment.
    pub by_rfm_segment: &'a [CrossTabRow],
}

#[cfg(feature = "frames")]
impl Profitability {
    /// The figures for `--json`.
    pub fn figures(&self) -> ProfitabilityFigures<'_> {
        let w = self.whale.as_ref();
        ProfitabilityFigures {
            thresholds: serde_json::json!({ self.axis.column(): self.thresholds.0, "cost_to_serve": self.thresholds.1 }),
            quadrants: &self.quadrants,
            peak_share: w.map(|w| w.peak_share),
            peak_customer_share: w.map(|w| w.peak_customer_share),
            peak_customers: w.map(|w| w.peak_customers),
            top20_share: w.map(|w| w.top20_share),
            gini: w.and_then(|w| w.gini),
            loss_making: self.loss_making,
            loss_total: self.loss_total,
            total_net_contribution: self.total_net_contribution,
            whale_note: self.whale_note.clone(),
            grid: &self.grid,
            by_rfm_segment: &self.by_rfm_segment,
        }
    }
}

/// The per-customer cost table of a customer table's activity columns (see
/// [`customer_costs`]): revenue, cogs, returns, gross_profit, cost_to_serve,
/// net_contribution, margin_pct, cts_share, activity counts and cost-to-serve
/// components, in the row order of `customers`.
///
/// # Errors
///
/// An invalid cost model; a missing cost column without `margin_rate`; a malformed
/// activity table.
///
/// # Example
///
/// ```
/// use patronage::prelude::*;
/// use patronage::profitability::{cost_table, CostModel};
/// let tx = Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default())?;
/// let customers = tx.customer_table(&SummaryOptions::weekly(), None)?;
/// let table = cost_table(customers.frame(), &CostModel::from_path("datasets/costs_example.toml")?, None)?;
/// assert!(table.column("net_contribution").is_ok());
/// # Ok::<(), patronage::Error>(())
/// ```
#[cfg(feature = "frames")]
pub fn cost_table(
    customers: &DataFrame,
    model: &CostModel,
    activity: Option<&DataFrame>,
) -> Result<DataFrame> {
    let counts = activity.map(activity_counts).transpose()?;
    cost_frame(customers, model, counts.as_ref())
}

/// The matrix, whale curve, pyramid, grid and RFM cross-tab of a [`cost_table`]. With
/// [`MatrixAxis::Contribution`] the matrix's first axis is gross profit in money instead
/// of margin %: the useful choice when every customer has the same margin (a
/// `margin_rate` without a cost column), where the margin axis cannot separate anyone. `rfm` is a table with `customer_id` and `segment` (an
/// [`crate::rfm::RfmTable`]'s frame); customers missing from it count as "(none)"
/// (`NO_GROUP`).
///
/// # Errors
///
/// Missing columns; [`crate::Error::InvalidOption`] for a split that cannot be applied.
///
/// # Example
///
/// ```
/// use patronage::prelude::*;
/// use patronage::profitability::{analyse_table, cost_table, CostModel, MatrixAxis, Split};
/// let tx = Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default())?;
/// let customers = tx.customer_table(&SummaryOptions::weekly(), None)?;
/// let table = cost_table(customers.frame(), &CostModel::from_path("datasets/costs_example.toml")?, None)?;
/// let rfm = customers.summary()?.rfm(&RfmOptions::default())?;
/// let p = analyse_table(table, rfm.frame(), Split::Median, MatrixAxis::Margin)?;
/// assert!(!p.quadrants.is_empty());
/// # Ok::<(), patronage::Error>(())
/// ```
#[cfg(feature = "frames")]
pub fn analyse_table(
    mut table: DataFrame,
    rfm: &DataFrame,
    split: Split,
    axis: MatrixAxis,
) -> Result<Profitability> {
    let columns = MatrixColumns::of(&table, axis)?;
    // RFM segments of the same customers: row for row when both tables list the same
    // customers in the same order (the usual case: one summary behind both), else
    // matched by id.
    let same_rows = table
        .column("customer_id")?
        .equals_missing(rfm.column("customer_id")?);
    let outcome = if same_rows {
        let (codes, numbering) = numbered(rfm.column("segment")?.str()?.iter());
        MatrixOutcome::of(&columns, &codes, &numbering.names(), split)?
    } else {
        let text_ids = customer_ids_as_text;
        let segment_of: std::collections::HashMap<String, String> = text_ids(rfm)?
            .into_iter()
            .zip(rfm.column("segment")?.str()?.iter())
            .filter_map(|(id, s)| Some((id?, s?.to_string())))
            .collect();
        let groups: Vec<String> = text_ids(&table)?
            .into_iter()
            .map(|id| {
                id.and_then(|id| segment_of.get(&id).cloned())
                    .unwrap_or_else(|| matrix::NO_GROUP.into())
            })
            .collect();
        let (codes, numbering) = numbered(groups.iter().map(|g| Some(g.as_str())));
        MatrixOutcome::of(&columns, &codes, &numbering.names(), split)?
    };
    drop(columns);
    for column in outcome.customer_columns(0..table.height()) {
        table.with_column(column)?;
    }
    Ok(outcome.into_profitability(table, axis))
}

/// The columns the matrix reads, one value per customer in table order (a null counts
/// 0): the first axis (margin % or gross profit), cost-to-serve, revenue, gross profit
/// and net contribution. Appending the columns of consecutive pieces of a table gives
/// the whole table's columns, so the part-file stage gathers them part by part.
#[cfg(feature = "frames")]
#[derive(Debug, Default)]
pub(crate) struct MatrixColumns {
    axis: Vec<f64>,
    cts: Vec<f64>,
    revenue: Vec<f64>,
    gross: Vec<f64>,
    net: Vec<f64>,
}

#[cfg(feature = "frames")]
impl MatrixColumns {
    /// The columns of a [`cost_table`] (or a piece of one).
    ///
    /// # Errors
    /// A missing column, or one that is not numeric.
    pub(crate) fn of(table: &DataFrame, axis: MatrixAxis) -> Result<Self> {
        let get = |name: &str| -> Result<Vec<f64>> {
            Ok(nullable_f64(table, name)?
                .into_iter()
                .map(|v| v.unwrap_or(0.0))
                .collect())
        };
        Ok(MatrixColumns {
            axis: get(axis.column())?,
            cts: get("cost_to_serve")?,
            revenue: get("revenue")?,
            gross: get("gross_profit")?,
            net: get("net_contribution")?,
        })
    }

    /// `next`'s customers after these.
    pub(crate) fn append(&mut self, next: MatrixColumns) {
        self.axis.extend(next.axis);
        self.cts.extend(next.cts);
        self.revenue.extend(next.revenue);
        self.gross.extend(next.gross);
        self.net.extend(next.net);
    }
}

/// What the matrix decides over every customer: each customer's quadrant and tier, and
/// the figures of [`Profitability`].
#[cfg(feature = "frames")]
pub(crate) struct MatrixOutcome {
    thresholds: (f64, f64),
    quadrant_of: Vec<Quadrant>,
    tier_of: Vec<Tier>,
    quadrants: Vec<QuadrantSummary>,
    whale: Option<WhaleCurve>,
    whale_note: Option<String>,
    grid: Vec<GridCell>,
    by_rfm_segment: Vec<CrossTabRow>,
    loss_making: usize,
    loss_total: f64,
    total_net_contribution: f64,
}

#[cfg(feature = "frames")]
impl MatrixOutcome {
    /// The quadrants (split per `split`), the whale curve, the 3 x 3 grid, the pyramid
    /// (tiers at 5% / 20% / 50%) and the cross-tab by the customers' groups (`codes`,
    /// numbered as [`numbered`] numbers them, naming `names`) of `columns`.
    ///
    /// # Errors
    /// [`crate::Error::InvalidOption`] for a split that cannot be applied.
    pub(crate) fn of(
        columns: &MatrixColumns,
        codes: &[u32],
        names: &[&str],
        split: Split,
    ) -> Result<Self> {
        let MatrixColumns {
            axis: margin,
            cts,
            revenue,
            gross,
            net,
        } = columns;
        // One sort per axis serves the thresholds and the grid's bands.
        let (sorted_margin, sorted_cts) = (stats::sorted(margin), stats::sorted(cts));
        let (margin_axis, cts_axis) = (
            Axes::new(margin, &sorted_margin),
            Axes::new(cts, &sorted_cts),
        );
        let t = thresholds_on(&margin_axis, &cts_axis, split)?;
        let quads = quadrants(margin, cts, t);
        let summary = summarise(&quads, revenue, gross, cts);
        let (whale, whale_note) = match whale::whale_outcome(net)? {
            whale::WhaleOutcome::Curve(w) => (Some(w), None),
            whale::WhaleOutcome::Undefined(reason) => (None, Some(reason)),
        };
        let loss: Vec<f64> = net.iter().copied().filter(|v| *v < 0.0).collect();
        let grid = grid_on(&margin_axis, &cts_axis, net, 3, 3)?;
        drop((sorted_margin, sorted_cts));
        let by_rfm_segment = crosstab_coded(&quads, codes, names, net);
        let tiers = pyramid(net, [0.05, 0.20, 0.50])?;
        Ok(MatrixOutcome {
            thresholds: t,
            quadrant_of: quads,
            tier_of: tiers,
            quadrants: summary,
            whale,
            whale_note,
            grid,
            by_rfm_segment,
            loss_making: loss.len(),
            loss_total: loss.iter().sum(),
            total_net_contribution: net.iter().sum(),
        })
    }

    /// The `quadrant` and `tier` columns of the customers in `rows` (their positions in
    /// the columns the outcome was made of).
    pub(crate) fn customer_columns(&self, rows: std::ops::Range<usize>) -> [Column; 2] {
        [
            Column::new(
                "quadrant".into(),
                self.quadrant_of[rows.clone()]
                    .iter()
                    .map(|q| q.name())
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "tier".into(),
                self.tier_of[rows]
                    .iter()
                    .map(|t| t.name())
                    .collect::<Vec<_>>(),
            ),
        ]
    }

    /// The figures with `table` as the per-customer table.
    pub(crate) fn into_profitability(self, table: DataFrame, axis: MatrixAxis) -> Profitability {
        Profitability {
            table,
            axis,
            thresholds: self.thresholds,
            quadrants: self.quadrants,
            whale: self.whale,
            whale_note: self.whale_note,
            grid: self.grid,
            by_rfm_segment: self.by_rfm_segment,
            loss_making: self.loss_making,
            loss_total: self.loss_total,
            total_net_contribution: self.total_net_contribution,
        }
    }
}
