//! Cleaning: every input row is either used or reported with its row number, column and
//! reason. Produces the used rows grouped by customer and sorted by (day, row).
//!
//! The phases, each in its own file: `parse` reads every role column per row and
//! settles the observation window (a bad value marks its row with the column's
//! `role::Role`); `group` groups the valid rows by customer and applies the duplicate
//! and return rules; `gather` collects the kept rows' values in customer order. The
//! first failing check of a row names the column in the rejects table.

mod gather;
mod group;
mod keys;
mod parse;
mod report;
mod role;
mod values;

use polars::prelude::Column;

pub use report::{CleaningReport, DuplicateRow, Reject, RejectReason};
pub(crate) use values::{no_date_error, no_number_error};

use super::options::SummaryOptions;
use super::units::{DateFormat, date_of, day_number};
use crate::error::{Error, Result};
use role::RowCheck;
use values::text_of;

/// The used rows of a transaction table, grouped by customer (in order of first
/// appearance) and sorted by (day, row) within each customer.
#[derive(Debug, Clone)]
pub struct CleanTransactions {
    pub(crate) day: Vec<i32>,
    pub(crate) amount: Vec<f64>,
    pub(crate) cost: Option<Vec<f64>>,
    pub(crate) quantity: Option<Vec<f64>>,
    pub(crate) is_return: Vec<bool>,
    pub(crate) row: Vec<u64>,
    /// Customer `c` owns rows `offsets[c]..offsets[c + 1]`.
    pub(crate) offsets: Vec<usize>,
    /// One id per customer, in customer order, with the input's type.
    pub(crate) ids: polars::prelude::Series,
    pub(crate) observation_end: i32,
    pub(crate) report: CleaningReport,
    /// A hash of the order id per used row, when an order id is mapped.
    pub(crate) order: Option<Vec<u64>>,
    /// Channel index per used row and the channel names, when a channel is mapped.
    pub(crate) channel: Option<(Vec<u32>, Vec<String>)>,
}

impl CleanTransactions {
    /// Per used row, a hash of its order id (rows of one order share it), when the
    /// schema maps an order id.
    pub fn order_keys(&self) -> Option<&[u64]> {
        self.order.as_deref()
    }

    /// Per used row, the index of its channel in the returned names (null channels are
    /// `"(none)"`), when the schema maps a channel.
    pub fn channels(&self) -> Option<(&[u32], &[String])> {
        self.channel
            .as_ref()
            .map(|(i, n)| (i.as_slice(), n.as_slice()))
    }

    /// Row numbers of the used rows, in customer then (day, row) order.
    pub fn used_rows(&self) -> &[u64] {
        &self.row
    }
    /// Day numbers (days since 1970-01-01, UTC) of the used rows.
    pub fn days(&self) -> &[i32] {
        &self.day
    }
    /// Amounts of the used rows (returns negative).
    pub fn amounts(&self) -> &[f64] {
        &self.amount
    }
    /// Quantities of the used rows, when a quantity column is mapped.
    pub fn quantities(&self) -> Option<&[f64]> {
        self.quantity.as_deref()
    }
    /// Cost of goods of the used rows, when a cost is mapped.
    pub fn costs(&self) -> Option<&[f64]> {
        self.cost.as_deref()
    }
    /// Whether each used row is a return.
    pub fn returns(&self) -> &[bool] {
        &self.is_return
    }
    /// Customer `c` owns rows `offsets()[c]..offsets()[c + 1]`.
    pub fn offsets(&self) -> &[usize] {
        &self.offsets
    }
    /// Customer ids, one per customer index, with the input's type.
    pub fn ids(&self) -> &polars::prelude::Series {
        &self.ids
    }
    /// The cleaning report.
    pub fn report(&self) -> &CleaningReport {
        &self.report
    }
    /// Number of customers.
    pub fn n_customers(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }
    /// The observation end as a date.
    pub fn observation_end(&self) -> chrono::NaiveDate {
        date_of(self.observation_end)
    }
}

/// The columns of a collected input, under their role names.
pub(crate) struct RoleColumns {
    pub row: Column,
    pub id: (String, Column),
    pub date: (String, Column),
    pub amount: (String, Column),
    /// For price x quantity: the quantity factor of the amount.
    pub amount_factor: Option<(String, Column)>,
    pub quantity: Option<(String, Column)>,
    pub cost: Option<(String, Column)>,
    pub cost_factor: Option<(String, Column)>,
    pub return_flag: Option<(String, Column)>,
    pub extra_keys: Vec<Column>,
    /// The order id column, when mapped (carried to the used rows for cost-to-serve).
    pub order_id: Option<Column>,
    /// The channel column, when mapped.
    pub channel: Option<Column>,
    pub date_format: DateFormat,
}

