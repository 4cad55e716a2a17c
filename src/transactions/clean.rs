//! Cleaning: every input row is either used or reported with its row number, column and
//! reason. Produces the used rows grouped by customer and sorted by (day, row).

use std::hash::{BuildHasher, Hash, Hasher};

use foldhash::fast::FixedState;
use polars::prelude::{AnyValue, Column, DataType, IdxSize, TimeUnit as PlTimeUnit};
use rayon::prelude::*;
use serde::Serialize;

use super::options::{DuplicatePolicy, ReturnPolicy, SummaryOptions};
use super::units::{date_of, day_number, parse_date, parse_yyyymmdd};
use crate::error::{Error, Result};
use crate::transactions::units::DateFormat;

/// Why a row was not used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
#[non_exhaustive]
pub enum RejectReason {
    /// The value is null or empty.
    Null,
    /// The date could not be parsed.
    UnparseableDate,
    /// The value is not a number.
    NotANumber,
    /// The value is NaN or infinite.
    NotFinite,
    /// The return flag is not a recognised boolean.
    NotABoolean,
    /// The date is after the observation end.
    AfterObservationEnd {
        /// The observation end (ISO date).
        observation_end: String,
    },
    /// The date is after today (UTC) and no observation end was given.
    InTheFuture {
        /// Today (ISO date).
        today: String,
    },
    /// An exact copy of an earlier row, dropped by [`DuplicatePolicy::Drop`].
    Duplicate {
        /// The row it copies.
        first_row: u64,
    },
    /// A return, left out by [`ReturnPolicy::Exclude`].
    ReturnExcluded,
    /// A return dated before any purchase of the same customer.
    ReturnBeforeAnyPurchase,
}

impl std::fmt::Display for RejectReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RejectReason::Null => write!(f, "null or empty value"),
            RejectReason::UnparseableDate => write!(f, "unparseable date"),
            RejectReason::NotANumber => write!(f, "not a number"),
            RejectReason::NotFinite => write!(f, "not a finite number"),
            RejectReason::NotABoolean => write!(f, "not a boolean"),
            RejectReason::AfterObservationEnd { observation_end } => {
                write!(f, "after the observation end {observation_end}")
            }
            RejectReason::InTheFuture { today } => write!(f, "in the future (today is {today})"),
            RejectReason::Duplicate { first_row } => {
                write!(f, "exact duplicate of row {first_row}")
            }
            RejectReason::ReturnExcluded => write!(f, "return left out (returns policy: exclude)"),
            RejectReason::ReturnBeforeAnyPurchase => {
                write!(f, "return dated before any purchase by this customer")
            }
        }
    }
}

/// One rejected row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reject {
    /// 1-based data row number (the first row below a header is row 1).
    pub row: u64,
    /// The input column at fault.
    pub column: String,
    /// Why.
    pub reason: RejectReason,
    /// The offending value as text.
    pub value: String,
}

/// A duplicate row that was kept ([`DuplicatePolicy::Keep`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DuplicateRow {
    /// The duplicate.
    pub row: u64,
    /// The earlier row it copies.
    pub first_row: u64,
}

/// What cleaning did to the input.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CleaningReport {
    /// Rows in the input.
    pub rows_read: u64,
    /// Rows used (purchases and netted returns).
    pub rows_used: u64,
    /// Return rows used (netted against spend).
    pub returns_used: u64,
    /// Customers with at least one purchase.
    pub customers: u64,
    /// Rows not used, sorted by row number.
    pub rejects: Vec<Reject>,
    /// Exact duplicates that were kept.
    pub duplicates_kept: Vec<DuplicateRow>,
    /// The observation end used (ISO date).
    pub observation_end: String,
}

impl CleaningReport {
    /// The rejects as a frame: `row, column, reason, value`.
    ///
    /// # Errors
    /// A polars error if the frame cannot be built (it always can).
    pub fn rejects_frame(&self) -> Result<polars::prelude::DataFrame> {
        use polars::prelude::*;
        let rows: Vec<u64> = self.rejects.iter().map(|r| r.row).collect();
        let cols: Vec<&str> = self.rejects.iter().map(|r| r.column.as_str()).collect();
        let reasons: Vec<String> = self.rejects.iter().map(|r| r.reason.to_string()).collect();
        let values: Vec<&str> = self.rejects.iter().map(|r| r.value.as_str()).collect();
        Ok(DataFrame::new_infer_height(vec![
            Column::new("row".into(), rows),
            Column::new("column".into(), cols),
            Column::new("reason".into(), reasons),
            Column::new("value".into(), values),
        ])?)
    }
}

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

