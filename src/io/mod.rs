//! Input and output: the column mapping, readers to lazy frames, writers, (feature
//! `arrow`) arrow-rs record batches in and out, and the frame helpers every layer reads
//! its columns with (`frame`).

#[cfg(feature = "arrow")]
pub mod arrow;
mod columnar;
pub mod dataset;
pub(crate) mod frame;
pub mod read;
pub mod schema;
pub(crate) mod text;
pub mod write;

pub use read::{CsvOptions, InputFormat, read_table};
pub use schema::{AmountSource, CostSource, OptionalRole, ResolvedSchema, TransactionSchema};
pub use write::{write_csv_to, write_frame};
