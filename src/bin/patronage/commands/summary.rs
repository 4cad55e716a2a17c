//! `patronage summary`: the per-customer summary (frequency, recency, T, monetary value,
//! spend and dates; calibration/holdout columns with `--calibration-end`), computed one
//! customer-id partition at a time when asked or when the input is large, and written as
//! a table.

use std::path::PathBuf;

use crate::args::{InputArgs, TimeArgs};
use crate::input::summarise_partitioned;
use crate::print::emit;

pub(crate) fn run_summary(
    input: &InputArgs,
    time: &TimeArgs,
    output: Option<&PathBuf>,
    partitions: Option<usize>,
) -> patronage::Result<()> {
    let summary = summarise_partitioned(input, time, partitions)?;
    emit(summary.into_frame(), output)
}
