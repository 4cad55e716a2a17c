//! Phase 1, the customer-aggregation pass: the one place that reads cleaned transaction
//! rows and turns them into the *customer table*, one row per customer with every
//! figure the customer-level stages need, plus the whole-input aggregates that merge
//! across blocks of customers.
//!
//! Per customer (all of a customer's rows are always in one block, sorted by day then
//! row number): the BTYD and RFM summary (`frequency, recency, T, monetary_value`, ...,
//! with calibration and holdout columns when asked), returns and gross profit, the
//! activity counts cost-to-serve prices (`revenue, cogs, orders, lines, units,
//! deliveries, return_count, tenure_months`), and per channel the purchase lines and
//! orders (`channel_lines_<name>`, `channel_orders_<name>`), and what the customer was
//! acquired with (`acquisition_channel`, `first_order_value`: the covariates derived
//! from the log, [`crate::stages::covariates::DerivedCovariates`]). Across customers: the
//! cohort x period activity ([`CohortActivity`]), the acquisitions and repeat purchases
//! per day ([`PurchaseTimeline`]) and, from cleaning, the report.
//!
//! **Invariant**: the table does not depend on how the customers were split into
//! blocks. Each customer's figures use only its own rows in their canonical order; the
//! frame is sorted by customer id; channels are listed by name; cohort revenue is an
//! exact sum ([`ExactSum`]); the observation-end columns are
//! recomputed when blocks saw different ends. `CustomerTable::merge` joins blocks, and
//! the tests check the property for 1, 2 and 7 blocks in any order.

use std::collections::BTreeMap;

use polars::prelude::*;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::clean::{CleanTransactions, CleaningReport};
use super::exact_sum::{Compensated, ExactSum};
use super::options::SummaryOptions;
use super::summary::Summary;
use super::timeline::PurchaseTimeline;
use super::units::{PurchaseUnit, TimeScale, date_of, elapsed, unit_start};
use crate::error::{Error, Result};

/// The cohort period: customers are grouped by the calendar month or ISO week of their
/// first purchase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum CohortPeriod {
    /// Calendar months.
    #[default]
    Month,
    /// ISO weeks (Monday start).
    Week,
}

impl std::str::FromStr for CohortPeriod {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "month" => Ok(CohortPeriod::Month),
            "week" => Ok(CohortPeriod::Week),
            _ => Err(Error::invalid(
                "cohorts.period",
                format!("`{s}` is not month or week"),
            )),
        }
    }
}

impl CohortPeriod {
    /// The absolute period number of a day (months or Monday-weeks since year 0).
    pub(crate) fn of(self, day: i32) -> i64 {
        use chrono::Datelike;
        match self {
            CohortPeriod::Month => {
                let d = date_of(day);
                i64::from(d.year()) * 12 + i64::from(d.month0())
            }
            // Mondays are the days with (day + 3) divisible by 7 (1970-01-01 was a Thursday).
            CohortPeriod::Week => {
                (i64::from(unit_start(day, PurchaseUnit::Week)) + 3).div_euclid(7)
            }
        }
    }

    /// The label of an absolute period: `2024-01`, or the Monday of the week.
    pub(crate) fn label(self, period: i64) -> String {
        match self {
            CohortPeriod::Month => {
                format!("{}-{:02}", period.div_euclid(12), period.rem_euclid(12) + 1)
            }
            CohortPeriod::Week => date_of((period * 7 - 3) as i32).to_string(),
        }
    }
}

/// Cohort activity: per acquisition period, the customers acquired, and per period
/// since acquisition the customers buying and the net revenue (returns netted). Sums of
/// blocks merge exactly, in any order.
#[derive(Debug, Clone, PartialEq)]
pub struct CohortActivity {
    period: CohortPeriod,
    /// Customers acquired per absolute period.
    sizes: BTreeMap<i64, u64>,
    /// Per (acquisition period, periods since): customers buying and net revenue.
    cells: BTreeMap<(i64, u32), (u64, ExactSum)>,
}

/// The cohort activity laid out as dense tables up to the observation end, oldest
/// cohort first (see [`CohortActivity::table`]).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CohortCounts {
    /// Cohort labels (`2024-01`, or the Monday of the week).
    pub labels: Vec<String>,
    /// Customers acquired in each cohort.
    pub sizes: Vec<u64>,
    /// `active[c][k]`: customers of cohort `c` buying in its `k`-th period after
    /// acquisition (`k = 0` is the acquisition period), up to the observation end.
    pub active: Vec<Vec<u64>>,
    /// `revenue[c][k]`: net revenue of cohort `c` in period `k`.
    pub revenue: Vec<Vec<f64>>,
}

impl CohortActivity {
    pub(crate) fn new(period: CohortPeriod) -> Self {
        CohortActivity {
            period,
            sizes: BTreeMap::new(),
            cells: BTreeMap::new(),
        }
    }

    /// The period this activity is counted in.
    pub fn period(&self) -> CohortPeriod {
        self.period
    }

    /// Adds another block's activity (its customers are not in this one's).
    pub(crate) fn merge(&mut self, other: &CohortActivity) {
        for (&p, &n) in &other.sizes {
            *self.sizes.entry(p).or_default() += n;
        }
        for (&key, (n, revenue)) in &other.cells {
            let cell = self.cells.entry(key).or_default();
            cell.0 += n;
            cell.1.merge(revenue);
        }
    }

    /// Dense tables of the cohorts that acquired someone, each with its periods up to
    /// the one holding `observation_end`.
    pub fn table(&self, observation_end: chrono::NaiveDate) -> CohortCounts {
        let last = self.period.of(super::units::day_number(observation_end));
        let mut out = CohortCounts {
            labels: Vec::new(),
            sizes: Vec::new(),
            active: Vec::new(),
            revenue: Vec::new(),
        };
        for (&cohort, &size) in &self.sizes {
            let periods = (last - cohort + 1).max(0) as usize;
            let mut active = vec![0u64; periods];
            let mut revenue = vec![0.0; periods];
            for (&(_, k), (n, r)) in self.cells.range((cohort, 0)..=(cohort, u32::MAX)) {
                if let Some(a) = active.get_mut(k as usize) {
                    *a = *n;
                    revenue[k as usize] = r.value();
                }
            }
            out.labels.push(self.period.label(cohort));
            out.sizes.push(size);
            out.active.push(active);
            out.revenue.push(revenue);
        }
        out
    }
}

