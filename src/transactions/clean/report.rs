//! What cleaning reports: why a row was not used, the rejected rows, the duplicates
//! kept, and the counts of the whole run.

use serde::Serialize;

use crate::error::Result;

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
    /// An exact copy of an earlier row, dropped by [`DuplicatePolicy::Drop`](crate::transactions::options::DuplicatePolicy::Drop).
    Duplicate {
        /// The row it copies.
        first_row: u64,
    },
    /// A return, left out by [`ReturnPolicy::Exclude`](crate::transactions::options::ReturnPolicy::Exclude).
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

impl Reject {
    /// The error a strict run stops with at this row.
    pub(crate) fn to_error(&self) -> crate::error::Error {
        crate::error::Error::BadRow {
            row: self.row,
            column: self.column.clone(),
            reason: self.reason.to_string(),
            value: self.value.clone(),
        }
    }
}

/// A duplicate row that was kept ([`DuplicatePolicy::Keep`](crate::transactions::options::DuplicatePolicy::Keep)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DuplicateRow {
    /// The duplicate.
    pub row: u64,
    /// The earlier row it copies.
    pub first_row: u64,
}

/// What cleaning did to the input.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
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