/// Today (UTC) as a day number.
pub(crate) fn today() -> i32 {
    day_number(chrono::Utc::now().date_naive())
}

/// What a partition's cleaning knows that the merge of all partitions needs (see
/// [`clean_rows`]).
#[derive(Debug, Clone, Default)]
pub(crate) struct PartFacts {
    /// The observation end: the explicit one, or the last valid date not after today
    /// (`None` when the partition has no such row).
    pub observation_end: Option<i32>,
    /// Row number of the partition's first row, and the text of its date there.
    pub first_row: u64,
    pub first_date: String,
    /// For a text date column: (some value parsed, some value was unparseable).
    pub date_text: Option<(bool, bool)>,
    /// For each text number column (amount, its factor, quantity, cost, its factor, in
    /// this order): (name, some value parsed, some value was not null).
    pub number_text: Vec<(String, bool, bool)>,
    /// Per kept duplicate: the row where its customer first appears (the report lists
    /// duplicates in that order).
    pub duplicate_keys: Vec<u64>,
}

/// Cleans the role columns of a collected input.
pub(crate) fn clean(cols: &RoleColumns, opts: &SummaryOptions) -> Result<CleanTransactions> {
    clean_rows(cols, opts, None).map(|(c, _)| c)
}

/// Cleans the role columns of a collected input. With `partition = Some(today)` the rows
/// are one customer partition of a larger input, and the checks that need every row are
/// left to the caller: a text column in which nothing parses, no usable row, the
/// observation end (rows after `today` are rejected when none is given) and strict mode.
pub(crate) fn clean_rows(
    cols: &RoleColumns,
    opts: &SummaryOptions,
    partition: Option<i32>,
) -> Result<(CleanTransactions, PartFacts)> {
    let lenient = partition.is_some();
    let n = cols.row.len();
    if n == 0 {
        return Err(Error::EmptyTable {
            what: "the input has no rows".into(),
        });
    }
    let mut check = RowCheck::new(n);
    let mut facts = PartFacts::default();
    let parsed = parse::parse(cols, lenient, &mut check, &mut facts)?;
    let observation_end = parse::window(opts, partition, &parsed, &mut check, &mut facts)?;
    let grouping = group::by_customer(&parsed, &check);
    let (keep, duplicates_kept) =
        group::duplicates_and_returns(cols, opts, &parsed, &grouping, &mut check, &mut facts)?;
    let (used, out_offsets, kept_first) = group::used_rows(&parsed, &grouping, &keep);
    drop(grouping);
    let idx = polars::prelude::IdxCa::from_vec("".into(), kept_first);
    let ids = cols.id.1.as_materialized_series().take(&idx)?;
    let rows = &parsed.rows;
    let mut rejects: Vec<Reject> = check
        .reasons
        .iter()
        .map(|(i, reason)| {
            let (column, values) = check
                .role(*i)
                .map_or(("", &cols.amount.1), |role| cols.column(role));
            Reject {
                row: rows[*i],
                column: column.to_string(),
                reason: reason.clone(),
                value: text_of(values, *i),
            }
        })
        .collect();
    rejects.sort_by_key(|r| r.row);
    if opts.strict
        && !lenient
        && let Some(r) = rejects.first()
    {
        return Err(r.to_error());
    }
    if used.is_empty() && !lenient {
        return Err(Error::EmptyTable {
            what: format!(
                "all {n} rows were rejected (first: row {}, column `{}`: {})",
                rejects[0].row, rejects[0].column, rejects[0].reason
            ),
        });
    }
    let g = gather::gather(cols, parsed, &used, &out_offsets)?;
    let returns_used = g.is_return.iter().filter(|&&r| r).count() as u64;
    let report = CleaningReport {
        rows_read: n as u64,
        rows_used: used.len() as u64,
        returns_used,
        customers: (out_offsets.len() - 1) as u64,
        rejects,
        duplicates_kept,
        observation_end: date_of(observation_end).to_string(),
    };
    Ok((
        CleanTransactions {
            order: g.order,
            channel: g.channel,
            day: g.day,
            amount: g.amount,
            cost: g.cost,
            quantity: g.quantity,
            is_return: g.is_return,
            row: g.row,
            offsets: out_offsets,
            ids,
            observation_end,
            report,
        },
        facts,
    ))
}