/// The customer table: one row per customer, sorted by `customer_id`, with the summary
/// columns ([`Summary`]), the activity counts, and the channel counts; plus the cohort
/// activity and the cleaning report of the rows behind it.
///
/// # Example
///
/// ```
/// use patronage::prelude::*;
/// use patronage::transactions::aggregate::CohortPeriod;
/// let tx = Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default())?;
/// let table = tx.customer_table(&SummaryOptions::weekly(), Some(CohortPeriod::Month))?;
/// assert!(table.frame().column("orders").is_ok());
/// assert_eq!(table.summary()?.n_customers(), table.n_customers());
/// # Ok::<(), patronage::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct CustomerTable {
    frame: DataFrame,
    report: CleaningReport,
    options: SummaryOptions,
    observation_end: i32,
    calibration_end: Option<i32>,
    channels: Vec<String>,
    cohorts: Option<CohortActivity>,
    timeline: PurchaseTimeline,
    has_cost: bool,
}

/// The summary's columns, in order ([`Summary::frame`] documents them).
const SUMMARY_COLUMNS: [&str; 11] = [
    "customer_id",
    "frequency",
    "recency",
    "T",
    "monetary_value",
    "first_purchase",
    "last_purchase",
    "n_purchases",
    "total_spend",
    "returns",
    "recency_days",
];

/// Whether `name` is one of the summary's columns (those [`CustomerTable::summary`]
/// keeps, with the cost and the calibration columns): what a stage that reads the
/// summary sees of a whole table.
pub(crate) fn is_summary_column(name: &str) -> bool {
    name == "gross_profit" || SUMMARY_COLUMNS.contains(&name) || CALIBRATION_COLUMNS.contains(&name)
}

/// The calibration and holdout columns of the summary.
const CALIBRATION_COLUMNS: [&str; 7] = [
    "frequency_cal",
    "recency_cal",
    "T_cal",
    "monetary_value_cal",
    "frequency_holdout",
    "monetary_value_holdout",
    "duration_holdout",
];

impl CustomerTable {
    /// Aggregates cleaned rows (one block) into the customer table. With a calibration
    /// end the summary gains the calibration and holdout columns; with a cohort period
    /// the cohort activity is counted too.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOption`] for a calibration end that does not parse, is not
    /// before the observation end, or is before the first transaction.
    pub fn from_clean(
        clean: CleanTransactions,
        options: &SummaryOptions,
        cohorts: Option<CohortPeriod>,
    ) -> Result<Self> {
        let cal = options.parsed_calibration_end(clean.observation_end)?;
        let table = Self::block(clean, options, cal, cohorts)?;
        table.check_calibration()?;
        Ok(table)
    }

    /// One block: the pass itself, without the checks that need every block.
    pub(crate) fn block(
        clean: CleanTransactions,
        options: &SummaryOptions,
        cal: Option<i32>,
        cohorts: Option<CohortPeriod>,
    ) -> Result<Self> {
        let obs = clean.observation_end;
        let n_cust = clean.n_customers();
        let n_channels = clean.channel.as_ref().map_or(0, |c| c.1.len());
        // Fixed-size chunks of customers, so the work (and each chunk's cohort sums) is
        // the same whatever the thread count.
        const CHUNK: usize = 8192;
        let chunks: Vec<std::ops::Range<usize>> = (0..n_cust)
            .step_by(CHUNK)
            .map(|lo| lo..(lo + CHUNK).min(n_cust))
            .collect();
        let pass = |range: &std::ops::Range<usize>| {
            let mut part = Chunk::new(range.len(), n_channels, cohorts);
            for c in range.clone() {
                customer(&clean, c, options, obs, cal, &mut part);
            }
            part
        };
        let mut parts: Vec<Chunk> = if cfg!(feature = "parallel") {
            chunks.par_iter().map(pass).collect()
        } else {
            chunks.iter().map(pass).collect()
        };
        let mut cohort_activity = cohorts.map(CohortActivity::new);
        if let Some(total) = &mut cohort_activity {
            for p in &parts {
                if let Some(a) = &p.cohorts {
                    total.merge(a);
                }
            }
        }
        let mut timeline = PurchaseTimeline::default();
        for p in &mut parts {
            timeline.add_days(
                std::mem::take(&mut p.births),
                std::mem::take(&mut p.repeats),
            );
        }
        let rows: Vec<&Row> = parts.iter().flat_map(|p| p.rows.iter()).collect();
        let channel_names: Vec<String> = clean.channel.as_ref().map_or(Vec::new(), |c| c.1.clone());
        let channel_counts = |f: fn(&Chunk) -> &Vec<u32>, ch: usize| -> Vec<u32> {
            parts
                .iter()
                .flat_map(|p| f(p).chunks(n_channels.max(1)).map(move |r| r[ch]))
                .collect()
        };
        let has_cost = clean.cost.is_some();
        let mut columns: Vec<Column> = Vec::with_capacity(32);
        columns.push(
            clean
                .ids
                .clone()
                .with_name("customer_id".into())
                .into_column(),
        );
        // Each column read off the rows on every core (a strided read of 150-byte rows
        // per column, so memory-bound: the cores' shares of it run side by side).
        macro_rules! col {
            ($name:expr, $f:expr) => {
                columns.push(Column::new(
                    $name.into(),
                    rows.par_iter().map(|r| $f(r)).collect::<Vec<_>>(),
                ))
            };
        }
        col!("frequency", |r: &Row| r.frequency);
        col!("recency", |r: &Row| r.recency);
        col!("T", |r: &Row| r.t);
        col!("monetary_value", |r: &Row| r.monetary);
        columns.push(date_column(
            "first_purchase",
            rows.iter().map(|r| r.first_day),
        )?);
        columns.push(date_column(
            "last_purchase",
            rows.iter().map(|r| r.last_day),
        )?);
        col!("n_purchases", |r: &Row| r.n_purchases);
        col!("total_spend", |r: &Row| r.total_spend);
        col!("returns", |r: &Row| r.returns);
        col!("recency_days", |r: &Row| obs - r.last_day);
        if has_cost {
            col!("gross_profit", |r: &Row| r.gross_profit);
        }
        if let Some(cal) = cal {
            col!("frequency_cal", |r: &Row| r.cal.map(|c| c.0));
            col!("recency_cal", |r: &Row| r.cal.map(|c| c.1));
            col!("T_cal", |r: &Row| r.cal.map(|c| c.2));
            col!("monetary_value_cal", |r: &Row| r.cal.map(|c| c.3));
            col!("frequency_holdout", |r: &Row| r.holdout.map(|h| h.0));
            col!("monetary_value_holdout", |r: &Row| r.holdout.map(|h| h.1));
            let duration = duration_holdout(cal, obs, options);
            col!("duration_holdout", |r: &Row| r.cal.map(|_| duration));
        }
        col!("revenue", |r: &Row| r.revenue);
        if has_cost {
            col!("cogs", |r: &Row| r.cogs);
        }
        col!("orders", |r: &Row| r.orders);
        col!("lines", |r: &Row| r.lines);
        col!("units", |r: &Row| r.units);
        col!("deliveries", |r: &Row| r.deliveries);
        col!("return_count", |r: &Row| r.return_count);
        col!("tenure_months", |r: &Row| tenure_months(r.first_day, obs));
        // Channel names, not the block's indices, so blocks with other name orders agree.
        if let Some((_, names)) = &clean.channel {
            col!("acquisition_channel", |r: &Row| names
                [r.first_channel as usize]
                .as_str());
        }
        col!("first_order_value", |r: &Row| r.first_value);
        // Channels by name, so blocks with other first-use orders agree.
        let mut by_name: Vec<usize> = (0..n_channels).collect();
        by_name.sort_by(|&a, &b| channel_names[a].cmp(&channel_names[b]));
        for &ch in &by_name {
            let name = &channel_names[ch];
            columns.push(Column::new(
                lines_column(name).into(),
                channel_counts(|p| &p.channel_lines, ch),
            ));
            columns.push(Column::new(
                orders_column(name).into(),
                channel_counts(|p| &p.channel_orders, ch),
            ));
        }
        let frame = super::ids::sort_by_customer_id(DataFrame::new_infer_height(columns)?)?;
        Ok(CustomerTable {
            frame,
            report: clean.report,
            options: options.clone(),
            observation_end: obs,
            calibration_end: cal,
            channels: by_name.iter().map(|&c| channel_names[c].clone()).collect(),
            cohorts: cohort_activity,
            timeline,
            has_cost,
        })
    }

