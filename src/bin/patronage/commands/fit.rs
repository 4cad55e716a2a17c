//! `patronage fit`: fits one purchase or spend model by maximum likelihood (or, as
//! `fit compare`, the three purchase models side by side: `commands::compare`), on the
//! transactions' summary or on a ready per-customer table (`--summary`), optionally saves
//! it as JSON, and prints the coefficients (with the calibration/holdout check when
//! `--calibration-end` is given) as text or JSON.

use std::path::PathBuf;

use patronage::clv::interval::{IntervalOptions, profile_threshold};
use patronage::stages::churn::Discounting;
use patronage::stages::compare::ModelChoice;
use patronage::stages::covariates::fit_covariates;
use patronage::stages::fit::{fit_summary, fit_table};
use patronage::stages::interval::bgbb_interval_table;
use patronage::stages::profile::{profile_summary, profile_table};

use crate::args::{CovariateArgs, FitArgs, InputArgs, IntervalArgs, NO_INPUT, SbgArgs, TimeArgs};
use crate::commands::sbg::{SbgSource, run_fit_sbg};
use crate::input::summarise;
use crate::print::{
    emit, failed_refits, print_covariate_fit, print_fit, print_profile,
    save_model as save_model_file, to_json_text,
};

#[allow(clippy::too_many_arguments)] // one per command-line option
pub(crate) fn run_fit(
    model: &str,
    input: &InputArgs,
    sbg: &SbgArgs,
    time: &TimeArgs,
    summary: bool,
    fit: &FitArgs,
    covariates: &CovariateArgs,
    json: bool,
    save_model: Option<&PathBuf>,
    (interval, profile, horizon, output): (&IntervalArgs, bool, f64, Option<&PathBuf>),
) -> patronage::Result<()> {
    let (survival, cohort) = (sbg.survival.as_ref(), sbg.cohort.as_deref());
    // --profile gives the parameters' intervals with the fit (clap makes it need
    // --interval); without it --interval means bg-bb's per-customer scores.
    let profile_level = interval.interval.filter(|_| profile);
    if let Some(level) = profile_level {
        // A bad level is refused before the data are read.
        profile_threshold(level)?;
        let with_covariates =
            covariates.covariates.is_some() || !covariates.derived_covariates.is_empty();
        if with_covariates
            || model.eq_ignore_ascii_case("sbg")
            || model.eq_ignore_ascii_case("compare")
        {
            return Err(usage(
                "profile",
                format!(
                    "--profile gives the parameters of one plain model (bg-nbd, mbg-nbd, pareto-nbd, bg-bb, gamma-gamma): not {model}{}",
                    if with_covariates {
                        " with covariates"
                    } else {
                        ""
                    }
                ),
            ));
        }
    }
    if let Some(options) = interval.options().filter(|_| !profile) {
        let with_covariates =
            covariates.covariates.is_some() || !covariates.derived_covariates.is_empty();
        let with_sbg = survival.is_some()
            || cohort.is_some()
            || sbg.annual_discount_rate.is_some()
            || sbg.periods_per_year.is_some()
            || sbg.payment_per_period.is_some();
        if with_sbg || with_covariates {
            return Err(usage(
                "interval",
                "fit bg-bb --interval scores the customers of a transaction log: not with the sbg options (--survival, --cohort, --annual-discount-rate, --periods-per-year) or covariates".into(),
            ));
        }
        return run_bgbb_intervals(
            model,
            input,
            time,
            (summary, save_model.is_some()),
            fit,
            (&options, horizon, output),
            json,
        );
    }
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
        let rate = sbg.annual_discount_rate.unwrap_or(0.1);
        return match (survival, has_input, summary) {
            (Some(path), false, false) if cohort.is_none() => {
                let discounting = Discounting::new(rate, sbg.periods_per_year.unwrap_or(1.0))?;
                run_fit_sbg(
                    SbgSource::Table(path),
                    fit,
                    (discounting, sbg.payment_per_period),
                    json,
                    save_model,
                )
            }
            (None, true, false) => {
                if sbg.periods_per_year.is_some() {
                    return Err(usage(
                        "periods_per_year",
                        "--periods-per-year is for a survival table (--survival); a log's --cohort sets it (12 for month, 365.25/7 for week)".into(),
                    ));
                }
                let period = cohort.unwrap_or("month").parse()?;
                let discounting = Discounting::of_cohorts(rate, period)?;
                run_fit_sbg(
                    SbgSource::Log(input, time, period),
                    fit,
                    (discounting, sbg.payment_per_period),
                    json,
                    save_model,
                )
            }
            _ => Err(usage(
                "survival",
                "sbg fits a survival table (--survival FILE) or a subscription log (INPUT [--cohort month|week]): give one of them, without --summary".into(),
            )),
        };
    }
    // (the error's option, the flag, given)
    let sbg_only = [
        ("survival", "--survival", survival.is_some()),
        ("cohort", "--cohort", cohort.is_some()),
        (
            "cohorts.annual_discount_rate",
            "--annual-discount-rate",
            sbg.annual_discount_rate.is_some(),
        ),
        (
            "periods_per_year",
            "--periods-per-year",
            sbg.periods_per_year.is_some(),
        ),
        (
            "payment_per_period",
            "--payment-per-period",
            sbg.payment_per_period.is_some(),
        ),
    ];
    if let Some((option, flag, _)) = sbg_only.iter().find(|(_, _, given)| *given) {
        return Err(usage(
            option,
            format!("{flag} is for the sbg model, not {model}"),
        ));
    }
    if model.eq_ignore_ascii_case("compare") {
        return crate::commands::compare::run_compare(input, time, summary, fit, json, save_model);
    }
    let kind = model.parse::<ModelChoice>()?.fixed("model")?;
    let opts = fit.options();
    // The profile refits on the data of the fit, so it is computed while they are here.
    let (out, profile) = if summary {
        let df = patronage::io::read_table(&input.input)?;
        let out = fit_table(kind, &df, &opts)?;
        let profile = profile_level
            .map(|level| profile_table(&out.model, &df, &opts, level))
            .transpose()?;
        (out, profile)
    } else {
        let data = summarise(input, time, &[])?;
        let out = fit_summary(kind, &data, &opts)?;
        let profile = profile_level
            .map(|level| profile_summary(&out.model, &data, &opts, level))
            .transpose()?;
        (out, profile)
    };
    if let Some(path) = save_model {
        save_model_file(path, out.model.to_json()?)?;
    }
    if json {
        let mut value = out.to_json();
        if let Some(p) = &profile {
            value["profile_level"] = p.level.into();
            value["profile_intervals"] = p.to_json();
        }
        println!("{}", to_json_text(&value)?);
    } else {
        print_fit(&out);
        if let Some(p) = &profile {
            print_profile(p);
        }
    }
    Ok(())
}

