//! Phase 2 on a summary written as part files ([`SummaryParts`]): each stage reads the
//! parts one at a time, gathers only what the whole table decides (the models'
//! compressed data, the score cuts), and writes its own table as part files in the same
//! order, so the customers are never held at once. Read in order, a stage's part files
//! are its gathered table row for row.
//!
//! | stage | method | gathered twin |
//! |---|---|---|
//! | CLV | [`SummaryParts::clv`] → [`ClvParts`] | [`clv_table_on`](crate::stages::clv::clv_table_on) |
//! | RFM | [`SummaryParts::rfm`] → [`RfmParts`] | [`Summary::rfm`](crate::transactions::summary::Summary::rfm) |
//! | segmentation | [`SummaryParts::segment`] → [`SegmentParts`] | [`segment`](crate::stages::segment::segment) |
//! | profitability | [`TableParts::profitability`] → [`ProfitabilityParts`] | [`analyse_customers`](crate::stages::profitability::analyse_customers) |
//!
//! [`SummaryParts`]: crate::engine::SummaryParts
//! [`SummaryParts::clv`]: crate::engine::SummaryParts::clv
//! [`SummaryParts::rfm`]: crate::engine::SummaryParts::rfm
//! [`SummaryParts::segment`]: crate::engine::SummaryParts::segment
//! [`TableParts::profitability`]: crate::engine::TableParts::profitability
//!
//! The profitability stage reads the whole customer table's parts
//! ([`customer_table_parts`](crate::engine::customer_table_parts)): it prices the
//! activity counts that summary parts do not hold.
//!
//! The segmentation and the profitability stages gather a few columns of numbers (not
//! the rows): the clustering's scalers, Lloyd iterations and profiles, and the matrix's
//! thresholds, bands, whale curve and pyramid are whole-column figures.

mod clv;
mod profitability;
mod rfm;
mod segment;

use std::path::Path;

use crate::error::Error;

pub use clv::ClvParts;
pub use profitability::ProfitabilityParts;
pub use rfm::RfmParts;
pub use segment::SegmentParts;

/// The error for parts that changed between a stage's gathering and writing passes.
fn changed(dir: &Path) -> Error {
    Error::Parse {
        what: dir.display().to_string(),
        reason: "the files changed while they were read: the writing pass found another number of customers than the first pass".into(),
    }
}