    /// Joins the tables of blocks of customers (each customer in one block; blocks in any
    /// order) into the table of the whole input, with `report` the merged cleaning report
    /// and `observation_end` the whole input's. Columns that depend on the observation
    /// end are recomputed for blocks that saw another end; channels missing from a block
    /// count zero there.
    ///
    /// # Errors
    ///
    /// [`Error::EmptyTable`] without blocks; [`Error::InvalidOption`] when the blocks
    /// were made with other options, or the calibration end is before the first
    /// transaction of the whole input.
    pub(crate) fn merge(
        blocks: Vec<CustomerTable>,
        report: CleaningReport,
        observation_end: i32,
    ) -> Result<CustomerTable> {
        let Some(first) = blocks.first() else {
            return Err(Error::EmptyTable {
                what: "no customer".into(),
            });
        };
        let (options, cal, has_cost) = (
            first.options.clone(),
            first.calibration_end,
            blocks.iter().any(|b| b.has_cost),
        );
        if blocks
            .iter()
            .any(|b| b.options != options || b.calibration_end != cal)
        {
            return Err(Error::invalid(
                "blocks",
                "the blocks of one customer table must be aggregated with the same options",
            ));
        }
        let mut channels: Vec<String> = blocks
            .iter()
            .flat_map(|b| b.channels.iter().cloned())
            .collect();
        channels.sort();
        channels.dedup();
        let mut cohorts: Option<CohortActivity> = None;
        let mut timeline = PurchaseTimeline::default();
        let mut frame: Option<DataFrame> = None;
        for b in blocks {
            timeline.merge(&b.timeline);
            if let Some(a) = &b.cohorts {
                cohorts
                    .get_or_insert_with(|| CohortActivity::new(a.period))
                    .merge(a);
            }
            let f = if b.observation_end == observation_end {
                b.frame
            } else {
                with_observation_end(b.frame, observation_end, cal, &options)?
            };
            let f = with_channels(f, &channels)?;
            match &mut frame {
                None => frame = Some(f),
                Some(all) => {
                    all.vstack_mut_owned(f)?;
                }
            }
        }
        let frame = frame.map_or_else(
            || {
                Err(Error::EmptyTable {
                    what: "no customer".into(),
                })
            },
            |mut f| {
                f.rechunk_mut();
                super::ids::sort_by_customer_id(f)
            },
        )?;
        let table = CustomerTable {
            frame,
            report,
            options,
            observation_end,
            calibration_end: cal,
            channels,
            cohorts,
            timeline,
            has_cost,
        };
        table.check_calibration()?;
        Ok(table)
    }

    /// A calibration end before the first purchase leaves an empty calibration period.
    fn check_calibration(&self) -> Result<()> {
        let (Some(cal), Ok(first)) = (
            self.calibration_end,
            self.frame
                .column("first_purchase")
                .and_then(|c| c.to_physical_repr().i32().map(|c| c.min())),
        ) else {
            return Ok(());
        };
        match first {
            Some(first) if cal < first => Err(super::summary::calibration_before_first(cal, first)),
            _ => Ok(()),
        }
    }

    /// The whole table, sorted by `customer_id`: the [`Summary`] columns, then `revenue`
    /// (sales before returns), `cogs` (with a cost column: cost of the goods kept),
    /// `orders` (distinct order ids, or purchase days without an order id), `lines`
    /// (purchase rows), `units` (summed quantity, or lines without one), `deliveries`
    /// (days with purchases), `return_count` (return rows), `tenure_months` (calendar
    /// months from the first purchase to the observation end), `acquisition_channel`
    /// (with a channel column: the channel of the first purchase row, i.e. of the
    /// earliest purchase day, and on that day the first row in input order),
    /// `first_order_value` (the first purchase day's purchase rows summed, returns not
    /// netted: what was known when the customer was acquired), and per channel (by
    /// name) `channel_lines_<name>` and `channel_orders_<name>` (an order counts in the
    /// channel of its first row).
    pub fn frame(&self) -> &DataFrame {
        &self.frame
    }

    /// The per-customer summary: the summary columns of the table.
    ///
    /// # Example
    ///
    /// ```
    /// use patronage::prelude::*;
    /// let tx = Transactions::scan("datasets/retail_sample.csv", TransactionSchema::default())?;
    /// let table = tx.customer_table(&SummaryOptions::weekly(), None)?;
    /// assert!(table.summary()?.frame().column("orders").is_err());
    /// # Ok::<(), patronage::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// A polars error selecting the columns (they are always there).
    pub fn summary(&self) -> Result<Summary> {
        Ok(Summary::from_parts(
            self.frame.select(self.summary_columns())?,
            self.frame.select(self.acquisition_columns())?,
            self.report.clone(),
            &self.options,
            self.observation_end,
            self.calibration_end,
            self.timeline.clone(),
        ))
    }

