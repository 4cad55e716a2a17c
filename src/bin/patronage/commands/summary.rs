//! `patronage summary`: the per-customer summary (frequency, recency, T, monetary value,
//! spend and dates; calibration/holdout columns with `--calibration-end`), computed one
//! customer-id partition at a time when asked or when the input is large, and written as
//! a table, or with `--part-files` as Parquet part files written block by block.

use std::path::PathBuf;

use crate::args::{InputArgs, TimeArgs};
use crate::input::{summarise_partitioned, summarise_to_parts};
use crate::print::emit;

pub(crate) fn run_summary(
    input: &InputArgs,
    time: &TimeArgs,
    output: Option<&PathBuf>,
    partitions: Option<usize>,
    part_files: bool,
) -> patronage::Result<()> {
    match (part_files, output) {
        // clap requires --output with --part-files.
        (true, Some(dir)) => summarise_to_parts(input, time, dir),
        _ => {
            let summary = summarise_partitioned(input, time, partitions)?;
            emit(summary.into_frame(), output)
        }
    }
}
