//! Input and output: the column mapping, readers to lazy frames, writers, and (feature
//! `arrow`) arrow-rs record batches in and out.

#[cfg(feature = "arrow")]
pub mod arrow;
mod columnar;
pub mod read;
pub mod schema;
mod text;
pub mod write;

pub use read::{CsvOptions, InputFormat, read_table};
pub use schema::{AmountSource, CostSource, ResolvedSchema, TransactionSchema};
pub use write::{write_csv_to, write_frame};