    /// Takes the per-customer summary out of the table.
    ///
    /// # Errors
    ///
    /// As [`CustomerTable::summary`].
    pub fn into_summary(self) -> Result<Summary> {
        Ok(Summary::from_parts(
            self.frame.select(self.summary_columns())?,
            self.frame.select(self.acquisition_columns())?,
            self.report,
            &self.options,
            self.observation_end,
            self.calibration_end,
            self.timeline,
        ))
    }

    /// The table cut down to what [`CustomerTable::into_summary`] keeps (the summary's
    /// and acquisition columns, no channel counts): about half the columns of the whole
    /// table (at 100M rows the gathered partitions took 7.0 GB instead of 10.3), and [`CustomerTable::merge`] can still set
    /// the whole input's observation end on it (it needs only the summary's columns).
    ///
    /// # Errors
    ///
    /// A polars error selecting the columns.
    pub(crate) fn keeping_summary(self) -> Result<CustomerTable> {
        let mut names = self.summary_columns();
        names.extend(self.acquisition_columns());
        Ok(CustomerTable {
            frame: self.frame.select(names)?,
            channels: Vec::new(),
            ..self
        })
    }

    fn summary_columns(&self) -> Vec<&'static str> {
        let mut names: Vec<&str> = SUMMARY_COLUMNS.to_vec();
        if self.has_cost {
            names.push("gross_profit");
        }
        if self.calibration_end.is_some() {
            names.extend(CALIBRATION_COLUMNS);
        }
        names
    }

    /// The acquisition columns the summary carries beside its frame (for the derived
    /// covariates): `first_order_value`, and `acquisition_channel` with a channel column.
    fn acquisition_columns(&self) -> Vec<&'static str> {
        let mut names = vec!["first_order_value"];
        if self.frame.column("acquisition_channel").is_ok() {
            names.push("acquisition_channel");
        }
        names
    }

    /// Takes the whole table's frame ([`CustomerTable::frame`]) out of the table.
    pub(crate) fn into_frame(self) -> DataFrame {
        self.frame
    }

    /// What cleaning did to the rows behind the table.
    pub fn report(&self) -> &CleaningReport {
        &self.report
    }

    /// The channel names, sorted (empty without a channel column).
    pub fn channels(&self) -> &[String] {
        &self.channels
    }

    /// The cohort activity, when the table was made with a cohort period.
    pub fn cohort_activity(&self) -> Option<&CohortActivity> {
        self.cohorts.as_ref()
    }

    /// The observation end used.
    pub fn observation_end(&self) -> chrono::NaiveDate {
        date_of(self.observation_end)
    }

    /// The observation end used, as a day number (the blocks of an engine each have
    /// their own until the whole input's is known).
    pub(crate) fn observation_day(&self) -> i32 {
        self.observation_end
    }

    /// Whether the rows had a cost of goods (the `gross_profit` and `cogs` columns).
    pub fn has_cost(&self) -> bool {
        self.has_cost
    }

    /// Number of customers.
    pub fn n_customers(&self) -> usize {
        self.frame.height()
    }
}

/// The column of a channel's purchase lines.
pub fn lines_column(channel: &str) -> String {
    format!("channel_lines_{channel}")
}

/// The column of a channel's orders.
pub fn orders_column(channel: &str) -> String {
    format!("channel_orders_{channel}")
}

/// A block's table frame with the counts of every channel in `channels` (sorted by
/// name, a superset of the block's own): a channel the block never saw counts zero, and
/// the columns are put in the whole table's order ([`column_order`]).
///
/// # Errors
///
/// A polars error adding or selecting the columns.
pub(crate) fn with_channels(mut f: DataFrame, channels: &[String]) -> Result<DataFrame> {
    for name in channels {
        for column in [lines_column(name), orders_column(name)] {
            if f.column(&column).is_err() {
                f.with_column(Column::new(column.into(), vec![0u32; f.height()]))?;
            }
        }
    }
    let order = column_order(&f, channels);
    Ok(f.select(order)?)
}

/// Columns in the table's order: everything but the channel counts as they come, then
/// the channels by name.
fn column_order(f: &DataFrame, channels: &[String]) -> Vec<PlSmallStr> {
    let mut order: Vec<PlSmallStr> = f
        .get_column_names()
        .into_iter()
        .filter(|n| !n.starts_with("channel_lines_") && !n.starts_with("channel_orders_"))
        .cloned()
        .collect();
    for name in channels {
        order.push(lines_column(name).into());
        order.push(orders_column(name).into());
    }
    order
}

/// One purchase occasion: the transactions of one customer in one purchase unit.
#[derive(Debug, Clone, Copy)]
struct Unit {
    start: i32,
    first_day: i32,
    spend: Compensated,
}

/// Builds purchase occasions from one customer's rows (sorted by day). Returns are netted
/// against the latest occasion whose first purchase is on or before the return's day; a
/// return with no such occasion is left out (only possible inside a calibration or holdout
/// window: cleaning rejects returns that precede every purchase).
fn occasions(
    rows: impl Iterator<Item = (i32, f64, bool)> + Clone,
    unit: PurchaseUnit,
) -> Vec<Unit> {
    let mut units: Vec<Unit> = Vec::new();
    for (day, amount, ret) in rows.clone() {
        if ret {
            continue;
        }
        let start = unit_start(day, unit);
        match units.last_mut() {
            Some(u) if u.start == start => u.spend.add(amount),
            _ => units.push(Unit {
                start,
                first_day: day,
                spend: Compensated::of(amount),
            }),
        }
    }
    for (day, amount, ret) in rows {
        if ret {
            let k = units.partition_point(|u| u.first_day <= day);
            if k > 0 {
                units[k - 1].spend.add(amount);
            }
        }
    }
    units
}

fn repeat_mean(units: &[Unit]) -> f64 {
    if units.len() < 2 {
        0.0
    } else {
        Compensated::sum(units[1..].iter().map(|u| u.spend.value())) / (units.len() - 1) as f64
    }
}

