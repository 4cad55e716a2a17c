#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

// Without the `frames` feature the crate is the customer-level models on slices (clv,
// segmentation, the profitability math) and builds no polars; the modules below the
// gate work on frames by nature (issue #13).
pub mod clv;
pub mod error;
pub mod prelude;
pub mod profitability;
pub mod segmentation;
mod stats;

#[cfg(feature = "frames")]
pub mod cohort;
#[cfg(feature = "frames")]
pub mod engine;
#[cfg(feature = "frames")]
pub mod io;
#[cfg(feature = "frames")]
pub mod pipeline;
#[cfg(feature = "frames")]
pub mod report;
#[cfg(feature = "frames")]
pub mod rfm;
#[cfg(feature = "frames")]
pub mod simulate;
#[cfg(feature = "frames")]
pub mod stages;
#[cfg(feature = "frames")]
pub mod targeting;
#[cfg(feature = "frames")]
pub mod transactions;

pub use error::{Error, Result};

/// The polars this crate's frames come from (version 0.55; feature `frames`), so that
/// users call `patronage::polars::prelude::*` instead of matching the version in their
/// own `Cargo.toml`.
///
/// ```
/// use patronage::polars::prelude::*;
/// let df = df!("customer_id" => ["a"], "frequency" => [2.0])?;
/// assert_eq!(df.height(), 1);
/// # Ok::<(), PolarsError>(())
/// ```
#[cfg(feature = "frames")]
pub use polars;