const OK: u8 = 0;

struct RowCheck {
    /// First failing role per row (0 = fine).
    fail: Vec<u8>,
    /// The reason of each failing row, in the order found (few, so kept sparse).
    reasons: Vec<(usize, RejectReason)>,
}

impl RowCheck {
    fn new(n: usize) -> Self {
        RowCheck {
            fail: vec![OK; n],
            reasons: Vec::new(),
        }
    }
    fn mark(&mut self, i: usize, role: u8, reason: impl Into<RejectReason>) {
        if self.fail[i] == OK {
            self.fail[i] = role;
            self.reasons.push((i, reason.into()));
        }
    }
}

/// A value that could not be read: the small form of the per-value reasons, so the
/// per-row vectors of parsed values stay compact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bad {
    Null,
    UnparseableDate,
    NotANumber,
    NotFinite,
    NotABoolean,
}

impl From<Bad> for RejectReason {
    fn from(b: Bad) -> Self {
        match b {
            Bad::Null => RejectReason::Null,
            Bad::UnparseableDate => RejectReason::UnparseableDate,
            Bad::NotANumber => RejectReason::NotANumber,
            Bad::NotFinite => RejectReason::NotFinite,
            Bad::NotABoolean => RejectReason::NotABoolean,
        }
    }
}

fn dtype_name(c: &Column) -> String {
    c.dtype().to_string()
}

fn text_of(c: &Column, i: usize) -> String {
    // polars formats zoned datetimes only with its "timezones" feature (it panics
    // without it), so those are formatted here: the stored UTC instant and the zone.
    if let DataType::Datetime(unit, Some(tz)) = c.dtype() {
        return match c.get(i) {
            Ok(AnyValue::Null) => "null".to_string(),
            Ok(v) => v
                .extract::<i64>()
                .and_then(|x| match unit {
                    PlTimeUnit::Milliseconds => chrono::DateTime::from_timestamp_millis(x),
                    PlTimeUnit::Microseconds => chrono::DateTime::from_timestamp_micros(x),
                    PlTimeUnit::Nanoseconds => Some(chrono::DateTime::from_timestamp_nanos(x)),
                })
                .map(|d| format!("{} UTC ({tz})", d.naive_utc()))
                .unwrap_or_default(),
            Err(_) => String::new(),
        };
    }
    match c.get(i) {
        Ok(AnyValue::String(s)) => s.to_string(),
        Ok(AnyValue::StringOwned(s)) => s.to_string(),
        Ok(AnyValue::Null) => "null".to_string(),
        Ok(v) => v.to_string(),
        Err(_) => String::new(),
    }
}

/// Values of one column: the value per row (a default where the row is bad) and the bad
/// rows with their reasons, ascending.
type Values<T> = (Vec<T>, Vec<(usize, Bad)>);

fn split_bad<T: Default>(v: Vec<std::result::Result<T, Bad>>) -> Values<T> {
    let mut bad = Vec::new();
    let vals = v
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            r.unwrap_or_else(|b| {
                bad.push((i, b));
                T::default()
            })
        })
        .collect();
    (vals, bad)
}

/// The rows of a chunked array that are null, ascending.
fn null_rows<T: polars::prelude::PolarsDataType>(
    ca: &polars::prelude::ChunkedArray<T>,
) -> Vec<usize> {
    if ca.null_count() == 0 {
        return Vec::new();
    }
    ca.is_null()
        .iter()
        .enumerate()
        .filter(|(_, v)| *v == Some(true))
        .map(|(i, _)| i)
        .collect()
}