/// One customer's figures.
#[derive(Debug, Clone, Default)]
struct Row {
    frequency: u32,
    recency: f64,
    t: f64,
    monetary: f64,
    first_day: i32,
    last_day: i32,
    n_purchases: u32,
    total_spend: f64,
    returns: f64,
    gross_profit: f64,
    cal: Option<(u32, f64, f64, f64)>,
    holdout: Option<(u32, f64)>,
    revenue: f64,
    cogs: f64,
    orders: u32,
    lines: u32,
    units: f64,
    deliveries: u32,
    return_count: u32,
    /// The channel of the first purchase row (an index into the block's channel names).
    first_channel: u32,
    /// The first purchase day's purchase rows summed (returns not netted).
    first_value: f64,
}

/// The figures of one chunk of customers.
struct Chunk {
    rows: Vec<Row>,
    /// Purchase lines and orders per (customer, channel), row-major.
    channel_lines: Vec<u32>,
    channel_orders: Vec<u32>,
    n_channels: usize,
    cohorts: Option<CohortActivity>,
    /// First days of the purchase units of each customer's first and repeat purchases
    /// (the [`PurchaseTimeline`]'s input).
    births: Vec<i32>,
    repeats: Vec<i32>,
    /// Scratch space reused across customers.
    order_first: Vec<(u64, usize)>,
    periods: Vec<(u32, bool, f64)>,
}

impl Chunk {
    fn new(n: usize, n_channels: usize, cohorts: Option<CohortPeriod>) -> Self {
        Chunk {
            rows: Vec::with_capacity(n),
            channel_lines: Vec::with_capacity(n * n_channels),
            channel_orders: Vec::with_capacity(n * n_channels),
            n_channels,
            cohorts: cohorts.map(CohortActivity::new),
            births: Vec::with_capacity(n),
            repeats: Vec::with_capacity(n),
            order_first: Vec::new(),
            periods: Vec::new(),
        }
    }
}

/// `T` of a customer whose first purchase is on `first_day`.
fn t_of(first_day: i32, obs: i32, options: &SummaryOptions) -> f64 {
    let pu = options.purchase_unit;
    elapsed(
        unit_start(first_day, pu),
        unit_start(obs, pu),
        options.time_unit,
    )
}

/// Calendar months from the first purchase to the observation end (the account-fee
/// driver of cost-to-serve).
fn tenure_months(first_day: i32, obs: i32) -> f64 {
    elapsed(first_day, obs, TimeScale::Month).max(0.0)
}

/// The holdout duration.
fn duration_holdout(cal: i32, obs: i32, options: &SummaryOptions) -> f64 {
    let pu = options.purchase_unit;
    elapsed(unit_start(cal, pu), unit_start(obs, pu), options.time_unit)
}

/// Aggregates customer `c` of `clean` into `out`.
fn customer(
    clean: &CleanTransactions,
    c: usize,
    options: &SummaryOptions,
    obs: i32,
    cal: Option<i32>,
    out: &mut Chunk,
) {
    let (pu, tu) = (options.purchase_unit, options.time_unit);
    let (lo, hi) = (clean.offsets[c], clean.offsets[c + 1]);
    let (day, amount, ret) = (&clean.day, &clean.amount, &clean.is_return);
    let rows = (lo..hi).map(|j| (day[j], amount[j], ret[j]));
    let units = occasions(rows.clone(), pu);
    let (first, last) = (units[0], units[units.len() - 1]);
    out.births.push(first.start);
    out.repeats.extend(units[1..].iter().map(|u| u.start));
    let last_day = (lo..hi)
        .filter(|&j| !ret[j])
        .map(|j| day[j])
        .max()
        .unwrap_or(first.first_day);
    // The acquisition: rows are in (day, row number) order, so the first purchase row is
    // the earliest day's first row in input order, whichever block the customer is in.
    // A day rather than the first purchase unit, so neither the unit setting nor a
    // calibration end inside that unit changes it.
    let first_row = (lo..hi).find(|&j| !ret[j]).unwrap_or(lo);
    let first_value = Compensated::sum(
        (first_row..hi)
            .take_while(|&j| day[j] == day[first_row])
            .filter(|&j| !ret[j])
            .map(|j| amount[j]),
    );
    let first_channel = clean.channel.as_ref().map_or(0, |(idx, _)| idx[first_row]);
    // Compensated sums: a naive sum of n prices carries up to n roundings, which show
    // as `100.50000000000001` in every text output.
    let total_spend = Compensated::sum((lo..hi).map(|j| amount[j]));
    let gross_profit = clean.cost.as_ref().map_or(0.0, |cost| {
        Compensated::sum(
            (lo..hi)
                .map(|j| amount[j])
                .chain((lo..hi).map(|j| -cost[j])),
        )
    });
    let (cal_cols, holdout_cols) = match cal {
        None => (None, None),
        Some(cal) => {
            let cal_units = occasions(rows.clone().filter(|r| r.0 <= cal), pu);
            if cal_units.is_empty() {
                (None, None)
            } else {
                let (f, l) = (cal_units[0], cal_units[cal_units.len() - 1]);
                let hold = occasions(rows.clone().filter(|r| r.0 > cal), pu);
                let hold_mean = if hold.is_empty() {
                    0.0
                } else {
                    Compensated::sum(hold.iter().map(|u| u.spend.value())) / hold.len() as f64
                };
                (
                    Some((
                        (cal_units.len() - 1) as u32,
                        elapsed(f.start, l.start, tu),
                        elapsed(f.start, unit_start(cal, pu), tu),
                        repeat_mean(&cal_units),
                    )),
                    Some((hold.len() as u32, hold_mean)),
                )
            }
        }
    };

    // Activity counts (what cost-to-serve prices), in row order.
    let mut row = Row {
        frequency: (units.len() - 1) as u32,
        recency: elapsed(first.start, last.start, tu),
        t: t_of(first.first_day, obs, options),
        monetary: repeat_mean(&units),
        first_day: first.first_day,
        last_day,
        n_purchases: units.len() as u32,
        total_spend,
        gross_profit,
        cal: cal_cols,
        holdout: holdout_cols,
        first_channel,
        first_value,
        ..Row::default()
    };
    let (costs, qty, orders) = (&clean.cost, &clean.quantity, &clean.order);
    out.order_first.clear();
    let mut delivery_day = None;
    let (mut returns, mut revenue, mut cogs) = <[Compensated; 3]>::default().into();
    for j in lo..hi {
        if ret[j] {
            returns.add(-amount[j]);
            row.return_count += 1;
            if let Some(cs) = costs {
                cogs.add(-cs[j].abs());
            }
            continue;
        }
        revenue.add(amount[j]);
        row.lines += 1;
        row.units += qty.as_ref().map_or(1.0, |q| q[j]);
        if let Some(cs) = costs {
            cogs.add(cs[j]);
        }
        if delivery_day != Some(day[j]) {
            row.deliveries += 1;
            delivery_day = Some(day[j]);
        }
        let key = orders.as_ref().map_or(day[j] as u64, |o| o[j]);
        out.order_first.push((key, j));
    }
    (row.returns, row.revenue, row.cogs) = (returns.value(), revenue.value(), cogs.value());
    // An order is its first row (by day, then row number).
    out.order_first.sort_unstable();
    out.order_first.dedup_by_key(|e| e.0);
    row.orders = out.order_first.len() as u32;

    if let Some((idx, _)) = &clean.channel {
        let base = out.channel_lines.len();
        out.channel_lines.resize(base + out.n_channels, 0);
        out.channel_orders.resize(base + out.n_channels, 0);
        for j in lo..hi {
            if !ret[j] {
                out.channel_lines[base + idx[j] as usize] += 1;
            }
        }
        for &(_, j) in &out.order_first {
            out.channel_orders[base + idx[j] as usize] += 1;
        }
    }

    if let Some(cohorts) = &mut out.cohorts {
        // Per period since acquisition: bought (a purchase row) and net revenue, added
        // in row order within the customer; the exact sums across customers.
        let p = cohorts.period;
        let acquired = p.of(day[lo]);
        out.periods.clear();
        for j in lo..hi {
            let k = (p.of(day[j]) - acquired) as u32;
            match out.periods.iter_mut().find(|e| e.0 == k) {
                Some(e) => {
                    e.1 |= !ret[j];
                    e.2 += amount[j];
                }
                None => out.periods.push((k, !ret[j], amount[j])),
            }
        }
        *cohorts.sizes.entry(acquired).or_default() += 1;
        for &(k, bought, revenue) in &out.periods {
            let cell = cohorts.cells.entry((acquired, k)).or_default();
            cell.0 += u64::from(bought);
            cell.1.add(revenue);
        }
    }
    out.rows.push(row);
}

