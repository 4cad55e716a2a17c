//! `patronage cohorts`: cleans the transactions and writes the acquisition-cohort table
//! (retention and revenue by month or ISO week since acquisition), with the number of
//! cohorts and customers on stderr.

use std::path::PathBuf;

use patronage::prelude::CohortPeriod;

use crate::args::{InputArgs, TimeArgs};
use crate::input::{load, summary_options};
use crate::print::emit;

pub(crate) fn run_cohorts(
    input: &InputArgs,
    time: &TimeArgs,
    cohort: &str,
    output: Option<&PathBuf>,
) -> patronage::Result<()> {
    let period: CohortPeriod = cohort.parse()?;
    let options = summary_options(input, time)?;
    let engine = input.engine.apply(patronage::engine::Engine::Memory)?;
    let (table, _) =
        patronage::stages::summary::summary_on(&load(input)?, &options, Some(period), &engine)?;
    let c = patronage::stages::cohorts::cohorts(&table)?;
    eprintln!(
        "patronage: {} cohorts of {} customers",
        c.labels.len(),
        c.sizes.iter().sum::<usize>()
    );
    emit(c.frame()?, output)
}
