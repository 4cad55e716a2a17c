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
