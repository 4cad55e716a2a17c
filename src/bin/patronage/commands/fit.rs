//! `patronage fit`: fits one purchase or spend model by maximum likelihood (or, as
//! `fit compare`, the three purchase models side by side: `commands::compare`), on the
//! transactions' summary or on a ready per-customer table (`--summary`), optionally saves
//! it as JSON, and prints the coefficients (with the calibration/holdout check when
//! `--calibration-end` is given) as text or JSON.

use std::path::PathBuf;

use patronage::stages::compare::ModelChoice;
use patronage::stages::covariates::fit_covariates;
use patronage::stages::fit::{fit_summary, fit_table};

use crate::args::{CovariateArgs, FitArgs, InputArgs, NO_INPUT, TimeArgs};
use crate::commands::sbg::{SbgSource, run_fit_sbg};
use crate::input::summarise;
use crate::print::{print_covariate_fit, print_fit, save_model as save_model_file, to_json_text};

#[allow(clippy::too_many_arguments)] // one per command-line option
pub(crate) fn run_fit(
    model: &str,
    input: &InputArgs,
    (survival, cohort): (Option<&PathBuf>, Option<&str>),
    time: &TimeArgs,
    summary: bool,
    fit: &FitArgs,
    covariates: &CovariateArgs,
    json: bool,
    save_model: Option<&PathBuf>,
) -> patronage::Result<()> {
    if covariates.covariates.is_some() || !covariates.derived_covariates.is_empty() {
        if summary || save_model.is_some() || survival.is_some() {
            return Err(usage(
                "covariates",
                "--covariates and --derived-covariates fit on transactions and print the fit: not with --summary, --survival or --save-model".into(),
            ));
        }
        let kind = model.parse::<ModelChoice>()?.fixed("model")?;
        // The table and the derived covariates' names are checked before the log is read.
        let settings = covariates.settings()?.ok_or_else(|| {
            usage(
                "covariates",
                "give --covariates FILE or --derived-covariates".into(),
            )
        })?;
        let summary = summarise(input, time, &settings.roles())?;
        let table = settings.resolve(&summary)?;
        let out = fit_covariates(kind, &summary, &table, &fit.options())?;
        if json {
            println!("{}", to_json_text(&out.to_json())?);
            crate::print::note_unestimable(&out);
        } else {
            print_covariate_fit(&out);
        }
        return Ok(());
    }
    // sBG fits a survival table, or the acquisition cohorts of a subscription log.
    if model.eq_ignore_ascii_case("sbg") {
        let has_input = input.input.as_os_str() != NO_INPUT;
        return match (survival, has_input, summary) {
            (Some(path), false, false) if cohort.is_none() => {
                run_fit_sbg(SbgSource::Table(path), fit, json, save_model)
            }
            (None, true, false) => {
                let period = cohort.unwrap_or("month").parse()?;
                run_fit_sbg(SbgSource::Log(input, time, period), fit, json, save_model)
            }
            _ => Err(usage(
                "survival",
                "sbg fits a survival table (--survival FILE) or a subscription log (INPUT [--cohort month|week]): give one of them, without --summary".into(),
            )),
        };
    }
    if survival.is_some() || cohort.is_some() {
        let option = if survival.is_some() {
            "survival"
        } else {
            "cohort"
        };
        return Err(usage(
            option,
            format!("--{option} is for the sbg model, not {model}"),
        ));
    }
    if model.eq_ignore_ascii_case("compare") {
        return crate::commands::compare::run_compare(input, time, summary, fit, json, save_model);
    }
    let kind = model.parse::<ModelChoice>()?.fixed("model")?;
    let opts = fit.options();
    let out = if summary {
        fit_table(kind, &patronage::io::read_table(&input.input)?, &opts)?
    } else {
        fit_summary(kind, &summarise(input, time, &[])?, &opts)?
    };
    if let Some(path) = save_model {
        save_model_file(path, out.model.to_json()?)?;
    }
    if json {
        println!("{}", to_json_text(&out.to_json())?);
    } else {
        print_fit(&out);
    }
    Ok(())
}

fn usage(option: &str, reason: String) -> patronage::Error {
    patronage::Error::InvalidOption {
        option: option.into(),
        reason,
    }
}