/// Numbers of a numeric or text column, with the bad rows and their reasons.
fn numbers(name: &str, c: &Column, lenient: bool) -> Result<Values<f64>> {
    let dt = c.dtype();
    if dt.is_primitive_numeric() {
        let f = c.cast(&DataType::Float64)?;
        let ca = f.f64()?;
        let mut vals: Vec<f64> = Vec::with_capacity(ca.len());
        for arr in ca.downcast_iter() {
            vals.extend_from_slice(arr.values().as_slice());
        }
        let nulls = null_rows(ca);
        let mut bad: Vec<(usize, Bad)> = vals
            .par_iter()
            .enumerate()
            .filter(|(_, x)| !x.is_finite())
            .map(|(i, _)| (i, Bad::NotFinite))
            .collect();
        if !nulls.is_empty() {
            let null: std::collections::HashSet<usize> = nulls.iter().copied().collect();
            bad.retain(|(i, _)| !null.contains(i));
            bad.extend(nulls.iter().map(|&i| (i, Bad::Null)));
            bad.sort_by_key(|b| b.0);
            for &i in &nulls {
                vals[i] = 0.0;
            }
        }
        for &(i, _) in &bad {
            vals[i] = 0.0;
        }
        return Ok((vals, bad));
    }
    if matches!(dt, DataType::String) {
        let ca = c.str()?;
        let v: Vec<Option<&str>> = ca.iter().collect();
        let out: Vec<_> = v
            .par_chunks(1 << 15)
            .flat_map_iter(|chunk| {
                chunk.iter().map(|s| match s.map(str::trim) {
                    None | Some("") => Err(Bad::Null),
                    Some(t) => match t.parse::<f64>() {
                        Ok(x) if x.is_finite() => Ok(x),
                        Ok(_) => Err(Bad::NotFinite),
                        Err(_) => Err(Bad::NotANumber),
                    },
                })
            })
            .collect();
        let any_ok = out.iter().any(Result::is_ok);
        let any_value = out.iter().any(|r| !matches!(r, Err(Bad::Null)));
        if any_value && !any_ok && !lenient {
            return Err(no_number_error(name));
        }
        return Ok(split_bad(out));
    }
    Err(Error::WrongType {
        column: name.to_string(),
        found: dtype_name(c),
        expected: "a number (or text holding numbers)".into(),
    })
}

fn days(name: &str, c: &Column, format: &DateFormat, lenient: bool) -> Result<Values<i32>> {
    let with_nulls = |mut vals: Vec<i32>, nulls: Vec<usize>| {
        for &i in &nulls {
            vals[i] = 0;
        }
        (vals, nulls.into_iter().map(|i| (i, Bad::Null)).collect())
    };
    match c.dtype() {
        DataType::Date => {
            let ca = c.date()?.physical();
            let mut vals: Vec<i32> = Vec::with_capacity(ca.len());
            for arr in ca.downcast_iter() {
                vals.extend_from_slice(arr.values().as_slice());
            }
            Ok(with_nulls(vals, null_rows(ca)))
        }
        DataType::Datetime(tu, _) => {
            let per_day: i64 = match tu {
                PlTimeUnit::Nanoseconds => 86_400_000_000_000,
                PlTimeUnit::Microseconds => 86_400_000_000,
                PlTimeUnit::Milliseconds => 86_400_000,
            };
            let ca = c.datetime()?.physical();
            let chunks: Vec<&[i64]> = ca.downcast_iter().map(|a| a.values().as_slice()).collect();
            let lens: Vec<usize> = chunks.iter().map(|a| a.len()).collect();
            let vals = super::ids::map_rows(&chunks, &lens, |a, j| {
                i32::try_from(a[j].div_euclid(per_day)).unwrap_or(i32::MAX)
            });
            Ok(with_nulls(vals, null_rows(ca)))
        }
        dt if dt.is_integer() => {
            let i = c.cast(&DataType::Int64)?;
            Ok(split_bad(
                i.i64()?
                    .iter()
                    .map(|v| match v {
                        None => Err(Bad::Null),
                        Some(x) => parse_yyyymmdd(x).ok_or(Bad::UnparseableDate),
                    })
                    .collect(),
            ))
        }
        DataType::String => {
            let v: Vec<Option<&str>> = c.str()?.iter().collect();
            let out: Vec<_> = v
                .par_chunks(1 << 15)
                .flat_map_iter(|chunk| {
                    chunk.iter().map(|s| match s {
                        None => Err(Bad::Null),
                        Some(t) if t.trim().is_empty() => Err(Bad::Null),
                        Some(t) => parse_date(t, format).ok_or(Bad::UnparseableDate),
                    })
                })
                .collect();
            if !lenient
                && !out.iter().any(Result::is_ok)
                && out.iter().any(|r| matches!(r, Err(Bad::UnparseableDate)))
            {
                return Err(no_date_error(name, &text_of(c, 0), format));
            }
            Ok(split_bad(out))
        }
        _ => Err(Error::WrongType {
            column: name.to_string(),
            found: dtype_name(c),
            expected: "a date, a datetime, text dates or YYYYMMDD integers".into(),
        }),
    }
}