/// `fit bg-bb --interval`: BG/BB's per-customer scores with their intervals
/// (`stages::interval::bgbb_interval_table`), the table on stdout or `-o FILE`, the
/// parameters and the population total's interval on stderr (all of it as JSON with
/// `--json`).
fn run_bgbb_intervals(
    model: &str,
    input: &InputArgs,
    time: &TimeArgs,
    (summary, save_model): (bool, bool),
    fit: &FitArgs,
    (options, horizon, output): (&IntervalOptions, f64, Option<&PathBuf>),
    json: bool,
) -> patronage::Result<()> {
    if !matches!(model.to_ascii_lowercase().as_str(), "bg-bb" | "bgbb") {
        return Err(usage(
            "interval",
            format!(
                "fit --interval scores bg-bb customers; for {model} use `patronage clv --interval`"
            ),
        ));
    }
    if summary || save_model {
        return Err(usage(
            "interval",
            "fit bg-bb --interval scores the customers of a transaction log: not with --summary or --save-model".into(),
        ));
    }
    // Bad interval settings are refused before the data are read.
    options.validate()?;
    let out = bgbb_interval_table(
        &summarise(input, time, &[])?,
        &fit.options(),
        horizon,
        options,
    )?;
    let params: Vec<String> = out.to_json()["params"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(n, v)| format!("{n} {:.4}", v.as_f64().unwrap_or(f64::NAN)))
                .collect()
        })
        .unwrap_or_default();
    eprintln!("patronage: bg-bb: {}", params.join(", "));
    let (estimate, r) = out.total_expected_purchases;
    eprintln!(
        "patronage: expected transactions {estimate:.2} over the next {horizon} opportunities ({:.0}% interval {:.2} to {:.2}, {} {} draws{})",
        options.level * 100.0,
        r.lo,
        r.hi,
        options.draws,
        options.method.name(),
        failed_refits(options.method, out.bootstrap_failed_refits)
    );
    if json {
        println!("{}", to_json_text(&out.to_json())?);
        if output.is_some() {
            emit(out.frame, output)?;
        }
        return Ok(());
    }
    emit(out.frame, output)
}

fn usage(option: &str, reason: String) -> patronage::Error {
    patronage::Error::InvalidOption {
        option: option.into(),
        reason,
    }
}
