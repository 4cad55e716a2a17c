//! `patronage cohorts`: cleans the transactions and writes the acquisition-cohort table
//! (retention and revenue by month or ISO week since acquisition), with the number of
//! cohorts and customers on stderr.

use std::path::PathBuf;

use crate::args::{InputArgs, TimeArgs};
use crate::input::{load, summary_options};
use crate::print::emit;

pub(crate) fn run_cohorts(
    input: &InputArgs,
    time: &TimeArgs,
    cohort: &str,
    output: Option<&PathBuf>,
) -> patronage::Result<()> {
    use patronage::cohort::{CohortPeriod, cohorts};
    let period: CohortPeriod = cohort.parse()?;
    let options = summary_options(input, time)?;
    let clean = load(input)?.clean(&options)?;
    let c = cohorts(&clean, period)?;
    eprintln!(
        "patronage: {} cohorts of {} customers",
        c.labels.len(),
        c.sizes.iter().sum::<usize>()
    );
    emit(c.frame()?, output)
}
