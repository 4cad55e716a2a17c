//! `patronage fit`: fits one purchase or spend model by maximum likelihood (or, as
//! `fit compare`, the three purchase models side by side: `commands::compare`), on the
//! transactions' summary or on a ready per-customer table (`--summary`), optionally saves
//! it as JSON, and prints the coefficients (with the calibration/holdout check when
//! `--calibration-end` is given) as text or JSON.

use std::path::PathBuf;

use patronage::stages::compare::ModelChoice;
use patronage::stages::fit::{fit_summary, fit_table};

use crate::args::{FitArgs, InputArgs, TimeArgs};
use crate::input::summarise;
use crate::print::{print_fit, to_json_text, write_model};

pub(crate) fn run_fit(
    model: &str,
    input: &InputArgs,
    time: &TimeArgs,
    summary: bool,
    fit: &FitArgs,
    json: bool,
    save_model: Option<&PathBuf>,
) -> patronage::Result<()> {
    if model.eq_ignore_ascii_case("compare") {
        return crate::commands::compare::run_compare(input, time, summary, fit, json, save_model);
    }
    let kind = model.parse::<ModelChoice>()?.fixed("model")?;
    let opts = fit.options();
    let out = if summary {
        fit_table(kind, &patronage::io::read_table(&input.input)?, &opts)?
    } else {
        fit_summary(kind, &summarise(input, time)?, &opts)?
    };
    if let Some(path) = save_model {
        write_model(path, &out.model)?;
    }
    if json {
        println!("{}", to_json_text(&out.to_json())?);
    } else {
        print_fit(&out);
    }
    Ok(())
}
