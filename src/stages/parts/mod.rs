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
//!
//! [`SummaryParts`]: crate::engine::SummaryParts
//! [`SummaryParts::clv`]: crate::engine::SummaryParts::clv
//! [`SummaryParts::rfm`]: crate::engine::SummaryParts::rfm
//! [`SummaryParts::segment`]: crate::engine::SummaryParts::segment
//!
//! The segmentation is the one stage that gathers a column per feature: its scalers,
//! Lloyd iterations and profiles are whole-column figures ([`SummaryParts::segment`]).

mod clv;
mod rfm;
mod segment;

pub use clv::ClvParts;
pub use rfm::RfmParts;
pub use segment::SegmentParts;