fn date_column(name: &str, days: impl Iterator<Item = i32>) -> Result<Column> {
    Ok(Column::new(name.into(), days.collect::<Vec<i32>>()).cast(&DataType::Date)?)
}

/// Recomputes the columns that depend on the observation end (`T`, `recency_days`,
/// `duration_holdout`, `tenure_months`) of a block's table made for another end, from
/// its `first_purchase` and `last_purchase` columns, with the same arithmetic.
pub(crate) fn with_observation_end(
    mut frame: DataFrame,
    obs: i32,
    cal: Option<i32>,
    options: &SummaryOptions,
) -> Result<DataFrame> {
    let days_of = |name: &str| -> Result<Vec<i32>> {
        let c = frame.column(name)?.to_physical_repr();
        Ok(c.i32()?.into_no_null_iter().collect())
    };
    let first = days_of("first_purchase")?;
    let last = days_of("last_purchase")?;
    let t: Vec<f64> = first.iter().map(|&f| t_of(f, obs, options)).collect();
    let recency_days: Vec<i32> = last.iter().map(|&l| obs - l).collect();
    frame.with_column(Column::new("T".into(), t))?;
    frame.with_column(Column::new("recency_days".into(), recency_days))?;
    if frame.column("tenure_months").is_ok() {
        let tenure: Vec<f64> = first.iter().map(|&f| tenure_months(f, obs)).collect();
        frame.with_column(Column::new("tenure_months".into(), tenure))?;
    }
    if let Some(cal) = cal {
        let d = duration_holdout(cal, obs, options);
        let has_cal = frame.column("frequency_cal")?.is_not_null();
        let v: Vec<Option<f64>> = has_cal
            .iter()
            .map(|b| b.unwrap_or(false).then_some(d))
            .collect();
        frame.with_column(Column::new("duration_holdout".into(), v))?;
    }
    Ok(frame)
}

#[cfg(test)]
mod tests {
    use rand::seq::SliceRandom;
    use rand::{Rng, SeedableRng};

    use super::*;
    use crate::io::TransactionSchema;
    use crate::transactions::Transactions;
    use crate::transactions::clean::{self, RoleColumns};
    use crate::transactions::options::{DuplicatePolicy, ReturnPolicy};
    use crate::transactions::partition::Part;

    /// A log with every kind of row cleaning treats specially: returns (negative
    /// amounts), a return before any purchase, null and unparseable values, exact
    /// duplicates, several orders and channels (and null channels), costs and quantities.
    fn messy_log(seed: u64, rows: usize) -> DataFrame {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let channels = ["web", "store", "phone"];
        let mut id: Vec<Option<String>> = Vec::new();
        let mut date: Vec<Option<String>> = Vec::new();
        let mut amount: Vec<Option<f64>> = Vec::new();
        let mut cost: Vec<Option<f64>> = Vec::new();
        let mut qty: Vec<Option<f64>> = Vec::new();
        let mut order: Vec<Option<String>> = Vec::new();
        let mut channel: Vec<Option<String>> = Vec::new();
        for i in 0..rows {
            if i > 0 && rng.random_bool(0.05) {
                // An exact copy of the previous row.
                id.push(id[i - 1].clone());
                date.push(date[i - 1].clone());
                amount.push(amount[i - 1]);
                cost.push(cost[i - 1]);
                qty.push(qty[i - 1]);
                order.push(order[i - 1].clone());
                channel.push(channel[i - 1].clone());
                continue;
            }
            let c = rng.random_range(0..60);
            id.push((!rng.random_bool(0.01)).then(|| format!("c{c:03}")));
            let day = rng.random_range(0..700);
            let d =
                chrono::NaiveDate::from_ymd_opt(2023, 1, 1).unwrap() + chrono::Duration::days(day);
            date.push(Some(if rng.random_bool(0.01) {
                "not a date".to_string()
            } else {
                d.to_string()
            }));
            let a: f64 = rng.random_range(1.0..200.0);
            amount.push(if rng.random_bool(0.01) {
                None
            } else if rng.random_bool(0.08) {
                Some(-(a / 4.0).round())
            } else {
                Some((a * 100.0).round() / 100.0)
            });
            cost.push(Some((a * 0.6 * 100.0).round() / 100.0));
            qty.push(Some(f64::from(rng.random_range(1..4))));
            order.push(Some(format!("o{}", rng.random_range(0..400))));
            channel.push(
                (!rng.random_bool(0.05)).then(|| channels[rng.random_range(0..3)].to_string()),
            );
        }
        df!(
            "customer_id" => id,
            "date" => date,
            "amount" => amount,
            "cost" => cost,
            "quantity" => qty,
            "order_id" => order,
            "channel" => channel,
        )
        .unwrap()
    }