/// The error for a text column in which no value is a number.
pub(crate) fn no_number_error(name: &str) -> Error {
    Error::WrongType {
        column: name.to_string(),
        found: "text with no number in it".into(),
        expected: "numbers".into(),
    }
}

/// The error for a text date column in which no value parses (`first` is the value of
/// the first row).
pub(crate) fn no_date_error(name: &str, first: &str, format: &DateFormat) -> Error {
    let hint = match format {
        DateFormat::Auto => "ISO dates or datetimes, or YYYYMMDD; give a format".to_string(),
        DateFormat::Strftime(f) => format!("dates in the format `{f}`"),
    };
    Error::WrongType {
        column: name.to_string(),
        found: format!("text with no parseable date (first value: {first})"),
        expected: hint,
    }
}

fn flags(name: &str, c: &Column) -> Result<Vec<std::result::Result<bool, Bad>>> {
    match c.dtype() {
        DataType::Boolean => Ok(c.bool()?.iter().map(|v| Ok(v.unwrap_or(false))).collect()),
        dt if dt.is_integer() => {
            let i = c.cast(&DataType::Int64)?;
            Ok(i.i64()?
                .iter()
                .map(|v| Ok(v.is_some_and(|x| x != 0)))
                .collect())
        }
        DataType::String => Ok(c
            .str()?
            .iter()
            .map(|v| match v.map(|s| s.trim().to_ascii_lowercase()) {
                None => Ok(false),
                Some(s) => match s.as_str() {
                    "" | "false" | "f" | "0" | "no" | "n" => Ok(false),
                    "true" | "t" | "1" | "yes" | "y" | "r" | "return" | "returned" => Ok(true),
                    _ => Err(Bad::NotABoolean),
                },
            })
            .collect()),
        _ => Err(Error::WrongType {
            column: name.to_string(),
            found: dtype_name(c),
            expected: "a boolean, an integer or text (true/false, yes/no, 1/0)".into(),
        }),
    }
}

pub(crate) fn today() -> i32 {
    day_number(chrono::Utc::now().date_naive())
}

