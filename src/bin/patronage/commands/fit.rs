//! `patronage fit`: fits one purchase or spend model by maximum likelihood, on the
//! transactions' summary or on a ready per-customer table (`--summary`), optionally saves
//! it as JSON, and prints the coefficients (with the calibration/holdout check when
//! `--calibration-end` is given) as text or JSON.

use std::path::PathBuf;

use patronage::stages::fit::{ModelKind, fit_summary, fit_table};

use crate::args::{FitArgs, InputArgs, TimeArgs};
use crate::input::summarise;
use crate::print::{print_fit, to_json_text};

pub(crate) fn run_fit(
    model: &str,
    input: &InputArgs,
    time: &TimeArgs,
    summary: bool,
    fit: &FitArgs,
    json: bool,
    save_model: Option<&PathBuf>,
) -> patronage::Result<()> {
    let kind: ModelKind = model.parse()?;
    let opts = fit.options();
    let out = if summary {
        fit_table(kind, &patronage::io::read_table(&input.input)?, &opts)?
    } else {
        fit_summary(kind, &summarise(input, time)?, &opts)?
    };
    if let Some(path) = save_model {
        std::fs::write(path, out.model.to_json()?).map_err(|source| patronage::Error::Io {
            path: path.clone(),
            source,
        })?;
    }
    if json {
        println!("{}", to_json_text(&out.to_json())?);
    } else {
        print_fit(&out);
    }
    Ok(())
}
