//! The subcommands, one module each: every module holds its command's `run_*` function
//! (called by `run` in `main.rs` with the parsed options) and that command's private
//! helpers. The shared input and output plumbing lives in `crate::input` and
//! `crate::print`.

pub(crate) mod clv;
pub(crate) mod cohorts;
pub(crate) mod compare;
pub(crate) mod fit;
pub(crate) mod profitability;
pub(crate) mod report;
pub(crate) mod rfm;
pub(crate) mod sbg;
pub(crate) mod segment;
pub(crate) mod simulate;
pub(crate) mod summary;
pub(crate) mod target;
pub(crate) mod whatif;