const R_ID: u8 = 1;
const R_DATE: u8 = 2;
const R_AMOUNT: u8 = 3;
const R_FACTOR: u8 = 4;
const R_QTY: u8 = 5;
const R_COST: u8 = 6;
const R_COST_FACTOR: u8 = 7;
const R_RETURN: u8 = 8;

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
    let rows: Vec<u64> = cols
        .row
        .cast(&DataType::UInt64)?
        .u64()?
        .iter()
        .map(|v| v.unwrap_or(0))
        .collect();
    let mut check = RowCheck::new(n);

    let (codes, first_pos) = super::ids::intern(&cols.id.0, &cols.id.1)?;
    for (i, &c) in codes.iter().enumerate() {
        if c == u32::MAX {
            check.mark(i, R_ID, RejectReason::Null);
        }
    }
    let mut facts = PartFacts {
        first_row: rows[0],
        first_date: text_of(&cols.date.1, 0),
        ..PartFacts::default()
    };
    let (day, bad) = days(&cols.date.0, &cols.date.1, &cols.date_format, lenient)?;
    if matches!(cols.date.1.dtype(), DataType::String) {
        facts.date_text = Some((
            bad.len() < n,
            bad.iter().any(|b| b.1 == Bad::UnparseableDate),
        ));
    }
    for (i, r) in bad {
        check.mark(i, R_DATE, r);
    }
    let mut take_numbers = |role: u8, col: &Option<(String, Column)>| -> Result<Option<Vec<f64>>> {
        let Some((name, c)) = col else {
            return Ok(None);
        };
        let (out, bad) = numbers(name, c, lenient)?;
        if matches!(c.dtype(), DataType::String) {
            let any_ok = bad.len() < n;
            let any_value = any_ok || bad.iter().any(|b| b.1 != Bad::Null);
            facts.number_text.push((name.clone(), any_ok, any_value));
        }
        for (i, r) in bad {
            check.mark(i, role, r);
        }
        Ok(Some(out))
    };
    let amount_col = Some(cols.amount.clone());
    let mut amount = take_numbers(R_AMOUNT, &amount_col)?.unwrap_or_default();
    let factor = take_numbers(R_FACTOR, &cols.amount_factor)?;
    let quantity = take_numbers(R_QTY, &cols.quantity)?;
    let mut cost = take_numbers(R_COST, &cols.cost)?;
    let cost_factor = take_numbers(R_COST_FACTOR, &cols.cost_factor)?;
    if let Some(f) = &factor {
        amount.iter_mut().zip(f).for_each(|(a, q)| *a *= q);
    }
    if let (Some(c), Some(f)) = (&mut cost, &cost_factor) {
        c.iter_mut().zip(f).for_each(|(a, q)| *a *= q);
    }
    // A row is a return when its amount (or quantity) is negative or its flag is set.
    // Returns carry a negative amount and a negative cost of goods (the goods come back);
    // quantities are kept as magnitudes.
    let mut is_return: Vec<bool> = amount.iter().map(|&a| a < 0.0).collect();
    if let Some(q) = &quantity {
        for (r, &x) in is_return.iter_mut().zip(q) {
            *r |= x < 0.0;
        }
    }
    // Returns marked only by the flag (neither amount nor quantity negative): the flag
    // column is the one to name when such a row is rejected as a return.
    let mut by_flag = vec![false; n];
    if let Some((name, c)) = &cols.return_flag {
        for (i, f) in flags(name, c)?.into_iter().enumerate() {
            match f {
                Ok(true) => {
                    by_flag[i] = !is_return[i];
                    is_return[i] = true;
                }
                Ok(false) => {}
                Err(r) => check.mark(i, R_RETURN, r),
            }
        }
    }
    for (i, &ret) in is_return.iter().enumerate() {
        if ret {
            amount[i] = -amount[i].abs();
            if let Some(c) = &mut cost {
                c[i] = -c[i].abs();
            }
        }
    }
    let quantity = quantity.map(|q| q.into_iter().map(f64::abs).collect::<Vec<f64>>());

    // Observation end: explicit, or the last valid date not after today.
    // (In a partition without a valid row, rows after today are the ones after the end:
    // the input's end is the last valid date not after today, so no valid row is
    // between it and today.)
    let explicit_end = opts.parsed_observation_end()?;
    let today = partition.unwrap_or_else(today);
    let last_valid = match explicit_end {
        Some(_) => None,
        None => (0..n)
            .filter(|&i| check.fail[i] == OK && day[i] <= today)
            .map(|i| day[i])
            .max(),
    };
    let observation_end = match (explicit_end, last_valid) {
        (Some(e), _) | (None, Some(e)) => e,
        (None, None) if lenient => today,
        (None, None) => {
            return Err(Error::EmptyTable {
                what: "no row has a valid customer id, date and amount".into(),
            });
        }
    };
    facts.observation_end = explicit_end.or(last_valid);
    for (i, &d) in day.iter().enumerate() {
        if check.fail[i] == OK && d > observation_end {
            let reason = if explicit_end.is_some() {
                RejectReason::AfterObservationEnd {
                    observation_end: date_of(observation_end).to_string(),
                }
            } else {
                RejectReason::InTheFuture {
                    today: date_of(today).to_string(),
                }
            };
            check.mark(i, R_DATE, reason);
        }
    }
    if opts.returns == ReturnPolicy::Exclude {
        for i in 0..n {
            if check.fail[i] == OK && is_return[i] {
                let role = if by_flag[i] { R_RETURN } else { R_AMOUNT };
                check.mark(i, role, RejectReason::ReturnExcluded);
            }
        }
    }

    // Group the valid rows by customer (counting sort, stable in row order), then sort
    // each customer's rows by day (stable, so ties stay in row order).
    let n_cust = first_pos.len();
    let mut counts = vec![0usize; n_cust + 1];
    for i in 0..n {
        if check.fail[i] == OK {
            counts[codes[i] as usize + 1] += 1;
        }
    }
    for c in 0..n_cust {
        counts[c + 1] += counts[c];
    }
    let mut order = vec![0u32; counts[n_cust]];
    let mut next = counts.clone();
    for (i, &code) in codes.iter().enumerate() {
        if check.fail[i] == OK {
            let c = code as usize;
            order[next[c]] = i as u32;
            next[c] += 1;
        }
    }
    {
        let mut slices: Vec<&mut [u32]> = Vec::with_capacity(n_cust);
        let mut rest: &mut [u32] = &mut order;
        for c in 0..n_cust {
            let (head, tail) = rest.split_at_mut(counts[c + 1] - counts[c]);
            slices.push(head);
            rest = tail;
        }
        slices
            .par_iter_mut()
            .for_each(|s| s.sort_by_key(|&i| day[i as usize]));
    }

    // Duplicates and returns, per customer.
    let fingerprints = Fingerprints {
        stamp: KeyCol::new(&cols.date.1)?,
        extra: cols
            .extra_keys
            .iter()
            .map(KeyCol::new)
            .collect::<Result<_>>()?,
        amount: &amount,
        cost: cost.as_deref(),
        quantity: quantity.as_deref(),
        is_return: &is_return,
    };
    let mut group_fp: Vec<u64> = Vec::new();
    let mut keep = vec![true; order.len()];
    let mut duplicates_kept = Vec::new();
    for c in 0..n_cust {
        let (lo, hi) = (counts[c], counts[c + 1]);
        let mut a = lo;
        while a < hi {
            let d = day[order[a] as usize];
            let mut b = a;
            while b < hi && day[order[b] as usize] == d {
                b += 1;
            }
            if b - a > 1 {
                group_fp.clear();
                group_fp.extend((a..b).map(|j| fingerprints.of(order[j] as usize)));
            }
            for j in a + 1..b {
                let rj = order[j] as usize;
                if let Some(k) = (a..j).find(|&k| keep[k] && group_fp[k - a] == group_fp[j - a]) {
                    let first_row = rows[order[k] as usize];
                    match opts.duplicates {
                        DuplicatePolicy::Keep => {
                            duplicates_kept.push(DuplicateRow {
                                row: rows[rj],
                                first_row,
                            });
                            facts.duplicate_keys.push(rows[first_pos[c]]);
                        }
                        DuplicatePolicy::Drop => {
                            keep[j] = false;
                            check.mark(rj, R_ID, RejectReason::Duplicate { first_row });
                        }
                    }
                }
            }
            a = b;
        }
        let first_purchase = (lo..hi)
            .filter(|&j| keep[j] && !is_return[order[j] as usize])
            .map(|j| day[order[j] as usize])
            .next();
        for j in lo..hi {
            let i = order[j] as usize;
            if keep[j] && is_return[i] && first_purchase.is_none_or(|f| day[i] < f) {
                keep[j] = false;
                let role = if by_flag[i] { R_RETURN } else { R_AMOUNT };
                check.mark(i, role, RejectReason::ReturnBeforeAnyPurchase);
            }
        }
    }

    // Assemble the used rows.
    let mut out_offsets = Vec::with_capacity(n_cust + 1);
    out_offsets.push(0usize);
    let mut kept_first = Vec::with_capacity(n_cust);
    let used: Vec<u32> = {
        let mut v = Vec::with_capacity(order.len());
        for c in 0..n_cust {
            let before = v.len();
            for j in counts[c]..counts[c + 1] {
                if keep[j] {
                    v.push(order[j]);
                }
            }
            if v.len() > before {
                kept_first.push(first_pos[c] as IdxSize);
                out_offsets.push(v.len());
            }
        }
        v
    };
    let idx = polars::prelude::IdxCa::from_vec("".into(), kept_first);
    let ids = cols.id.1.as_materialized_series().take(&idx)?;

    let role_column = |role: u8| -> &str {
        match role {
            R_ID => &cols.id.0,
            R_DATE => &cols.date.0,
            R_AMOUNT => &cols.amount.0,
            R_FACTOR => cols.amount_factor.as_ref().map_or("", |c| c.0.as_str()),
            R_QTY => cols.quantity.as_ref().map_or("", |c| c.0.as_str()),
            R_COST => cols.cost.as_ref().map_or("", |c| c.0.as_str()),
            R_COST_FACTOR => cols.cost_factor.as_ref().map_or("", |c| c.0.as_str()),
            _ => cols.return_flag.as_ref().map_or("", |c| c.0.as_str()),
        }
    };
    let role_values = |role: u8| -> &Column {
        match role {
            R_ID => &cols.id.1,
            R_DATE => &cols.date.1,
            R_AMOUNT => &cols.amount.1,
            R_FACTOR => cols.amount_factor.as_ref().map_or(&cols.amount.1, |c| &c.1),
            R_QTY => cols.quantity.as_ref().map_or(&cols.amount.1, |c| &c.1),
            R_COST => cols.cost.as_ref().map_or(&cols.amount.1, |c| &c.1),
            R_COST_FACTOR => cols.cost_factor.as_ref().map_or(&cols.amount.1, |c| &c.1),
            _ => cols.return_flag.as_ref().map_or(&cols.amount.1, |c| &c.1),
        }
    };
    let mut rejects: Vec<Reject> = check
        .reasons
        .iter()
        .map(|(i, reason)| {
            let role = check.fail[*i];
            Reject {
                row: rows[*i],
                column: role_column(role).to_string(),
                reason: reason.clone(),
                value: text_of(role_values(role), *i),
            }
        })
        .collect();
    rejects.sort_by_key(|r| r.row);
    if opts.strict && !lenient {
        if let Some(r) = rejects.first() {
            return Err(Error::BadRow {
                row: r.row,
                column: r.column.clone(),
                reason: r.reason.to_string(),
                value: r.value.clone(),
            });
        }
    }
    if used.is_empty() && !lenient {
        return Err(Error::EmptyTable {
            what: format!(
                "all {n} rows were rejected (first: row {}, column `{}`: {})",
                rejects[0].row, rejects[0].column, rejects[0].reason
            ),
        });
    }
    // Per input row: the order key hash and the channel (numbered in order of first
    // appearance in the input; renumbered below in order of first use).
    let order_hash: Option<Vec<u64>> = cols
        .order_id
        .as_ref()
        .map(|c| KeyCol::new(c).map(|k| k.hash_all()))
        .transpose()?;
    let channel_raw: Option<(Vec<u32>, Vec<String>)> = match &cols.channel {
        Some(c) => {
            let text = c.cast(&DataType::String)?;
            Some(super::ids::intern_few(text.str()?, "(none)"))
        }
        None => None,
    };
    // The used rows in customer order. The gathers read the input at random, so every
    // value a used row needs is first packed into one record per input row: one random
    // read per used row instead of one per column.
    let packed: Vec<Packed> = (0..n)
        .into_par_iter()
        .map(|i| Packed {
            amount: amount[i],
            cost: cost.as_ref().map_or(0.0, |c| c[i]),
            quantity: quantity.as_ref().map_or(0.0, |q| q[i]),
            order: order_hash.as_ref().map_or(0, |o| o[i]),
            day: day[i],
            tag: (channel_raw.as_ref().map_or(0, |c| c.0[i]) << 1) | u32::from(is_return[i]),
        })
        .collect();
    let (has_cost, has_quantity) = (cost.is_some(), quantity.is_some());
    drop((amount, cost, quantity, order_hash, day, is_return));
    let picked: Vec<Packed> = used.par_iter().map(|&i| packed[i as usize]).collect();
    drop(packed);
    // Row numbers are usually the row index plus one (a fresh scan): then no gather.
    let row: Vec<u64> = if rows.par_iter().enumerate().all(|(i, &r)| r == i as u64 + 1) {
        used.par_iter().map(|&i| u64::from(i) + 1).collect()
    } else {
        used.par_iter().map(|&i| rows[i as usize]).collect()
    };
    let day: Vec<i32> = picked.par_iter().map(|p| p.day).collect();
    let amount: Vec<f64> = picked.par_iter().map(|p| p.amount).collect();
    let cost = has_cost.then(|| picked.par_iter().map(|p| p.cost).collect());
    let quantity = has_quantity.then(|| picked.par_iter().map(|p| p.quantity).collect());
    let is_return: Vec<bool> = picked.par_iter().map(|p| p.tag & 1 == 1).collect();
    let order = cols
        .order_id
        .is_some()
        .then(|| picked.par_iter().map(|p| p.order).collect());
    // Channels renumbered in order of first use (customer order), as the names are listed.
    let channel = channel_raw.map(|(_, raw_names)| {
        let mut renumber = vec![u32::MAX; raw_names.len()];
        let mut names: Vec<String> = Vec::new();
        let idx: Vec<u32> = picked
            .iter()
            .map(|p| {
                let raw = (p.tag >> 1) as usize;
                if renumber[raw] == u32::MAX {
                    renumber[raw] = names.len() as u32;
                    names.push(raw_names[raw].clone());
                }
                renumber[raw]
            })
            .collect();
        (idx, names)
    });
    drop(picked);
    let returns_used = is_return.iter().filter(|&&r| r).count() as u64;
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
            order,
            channel,
            day,
            amount,
            cost,
            quantity,
            is_return,
            row,
            offsets: out_offsets,
            ids,
            observation_end,
            report,
        },
        facts,
    ))
}

