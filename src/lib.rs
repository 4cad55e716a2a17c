#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod clv;
pub mod cohort;
pub mod error;
pub mod io;
pub mod pipeline;
pub mod prelude;
pub mod profitability;
pub mod report;
pub mod rfm;
pub mod segmentation;
pub mod simulate;
pub mod stages;
mod stats;
pub mod targeting;
pub mod transactions;

pub use error::{Error, Result};

/// The polars this crate's frames come from (version 0.55), so that users call
/// `patronage::polars::prelude::*` instead of matching the version in their own
/// `Cargo.toml`.
///
/// ```
/// use patronage::polars::prelude::*;
/// let df = df!("customer_id" => ["a"], "frequency" => [2.0])?;
/// assert_eq!(df.height(), 1);
/// # Ok::<(), PolarsError>(())
/// ```
pub use polars;