    /// The rows of `cols` at `idx`, keeping their row numbers.
    fn take(cols: &RoleColumns, idx: &IdxCa) -> RoleColumns {
        let t = |c: &Column| c.take(idx).unwrap();
        let named = |c: &Option<(String, Column)>| c.as_ref().map(|(n, c)| (n.clone(), t(c)));
        RoleColumns {
            row: t(&cols.row),
            id: (cols.id.0.clone(), t(&cols.id.1)),
            date: (cols.date.0.clone(), t(&cols.date.1)),
            amount: (cols.amount.0.clone(), t(&cols.amount.1)),
            amount_factor: named(&cols.amount_factor),
            quantity: named(&cols.quantity),
            cost: named(&cols.cost),
            cost_factor: named(&cols.cost_factor),
            return_flag: named(&cols.return_flag),
            extra_keys: cols.extra_keys.iter().map(t).collect(),
            order_id: cols.order_id.as_ref().map(t),
            channel: cols.channel.as_ref().map(t),
            date_format: cols.date_format.clone(),
        }
    }

    /// The table of the whole input, and the same input split by customer into `k`
    /// blocks (each cleaned and aggregated on its own) merged in a random order.
    fn whole_and_blocks(
        tx: &Transactions,
        options: &SummaryOptions,
        k: usize,
        rng: &mut impl Rng,
    ) -> (CustomerTable, CustomerTable) {
        let whole = tx
            .customer_table(options, Some(CohortPeriod::Month))
            .unwrap();
        let cols = tx.collect_roles(tx.lazy()).unwrap();
        let ids = cols.id.1.cast(&DataType::String).unwrap();
        let block_of: Vec<usize> = ids
            .str()
            .unwrap()
            .iter()
            .map(|id| {
                // Any assignment that keeps a customer's rows together will do; null ids
                // (rejected rows) may land anywhere.
                id.map_or(0, |s| {
                    s.bytes()
                        .fold(7usize, |h, b| h.wrapping_mul(31) + usize::from(b))
                        % k
                })
            })
            .collect();
        let cal = options.parsed_calibration_end(i32::MAX).unwrap();
        let today = clean::today();
        let mut parts = Vec::new();
        for b in 0..k {
            let idx: Vec<IdxSize> = (0..block_of.len() as IdxSize)
                .filter(|&i| block_of[i as usize] == b)
                .collect();
            if idx.is_empty() {
                continue;
            }
            let sub = take(&cols, &IdxCa::from_vec("".into(), idx));
            let (clean, facts) = clean::clean_rows(&sub, options, Some(today)).unwrap();
            let report = clean.report.clone();
            let frame = (clean.n_customers() > 0).then(|| {
                CustomerTable::block(clean, options, cal, Some(CohortPeriod::Month)).unwrap()
            });
            parts.push(Part {
                frame,
                report,
                facts,
            });
        }
        parts.shuffle(rng);
        let merged = tx.merge(parts, options, cal).unwrap();
        (whole, merged)
    }

    fn assert_same(a: &CustomerTable, b: &CustomerTable, what: &str) {
        assert!(a.frame().equals_missing(b.frame()), "{what}: frames differ");
        assert_eq!(
            a.frame().get_column_names(),
            b.frame().get_column_names(),
            "{what}"
        );
        assert_eq!(a.report(), b.report(), "{what}: reports differ");
        assert_eq!(a.channels(), b.channels(), "{what}");
        assert_eq!(a.observation_end(), b.observation_end(), "{what}");
        let (ca, cb) = (
            a.cohort_activity().unwrap().table(a.observation_end()),
            b.cohort_activity().unwrap().table(b.observation_end()),
        );
        assert_eq!(ca.labels, cb.labels, "{what}");
        assert_eq!(ca.sizes, cb.sizes, "{what}");
        assert_eq!(ca.active, cb.active, "{what}");
        let bits = |r: &Vec<Vec<f64>>| -> Vec<Vec<u64>> {
            r.iter()
                .map(|v| v.iter().map(|x| x.to_bits()).collect())
                .collect()
        };
        assert_eq!(
            bits(&ca.revenue),
            bits(&cb.revenue),
            "{what}: cohort revenue"
        );
        // What the derived covariates read (the frame's columns, carried by the summary).
        let (sa, sb) = (a.summary().unwrap(), b.summary().unwrap());
        assert!(sa.acquisition_channel().unwrap().is_some(), "{what}");
        assert_eq!(
            sa.acquisition_channel().unwrap(),
            sb.acquisition_channel().unwrap(),
            "{what}: acquisition channels"
        );
        let values = |s: &Summary| -> Vec<u64> {
            s.first_order_value()
                .unwrap()
                .iter()
                .map(|v| v.to_bits())
                .collect()
        };
        assert_eq!(values(&sa), values(&sb), "{what}: first-order values");
    }