/// The values of one input row a used row carries (gathered in one read).
#[derive(Debug, Clone, Copy)]
struct Packed {
    amount: f64,
    cost: f64,
    quantity: f64,
    order: u64,
    day: i32,
    /// Channel (raw number) shifted left once, and the return flag in the low bit.
    tag: u32,
}

/// One key column of the duplicate check, in a form that hashes without formatting.
enum KeyCol {
    Text(polars::prelude::StringChunked),
    Int(polars::prelude::Int64Chunked),
    Float(polars::prelude::Float64Chunked),
}

impl KeyCol {
    /// Wraps a column without copying its values where its type allows (a chunked
    /// array's `get` finds the chunk; only rows in shared (customer, day) groups are read).
    fn new(c: &Column) -> Result<Self> {
        let dt = c.dtype();
        Ok(if matches!(dt, DataType::String) {
            KeyCol::Text(c.str()?.clone())
        } else if dt.is_float() {
            KeyCol::Float(c.cast(&DataType::Float64)?.f64()?.clone())
        } else if dt.is_integer() || dt.is_temporal() || dt.is_bool() {
            let p = c.to_physical_repr().cast(&DataType::Int64)?;
            KeyCol::Int(p.i64()?.clone())
        } else {
            KeyCol::Text(c.cast(&DataType::String)?.str()?.clone())
        })
    }

    /// The hash of every row, in row order (as [`KeyCol::hash_row`] with a fresh hasher).
    fn hash_all(&self) -> Vec<u64> {
        fn one<T: Hash>(v: T) -> u64 {
            FixedState::default().hash_one(v)
        }
        use polars::prelude::StaticArray;
        match self {
            KeyCol::Text(ca) => {
                let c: Vec<_> = ca.downcast_iter().collect();
                super::ids::map_rows(&c, &ca.chunk_lengths().collect::<Vec<_>>(), |a, j| {
                    one(a.get(j))
                })
            }
            KeyCol::Int(ca) => {
                let c: Vec<_> = ca.downcast_iter().collect();
                super::ids::map_rows(&c, &ca.chunk_lengths().collect::<Vec<_>>(), |a, j| {
                    one(a.get(j))
                })
            }
            KeyCol::Float(ca) => {
                let c: Vec<_> = ca.downcast_iter().collect();
                super::ids::map_rows(&c, &ca.chunk_lengths().collect::<Vec<_>>(), |a, j| {
                    one(a.get(j).map(f64::to_bits))
                })
            }
        }
    }

    fn hash_row(&self, i: usize, h: &mut impl Hasher) {
        match self {
            KeyCol::Text(ca) => ca.get(i).hash(h),
            KeyCol::Int(ca) => ca.get(i).hash(h),
            KeyCol::Float(ca) => ca.get(i).map(f64::to_bits).hash(h),
        }
    }
}

/// Hashes everything a row says besides its customer and day (the raw timestamp, the
/// values, order id and channel), for the duplicate check. Only rows that share a
/// customer and a day with another row are ever hashed.
struct Fingerprints<'a> {
    stamp: KeyCol,
    extra: Vec<KeyCol>,
    amount: &'a [f64],
    cost: Option<&'a [f64]>,
    quantity: Option<&'a [f64]>,
    is_return: &'a [bool],
}

impl Fingerprints<'_> {
    fn of(&self, i: usize) -> u64 {
        let mut h = FixedState::default().build_hasher();
        self.stamp.hash_row(i, &mut h);
        self.amount[i].to_bits().hash(&mut h);
        self.cost.map(|c| c[i].to_bits()).hash(&mut h);
        self.quantity.map(|q| q[i].to_bits()).hash(&mut h);
        self.is_return[i].hash(&mut h);
        for e in &self.extra {
            e.hash_row(i, &mut h);
        }
        h.finish()
    }
}