    /// The invariant the engines rely on: the customer table, the cleaning report and
    /// the cohort activity do not depend on how customers are split into blocks (1, 2
    /// or 7 blocks, merged in any order), with an explicit observation end and with one
    /// found in the data (then blocks see different ends and are recomputed).
    #[test]
    fn customer_table_does_not_depend_on_blocks() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        for seed in 0..4 {
            let tx = Transactions::from_frame(messy_log(seed, 1500), TransactionSchema::default())
                .unwrap();
            assert!(tx.schema().channel.is_some() && tx.schema().order_id.is_some());
            let explicit = SummaryOptions::weekly()
                .observation_end("2024-11-30")
                .calibration_end("2024-06-30");
            let found = SummaryOptions::daily()
                .duplicates(DuplicatePolicy::Drop)
                .returns(ReturnPolicy::Net);
            for options in [explicit, found] {
                for k in [1, 2, 7] {
                    let (whole, merged) = whole_and_blocks(&tx, &options, k, &mut rng);
                    assert!(!whole.report().rejects.is_empty());
                    assert_same(
                        &whole,
                        &merged,
                        &format!("seed {seed}, {k} blocks, {options:?}"),
                    );
                }
            }
        }
    }

    /// The acquisition columns: the first purchase row's channel (earliest day, then
    /// input order; not the largest line, not a return listed first), and the first
    /// purchase day's purchase rows summed, returns not netted, whatever the purchase
    /// unit.
    #[test]
    fn acquisition_channel_and_first_order_value_by_hand() {
        let df = df!(
            "customer_id" => ["a", "a", "b", "a", "a", "a", "a", "b"],
            "date" => ["2024-01-03", "2024-01-02", "2024-01-05", "2024-01-02", "2024-01-02",
                       "2024-01-02", "2024-01-09", "2024-01-05"],
            "amount" => [7.0, 10.0, 4.0, 5.0, 20.0, -5.0, 3.0, 3.5],
            "channel" => [Some("web"), Some("store"), None, Some("phone"), Some("web"),
                          Some("web"), Some("phone"), Some("web")],
        )
        .unwrap();
        let tx = Transactions::from_frame(df, TransactionSchema::default()).unwrap();
        for unit in [PurchaseUnit::Day, PurchaseUnit::Week, PurchaseUnit::Month] {
            let options = SummaryOptions::weekly()
                .purchase_unit(unit)
                .observation_end("2024-03-02");
            let t = tx.customer_table(&options, None).unwrap();
            let s = t.summary().unwrap();
            // a's first day is 2024-01-02, whose first row (input row 2) is `store`: the
            // 20.00 `web` line of that day does not win, nor does 2024-01-03's `web`.
            // b's first row has no channel.
            assert_eq!(
                s.acquisition_channel().unwrap().unwrap(),
                ["store", "(none)"],
                "{unit:?}"
            );
            // a: 10 + 5 + 20 (the return of 5 the same day and the later rows left
            // out); b: 4 + 3.5.
            assert_eq!(s.first_order_value().unwrap(), [35.0, 7.5], "{unit:?}");
            assert_eq!(
                t.frame().column("acquisition_channel").unwrap().dtype(),
                &DataType::String
            );
        }
        // Without a channel column there is no acquisition channel, and the value stays.
        let df = df!(
            "customer_id" => ["a", "a"],
            "date" => ["2024-01-02", "2024-01-02"],
            "amount" => [10.0, 2.5],
        )
        .unwrap();
        let tx = Transactions::from_frame(df, TransactionSchema::default()).unwrap();
        let s = tx.summary(&SummaryOptions::weekly()).unwrap();
        assert_eq!(s.acquisition_channel().unwrap(), None);
        assert_eq!(s.first_order_value().unwrap(), [12.5]);
    }

    /// A numeric column of a table as `f64`s (no nulls expected).
    fn numbers(f: &DataFrame, name: &str) -> Vec<f64> {
        f.column(name)
            .unwrap()
            .cast(&DataType::Float64)
            .unwrap()
            .f64()
            .unwrap()
            .into_no_null_iter()
            .collect()
    }

    /// Customers first seen out of id order come out sorted by id, text or integer, with
    /// their own figures and channel counts (kept apart from the records in the pass, so
    /// both are checked).
    #[test]
    fn the_table_is_in_id_order_with_each_customers_figures() {
        let dates = [
            "2024-01-02",
            "2024-01-03",
            "2024-01-04",
            "2024-01-05",
            "2024-01-06",
        ];
        let amounts = [30.0, 10.0, 20.0, 11.0, 31.0];
        let channels = ["web", "store", "phone", "store", "web"];
        let text = df!(
            "customer_id" => ["c", "a", "b", "a", "c"],
            "date" => dates, "amount" => amounts, "channel" => channels,
        )
        .unwrap();
        let ints = df!(
            "customer_id" => [30i64, -1, 2, -1, 30],
            "date" => dates, "amount" => amounts, "channel" => channels,
        )
        .unwrap();
        let options = SummaryOptions::weekly().observation_end("2024-02-01");
        for (df, ids) in [(text, ["a", "b", "c"]), (ints, ["-1", "2", "30"])] {
            let t = Transactions::from_frame(df, TransactionSchema::default())
                .unwrap()
                .customer_table(&options, None)
                .unwrap();
            let f = t.frame();
            let id = f
                .column("customer_id")
                .unwrap()
                .cast(&DataType::String)
                .unwrap();
            let got: Vec<&str> = id.str().unwrap().iter().map(Option::unwrap).collect();
            assert_eq!(got, ids);
            let column = |name: &str| numbers(f, name);
            assert_eq!(column("total_spend"), [21.0, 20.0, 61.0]);
            assert_eq!(column("channel_orders_store"), [2.0, 0.0, 0.0]);
            assert_eq!(column("channel_orders_web"), [0.0, 0.0, 2.0]);
            assert_eq!(column("channel_orders_phone"), [0.0, 1.0, 0.0]);
        }
    }

    #[test]
    fn activity_counts_by_hand() {
        // Customer a: order o1 on two lines (web), a second order o2 (store) on the same
        // day, a return; b: one line without a channel.
        let df = df!(
            "customer_id" => ["a", "a", "a", "a", "b"],
            "date" => ["2024-01-02", "2024-01-02", "2024-01-02", "2024-01-09", "2023-12-02"],
            "amount" => [10.0, 5.0, 20.0, -5.0, 7.0],
            "cost" => [6.0, 3.0, 12.0, -3.0, 4.0],
            "quantity" => [1.0, 2.0, 1.0, 1.0, 3.0],
            "order_id" => ["o1", "o1", "o2", "o1", "o3"],
            "channel" => [Some("web"), Some("web"), Some("store"), Some("web"), None],
        )
        .unwrap();
        let tx = Transactions::from_frame(df, TransactionSchema::default()).unwrap();
        let t = tx
            .customer_table(&SummaryOptions::daily().observation_end("2024-03-02"), None)
            .unwrap();
        let f = t.frame();
        let num = |name: &str| numbers(f, name);
        assert_eq!(num("revenue"), [35.0, 7.0]);
        assert_eq!(num("returns"), [5.0, 0.0]);
        assert_eq!(num("cogs"), [18.0, 4.0]);
        assert_eq!(num("orders"), [2.0, 1.0]);
        assert_eq!(num("lines"), [3.0, 1.0]);
        assert_eq!(num("units"), [4.0, 3.0]);
        assert_eq!(num("deliveries"), [1.0, 1.0]);
        assert_eq!(num("return_count"), [1.0, 0.0]);
        assert_eq!(num("tenure_months"), [2.0, 3.0]);
        assert_eq!(t.channels(), ["(none)", "store", "web"]);
        assert_eq!(num("channel_lines_web"), [2.0, 0.0]);
        assert_eq!(num("channel_orders_web"), [1.0, 0.0]);
        assert_eq!(num("channel_orders_store"), [1.0, 0.0]);
        assert_eq!(num("channel_lines_(none)"), [0.0, 1.0]);
        // 0.0 (not -0.0) for a customer without returns.
        assert!(num("returns")[1].is_sign_positive());
    }
}
